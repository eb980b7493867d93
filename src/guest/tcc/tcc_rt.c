/* tcc_rt.c - the helpers baseline-tier (tcc) module code calls where gcc would use a builtin (guest/tcc/kl_tcc.h). */
#include "kl_tcc.h"

/* Built by gcc with the runtime's flags, so each is one instruction or a
 * short sequence; callers test for 0 before clz/ctz, as wasm2c does. */
int kl_tcc_clz32(unsigned x) { return __builtin_clz(x); }
int kl_tcc_clz64(unsigned long long x) { return __builtin_clzll(x); }
int kl_tcc_ctz32(unsigned x) { return __builtin_ctz(x); }
int kl_tcc_ctz64(unsigned long long x) { return __builtin_ctzll(x); }
int kl_tcc_popcount32(unsigned x) { return __builtin_popcount(x); }
int kl_tcc_popcount64(unsigned long long x) { return __builtin_popcountll(x); }

/** signbit for tcc code: floats arrive widened, which keeps the sign (NaNs' too). */
int kl_tcc_signbit(double x) { return __builtin_signbit(x); }

float kl_tcc_negf(float x)
{
    union { float f; unsigned u; } v = {.f = x};

    v.u ^= 0x80000000u;
    return v.f;
}

double kl_tcc_negd(double x)
{
    union { double d; unsigned long long u; } v = {.d = x};

    v.u ^= 0x8000000000000000ull;
    return v.d;
}

/*
 * The conversions tcc calls out for (its own libtcc1.a has them; the guest
 * links no tcc library). gcc compiles each cast below inline, so none of
 * these calls itself. wasm2c range-checks (trapping or saturating) before
 * every float-to-int conversion, so inputs are in range here.
 */
double __floatundidf(unsigned long long x);
float __floatundisf(unsigned long long x);
unsigned long long __fixunsdfdi(double x);
unsigned long long __fixunssfdi(float x);
long long __fixdfdi(double x);
long long __fixsfdi(float x);

double __floatundidf(unsigned long long x) { return (double)x; }
float __floatundisf(unsigned long long x) { return (float)x; }
unsigned long long __fixunsdfdi(double x) { return (unsigned long long)x; }
unsigned long long __fixunssfdi(float x) { return (unsigned long long)x; }
long long __fixdfdi(double x) { return (long long)x; }
long long __fixsfdi(float x) { return (long long)x; }
