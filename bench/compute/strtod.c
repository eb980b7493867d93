/* strtod.c - compute benchmark: format doubles with snprintf and read them back with strtod. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Both glibc and musl print and parse correctly rounded, so %.17g then strtod gives back the same
 * bits on every libc and the output is comparable with the native run. Float formatting and
 * parsing bit-cast doubles and do big-number arithmetic: the printf/strtod-heavy class of issue 22.
 */
static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    char buf[64];
    uint64_t sum = 0;
    long bad = 0;
    double acc = 0;

    for (long i = 0; i < n; i++) {
        /* A spread of magnitudes: mantissa from the generator, exponent in [-40, 40]. */
        double x = (double)(next() >> 11) * 0x1p-53 * 1e-40;
        int e = (int)(next() % 81);
        for (int k = 0; k < e; k++)
            x *= 10.0;
        const char *fmt = (i & 3) == 0 ? "%.17g" : (i & 3) == 1 ? "%.6f" : (i & 3) == 2 ? "%e" : "%g";
        int len = snprintf(buf, sizeof(buf), fmt, x);
        double y = strtod(buf, NULL);
        if ((i & 3) == 0 && y != x)
            bad++;
        acc += y;
        sum = sum * 31 + (uint64_t)len;
        for (int k = 0; k < len; k++)
            sum = sum * 131 + (unsigned char)buf[k];
    }
    printf("checksum %016llx\nround-trip failures %ld\nsum %.17g\n", (unsigned long long)sum, bad, acc);
    return 0;
}
