/* warm.h - a pre-instantiated micro-VM that serves many requests, each from the same snapshot. */
#ifndef KL_VMM_WARM_H
#define KL_VMM_WARM_H

#include <stdint.h>

#include "common/err.h"
#include "inst/image.h"
#include "inst/run.h"

struct kl_warm;

/**
 * Create a VM for `img`, run it through instantiation (data and element
 * segments, start function) up to KL_HC_READY, and snapshot it there.
 * `cfg` supplies the limits that hold for every request (max_memory_pages,
 * preopens) and the timeout for instantiation; its argv/env/stdin are not
 * used. When instantiation does not reach READY, fails with -ETIMEDOUT (the
 * timeout), -EFAULT (a trap: start function, data or element segments) or
 * -EINVAL (the runtime refused the module, e.g. its memory is over the cap),
 * with the reason in *err.
 */
int kl_warm_create(const struct kl_image *img, const struct kl_run_config *cfg,
                   struct kl_warm **out, struct kl_err *err);

/**
 * Serve one request from the snapshot and reset the VM to it again: every
 * page the guest wrote since the last reset (as kl_vm_dirty_log reports it,
 * a superset) is copied back (or zeroed), and so is every page
 * the host wrote for it (logged by kl_gmem_at, inst/gmem.h); memory grown
 * during the request is unmapped, registers are restored. Returns 0 with
 * *res filled (exit, trap, timeout, limit or guest error all leave the VM
 * reusable), or -errno if the VM could not be reset: destroy it then.
 *
 * With KERNLESS_VERIFY_RESET=1 in the environment (a test mode: it costs
 * milliseconds per request), every guest page is then compared with the
 * snapshot, and a difference fails the request with -EIO and "reset check:
 * guest page 0x... differs" (the VM is marked broken). In that mode only,
 * KERNLESS_VERIFY_RESET_BREAK=host-writes makes the reset skip the host's
 * writes, the control that shows the check catching an incomplete reset.
 */
int kl_warm_request(struct kl_warm *w, const struct kl_run_config *cfg,
                    struct kl_run_result *res, struct kl_err *err);

/**
 * Leave a VM that has served no request yet as a reset leaves one: stopped
 * (a process sandbox parked) and set to resume at the snapshot. A VM kept
 * idle before its first request needs it, since kl_warm_usable stops the
 * guest where it is. 0, or -errno (the VM is then marked broken).
 */
int kl_warm_settle(struct kl_warm *w);

/** 1 if the last reset failed: the VM must be destroyed, not reused. */
int kl_warm_broken(const struct kl_warm *w);

/**
 * 1 if the VM can serve a request now: its last reset succeeded and, where
 * the backend can tell (process: its sandbox is alive and parked), it is
 * still stopped. A VM that is not is marked broken: destroy it.
 */
int kl_warm_usable(struct kl_warm *w);

/** Nanoseconds the last reset took. */
uint64_t kl_warm_last_reset_ns(const struct kl_warm *w);

/** Pages restored by the last reset (what the backend reported written, kl_vm_dirty_log). */
uint32_t kl_warm_last_reset_pages(const struct kl_warm *w);

/** Destroy the VM. */
void kl_warm_destroy(struct kl_warm *w);

#endif
