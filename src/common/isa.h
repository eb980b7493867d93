/* isa.h - x86-64 ISA levels: which one this CPU offers, and what an image built for a level needs. */
#ifndef KL_COMMON_ISA_H
#define KL_COMMON_ISA_H

#include <stddef.h>
#include <stdint.h>

/* Levels as in the x86-64 psABI; images record theirs (kl_image_hdr.isa_level). */
#define KL_ISA_BASE 1u   /* x86-64: SSE2, what every image could always assume */
#define KL_ISA_V3 3u     /* x86-64-v3: AVX2, BMI1/2, FMA, F16C, LZCNT, MOVBE (+ v2) */

/* Feature bits, as kl_isa_cpu() reports them. */
enum {
    KL_ISA_F_SSE3 = 1u << 0, KL_ISA_F_SSSE3 = 1u << 1, KL_ISA_F_SSE41 = 1u << 2,
    KL_ISA_F_SSE42 = 1u << 3, KL_ISA_F_POPCNT = 1u << 4, KL_ISA_F_CX16 = 1u << 5,
    KL_ISA_F_LAHF = 1u << 6, KL_ISA_F_AVX = 1u << 7, KL_ISA_F_AVX2 = 1u << 8,
    KL_ISA_F_BMI1 = 1u << 9, KL_ISA_F_BMI2 = 1u << 10, KL_ISA_F_FMA = 1u << 11,
    KL_ISA_F_F16C = 1u << 12, KL_ISA_F_LZCNT = 1u << 13, KL_ISA_F_MOVBE = 1u << 14,
    KL_ISA_F_OSAVX = 1u << 15,   /* the OS saves AVX state (XCR0 has SSE and AVX) */
};

/** The feature bits of the CPU we run on (CPUID and XGETBV; computed once). */
uint32_t kl_isa_cpu(void);

/** The highest level kl_isa_cpu()'s features reach (KL_ISA_V3 or KL_ISA_BASE). */
unsigned kl_isa_host(void);

/** The -march value that builds code for `level`. */
const char *kl_isa_march(unsigned level);

/**
 * Can code built for `level` run on a CPU with `features`? 0 if so; else
 * -ENOEXEC, with "image needs x86-64-v3 (avx2 ...), this CPU lacks ..." in
 * `msg` (a level this kernless does not know is refused too).
 */
int kl_isa_check(unsigned level, uint32_t features, char *msg, size_t len);

#endif
