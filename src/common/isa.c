/* isa.c - x86-64 ISA levels: CPUID feature detection and the check an image's level must pass. */
#include "common/isa.h"

#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* x86-64-v3's features (v2's included), with the names the refusal prints. */
static const struct { uint32_t bit; const char *name; } v3_needs[] = {
    {KL_ISA_F_AVX2, "avx2"},   {KL_ISA_F_BMI1, "bmi1"},   {KL_ISA_F_BMI2, "bmi2"},
    {KL_ISA_F_FMA, "fma"},     {KL_ISA_F_F16C, "f16c"},   {KL_ISA_F_LZCNT, "lzcnt"},
    {KL_ISA_F_MOVBE, "movbe"}, {KL_ISA_F_AVX, "avx"},     {KL_ISA_F_OSAVX, "os-avx-state"},
    {KL_ISA_F_SSE3, "sse3"},   {KL_ISA_F_SSSE3, "ssse3"}, {KL_ISA_F_SSE41, "sse4.1"},
    {KL_ISA_F_SSE42, "sse4.2"}, {KL_ISA_F_POPCNT, "popcnt"}, {KL_ISA_F_CX16, "cx16"},
    {KL_ISA_F_LAHF, "lahf"},
};

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static uint32_t cpu_features;

static uint32_t bit_if(unsigned reg, unsigned bit, uint32_t flag)
{
    return (reg >> bit) & 1u ? flag : 0;
}

static void detect(void)
{
    unsigned a, b, c, d;
    uint32_t f = 0;

    if (__get_cpuid(1, &a, &b, &c, &d)) {
        f |= bit_if(c, 0, KL_ISA_F_SSE3) | bit_if(c, 9, KL_ISA_F_SSSE3) | bit_if(c, 12, KL_ISA_F_FMA) |
             bit_if(c, 13, KL_ISA_F_CX16) | bit_if(c, 19, KL_ISA_F_SSE41) |
             bit_if(c, 20, KL_ISA_F_SSE42) | bit_if(c, 22, KL_ISA_F_MOVBE) |
             bit_if(c, 23, KL_ISA_F_POPCNT) | bit_if(c, 28, KL_ISA_F_AVX) | bit_if(c, 29, KL_ISA_F_F16C);
        /* AVX is usable only if the OS enabled XSAVE and saves the YMM state. */
        if ((c >> 27) & 1u) {
            unsigned lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            (void)hi;
            if ((lo & 6u) == 6u)
                f |= KL_ISA_F_OSAVX;
        }
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
        f |= bit_if(b, 3, KL_ISA_F_BMI1) | bit_if(b, 5, KL_ISA_F_AVX2) | bit_if(b, 8, KL_ISA_F_BMI2);
    if (__get_cpuid(0x80000001u, &a, &b, &c, &d))
        f |= bit_if(c, 0, KL_ISA_F_LAHF) | bit_if(c, 5, KL_ISA_F_LZCNT);
    cpu_features = f;
}

uint32_t kl_isa_cpu(void)
{
    pthread_once(&cpu_once, detect);
    return cpu_features;
}

unsigned kl_isa_host(void)
{
    return kl_isa_check(KL_ISA_V3, kl_isa_cpu(), NULL, 0) == 0 ? KL_ISA_V3 : KL_ISA_BASE;
}

const char *kl_isa_march(unsigned level)
{
    return level == KL_ISA_V3 ? "-march=x86-64-v3" : "-march=x86-64";
}

int kl_isa_check(unsigned level, uint32_t features, char *msg, size_t len)
{
    size_t n = 0;

    if (level == KL_ISA_BASE)
        return 0;
    if (level != KL_ISA_V3) {
        if (msg)
            snprintf(msg, len, "image needs ISA level %u, which this kernless does not know", level);
        return -ENOEXEC;
    }
    for (size_t i = 0; i < sizeof(v3_needs) / sizeof(v3_needs[0]); i++) {
        if (features & v3_needs[i].bit)
            continue;
        if (!msg)
            return -ENOEXEC;
        if (n == 0)
            n = (size_t)snprintf(msg, len, "image needs x86-64-v3 (avx2 bmi2 fma ...), this CPU lacks");
        if (n < len)
            n += (size_t)snprintf(msg + n, len - n, " %s", v3_needs[i].name);
    }
    return n ? -ENOEXEC : 0;
}
