/* tier.h - code tiers: the baseline (tcc, compiled in a blink) and the optimised (gcc -O2) build of a module. */
#ifndef KL_COMPILE_TIER_H
#define KL_COMPILE_TIER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct kl_toolchain;

/** How module code is compiled; both give the same image format and behaviour. */
enum kl_tier {
    KL_TIER_OPTIMISED = 0,   /* gcc at the requested -O level (default -O2) */
    KL_TIER_BASELINE = 1,    /* tcc: about -O0 speed, compiled 30-100x faster */
};

/* The -O level recorded in cache keys for the baseline tier: tcc has none,
 * and no gcc level is negative, so the two tiers never share a key. */
#define KL_TIER_BASELINE_KEY (-1)

/** "baseline" or "optimised". */
const char *kl_tier_name(int tier);

/** Parse a tier name ("baseline", "optimised"/"optimized"); -EINVAL otherwise. */
int kl_tier_parse(const char *name);

/** The tier KERNLESS_TIER names, or the optimised one when unset or unknown. */
int kl_tier_default(void);

/**
 * Find tcc's own header folder (stddef.h, stdarg.h) into tc->tcc_include,
 * one subprocess; only baseline compiles need it.
 */
int kl_tier_tcc_include(struct kl_toolchain *tc, struct kl_err *err);

/**
 * Fold tcc and the baseline helpers (libkltcc.a) into tc->identity_baseline,
 * so an upgrade of either rebuilds baseline images and no optimised key moves.
 */
int kl_tier_identity(struct kl_toolchain *tc, struct kl_err *err);

/** Compile one generated C file with tcc into an object (baseline tier). */
int kl_tier_tcc_compile(const struct kl_toolchain *tc, const char *src, const char *obj,
                        uint32_t timeout_s, struct kl_err *err);

/**
 * Rewrite wasm2c output at `path` for tcc: float negation as a sign flip
 * (tcc's -x is 0 - x, which changes NaNs). Only the baseline tier needs it.
 */
int kl_tier_patch_c(const char *path, struct kl_err *err);

/**
 * kl_tier_patch_c on wasm2c output in memory: *buf (malloc'd, *len bytes)
 * is replaced by the patched text when anything changed. 0 or -ENOMEM.
 */
int kl_tier_patch_buf(char **buf, size_t *len, struct kl_err *err);

#endif
