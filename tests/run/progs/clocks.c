/* clocks.c - checks realtime is plausible, monotonic advances, and a 50 ms sleep lasts >= 50 ms. */
#include <stdio.h>
#include <time.h>

static long long ns(clockid_t c) {
    struct timespec t;
    if (clock_gettime(c, &t) != 0) return -1;
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    /* Printed so the test can compare it with the host's clock. */
    long long rt = ns(CLOCK_REALTIME);
    printf("realtime %lld\n", rt / 1000000000LL);

    long long m0 = ns(CLOCK_MONOTONIC), m1 = m0;
    /* Spin until the clock moves: a frozen clock fails after 1e8 reads instead of hanging. */
    for (long i = 0; i < 100000000 && m1 == m0; i++) m1 = ns(CLOCK_MONOTONIC);
    printf("monotonic advances: %s\n", m1 > m0 ? "yes" : "no");

    /* wasi-libc implements nanosleep with poll_oneoff on a relative clock subscription. */
    struct timespec req = {0, 50 * 1000000L};
    long long s0 = ns(CLOCK_MONOTONIC);
    int r = nanosleep(&req, NULL);
    long long s1 = ns(CLOCK_MONOTONIC);
    long long slept_ms = (s1 - s0) / 1000000LL;
    printf("nanosleep returned %d\n", r);
    printf("slept >= 50 ms: %s\n", s1 - s0 >= 50000000LL ? "yes" : "no");
    /* Not a sleep of seconds either: an upper bound catches a unit mix-up (us vs ms). */
    printf("slept < 2000 ms: %s\n", slept_ms < 2000 ? "yes" : "no");
    fprintf(stderr, "slept %lld ms\n", slept_ms);

    /* Realtime must also move forward across the sleep. */
    long long rt2 = ns(CLOCK_REALTIME);
    printf("realtime advances: %s\n", rt2 > rt ? "yes" : "no");
    return 0;
}
