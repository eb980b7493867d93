/* w2c_names.c - reproduces wasm2c 1.0.32 symbol mangling so hosts can name generated functions. */
#include "compile/w2c_names.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "compile/wasm_module.h"

/* Kept verbatim: isalnum() in the C locale, minus 'Z' (the escape letter).
 * Written out rather than calling isalnum() so the process locale cannot
 * change the answer. */
static int kept(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Y') || c == '_';
}

size_t kl_w2c_mangled_len(const char *name, size_t len)
{
    size_t n = 2;

    for (size_t i = 0; i < len; i++)
        n += kept((unsigned char)name[i]) ? 1 : 3;
    return n;
}

/* A growing output buffer: appends fail once, and stay failed. */
struct sbuf {
    char *out;
    size_t cap, len;
    int full;
};

static void sb_putc(struct sbuf *b, char c)
{
    if (b->len + 1 >= b->cap) {   /* keep room for the NUL */
        b->full = 1;
        return;
    }
    b->out[b->len++] = c;
}

static void sb_puts(struct sbuf *b, const char *s)
{
    while (*s && !b->full)
        sb_putc(b, *s++);
}

static void sb_mangle(struct sbuf *b, const char *name, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";

    sb_puts(b, "Z_");
    for (size_t i = 0; i < len && !b->full; i++) {
        unsigned char c = (unsigned char)name[i];

        if (kept(c)) {
            sb_putc(b, (char)c);
        } else {
            sb_putc(b, 'Z');
            sb_putc(b, hex[c >> 4]);
            sb_putc(b, hex[c & 15]);
        }
    }
}

/* Terminate; report the length or -ENAMETOOLONG (with an empty string). */
static int sb_finish(struct sbuf *b)
{
    if (b->cap == 0)
        return -ENAMETOOLONG;
    if (b->full || b->len > INT_MAX) {
        b->out[0] = '\0';
        return -ENAMETOOLONG;
    }
    b->out[b->len] = '\0';
    return (int)b->len;
}

int kl_w2c_mangle(const char *name, size_t len, char *out, size_t outlen)
{
    struct sbuf b = { out, outlen, 0, 0 };

    sb_mangle(&b, name, len);
    return sb_finish(&b);
}

int kl_w2c_symbol(const char *a, size_t alen, const char *b, size_t blen,
                  char *out, size_t outlen)
{
    struct sbuf sb = { out, outlen, 0, 0 };

    sb_mangle(&sb, a, alen);
    sb_mangle(&sb, b, blen);
    return sb_finish(&sb);
}

int kl_w2c_export_symbol(const char *mod, const char *exp, size_t explen,
                         char *out, size_t outlen)
{
    return kl_w2c_symbol(mod, strlen(mod), exp, explen, out, outlen);
}

int kl_w2c_module_symbol(const char *mod, size_t modlen, const char *suffix,
                         char *out, size_t outlen)
{
    struct sbuf b = { out, outlen, 0, 0 };

    sb_mangle(&b, mod, modlen);
    sb_putc(&b, '_');
    sb_puts(&b, suffix);
    return sb_finish(&b);
}

/* The letter wasm2c 1.0.32 uses for a value type in multi-value struct names. */
static char multi_letter(uint8_t valtype)
{
    switch (valtype) {
    case KL_WT_I32: return 'i';
    case KL_WT_I64: return 'j';
    case KL_WT_F32: return 'f';
    case KL_WT_F64: return 'd';
    case KL_WT_FUNCREF: return 'r';
    case KL_WT_EXTERNREF: return 'e';
    default: return 0;
    }
}

int kl_w2c_multi_struct(const uint8_t *results, uint32_t n, char *out, size_t outlen)
{
    struct sbuf b = { out, outlen, 0, 0 };

    if (n < 2)
        goto err_inval;
    sb_puts(&b, "wasm_multi_");
    for (uint32_t i = 0; i < n; i++) {
        char c = multi_letter(results[i]);

        if (!c)
            goto err_inval;
        sb_putc(&b, c);
    }
    return sb_finish(&b);

err_inval:
    if (outlen)
        out[0] = '\0';
    return -EINVAL;
}

const char *kl_w2c_c_type(uint8_t valtype)
{
    switch (valtype) {
    case KL_WT_I32: return "u32";
    case KL_WT_I64: return "u64";
    case KL_WT_F32: return "f32";
    case KL_WT_F64: return "f64";
    case KL_WT_FUNCREF: return "wasm_rt_funcref_t";
    case KL_WT_EXTERNREF: return "wasm_rt_externref_t";
    default: return NULL;
    }
}
