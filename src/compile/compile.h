/* compile.h - ahead-of-time compile a .wasm module into a Kernless image. */
#ifndef KL_COMPILE_COMPILE_H
#define KL_COMPILE_COMPILE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/** Options for one compile. */
struct kl_compile_opts {
    int opt_level;          /* C compiler -O level: 0, 1 or 2 (default 2) */
    /* compile/tier.h: KL_TIER_OPTIMISED (gcc at opt_level) or KL_TIER_BASELINE
     * (tcc; opt_level is ignored). Default: kl_tier_default() (KERNLESS_TIER). */
    int tier;
    /* RLIMIT_AS for each compiler process; 0: the pipeline's 8 GiB. The
     * server's background optimiser bounds its gcc with it. */
    uint64_t max_as_bytes;
    const char *cache_dir;  /* NULL: the per-user default */
    /* The whole compile's deadline in seconds, each step included; 0 or
     * more than 900 means 900 (modobj.c: per subprocess, 0 = 600). */
    uint32_t timeout_s;
    int no_cache;           /* compile even if a cached image exists */
    /* Parent of the temporary build folder; NULL: $TMPDIR or /tmp. The
     * server names a folder of its own so a restart can sweep what a
     * killed compile left. */
    const char *build_dir;
    /* Progress: called with a short stage name ("validate", "wasm2c", "cc",
     * "link"); may be NULL. */
    void (*progress)(void *ctx, const char *stage);
    void *progress_ctx;
    /* Called with the cache path when no image is cached there, before
     * compiling: a cluster node fetches an image another node compiled
     * under the same key (module, compiler, runtime, flags) into it. May be
     * NULL; whatever it leaves is verified like any cached image. */
    void (*fetch)(void *ctx, const char *path);
    void *fetch_ctx;
};

struct kl_wasm_module;

/**
 * The proposals wasm2c 1.0.32 cannot compile: SIMD (v128), multiple
 * memories, shared or 64-bit memory. Returns 0 or -ENOTSUP with one line.
 * Shared by `kernless run` and `kernless wast`.
 */
int kl_compile_check_features(const struct kl_wasm_module *m, struct kl_err *err);

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

/**
 * For a CLI's SIGINT/SIGTERM handler: kill the compiler running now and
 * remove the build folder of the compile in progress, so an interrupted
 * `kernless run` or `compile` leaves nothing in $TMPDIR. Async-signal-safe.
 */
void kl_compile_interrupted(void);

/** The per-user cache folder ($XDG_CACHE_HOME/kernless or ~/.cache/kernless). */
int kl_default_cache_dir(char *buf, size_t len);

/* ---- the pipeline's pieces, for builders of other image kinds (compile/modobj.c) ---- */

/** Paths and identity of the toolchain, resolved once per process. */
struct kl_toolchain {
    char guest_dir[PATH_MAX];
    char cc[64];
    char cc_include[PATH_MAX];   /* filled by kl_toolchain_cc_include */
    uint8_t identity[32];        /* hash of runtime + tool binaries + ISA level */
    uint8_t identity_baseline[32]; /* identity + tcc + libkltcc.a (compile/tier.c) */
    char tcc_include[PATH_MAX];  /* filled by kl_tier_tcc_include */
    unsigned isa_level;          /* x86-64 level modules are built for: this CPU's (common/isa.h) */
};

/** Resolve the guest runtime folder, the C compiler and their identity hash. */
int kl_toolchain_get(struct kl_toolchain *tc, struct kl_err *err);

/** Find the C compiler's own header folder (one subprocess; only compiles need it). */
int kl_toolchain_cc_include(struct kl_toolchain *tc, struct kl_err *err);

/** Run one toolchain program under the pipeline's limits; any failure is one line in *err. */
int kl_compile_run_tool(const char *stage, const char *const argv[], uint32_t timeout_s,
                        struct kl_err *err);

/** wasm-validate the file; -EINVAL if invalid, -ENOTSUP if it needs SIMD. */
int kl_compile_validate(const char *wasm_path, uint32_t timeout_s, struct kl_err *err);

/**
 * Compile one generated C file to an object: with gcc and the guest flags at
 * -O`opt` (KL_TIER_OPTIMISED), or with tcc (KL_TIER_BASELINE).
 */
int kl_compile_cc(const struct kl_toolchain *tc, const char *src, const char *obj, int opt,
                  int tier, uint32_t timeout_s, struct kl_err *err);

/** "path:size:mtime" of program `name` found in PATH, for toolchain identities. */
void kl_compile_tool_stamp(const char *name, char *buf, size_t len);

/**
 * The cache path of the image of the module whose SHA-256 is `module_sha`
 * under o->tier, o->opt_level and o->cache_dir, whether or not it exists:
 * the server looks for an optimised image of a function it serves. `tc`
 * may be NULL: this toolchain, resolved now.
 */
int kl_compile_cache_path(const struct kl_toolchain *tc, const uint8_t module_sha[32],
                          const struct kl_compile_opts *o, char *out_path, size_t out_path_len,
                          struct kl_err *err);

#endif
