/* test_metrics.c - unit tests for the Prometheus rendering of request metrics. */
#include "unit.h"

#include "server/metrics.h"

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
    UNIT_DONE();
}
