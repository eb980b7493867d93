/* glue_invoke.h - the per-module and per-image C glue of invoke images (several modules, host-driven calls). */
#ifndef KL_COMPILE_GLUE_INVOKE_H
#define KL_COMPILE_GLUE_INVOKE_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "compile/wasm_module.h"

/*
 * A module of an invoke image is wasm2c output compiled with its own -n
 * name, framed by this glue (the guest side of the contract is
 * src/guest/include/kl_invoke.h):
 *
 *   prologue   one #define per import renaming wasm2c's import symbol
 *              (Z_<module>Z_<field>) to a forwarder private to this module,
 *              so modules that import the same name link side by side;
 *   patched    wasm2c's output with kl_glue_invoke_patch applied;
 *   epilogue   the forwarders, one trampoline per function/global export and
 *              `const struct kl_inv_module kl_inv_desc_<name>`.
 */

/** Write the prologue for module `m` compiled with `wasm2c -n <cname>`. */
int kl_glue_invoke_prologue(FILE *f, const struct kl_wasm_module *m, const char *cname,
                            struct kl_err *err);

/** Write the epilogue (forwarders, trampolines, descriptor). */
int kl_glue_invoke_epilogue(FILE *f, const struct kl_wasm_module *m, const char *cname,
                            struct kl_err *err);

/**
 * Patch wasm2c 1.0.32 output in place (*src is malloc'd and may be
 * reallocated), so that it behaves as the spec says:
 *  - CALL_INDIRECT traps with distinct codes (kl_glue_patch_call_indirect);
 *  - table accesses out of bounds trap as KL_TRAP_TABLE_ACCESS, not as the
 *    memory trap wasm2c shares between both;
 *  - an imported function placed in a table by an element segment is called
 *    with its module's instance (wasm2c 1.0.32 passes the address of the
 *    instance field instead of its value);
 *  - element segments are applied before data segments, so a trapping data
 *    segment leaves the table writes in place (spec 2.0 instantiation).
 * Returns 0, or -EPROTO when the output is not what wabt 1.0.32 emits.
 */
int kl_glue_invoke_patch(char **src, size_t *len, struct kl_err *err);

/** Write the image glue listing the modules (by their -n names) in image order. */
int kl_glue_invoke_image(FILE *f, const char *const *cnames, size_t n, struct kl_err *err);

#endif
