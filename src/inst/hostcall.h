/* hostcall.h - the hostcall registry: services register one handler per hostcall number, the exit loop dispatches to it. */
#ifndef KL_INST_HOSTCALL_H
#define KL_INST_HOSTCALL_H

#include <stddef.h>
#include <stdint.h>

struct kl_inst;

/* Outcome of handling one exit. */
enum { KL_HC_CONTINUE = 0, KL_HC_DONE = 1 };

/* Hostcall numbers the registry can hold (KL_HC_PORT(0) .. KL_HC_PORT(KL_HC_MAX - 1)). */
#define KL_HC_MAX 32u

/**
 * A hostcall handler. `arg` is the host's private copy of the guest's
 * argument struct (its registered size); what the handler writes to it goes
 * back to the guest afterwards. Returns KL_HC_CONTINUE, KL_HC_DONE (the run
 * has its result, see kl_inst_finish) or -errno for a host failure.
 */
typedef int (*kl_hc_fn)(struct kl_inst *in, void *arg);

/**
 * Register `fn` for hostcall `nr` (port KL_HC_PORT(nr)), whose argument
 * struct is `size` bytes. Call at start-up, before any instance runs: the
 * registry takes no lock on dispatch. Returns 0, -EEXIST when `nr` is taken,
 * or -EINVAL for a number past KL_HC_MAX, a size that does not fit the
 * hostcall area, or a missing name or handler.
 */
int kl_hostcall_register(unsigned nr, const char *name, size_t size, kl_hc_fn fn);

/**
 * Dispatch the hostcall on `port` with struct address `value`. Returns
 * KL_HC_CONTINUE, KL_HC_DONE (res is filled), or -errno for a host failure.
 * A misbehaving guest is not a host failure: an unregistered port, a
 * misaligned or out-of-area struct end the run with KL_RES_ERROR.
 */
int kl_hostcall_dispatch(struct kl_inst *in, uint16_t port, uint32_t value);

#endif
