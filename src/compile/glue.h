/* glue.h - generate the C glue between one wasm2c module and the guest runtime. */
#ifndef KL_COMPILE_GLUE_H
#define KL_COMPILE_GLUE_H

#include <stdio.h>

#include "common/err.h"
#include "compile/wasm_module.h"

/** The wasm2c module name every command module is compiled with. */
#define KL_GLUE_MODNAME "m"

/**
 * Write glue C for a WASI command module to `f`: kl_module_init,
 * kl_module_instantiate, kl_module_memory and kl_module_run_start (see
 * src/guest/guest.h). Rejects a `_start` or `memory` export of the wrong kind.
 */
int kl_glue_write_command(FILE *f, const struct kl_wasm_module *m, struct kl_err *err);

/**
 * Replace wasm2c's CALL_INDIRECT macro in generated C so that an index out
 * of the table, a null entry and a type mismatch trap with distinct codes.
 * Returns 0 if the macro was found and replaced, -ENOENT otherwise.
 */
int kl_glue_patch_call_indirect(char *src, size_t *len, size_t cap);

/**
 * Make wasm2c's table helpers (table.get/set/copy/init and element
 * segments) trap as KL_TRAP_TABLE_ACCESS instead of a memory access, and
 * put the definitions that needs at the top of `src` (cap bytes of room).
 * Returns 0, or -ENOENT if the helpers are not where wasm2c 1.0.32 puts them.
 */
int kl_glue_patch_table_traps(char *src, size_t *len, size_t cap);

/**
 * Make wasm2c's load and store helpers address linear memory at its fixed
 * guest address, KL_MEM_GVA(0), instead of through the instance's memory
 * pointer: gcc must reload that pointer after every store and call (a store
 * through a byte pointer may alias it), while a constant stays in a register.
 * Only for command images, whose one memory is always memory 0 (the glue
 * checks it at instantiation). Returns 0, or -ENOENT if the helpers are not
 * what wabt 1.0.32 emits (or `cap` leaves no room for the definition).
 */
int kl_glue_patch_mem_base(char *src, size_t *len, size_t cap);

#endif
