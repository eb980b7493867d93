/* libm.c - compute benchmark: the C library's transcendental functions (sin, cos, exp, log, pow, fmod) in a loop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Inside wasm these come from wasi-libc (musl), whose code splits and rebuilds doubles through
 * their bit patterns: every call bit-casts f64 <-> i64 several times. That path is what this
 * program exists to time (issue 22: a bit-cast once cost a call into the guest's memcpy).
 * The sums are printed to 10 digits, far above the last-ulp differences between glibc and musl.
 */
int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    double s_sin = 0, s_exp = 0, s_pow = 0, s_fmod = 0;

    for (long i = 1; i <= n; i++) {
        double x = (double)i * 0.001;
        s_sin += sin(x) + cos(x * 0.5);
        s_exp += exp(-x * 1e-3) + log(x);
        s_pow += pow(1.0 + 1.0 / (double)i, 0.75);
        s_fmod += fmod(x * 3.7, 2.5);
    }
    printf("sin+cos %.10g\nexp+log %.10g\npow %.10g\nfmod %.10g\n", s_sin, s_exp, s_pow, s_fmod);
    return 0;
}
