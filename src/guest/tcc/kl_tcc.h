/* kl_tcc.h - included first in every baseline-tier (tcc) compile: gcc builtins wasm2c output uses, as calls. */
#ifndef KL_TCC_H
#define KL_TCC_H

/* tcc 0.9.27 knows none of these; wasm2c's I32_CLZ etc. name them. The
 * functions are in the guest runtime (tcc_rt.c), built by gcc. */
int kl_tcc_clz32(unsigned x);
int kl_tcc_clz64(unsigned long long x);
int kl_tcc_ctz32(unsigned x);
int kl_tcc_ctz64(unsigned long long x);
int kl_tcc_popcount32(unsigned x);
int kl_tcc_popcount64(unsigned long long x);
int kl_tcc_signbit(double x);
float kl_tcc_negf(float x);    /* f32.neg: the sign bit flipped, NaNs kept (compile/tier.c) */
double kl_tcc_negd(double x);

#ifdef __TINYC__   /* the runtime itself (gcc) includes this for the prototypes */
#define __builtin_clz(x) kl_tcc_clz32(x)
#define __builtin_clzll(x) kl_tcc_clz64(x)
#define __builtin_ctz(x) kl_tcc_ctz32(x)
#define __builtin_ctzll(x) kl_tcc_ctz64(x)
#define __builtin_popcount(x) kl_tcc_popcount32(x)
#define __builtin_popcountll(x) kl_tcc_popcount64(x)
#endif

#endif
