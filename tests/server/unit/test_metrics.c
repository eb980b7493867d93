/* test_metrics.c - unit tests for the Prometheus rendering of request metrics, the latency window and /v1/stats' JSON. */
#include "unit.h"

#include <math.h>

#include "server/latwin.h"
#include "server/metrics.h"

/* Is `got` (seconds) within one bucket (~19%) of `want`? */
static int near(double got, double want)
{
    return got > want / 1.2 && got < want * 1.2;
}

/* The ring: percentiles of what it holds, seconds that age out, empty windows. */
static void test_latwin(void)
{
    static struct kl_latwin w;
    uint64_t h[KL_LATWIN_BUCKETS] = {0}, n;
    int i;

    for (i = 0; i < 98; i++)
        kl_latwin_add(&w, 100, 0.0001);        /* 100 us */
    kl_latwin_add(&w, 100, 0.05);              /* 50 ms */
    kl_latwin_add(&w, 101, 0.05);
    n = kl_latwin_collect(&w, 101, 5, h);
    CHECK(n == 100);
    CHECK(near(kl_latwin_quantile(h, n, 0.5), 0.0001));
    CHECK(near(kl_latwin_quantile(h, n, 0.99), 0.05));
    CHECK(near(kl_latwin_quantile(h, n, 1.0), 0.05));
    memset(h, 0, sizeof(h));
    CHECK(kl_latwin_collect(&w, 101, 1, h) == 1);       /* only second 101 */
    memset(h, 0, sizeof(h));
    CHECK(kl_latwin_collect(&w, 100 + KL_LATWIN_SLOTS + 5, 15, h) == 0);   /* aged out */
    CHECK(kl_latwin_quantile(h, 0, 0.5) < 0);
    /* A slot reused KL_LATWIN_SLOTS seconds later starts empty. */
    kl_latwin_add(&w, 100 + KL_LATWIN_SLOTS, 0.001);
    memset(h, 0, sizeof(h));
    CHECK(kl_latwin_collect(&w, 100 + KL_LATWIN_SLOTS, 1, h) == 1);
    /* Out-of-range latencies land in the end buckets, not outside. */
    kl_latwin_add(&w, 300, 0);
    kl_latwin_add(&w, 300, NAN);
    kl_latwin_add(&w, 300, 1e9);
    memset(h, 0, sizeof(h));
    CHECK(kl_latwin_collect(&w, 300, 1, h) == 3 && h[0] == 2 && h[KL_LATWIN_BUCKETS - 1] == 1);
}

/* /v1/stats: per function and summed, requests that reached no function left out. */
static void test_stats_json(void)
{
    json_t *o, *f, *t;
    size_t i;

    kl_metrics_observe(KL_METRICS_NO_FUNCTION, 401, 0.0001, "unauthorized");
    o = kl_metrics_stats_json(5);
    CHECK(o != NULL && json_integer_value(json_object_get(o, "now_ms")) > 0);
    f = json_object_get(o, "functions");
    CHECK(json_array_size(f) == 1);   /* echo, from main: not "-" */
    json_array_foreach(f, i, t) {
        CHECK_STR(json_string_value(json_object_get(t, "name")), "echo");
        CHECK(json_integer_value(json_object_get(t, "requests")) == 3);
        CHECK(json_integer_value(json_object_get(t, "errors")) == 1);
        CHECK(json_integer_value(json_object_get(json_object_get(t, "causes"), "trap")) == 1);
        CHECK(json_integer_value(json_object_get(json_object_get(t, "codes"), "200")) == 2);
        CHECK(json_integer_value(json_object_get(json_object_get(t, "recent"), "requests")) == 3);
        CHECK(near(json_integer_value(json_object_get(json_object_get(t, "recent"), "p50_us")) / 1e6, 0.004));
        CHECK(near(json_integer_value(json_object_get(json_object_get(t, "recent"), "p99_us")) / 1e6, 0.2));
    }
    t = json_object_get(o, "total");
    CHECK(json_integer_value(json_object_get(t, "requests")) == 3);
    CHECK(json_object_get(json_object_get(t, "causes"), "unauthorized") == NULL);
    json_decref(o);
    kl_metrics_forget("echo");
    o = kl_metrics_stats_json(5);
    t = json_object_get(json_object_get(o, "total"), "recent");
    CHECK(json_is_null(json_object_get(t, "p50_us")) && json_is_null(json_object_get(t, "p99_us")));
    json_decref(o);
}

int main(void)
{
    struct kl_buf b;
    const char *t;

    kl_metrics_observe("echo", 200, 0.002, NULL);
    kl_metrics_observe("echo", 200, 0.2, NULL);
    kl_metrics_observe("echo", 500, 0.004, "trap");
    kl_metrics_observe("gone", 504, 1.5, "timeout");
    kl_metrics_forget("gone");
    kl_buf_init(&b, 1 << 20);
    CHECK(kl_metrics_render(&b) == 0);
    t = (const char *)b.data;
    CHECK(t != NULL && strstr(t, "# TYPE kernless_requests_total counter\n") != NULL);
    CHECK(t != NULL && strstr(t, "kernless_requests_total{function=\"echo\",code=\"200\"} 2\n") != NULL);
    CHECK(t != NULL && strstr(t, "kernless_errors_total{function=\"echo\",cause=\"trap\"} 1\n") != NULL);
    CHECK(t != NULL && strstr(t, "kernless_request_duration_seconds_bucket{function=\"echo\",le=\"0.0025\"} 1\n") != NULL);
    CHECK(t != NULL && strstr(t, "kernless_request_duration_seconds_bucket{function=\"echo\",le=\"0.005\"} 2\n") != NULL);
    CHECK(t != NULL && strstr(t, "kernless_request_duration_seconds_bucket{function=\"echo\",le=\"+Inf\"} 3\n") != NULL);
    CHECK(t != NULL && strstr(t, "kernless_request_duration_seconds_count{function=\"echo\"} 3\n") != NULL);
    CHECK(t != NULL && strstr(t, "gone") == NULL);
    kl_buf_free(&b);

    kl_buf_init(&b, 1 << 20);
    kl_metrics_render_info(&b, "process");
    kl_metrics_render_info(&b, "a\"b");
    t = (const char *)b.data;
    CHECK(t != NULL && strstr(t, "# TYPE kernless_info gauge\n") != NULL);
    CHECK(t != NULL && strstr(t, "\nkernless_info{isolation=\"process\"} 1\n") != NULL);
    CHECK(t != NULL && strstr(t, "kernless_info{isolation=\"a\\\"b\"} 1\n") != NULL);
    kl_buf_free(&b);
    test_latwin();
    test_stats_json();
    UNIT_DONE();
}
