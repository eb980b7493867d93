/* test_tier.c - unit tests for the baseline tier's source patch, tier names, and the translation-unit splitter (issue 23). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "compile/split.h"
#include "compile/tier.h"
#include "unit.h"

static char dir[] = "/tmp/kl-test-tier-XXXXXX";

static void put(const char *name, const char *text)
{
    char p[256];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

/* The file's text (static buffer), or "" when absent. */
static const char *get(const char *name)
{
    static char buf[8192];
    char p[256];
    FILE *f;
    size_t n;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    buf[0] = 0;
    if (!(f = fopen(p, "r")))
        return buf;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* f32/f64.neg of wasm2c temporaries become sign flips; nothing else moves. */
static void test_neg_patch(void)
{
    struct kl_err err = {0};

    put("n.c", "  w2c_f0 = -(w2c_f0);\n  w2c_d12 = -(w2c_d12);\n  w2c_i0 = -(w2c_i0);\n"
               "  x = -(w2c_fx);\n  y = a-(w2c_f3);\n");
    CHECK(kl_tier_patch_c(strcat(strcpy((char[64]){0}, dir), "/n.c"), &err) == 0);
    CHECK_STR(get("n.c"), "  w2c_f0 = kl_tcc_negf(w2c_f0);\n  w2c_d12 = kl_tcc_negd(w2c_d12);\n"
                          "  w2c_i0 = -(w2c_i0);\n  x = -(w2c_fx);\n  y = akl_tcc_negf(w2c_f3);\n");
}

static void test_tier_names(void)
{
    CHECK(kl_tier_parse("baseline") == KL_TIER_BASELINE);
    CHECK(kl_tier_parse("optimised") == KL_TIER_OPTIMISED);
    CHECK(kl_tier_parse("optimized") == KL_TIER_OPTIMISED);
    CHECK(kl_tier_parse("fast") == -EINVAL);
    CHECK(kl_tier_parse(NULL) == -EINVAL);
    CHECK_STR(kl_tier_name(KL_TIER_BASELINE), "baseline");
    CHECK_STR(kl_tier_name(KL_TIER_OPTIMISED), "optimised");
}

/* wasm2c 1.0.32's layout, in small; %s: more of w2c_c's body. */
static const char *module_c =
    "#include <x.h>\n"
    "static inline int helper(int x) {\n  return x;\n}\n"
    "static u32 func_types[2];\n"
    "static void init_func_types(void) {\n  func_types[0] = 1;\n}\n"
    "static u32 w2c_a(Z_m_instance_t*, u32);\n"
    "static u32 w2c_b(Z_m_instance_t*, u32);\n"
    "static u32 w2c_c(Z_m_instance_t*, u32, u32);\n"
    "static const u8 data_segment_data_w2c_d[] = {\n  0x01,\n};\n"
    "static u32 w2c_a(Z_m_instance_t* instance, u32 w2c_p0) {\n  return w2c_p0;\n}\n"
    "\n"
    "static u32 w2c_b(Z_m_instance_t* instance, u32 w2c_p0) {\n  return w2c_a(instance, w2c_p0);\n}\n"
    "static u32 w2c_c(Z_m_instance_t* instance, u32 w2c_p0, \n    u32 w2c_p1) {\n%s  return 0;\n}\n"
    "/* export: 'b' */\nu32 Z_mZ_b(Z_m_instance_t* i, u32 x) {\n  return w2c_b(i, x);\n}\n";

static void test_split(void)
{
    struct kl_err err = {0};
    char c[128], text[2048], pad[420], *p0, *p1;

    /* Part 0's own data, init and exports (198 bytes) count towards its
     * share: of 458 bytes in all, the first definition's middle byte is at
     * 236, in the second half, so part 1 gets all three (dealing by the
     * definitions alone gave part 0 a and b). */
    snprintf(text, sizeof(text), module_c, "");
    put("m.c", text);
    snprintf(c, sizeof(c), "%s/m.c", dir);
    CHECK(kl_split_c(c, dir, 2, &err) == 2);
    CHECK(strstr(get("m0.c"), "w2c_a(Z_m_instance_t* instance") == NULL);
    CHECK(strstr(get("m1.c"), "\nu32 w2c_a(Z_m_instance_t* instance") != NULL);
    CHECK(strstr(get("m1.c"), "\nu32 w2c_b(Z_m_instance_t* instance") != NULL);
    CHECK(strstr(get("m0.c"), "data_segment_data_w2c_d") != NULL);
    /* With 400 more bytes in c (858 in all) a and b go to part 0. */
    memset(pad, 'x', sizeof(pad));
    memcpy(pad, "  //", 4);
    pad[399] = '\n';
    pad[400] = 0;
    snprintf(text, sizeof(text), module_c, pad);
    put("m.c", text);
    CHECK(kl_split_c(c, dir, 1, &err) == 1);   /* one part: left whole */
    CHECK(kl_split_c(c, dir, 2, &err) == 2);
    p0 = strdup(get("m0.c"));
    p1 = strdup(get("m1.c"));
    /* Part 0: the data, init and exports, func_types defined, and the
     * definitions whose middle byte is in the first half (a and b). */
    CHECK(strstr(p0, "\nu32 func_types[2];\n") != NULL);
    CHECK(strstr(p0, "\nu32 w2c_a(Z_m_instance_t* instance") != NULL);
    CHECK(strstr(p0, "\nu32 w2c_b(Z_m_instance_t* instance") != NULL);
    CHECK(strstr(p0, "w2c_c(Z_m_instance_t* instance") == NULL);
    CHECK(strstr(p0, "data_segment_data_w2c_d") != NULL && strstr(p0, "Z_mZ_b") != NULL);
    /* Part 1: the prelude, func_types as extern, every declaration, and c,
     * whose parameters run over two lines: made global on its first. */
    CHECK(strstr(p1, "static inline int helper") != NULL);
    CHECK(strstr(p1, "\nextern u32 func_types[2];\n") != NULL);
    CHECK(strstr(p1, "\nu32 w2c_a(Z_m_instance_t*, u32);\n") != NULL);
    CHECK(strstr(p1, "\nu32 w2c_c(Z_m_instance_t* instance, u32 w2c_p0, \n    u32 w2c_p1) {") != NULL);
    CHECK(strstr(p1, "w2c_a(Z_m_instance_t* instance, u32 w2c_p0) {") == NULL);
    CHECK(strstr(p1, "data_segment_data_w2c_d") == NULL && strstr(p1, "Z_mZ_b") == NULL);
    CHECK(strstr(p1, "init_func_types") == NULL);
    free(p0);
    free(p1);
    /* A definition that reads the module's data (memory.init) keeps it whole. */
    put("u.c", "static u32 func_types[1];\nstatic void w2c_f(Z_m_instance_t* instance) {\n"
               "  memory_init(m, data_segment_data_w2c_d, 0);\n}\n");
    snprintf(c, sizeof(c), "%s/u.c", dir);
    CHECK(kl_split_c(c, dir, 4, &err) == 1);
    /* Not wasm2c's layout at all: whole. */
    put("v.c", "int main(void) { return 0; }\n");
    snprintf(c, sizeof(c), "%s/v.c", dir);
    CHECK(kl_split_c(c, dir, 4, &err) == 1);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    test_neg_patch();
    test_tier_names();
    test_split();
    if (!getenv("KL_KEEP_TMP"))
        kl_rmdir_flat(dir);
    UNIT_DONE();
}
