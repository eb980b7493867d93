/* clock.c - WASI clocks from rdtsc, calibrated by the host, so reading time costs no VM exit. */
#include "guest.h"

static uint64_t tsc0, tsc_khz, real0, mono0;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/** Take the host's time bases; call once at the start of every request. */
void kl_clock_init(void)
{
    tsc0 = rdtsc();
    tsc_khz = KL_BOOT->tsc_khz ? KL_BOOT->tsc_khz : 1000000;
    real0 = KL_BOOT->realtime_ns;
    mono0 = KL_BOOT->monotonic_ns;
}

/* Nanoseconds since kl_clock_init; split to avoid overflow of ticks * 1e6. */
static uint64_t elapsed_ns(void)
{
    uint64_t t = rdtsc() - tsc0;
    uint64_t sec = t / (tsc_khz * 1000), rem = t % (tsc_khz * 1000);
    return sec * 1000000000ull + rem * 1000000ull / tsc_khz;
}

uint64_t kl_clock_realtime_ns(void) { return real0 + elapsed_ns(); }
uint64_t kl_clock_monotonic_ns(void) { return mono0 + elapsed_ns(); }

/** One TSC tick, rounded up to a whole nanosecond. */
uint64_t kl_clock_resolution_ns(void)
{
    return tsc_khz >= 1000000 ? 1 : (1000000 + tsc_khz - 1) / tsc_khz;
}
