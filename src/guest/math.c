/* math.c - the rounding and sign functions wasm2c output calls, exact for every input incl. NaN and -0. */
#include <math.h>
#include <stdint.h>

/*
 * Rounding uses the "add 2^52 (2^23)" trick, which rounds to nearest-even in
 * the default MXCSR mode that Wasm requires. Values with |x| >= 2^52 are
 * already integers; NaNs are quieted by x + x. Names are in parentheses
 * because math.h maps them to gcc builtins (which call these where the
 * target has no single instruction for them).
 */
#define TWO52 4503599627370496.0
#define TWO23 8388608.0f

double (fabs)(double x) { return __builtin_fabs(x); }
float (fabsf)(float x) { return __builtin_fabsf(x); }
double (copysign)(double x, double y) { return __builtin_copysign(x, y); }
float (copysignf)(float x, float y) { return __builtin_copysignf(x, y); }
double (sqrt)(double x) { return __builtin_sqrt(x); }
float (sqrtf)(float x) { return __builtin_sqrtf(x); }

double (nearbyint)(double x)
{
    if (x != x)
        return x + x;
    if (!(fabs(x) < TWO52))
        return x;
    volatile double t = fabs(x) + TWO52;
    return copysign(t - TWO52, x);
}

float (nearbyintf)(float x)
{
    if (x != x)
        return x + x;
    if (!(fabsf(x) < TWO23))
        return x;
    volatile float t = fabsf(x) + TWO23;
    return copysignf(t - TWO23, x);
}

double (trunc)(double x)
{
    if (x != x)
        return x + x;
    if (!(fabs(x) < TWO52))
        return x;
    return copysign((double)(int64_t)x, x);
}

float (truncf)(float x)
{
    if (x != x)
        return x + x;
    if (!(fabsf(x) < TWO23))
        return x;
    return copysignf((float)(int32_t)x, x);
}

double (floor)(double x)
{
    double t = trunc(x);
    if (t > x)           /* only for negative non-integers; NaN compares false */
        t -= 1.0;
    return t;
}

float (floorf)(float x)
{
    float t = truncf(x);
    if (t > x)
        t -= 1.0f;
    return t;
}

double (ceil)(double x)
{
    double t = trunc(x);
    if (t < x)
        t += 1.0;
    /* ceil(-0.5) must be -0.0: trunc keeps the sign, and t + 1 is not reached. */
    return t;
}

float (ceilf)(float x)
{
    float t = truncf(x);
    if (t < x)
        t += 1.0f;
    return t;
}
