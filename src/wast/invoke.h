/* invoke.h - instantiate the modules of an invoke image in one micro-VM and call their exports with typed values. */
#ifndef KL_VMM_INVOKE_H
#define KL_VMM_INVOKE_H

#include <stdint.h>

#include "common/err.h"
#include "kernless/abi.h"
#include "inst/image.h"
#include "inst/run.h"

/*
 * An invoker is one VM running an image built for KL_MODE_INVOKE (see
 * src/compile/modobj.h): the guest waits in its command loop, and every
 * call below is one command, normally one VM exit. Instances are numbered
 * 0, 1, ... in instantiation order, failed ones included; all instances of
 * one invoker share its address space, so imports between them share
 * memories, tables, globals and functions for real.
 *
 * Values: see struct kl_value. A CPU fault during a command (out-of-bounds
 * access, stack overflow) becomes that command's trap and the guest goes on
 * with its next command; a timeout or a runtime failure ends the VM, after
 * which every command reports KL_INVOKE_DEAD.
 */
struct kl_invoker;

/** A typed value. `type` is the binary value-type byte (0x7F i32, 0x7E i64,
 * 0x7D f32, 0x7C f64, 0x70 funcref, 0x6F externref); `bits` holds the value
 * zero-extended, floats as bit patterns, references as 0 = null or a
 * non-zero word (an externref word comes back as it went in; a funcref
 * result word only means "not null"). */
struct kl_value {
    uint8_t type;
    uint64_t bits;
};

/** A function signature in value-type bytes. */
struct kl_func_sig {
    uint32_t nparams, nresults;
    const uint8_t *params, *results;
};

enum kl_invoke_kind {
    KL_INVOKE_OK = 0,      /* results are valid */
    KL_INVOKE_TRAP,        /* a Wasm trap: `trap` */
    KL_INVOKE_REFUSED,     /* the command does not fit the image or the instance */
    KL_INVOKE_DEAD,        /* the VM has ended; reason says how */
};

/** The outcome of one command. */
struct kl_invoke_result {
    enum kl_invoke_kind kind;
    enum kl_trap trap;
    uint32_t nvals;                       /* raw result words */
    uint64_t vals[KL_INVOKE_MAX_VALS];
    char reason[256];                     /* one line for TRAP, REFUSED and DEAD */
};

/** The binding word for an import: export `index` of instance `inst`
 * (inst KL_INVOKE_SPECTEST: a kl_spectest_item). */
static inline uint64_t kl_invoke_import(uint32_t inst, uint32_t index)
{
    return (uint64_t)inst << 32 | index;
}

/**
 * Register the KL_HC_INVOKE hostcall that invokers' guests report through.
 * Idempotent and thread-safe; kl_invoker_start calls it too. Returns 0 or
 * -errno from the registry.
 */
int kl_invoke_register(void);

/**
 * Start `img` in a fresh VM and run it up to its command loop. cfg gives
 * the per-command timeout (timeout_ms, 0 = none), memory limit and stdio
 * wiring (argv, env and preopens are ignored). The image is copied into the
 * VM, so the caller may free it afterwards. Returns 0 or -errno with *err
 * (also when the image was not built for invoke mode).
 */
int kl_invoker_start(const struct kl_image *img, const struct kl_run_config *cfg,
                     struct kl_invoker **out, struct kl_err *err);

/**
 * Instantiate module `module` (its index in the image) with import i bound
 * to imports[i] (kl_invoke_import words). The caller has checked that the
 * import types match. *inst receives the instance number, even when the
 * start function or a segment traps (res->kind == KL_INVOKE_TRAP); such an
 * instance refuses later commands. Returns 0 when *res describes the
 * outcome, -errno only for a host failure.
 */
int kl_invoker_instantiate(struct kl_invoker *v, uint32_t module, const uint64_t *imports,
                           uint32_t nimports, uint32_t *inst, struct kl_invoke_result *res,
                           struct kl_err *err);

/**
 * Call function export `index` of `inst`. The arguments are checked against
 * `sig` (count and types); on KL_INVOKE_OK results[0..sig->nresults) hold
 * the typed results. Returns as kl_invoker_instantiate.
 */
int kl_invoker_call(struct kl_invoker *v, uint32_t inst, uint32_t index,
                    const struct kl_func_sig *sig, const struct kl_value *args, uint32_t nargs,
                    struct kl_value *results, struct kl_invoke_result *res, struct kl_err *err);

/** Read global export `index` of `inst` (of value type `type`) into *value. */
int kl_invoker_get(struct kl_invoker *v, uint32_t inst, uint32_t index, uint8_t type,
                   struct kl_value *value, struct kl_invoke_result *res, struct kl_err *err);

/**
 * Current size of memory export (pages) or table export (elements) `index`
 * of `inst`; inst KL_INVOKE_SPECTEST asks for a spectest item. Linkers need
 * it: an imported memory's minimum is checked against the current size.
 */
int kl_invoker_size(struct kl_invoker *v, uint32_t inst, uint32_t index, uint64_t *size,
                    struct kl_invoke_result *res, struct kl_err *err);

/** 1 while the VM runs its command loop, 0 once it has ended. */
int kl_invoker_alive(const struct kl_invoker *v);

/** Stop the guest (if alive) and destroy the VM. NULL is a no-op. */
void kl_invoker_free(struct kl_invoker *v);

#endif
