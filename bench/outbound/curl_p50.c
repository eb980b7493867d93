/* curl_p50.c - the baseline of the outbound benchmark: GET a URL N times with a fresh libcurl handle each (as the host does), p50/p99 in microseconds. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t sink(char *p, size_t s, size_t n, void *u) { (void)p; (void)u; return s * n; }

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int n = argc > 2 ? atoi(argv[2]) : 200;
    double *t = calloc((size_t)n, sizeof(*t));
    struct timespec a, b;

    if (argc < 2 || n < 1 || !t)
        return fprintf(stderr, "usage: curl_p50 URL [N]\n"), 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, argv[1]);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        if (curl_easy_perform(c) != CURLE_OK)
            return fprintf(stderr, "curl_p50: request failed\n"), 1;
        curl_easy_cleanup(c);
        clock_gettime(CLOCK_MONOTONIC, &b);
        t[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
    }
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("%.1f %.1f\n", t[n / 2], t[(n * 99) / 100]);
    return 0;
}
