/* fn_svc.c - the outbound suite's function: one host-service call (or a few) per request, chosen by the query string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernless/sdk.h"

/* The value of query parameter `k` (no %-decoding: the suite sends plain values). */
static const char *q(const char *k, char *buf, size_t cap)
{
    const char *s = getenv("QUERY_STRING");
    size_t kn = strlen(k);

    for (const char *p = s; p && *p;) {
        const char *e = strchr(p, '&');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > kn && strncmp(p, k, kn) == 0 && p[kn] == '=') {
            snprintf(buf, cap, "%.*s", (int)(n - kn - 1), p + kn + 1);
            return buf;
        }
        p = e ? e + 1 : p + n;
    }
    return NULL;
}

static int err(uint32_t e)
{
    printf("err %u %s\n", e, kl_svc_reason());
    return 0;
}

static int do_http(const char *url, const char *method)
{
    static char body[1 << 16];
    kl_http_resp r = {body, sizeof(body) - 1};
    int post = strcmp(method, "POST") == 0;
    uint32_t e = kl_http_request(method, url, "X-Test: 1\n", post ? "ping" : NULL, post ? 4 : 0, &r);

    if (e)
        return err(e);
    printf("ok %d %.*s\n", r.status, (int)(r.body_len < r.cap ? r.body_len : r.cap), r.body);
    return 0;
}

static int counter(const char *store)
{
    char v[32] = {0};
    uint32_t n, e = kl_kv_get(store, "count", v, sizeof(v) - 1, &n);
    long c = e == KL_SVC_ENOENT ? 0 : atol(v);

    if (e && e != KL_SVC_ENOENT)
        return err(e);
    snprintf(v, sizeof(v), "%ld", c + 1);
    if ((e = kl_kv_set(store, "count", v, strlen(v))))
        return err(e);
    printf("ok %s\n", v);
    return 0;
}

static int kv_misc(const char *op, const char *store)
{
    static char big[(1 << 20) + 2];
    char buf[256];
    uint32_t n, e;
    int ex;

    if (strcmp(op, "big") == 0)
        return (e = kl_kv_set(store, "big", big, sizeof(big))) ? err(e) : (printf("ok\n"), 0);
    if (strcmp(op, "longkey") == 0) {
        memset(buf, 'k', 255);
        buf[255] = 0;
        char key[300];
        memset(key, 'k', 257);
        key[257] = 0;
        return (e = kl_kv_set(store, key, "v", 1)) ? err(e) : (printf("ok\n"), 0);
    }
    if (strcmp(op, "exists") == 0)
        return (e = kl_kv_exists(store, "count", &ex)) ? err(e) : (printf("ok %d\n", ex), 0);
    if (strcmp(op, "del") == 0)
        return (e = kl_kv_delete(store, "count")) ? err(e) : (printf("ok\n"), 0);
    if (strcmp(op, "keys") == 0) {
        if ((e = kl_kv_keys(store, "c", buf, sizeof(buf), &n)))
            return err(e);
        for (uint32_t i = 0; i < n && i < sizeof(buf); i++)
            if (!buf[i])
                buf[i] = ',';
        printf("ok %.*s\n", (int)n, buf);
        return 0;
    }
    return printf("bad op\n"), 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* op=bench: n calls of one kind, each timed inside the guest; p50 and p99 in microseconds. */
static int bench(const char *what, const char *url, int n, int raw)
{
    static uint64_t t[1000];
    static char body[1 << 16];
    struct timespec a, b;
    uint32_t e = 0, len;

    if (n < 1 || n > 1000)
        return printf("bad n\n"), 0;
    for (int i = 0; i < n && !e; i++) {
        kl_http_resp r = {body, sizeof(body)};
        char v[16];
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (strcmp(what, "http") == 0)
            e = kl_http_request("GET", url, "", NULL, 0, &r);
        else if (strcmp(what, "set") == 0)
            e = kl_kv_set("default", "bench", "0123456789", 10);
        else if (strcmp(what, "get") == 0)
            e = kl_kv_get("default", "bench", v, sizeof(v), &len);
        else
            e = kl_var_get("greeting", v, sizeof(v), &len);
        clock_gettime(CLOCK_MONOTONIC, &b);
        t[i] = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)(b.tv_nsec - a.tv_nsec);
    }
    if (e)
        return err(e);
    if (raw) {   /* every time, for a caller that pools several requests */
        for (int i = 0; i < n; i++)
            printf("%.1f\n", t[i] / 1000.0);
        return 0;
    }
    qsort(t, (size_t)n, sizeof(t[0]), cmp_u64);
    printf("ok %.1f %.1f\n", t[n / 2] / 1000.0, t[(n * 99) / 100] / 1000.0);
    return 0;
}

int main(void)
{
    char op[32], a[512], b[512], v[512];
    uint32_t n, e;

    printf("Content-Type: text/plain\n\n");
    if (!q("op", op, sizeof(op)))
        return printf("no op\n"), 0;
    if (strcmp(op, "http") == 0)
        return do_http(q("url", a, sizeof(a)) ?: "", q("method", b, sizeof(b)) ?: "GET");
    if (strcmp(op, "many") == 0) {   /* n calls: how many passed, then the first refusal */
        int ok = 0, want = atoi(q("n", b, sizeof(b)) ?: "1");
        static char body[4096];
        for (int i = 0; i < want; i++) {
            kl_http_resp r = {body, sizeof(body)};
            if ((e = kl_http_request("GET", q("url", a, sizeof(a)) ?: "", "", NULL, 0, &r)))
                return printf("ok %d ", ok), err(e);
            ok++;
        }
        return printf("ok %d\n", ok), 0;
    }
    if (strcmp(op, "bench") == 0)
        return bench(q("what", b, sizeof(b)) ?: "", q("url", a, sizeof(a)) ?: "",
                     atoi(q("n", v, sizeof(v)) ?: "100"), q("raw", op, sizeof(op)) != NULL);
    if (strcmp(op, "count") == 0)
        return counter(q("store", a, sizeof(a)) ?: "default");
    if (strcmp(op, "var") == 0)
        return (e = kl_var_get(q("name", a, sizeof(a)) ?: "", v, sizeof(v), &n)) ? err(e)
               : (printf("ok %s\n", v), 0);
    return kv_misc(op, q("store", a, sizeof(a)) ?: "default");
}
