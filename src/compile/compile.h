/* compile.h - ahead-of-time compile a .wasm module into a Kernless image. */
#ifndef KL_COMPILE_COMPILE_H
#define KL_COMPILE_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/** Options for one compile. */
struct kl_compile_opts {
    int opt_level;          /* C compiler -O level: 0, 1 or 2 (default 2) */
    const char *cache_dir;  /* NULL: the per-user default */
    uint32_t timeout_s;     /* per subprocess; 0 = default */
    int no_cache;           /* compile even if a cached image exists */
    /* Progress: called with a short stage name ("validate", "wasm2c", "cc",
     * "link"); may be NULL. */
    void (*progress)(void *ctx, const char *stage);
    void *progress_ctx;
};

/** Set the defaults. */
void kl_compile_opts_init(struct kl_compile_opts *o);

/**
 * Compile `wasm` (len bytes) into an image in the cache, unless a valid one
 * is already cached under the same key (module bytes + compiler + flags +
 * runtime version). On success writes the image path to `out_path` and sets
 * *cached to 1 when no compile ran. Bad modules fail with -EINVAL and one
 * clear line in *err.
 */
int kl_compile(const uint8_t *wasm, size_t len, const struct kl_compile_opts *o,
               char *out_path, size_t out_path_len, int *cached,
               struct kl_err *err);

struct kl_image;

/**
 * Like kl_compile, but hands back the loaded, hash-verified image (read
 * once). A cached image that fails verification is compiled again and
 * replaced. `path` (may be NULL) receives the cache path.
 */
int kl_compile_image(const uint8_t *wasm, size_t len, const struct kl_compile_opts *o,
                     struct kl_image **img, char *path, size_t path_len, int *cached,
                     struct kl_err *err);

/** Compile to an explicit output path (no cache). */
int kl_compile_to(const uint8_t *wasm, size_t len,
                  const struct kl_compile_opts *o, const char *out_path,
                  struct kl_err *err);

/** The per-user cache folder ($XDG_CACHE_HOME/kernless or ~/.cache/kernless). */
int kl_default_cache_dir(char *buf, size_t len);

#endif
