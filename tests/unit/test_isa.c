/* test_isa.c - unit tests for the x86-64 ISA level check that images built for x86-64-v3 must pass (issue 22). */
#include <errno.h>
#include <string.h>

#include "common/isa.h"
#include "unit.h"

/* Every feature x86-64-v3 needs. */
static const uint32_t all_v3 =
    KL_ISA_F_SSE3 | KL_ISA_F_SSSE3 | KL_ISA_F_SSE41 | KL_ISA_F_SSE42 | KL_ISA_F_POPCNT |
    KL_ISA_F_CX16 | KL_ISA_F_LAHF | KL_ISA_F_AVX | KL_ISA_F_AVX2 | KL_ISA_F_BMI1 | KL_ISA_F_BMI2 |
    KL_ISA_F_FMA | KL_ISA_F_F16C | KL_ISA_F_LZCNT | KL_ISA_F_MOVBE | KL_ISA_F_OSAVX;

static char msg[256];

/* A v3 image on a CPU without AVX2 and FMA: refused, naming exactly what is missing. */
static void test_v3_image_refused_without_avx2(void)
{
    memset(msg, 0, sizeof(msg));
    CHECK(kl_isa_check(KL_ISA_V3, all_v3 & ~(KL_ISA_F_AVX2 | KL_ISA_F_FMA), msg, sizeof(msg)) == -ENOEXEC);
    CHECK(strncmp(msg, "image needs x86-64-v3 (avx2", 27) == 0);
    CHECK(strstr(msg, "this CPU lacks avx2 fma") != NULL);
    const char *lacks = strstr(msg, "lacks");
    CHECK(lacks && strstr(lacks, "bmi2") == NULL);   /* what the CPU has is not listed as missing */
    CHECK(kl_isa_check(KL_ISA_V3, all_v3 & ~KL_ISA_F_AVX2, NULL, 0) == -ENOEXEC);
}

/* A CPU with AVX whose OS does not save the YMM state cannot run v3 code either. */
static void test_v3_image_refused_without_os_avx_state(void)
{
    CHECK(kl_isa_check(KL_ISA_V3, all_v3 & ~KL_ISA_F_OSAVX, msg, sizeof(msg)) == -ENOEXEC);
    CHECK(strstr(msg, "os-avx-state") != NULL);
}

static void test_levels_accepted_and_unknown_refused(void)
{
    CHECK(kl_isa_check(KL_ISA_V3, all_v3, msg, sizeof(msg)) == 0);
    CHECK(kl_isa_check(KL_ISA_BASE, 0, msg, sizeof(msg)) == 0);
    CHECK(kl_isa_check(7, all_v3, msg, sizeof(msg)) == -ENOEXEC);
    CHECK(strstr(msg, "ISA level 7") != NULL);
    CHECK(kl_isa_check(0, all_v3, NULL, 0) == -ENOEXEC);   /* an image from before levels */
    /* Tiny buffers are cut, never overrun. */
    char small[8] = "xxxxxxx";
    CHECK(kl_isa_check(KL_ISA_V3, 0, small, 5) == -ENOEXEC && strlen(small) == 4);
}

/* The host's level is the highest its own features pass. */
static void test_host_level_matches_its_features(void)
{
    unsigned h = kl_isa_host();
    CHECK(h == KL_ISA_V3 || h == KL_ISA_BASE);
    CHECK((h == KL_ISA_V3) == (kl_isa_check(KL_ISA_V3, kl_isa_cpu(), NULL, 0) == 0));
    CHECK(strcmp(kl_isa_march(KL_ISA_V3), "-march=x86-64-v3") == 0);
}

int main(void)
{
    test_v3_image_refused_without_avx2();
    test_v3_image_refused_without_os_avx_state();
    test_levels_accepted_and_unknown_refused();
    test_host_level_matches_its_features();
    UNIT_DONE();
}
