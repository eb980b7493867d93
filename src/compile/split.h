/* split.h - wasm2c output cut into several translation units, compiled in parallel with bounded memory each. */
#ifndef KL_COMPILE_SPLIT_H
#define KL_COMPILE_SPLIT_H

#include <stddef.h>

#include "common/err.h"

#define KL_SPLIT_MAX_PARTS 16

/**
 * Cut the (patched) wasm2c output at `c_path` into `parts` files
 * dir/m0.c .. m<parts-1>.c: part 0 keeps the module's data, init and
 * exports, every part a run of function definitions of about equal size;
 * w2c_ functions and func_types become global so the parts link. Returns
 * the number of files written, 1 when the file is left whole (parts <= 1,
 * or a layout other than wasm2c 1.0.32's), or -errno.
 */
int kl_split_c(const char *c_path, const char *dir, unsigned parts, struct kl_err *err);

/**
 * kl_split_c on C text in memory (src, len): writes dir/m0.c .. only when
 * it cuts; 1 means nothing was written and the caller compiles it whole.
 */
int kl_split_buf(const char *src, size_t len, const char *dir, unsigned parts,
                 struct kl_err *err);

/** A parallel compile of the parts: compile(ctx, k, err) builds part k. */
struct kl_split_cc {
    unsigned parts;
    unsigned jobs;   /* compilers at once: the peak memory is about jobs x one part's */
    int (*compile)(void *ctx, unsigned k, struct kl_err *err);
    void *ctx;
};

/** Run every part's compile, `jobs` at a time; the first failure, in part order, is returned. */
int kl_split_compile(const struct kl_split_cc *cc, struct kl_err *err);

#endif
