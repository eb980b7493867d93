/* metrics.h - request counters and latency histograms per function, rendered as Prometheus text. */
#ifndef KL_SERVER_METRICS_H
#define KL_SERVER_METRICS_H

#include "server/buf.h"

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

/** Drop the counters of a removed function. */
void kl_metrics_forget(const char *fn);

#endif
