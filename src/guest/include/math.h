/* math.h - the floating-point functions wasm2c output calls, implemented in src/guest/math.c. */
#ifndef KL_GUEST_MATH_H
#define KL_GUEST_MATH_H
double floor(double);
double ceil(double);
double trunc(double);
double nearbyint(double);
double sqrt(double);
double fabs(double);
double copysign(double, double);
float floorf(float);
float ceilf(float);
float truncf(float);
float nearbyintf(float);
float sqrtf(float);
float fabsf(float);
float copysignf(float, float);
#ifdef __TINYC__
/* The baseline tier's tcc has none of gcc's math builtins: plain calls to
 * math.c, and the classifiers as expressions (tcc does not fold x != x). */
int kl_tcc_signbit(double x);
#define isnan(x) ((x) != (x))
#define isinf(x) ((x) == (x) && (x) - (x) != (x) - (x))
#define signbit(x) kl_tcc_signbit((double)(x))
#define INFINITY (((union { unsigned u; float f; }){0x7f800000u}).f)
#define NAN (((union { unsigned u; float f; }){0x7fc00000u}).f)
#else
/*
 * Builtins, not calls, despite -ffreestanding: sqrt, fabs and copysign are
 * one SSE instruction each, and the rounding functions are one roundsd where
 * the module is built for SSE4.1 or later (x86-64-v2/v3). Without it gcc
 * still calls math.c's versions, which define these as (floor) etc.
 */
#define floor(x) __builtin_floor(x)
#define ceil(x) __builtin_ceil(x)
#define trunc(x) __builtin_trunc(x)
#define nearbyint(x) __builtin_nearbyint(x)
#define sqrt(x) __builtin_sqrt(x)
#define fabs(x) __builtin_fabs(x)
#define copysign(x, y) __builtin_copysign((x), (y))
#define floorf(x) __builtin_floorf(x)
#define ceilf(x) __builtin_ceilf(x)
#define truncf(x) __builtin_truncf(x)
#define nearbyintf(x) __builtin_nearbyintf(x)
#define sqrtf(x) __builtin_sqrtf(x)
#define fabsf(x) __builtin_fabsf(x)
#define copysignf(x, y) __builtin_copysignf((x), (y))
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define signbit(x) __builtin_signbit(x)
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#endif
#endif
