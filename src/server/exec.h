/* exec.h - the one place that runs a function: image cache and a warm VM from the function's pool. */
#ifndef KL_SERVER_EXEC_H
#define KL_SERVER_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "inst/run.h"

struct kl_fn;

/** A loaded image shared by every table that serves it. */
struct kl_img_ref {
    char *path;
    struct kl_image *img;
    int refs;
    struct kl_img_ref *next;
};

/** What one request passes to the function. */
struct kl_exec_in {
    int argc;
    const char *const *argv;
    int envc;
    const char *const *envp;
    const uint8_t *body;      /* stdin */
    size_t body_len;
    const char *request_id;   /* for log lines of host services; NULL: none */
};

struct kl_pool_opts;

/** Start the warm VM pools (caps, queue, idle time). */
int kl_exec_init(const struct kl_pool_opts *o);

/** Load (or share an already loaded) image file. */
int kl_exec_image_get(const char *path, struct kl_img_ref **out,
                      struct kl_err *err);

/** Drop an image reference; the last one frees the image. */
void kl_exec_image_put(struct kl_img_ref *ref);

/**
 * Run `fn` once with the request's argv, env and body, applying the
 * function's timeout, memory cap and folders. Same contract as kl_run:
 * 0 with *res describing how it ended, or -errno (reason in *err) when it
 * could not run: -EAGAIN when the wait queue was full, -EBUSY when no VM
 * freed up within the function's timeout (both answered 503 + Retry-After).
 */
int kl_exec_run(const struct kl_fn *fn, const struct kl_exec_in *in,
                struct kl_run_result *res, struct kl_err *err);

#endif
