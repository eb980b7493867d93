/* test_wast.c - unit tests for the spec runner's values and matching, and the invoke glue's output patches. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "compile/glue_invoke.h"
#include "wast/internal.h"
#include "unit.h"

/* Parse {"type": t, "value": v} (v may be NULL: no value member). */
static int parse(const char *t, const char *v, int expected, struct wval *out)
{
    json_t *j = json_object();
    struct kl_err e;
    int rc;

    json_object_set_new(j, "type", json_string(t));
    if (v)
        json_object_set_new(j, "value", json_string(v));
    rc = w_value_parse(j, expected, out, &e);
    json_decref(j);
    return rc;
}

static int matches(const char *t, const char *v, uint8_t type, uint64_t bits)
{
    struct wval w;
    struct kl_value k = {type, bits};

    return parse(t, v, 1, &w) == 0 && w_value_match(&w, &k);
}

static void test_parse(void)
{
    struct wval w;

    CHECK(parse("i32", "4294967295", 0, &w) == 0 && w.bits == 0xFFFFFFFFu);
    CHECK(parse("i32", "4294967296", 0, &w) == -EINVAL);
    CHECK(parse("i64", "18446744073709551615", 0, &w) == 0 && w.bits == UINT64_MAX);
    CHECK(parse("i32", "-1", 0, &w) == -EINVAL);
    CHECK(parse("i32", "", 0, &w) == -EINVAL);
    CHECK(parse("i32", NULL, 0, &w) == -EINVAL);
    CHECK(parse("f32", "nan:canonical", 0, &w) == -EINVAL);   /* patterns only in results */
    CHECK(parse("f32", "nan:canonical", 1, &w) == 0 && w.pattern == WP_NAN_CANONICAL);
    CHECK(parse("externref", "0", 0, &w) == 0 && w.bits == 1);   /* 0 is null on the wire */
    CHECK(parse("externref", "null", 0, &w) == 0 && w.bits == 0);
    CHECK(parse("funcref", "7", 0, &w) == -EINVAL);
    CHECK(parse("funcref", NULL, 1, &w) == 0 && w.pattern == WP_NONNULL);
    CHECK(parse("v128", "0", 0, &w) == -ENOTSUP);
    CHECK(parse("anyref", "0", 0, &w) == -EINVAL);
}

static void test_match(void)
{
    CHECK(matches("f32", "nan:canonical", 0x7D, 0x7FC00000));
    CHECK(matches("f32", "nan:canonical", 0x7D, 0xFFC00000));     /* sign is free */
    CHECK(!matches("f32", "nan:canonical", 0x7D, 0x7FE00000));    /* payload is not */
    CHECK(matches("f32", "nan:arithmetic", 0x7D, 0x7FE00000));
    CHECK(!matches("f32", "nan:arithmetic", 0x7D, 0x7FA00000));   /* signalling */
    CHECK(!matches("f32", "nan:arithmetic", 0x7D, 0x3F800000));
    CHECK(matches("f64", "nan:canonical", 0x7C, 0x7FF8000000000000ull));
    CHECK(!matches("f64", "nan:canonical", 0x7C, 0x7FF8000000000001ull));
    CHECK(matches("f64", "nan:arithmetic", 0x7C, 0xFFFC000000000000ull));
    CHECK(matches("f32", "2143289344", 0x7D, 0x7FC00000));         /* exact bits */
    CHECK(!matches("f32", "2143289344", 0x7D, 0x7FC00001));
    CHECK(!matches("i32", "1", 0x7E, 1));                          /* type must agree */
    CHECK(matches("externref", NULL, 0x6F, 5));
    CHECK(!matches("externref", NULL, 0x6F, 0));
    CHECK(matches("externref", "4", 0x6F, 5));
    CHECK(!matches("externref", "4", 0x6F, 4));
    CHECK(matches("funcref", "null", 0x70, 0));
    CHECK(!matches("funcref", "null", 0x70, 0x4001234));
}

static void test_messages(void)
{
    CHECK(w_message_match("out of bounds", "out of bounds memory access"));
    CHECK(w_message_match("uninitialized element 2", "uninitialized element"));
    CHECK(!w_message_match("uninitialized element", "undefined element"));
    CHECK(!w_message_match("integer overflow", "integer divide by zero"));
    CHECK(!w_message_match("unreachable", ""));
    CHECK(!w_message_match("uninitialized elements", "uninitialized element"));
}

/* The patches refuse output that is not wasm2c 1.0.32's. */
static void test_patch_refuses_unknown(void)
{
    char *src = strdup("int main(void) { return 0; }\n");
    size_t len = strlen(src);
    struct kl_err e;

    CHECK(kl_glue_invoke_patch(&src, &len, &e) == -EPROTO);
    free(src);
}

/* A constant expression must leave exactly one value; wabt 1.0.32's
 * validator misses two (spec data.wast, elem.wast), so the reader checks. */
static int global_init_parses(const char *expr, size_t n)
{
    uint8_t mod[64] = "\0asm\1\0\0\0";
    struct kl_wasm_module m;
    struct kl_err e;
    int rc;

    mod[8] = 6;                      /* global section */
    mod[9] = (uint8_t)(3 + n);
    mod[10] = 1;                     /* one global: i32, const */
    mod[11] = 0x7F;
    mod[12] = 0;
    memcpy(mod + 13, expr, n);
    rc = kl_wasm_parse(mod, 13 + n, &m, &e);
    if (rc == 0)
        kl_wasm_module_free(&m);
    return rc == 0;
}

static void test_const_expr_arity(void)
{
    CHECK(global_init_parses("\x41\x00\x0b", 3));
    CHECK(!global_init_parses("\x41\x00\x41\x00\x0b", 5));
    CHECK(!global_init_parses("\x0b", 1));
    CHECK(global_init_parses("\x41\x01\x41\x02\x6a\x0b", 6));   /* extended-const add */
    CHECK(!global_init_parses("\x41\x01\x6a\x0b", 4));
}

int main(void)
{
    test_const_expr_arity();
    test_parse();
    test_match();
    test_messages();
    test_patch_refuses_unknown();
    UNIT_DONE();
}
