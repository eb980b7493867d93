/* metrics.c - in-memory Prometheus metrics: requests by code, errors by cause, latency histogram. */
#include "server/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCODES 24
#define NCAUSES 16
#define NAME_MAX_LEN 64

static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25, 0.5, 1, 2.5, 5, 10, 30};
#define NBUCKETS (sizeof(bounds) / sizeof(bounds[0]))

struct counter {
    char key[32];
    unsigned long long n;
};

struct fn_metrics {
    char name[NAME_MAX_LEN + 1];
    struct counter codes[NCODES];
    struct counter causes[NCAUSES];
    unsigned long long buckets[NBUCKETS];
    unsigned long long count;
    double sum;
    struct fn_metrics *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fn_metrics *all;

/* Find or add the entry of `fn` (lock held); NULL on allocation failure. */
static struct fn_metrics *entry(const char *fn)
{
    struct fn_metrics *m;

    for (m = all; m != NULL; m = m->next)
        if (strcmp(m->name, fn) == 0)
            return m;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    snprintf(m->name, sizeof(m->name), "%s", fn);
    m->next = all;
    all = m;
    return m;
}

/* Bump the counter `key` in a fixed table; the last slot absorbs overflow. */
static void bump(struct counter *c, size_t n, const char *key)
{
    size_t i;

    for (i = 0; i < n - 1; i++) {
        if (c[i].key[0] == 0)
            snprintf(c[i].key, sizeof(c[i].key), "%s", key);
        if (strcmp(c[i].key, key) == 0) {
            c[i].n++;
            return;
        }
    }
    snprintf(c[n - 1].key, sizeof(c[n - 1].key), "other");
    c[n - 1].n++;
}

void kl_metrics_observe(const char *fn, int status, double seconds,
                        const char *cause)
{
    struct fn_metrics *m;
    char code[16];
    size_t i;

    snprintf(code, sizeof(code), "%d", status);
    pthread_mutex_lock(&lock);
    m = entry(fn);
    if (m != NULL) {
        bump(m->codes, NCODES, code);
        if (cause != NULL)
            bump(m->causes, NCAUSES, cause);
        for (i = 0; i < NBUCKETS; i++)
            if (seconds <= bounds[i])
                m->buckets[i]++;
        m->count++;
        m->sum += seconds;
    }
    pthread_mutex_unlock(&lock);
}

void kl_metrics_forget(const char *fn)
{
    struct fn_metrics **pp, *m;

    pthread_mutex_lock(&lock);
    for (pp = &all; (m = *pp) != NULL; pp = &m->next) {
        if (strcmp(m->name, fn) == 0) {
            *pp = m->next;
            free(m);
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

/* Function names are [a-z0-9_-] and causes are ours, but escape anyway so a
 * future caller can never break the exposition format. */
static void label(struct kl_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            kl_buf_printf(out, "\\%c", *s);
        else if (*s == '\n')
            kl_buf_printf(out, "\\n");
        else
            kl_buf_append(out, s, 1);
    }
}

static void render_counters(struct kl_buf *out, const char *metric,
                            const char *key, int codes)
{
    struct fn_metrics *m;
    const struct counter *c;
    size_t i, n = codes ? NCODES : NCAUSES;

    for (m = all; m != NULL; m = m->next) {
        c = codes ? m->codes : m->causes;
        for (i = 0; i < n && c[i].key[0]; i++) {
            kl_buf_printf(out, "%s{function=\"", metric);
            label(out, m->name);
            kl_buf_printf(out, "\",%s=\"", key);
            label(out, c[i].key);
            kl_buf_printf(out, "\"} %llu\n", c[i].n);
        }
    }
}

static void render_histograms(struct kl_buf *out)
{
    struct fn_metrics *m;
    size_t i;

    for (m = all; m != NULL; m = m->next) {
        for (i = 0; i < NBUCKETS; i++) {
            kl_buf_printf(out, "kernless_request_duration_seconds_bucket{function=\"");
            label(out, m->name);
            kl_buf_printf(out, "\",le=\"%g\"} %llu\n", bounds[i], m->buckets[i]);
        }
        kl_buf_printf(out, "kernless_request_duration_seconds_bucket{function=\"");
        label(out, m->name);
        kl_buf_printf(out, "\",le=\"+Inf\"} %llu\n", m->count);
        kl_buf_printf(out, "kernless_request_duration_seconds_sum{function=\"");
        label(out, m->name);
        kl_buf_printf(out, "\"} %.6f\n", m->sum);
        kl_buf_printf(out, "kernless_request_duration_seconds_count{function=\"");
        label(out, m->name);
        kl_buf_printf(out, "\"} %llu\n", m->count);
    }
}

void kl_metrics_render_info(struct kl_buf *out, const char *isolation)
{
    kl_buf_printf(out, "# HELP kernless_info This server; isolation is the backend that confines "
                       "its VMs.\n# TYPE kernless_info gauge\nkernless_info{isolation=\"");
    label(out, isolation);
    kl_buf_printf(out, "\"} 1\n");
}

void kl_metrics_render_node(struct kl_buf *out, const char *node)
{
    kl_buf_printf(out, "# HELP kernless_node_info This node's name (one of a cluster, or the "
                       "only one).\n# TYPE kernless_node_info gauge\nkernless_node_info{node=\"");
    label(out, node);
    kl_buf_printf(out, "\"} 1\n");
}

int kl_metrics_render(struct kl_buf *out)
{
    pthread_mutex_lock(&lock);
    kl_buf_printf(out, "# HELP kernless_requests_total HTTP requests by function and status code.\n"
                       "# TYPE kernless_requests_total counter\n");
    render_counters(out, "kernless_requests_total", "code", 1);
    kl_buf_printf(out, "# HELP kernless_errors_total Failed requests by function and cause.\n"
                       "# TYPE kernless_errors_total counter\n");
    render_counters(out, "kernless_errors_total", "cause", 0);
    kl_buf_printf(out, "# HELP kernless_request_duration_seconds Request latency.\n"
                       "# TYPE kernless_request_duration_seconds histogram\n");
    render_histograms(out);
    pthread_mutex_unlock(&lock);
    return 0;
}
