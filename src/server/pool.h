/* pool.h - warm micro-VMs per function: reuse from a snapshot, caps, a bounded queue, scale to zero. */
#ifndef KL_SERVER_POOL_H
#define KL_SERVER_POOL_H

#include <stdint.h>

#include "common/err.h"
#include "common/buf.h"
#include "inst/image.h"
#include "inst/run.h"
#include "inst/warm.h"

/** Server-wide pool settings. */
struct kl_pool_opts {
    unsigned max_total;        /* VMs alive at once, idle or busy, over all functions */
    unsigned max_per_fn;       /* VMs of one function at once */
    unsigned queue_max;        /* requests allowed to wait for a VM at once */
    unsigned idle_ms;          /* a function idle this long gives its VMs back */
    unsigned ready_ms;         /* then it keeps one pristine VM this much longer (0: none) */
    /* Runs fn(arg) on a vCPU thread confined as a request of `cfg` would be
     * (seccomp, landlock), waiting for it; NULL runs it on the caller. */
    int (*on_vcpu)(int (*fn)(void *), void *arg, const struct kl_run_config *cfg);
};

struct kl_pool;

/** Start the pools and the idle reaper thread. */
int kl_pools_init(const struct kl_pool_opts *o);

/**
 * The pool for one function version: VMs from `img` with the limits and
 * preopens of `cfg` (argv/env/stdin ignored). Pools are shared by key and
 * live as long as the server; an idle pool holds no VM.
 */
struct kl_pool *kl_pool_get(const char *key, const struct kl_image *img,
                            const struct kl_run_config *cfg);

/**
 * Take a VM, waiting at most `wait_ms`: a reset idle one, else the pool's
 * ready one (pristine: built when the pool scaled to zero, never used),
 * else a new one. Returns 0 and sets *w (and *cold when it had to be
 * created), -EAGAIN when the wait queue is full, -EBUSY when no
 * VM freed up in time, or another -errno (reason in *err) when a VM could
 * not be created (e.g. the start function trapped).
 */
int kl_pool_acquire(struct kl_pool *p, uint32_t wait_ms, struct kl_warm **w, int *cold,
                    struct kl_err *err);

/**
 * An image is about to be freed: its pools give back every VM they hold
 * (waiting for a ready VM being built from it) and are never matched
 * again. Call before kl_image_free.
 */
void kl_pools_forget(const struct kl_image *img);

/** Give a VM back; `reusable` 0 destroys it (it could not be reset). */
void kl_pool_release(struct kl_pool *p, struct kl_warm *w, int reusable);

/** Note a request's limit hit ("timeout", "trap", "output", "queue_full", ...). */
void kl_pool_count_limit(const char *kind);

/** Append the pool metrics in Prometheus text format. */
int kl_pool_metrics_render(struct kl_buf *out);

#endif
