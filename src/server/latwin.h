/* latwin.h - recent request latencies: a ring of per-second log-scale histograms, for live p50/p99. */
#ifndef KL_SERVER_LATWIN_H
#define KL_SERVER_LATWIN_H

#include <stdint.h>

/* Seconds kept: a window of up to KL_LATWIN_SLOTS - 1 whole seconds plus the current one. */
#define KL_LATWIN_SLOTS 16
/* Four buckets per octave from 1 us (each ~19% wide), the last one open: 2^25 us is ~33 s. */
#define KL_LATWIN_BUCKETS 100
#define KL_LATWIN_WINDOW_MAX (KL_LATWIN_SLOTS - 1)

/**
 * Latencies of the last few seconds. The cumulative Prometheus histogram
 * (metrics.c) cannot give a recent percentile and its buckets start at 1 ms,
 * above a fast function's whole request; this one is fine-grained and forgets.
 * Not thread-safe: the caller locks. Zero-initialised is empty.
 */
struct kl_latwin {
    uint64_t sec[KL_LATWIN_SLOTS];                  /* the second each slot holds */
    uint32_t n[KL_LATWIN_SLOTS][KL_LATWIN_BUCKETS];
};

/** Count one request of `seconds` that ended in second `now_s` (a monotonic clock). */
void kl_latwin_add(struct kl_latwin *w, uint64_t now_s, double seconds);

/**
 * Add the counts of seconds now_s - window + 1 .. now_s (window clamped to
 * 1..KL_LATWIN_WINDOW_MAX) into `hist`; returns how many requests that is.
 */
uint64_t kl_latwin_collect(const struct kl_latwin *w, uint64_t now_s, unsigned window,
                           uint64_t hist[KL_LATWIN_BUCKETS]);

/**
 * The q-quantile (0 < q <= 1) in seconds of a histogram of `total` requests,
 * as the geometric middle of its bucket; -1 when there are none.
 */
double kl_latwin_quantile(const uint64_t hist[KL_LATWIN_BUCKETS], uint64_t total, double q);

#endif
