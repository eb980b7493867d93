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
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define signbit(x) __builtin_signbit(x)
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#endif
