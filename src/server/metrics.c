/* metrics.c - in-memory request metrics: Prometheus text for /metrics and JSON with live percentiles for /v1/stats. */
#include "server/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/latwin.h"

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
    struct kl_latwin recent;   /* the last seconds, finely: live p50/p99 */
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

/* Seconds of the monotonic clock: the ring's slots and the rates' time base. */
static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void kl_metrics_observe(const char *fn, int status, double seconds,
                        const char *cause)
{
    struct fn_metrics *m;
    uint64_t sec = now_ms() / 1000;
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
        kl_latwin_add(&m->recent, sec, seconds);
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

/* Add a counter table into a JSON object {key: n}, summing keys already there. */
static void add_counts(json_t *o, const struct counter *c, size_t n, unsigned long long *sum)
{
    json_t *v;
    size_t i;

    for (i = 0; i < n && c[i].key[0]; i++) {
        v = json_object_get(o, c[i].key);
        json_object_set_new(o, c[i].key, json_integer((json_int_t)(c[i].n +
                            (v ? (unsigned long long)json_integer_value(v) : 0))));
        if (sum != NULL)
            *sum += c[i].n;
    }
}

/* A latency in whole microseconds; null when nothing ran. */
static json_t *us(double seconds)
{
    return seconds < 0 ? json_null() : json_integer((json_int_t)llround(seconds * 1e6));
}

/* One stats entry; `hist` (KL_LATWIN_BUCKETS) holds the window's latencies. */
static json_t *stats_entry(const char *name, unsigned long long requests, json_t *codes,
                           json_t *causes, unsigned long long errors,
                           const uint64_t *hist, uint64_t recent, unsigned window)
{
    json_t *o = json_object();

    if (name != NULL)
        json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "requests", json_integer((json_int_t)requests));
    json_object_set_new(o, "errors", json_integer((json_int_t)errors));
    json_object_set_new(o, "codes", codes);
    json_object_set_new(o, "causes", causes);
    json_object_set_new(o, "recent", json_pack("{s:i,s:I,s:o,s:o}", "window_s", (int)window,
                        "requests", (json_int_t)recent,
                        "p50_us", us(kl_latwin_quantile(hist, recent, 0.50)),
                        "p99_us", us(kl_latwin_quantile(hist, recent, 0.99))));
    return o;
}

json_t *kl_metrics_stats_json(unsigned window)
{
    uint64_t t = now_ms(), hist[KL_LATWIN_BUCKETS], all_hist[KL_LATWIN_BUCKETS] = {0};
    unsigned long long all_req = 0, all_err = 0, err;
    json_t *fns = json_array(), *all_codes = json_object(), *all_causes = json_object();
    json_t *codes, *causes, *o;
    struct fn_metrics *m;
    uint64_t recent, all_recent = 0;
    size_t i;

    if (window < 1)
        window = 1;
    if (window > KL_LATWIN_WINDOW_MAX)
        window = KL_LATWIN_WINDOW_MAX;
    pthread_mutex_lock(&lock);
    for (m = all; m != NULL; m = m->next) {
        /* Requests that reached no function (404s, API calls: the dashboard's
         * own polling) are not any function's traffic, nor the total's. */
        if (strcmp(m->name, KL_METRICS_NO_FUNCTION) == 0)
            continue;
        codes = json_object();
        causes = json_object();
        err = 0;
        add_counts(codes, m->codes, NCODES, NULL);
        add_counts(causes, m->causes, NCAUSES, &err);
        add_counts(all_codes, m->codes, NCODES, NULL);
        add_counts(all_causes, m->causes, NCAUSES, NULL);
        memset(hist, 0, sizeof(hist));
        recent = kl_latwin_collect(&m->recent, t / 1000, window, hist);
        for (i = 0; i < KL_LATWIN_BUCKETS; i++)
            all_hist[i] += hist[i];
        all_recent += recent;
        all_req += m->count;
        all_err += err;
        json_array_append_new(fns, stats_entry(m->name, m->count, codes, causes, err,
                                               hist, recent, window));
    }
    pthread_mutex_unlock(&lock);
    o = json_pack("{s:I,s:o,s:o}", "now_ms", (json_int_t)t, "functions", fns, "total",
                  stats_entry(NULL, all_req, all_codes, all_causes, all_err, all_hist,
                              all_recent, window));
    return o;
}
