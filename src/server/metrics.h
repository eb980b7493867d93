/* metrics.h - request counters and latency histograms per function, rendered as Prometheus text. */
#ifndef KL_SERVER_METRICS_H
#define KL_SERVER_METRICS_H

#include <jansson.h>

#include "common/buf.h"

/** The label used for requests that reached no function (404, rejects). */
#define KL_METRICS_NO_FUNCTION "-"

/**
 * Count one finished request of function `fn`: its status code, its latency
 * and, for failures, a short cause ("trap", "timeout", ...; NULL if none).
 * Thread-safe.
 */
void kl_metrics_observe(const char *fn, int status, double seconds,
                        const char *cause);

/** Append kernless_node_info{node="NAME"} 1: which node of a cluster this is. */
void kl_metrics_render_node(struct kl_buf *out, const char *node);

/** Append the Prometheus text exposition of every metric to `out`. */
int kl_metrics_render(struct kl_buf *out);

/**
 * Append the kernless_info gauge (always 1) whose labels describe this
 * server: `isolation` is the backend that confines its VMs ("kvm", "process").
 */
void kl_metrics_render_info(struct kl_buf *out, const char *isolation);

/**
 * The counters as JSON for the dashboard (GET /v1/stats): {"now_ms" (a
 * monotonic clock, to turn two reads into rates), "functions": [{"name",
 * "requests", "errors", "codes": {CODE: n}, "causes": {CAUSE: n}, "recent":
 * {"window_s", "requests", "p50_us", "p99_us"}}], "total": the same summed
 * over the functions}. Counts run from the server's start (or the function's removal); "recent" covers
 * the last `window` seconds (1..15, clamped) including the current one, and
 * its percentiles are null when nothing ran. Requests that reached no
 * function are left out. NULL when out of memory.
 */
json_t *kl_metrics_stats_json(unsigned window);

/** Drop the counters of a removed function. */
void kl_metrics_forget(const char *fn);

#endif
