/* values.c - spec-script values: parse wast2json's encoding, match results (NaN patterns, references), print them. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "wast/internal.h"

static const struct { const char *name; uint8_t type; } types[] = {
    {"i32", KL_WT_I32}, {"i64", KL_WT_I64}, {"f32", KL_WT_F32}, {"f64", KL_WT_F64},
    {"funcref", KL_WT_FUNCREF}, {"externref", KL_WT_EXTERNREF},
};

static const char *type_name(uint8_t t)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].type == t)
            return types[i].name;
    return "?";
}

/* A decimal unsigned number that fits `max`. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;

    if (!s || !*s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || *end || *out > max ? -EINVAL : 0;
}

int w_value_parse(json_t *j, int expected, struct wval *out, struct kl_err *err)
{
    const char *t = json_string_value(json_object_get(j, "type"));
    const char *v = json_string_value(json_object_get(j, "value"));
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(types[i].name, t))
            break;
    if (t && !strcmp(t, "v128"))
        return kl_errf(err, -ENOTSUP, "a v128 value (SIMD), which wasm2c 1.0.32 cannot compile");
    if (!t || i == sizeof(types) / sizeof(types[0]))
        return kl_errf(err, -EINVAL, "value type %s is not supported", t ? t : "(none)");
    out->type = types[i].type;
    if (out->type == KL_WT_FUNCREF || out->type == KL_WT_EXTERNREF) {
        if (!v && expected)
            return out->pattern = WP_NONNULL, 0;   /* (ref.func) / (ref.extern): any non-null */
        if (v && !strcmp(v, "null"))
            return 0;
        if (out->type == KL_WT_EXTERNREF && parse_u64(v, UINT64_MAX - 1, &out->bits) == 0)
            return out->bits += 1, 0;
        return kl_errf(err, -EINVAL, "bad %s value %s", t, v ? v : "(none)");
    }
    if (expected && v && (out->type == KL_WT_F32 || out->type == KL_WT_F64)) {
        if (!strcmp(v, "nan:canonical"))
            return out->pattern = WP_NAN_CANONICAL, 0;
        if (!strcmp(v, "nan:arithmetic"))
            return out->pattern = WP_NAN_ARITHMETIC, 0;
    }
    if (parse_u64(v, out->type == KL_WT_I32 || out->type == KL_WT_F32 ? UINT32_MAX : UINT64_MAX,
                  &out->bits) < 0)
        return kl_errf(err, -EINVAL, "bad %s value %s", t, v ? v : "(none)");
    return 0;
}

/* Canonical NaN: quiet bit only; arithmetic NaN: quiet bit set, any payload. */
static int nan_match(uint8_t type, enum wpattern p, uint64_t bits)
{
    uint64_t abs = type == KL_WT_F32 ? bits & 0x7FFFFFFFull : bits & 0x7FFFFFFFFFFFFFFFull;
    uint64_t canon = type == KL_WT_F32 ? 0x7FC00000ull : 0x7FF8000000000000ull;

    return p == WP_NAN_CANONICAL ? abs == canon : (abs & canon) == canon;
}

int w_value_match(const struct wval *exp, const struct kl_value *got)
{
    if (exp->type != got->type)
        return 0;
    switch (exp->pattern) {
    case WP_NAN_CANONICAL:
    case WP_NAN_ARITHMETIC:
        return nan_match(exp->type, (enum wpattern)exp->pattern, got->bits);
    case WP_NONNULL:
        return got->bits != 0;
    default:
        if (exp->type == KL_WT_FUNCREF)
            return (exp->bits == 0) == (got->bits == 0);
        return exp->bits == got->bits;
    }
}

static void show_bits(uint8_t type, uint64_t bits, char *buf, size_t len)
{
    switch (type) {
    case KL_WT_I32:
        snprintf(buf, len, "i32:%" PRId32, (int32_t)(uint32_t)bits);
        break;
    case KL_WT_I64:
        snprintf(buf, len, "i64:%" PRId64, (int64_t)bits);
        break;
    case KL_WT_F32: {
        float f;
        uint32_t b = (uint32_t)bits;
        memcpy(&f, &b, 4);
        snprintf(buf, len, "f32:0x%08" PRIx32 " (%.9g)", b, (double)f);
        break;
    }
    case KL_WT_F64: {
        double d;
        memcpy(&d, &bits, 8);
        snprintf(buf, len, "f64:0x%016" PRIx64 " (%.17g)", bits, d);
        break;
    }
    case KL_WT_FUNCREF:
        snprintf(buf, len, "%s", bits ? "funcref:non-null" : "funcref:null");
        break;
    default:
        if (bits)
            snprintf(buf, len, "externref:%" PRIu64, bits - 1);
        else
            snprintf(buf, len, "externref:null");
    }
}

void w_value_show(const struct wval *v, char *buf, size_t len)
{
    if (v->pattern == WP_NAN_CANONICAL || v->pattern == WP_NAN_ARITHMETIC)
        snprintf(buf, len, "%s:nan:%s", type_name(v->type),
                 v->pattern == WP_NAN_CANONICAL ? "canonical" : "arithmetic");
    else if (v->pattern == WP_NONNULL)
        snprintf(buf, len, "%s:non-null", type_name(v->type));
    else
        show_bits(v->type, v->bits, buf, len);
}

void w_kvalue_show(const struct kl_value *v, char *buf, size_t len)
{
    show_bits(v->type, v->bits, buf, len);
}

int w_message_match(const char *expected, const char *got)
{
    size_t e = strlen(expected), g = strlen(got);

    /* As the reference interpreter: the message starts with the expected
     * text. The reverse covers details the spec interpreter appends that a
     * trap code cannot carry ("uninitialized element 2"). */
    return !strncmp(got, expected, e) ||
           (g > 0 && g < e && expected[g] == ' ' && !strncmp(expected, got, g));
}
