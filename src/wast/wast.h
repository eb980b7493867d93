/* wast.h - run WebAssembly spec-format scripts (.wast) through the real pipeline, inside micro-VMs. */
#ifndef KL_WAST_WAST_H
#define KL_WAST_WAST_H

#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

/** Options of a run. */
struct kl_wast_opts {
    int jobs;                /* compiles at a time (>= 1) */
    int opt_level;           /* cc -O level for module code */
    const char *cache_dir;   /* NULL: the per-user default */
    uint32_t timeout_ms;     /* per command */
    int verbose;             /* also print skips and per-file totals */
    FILE *out;               /* failure lines (and verbose lines) */
};

/** Counts over commands that check something: assertions, module definitions and actions. */
struct kl_wast_totals {
    uint64_t passed, failed, skipped;
};

/**
 * Run the scripts in order and add to *t. Prints one line per failed check,
 * "FILE:LINE: what: expected ..., got ...". Returns 0 when every script
 * could be run (failures included), -errno when the runner itself could not
 * work (no toolchain, no KVM), with *err.
 */
int kl_wast_run(const char *const *files, size_t n, const struct kl_wast_opts *o,
                struct kl_wast_totals *t, struct kl_err *err);

#endif
