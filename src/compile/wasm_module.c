/* wasm_module.c - reads the structure of untrusted WebAssembly binaries with every read bounds-checked. */
#include "compile/wasm_module.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Section ids, in the binary's numbering. */
enum {
    SEC_CUSTOM = 0, SEC_TYPE = 1, SEC_IMPORT = 2, SEC_FUNCTION = 3,
    SEC_TABLE = 4, SEC_MEMORY = 5, SEC_GLOBAL = 6, SEC_EXPORT = 7,
    SEC_START = 8, SEC_ELEMENT = 9, SEC_CODE = 10, SEC_DATA = 11,
    SEC_DATACOUNT = 12,
};

/*
 * The cursor. `end` is the end of the current section (or function body),
 * never past the buffer, so a lying count or length inside a section can at
 * worst reach that end and fail; it can never read a neighbour's bytes.
 */
struct rd {
    const uint8_t *buf;
    size_t pos;                /* absolute offset of the next byte */
    size_t end;                /* reads stay below this */
    int sec;                   /* current section id, -1 outside sections */
    char ctx[64];              /* "import 3: " etc., prefixed to messages */
    struct kl_wasm_module *m;
    struct kl_err *err;
};

const char *kl_wasm_section_name(unsigned id)
{
    static const char *const names[] = {
        "custom", "type", "import", "function", "table", "memory", "global",
        "export", "start", "element", "code", "data", "datacount",
    };

    return id < sizeof(names) / sizeof(names[0]) ? names[id] : "unknown";
}

const char *kl_wasm_valtype_name(uint8_t valtype)
{
    switch (valtype) {
    case KL_WT_I32: return "i32";
    case KL_WT_I64: return "i64";
    case KL_WT_F32: return "f32";
    case KL_WT_F64: return "f64";
    case KL_WT_V128: return "v128";
    case KL_WT_FUNCREF: return "funcref";
    case KL_WT_EXTERNREF: return "externref";
    default: return NULL;
    }
}

/* Fail with -EINVAL, naming the section, the byte offset and the context. */
__attribute__((format(printf, 3, 4)))
static int rd_fail(struct rd *r, size_t at, const char *fmt, ...)
{
    char detail[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (r->sec < 0)
        return kl_errf(r->err, -EINVAL, "offset 0x%zx: %s%s", at, r->ctx, detail);
    return kl_errf(r->err, -EINVAL, "section %d (%s) at offset 0x%zx: %s%s",
                   r->sec, kl_wasm_section_name((unsigned)r->sec), at, r->ctx,
                   detail);
}

/* Allocation failure gets its own code so callers can tell it from bad input. */
static int rd_nomem(struct rd *r, const char *what)
{
    return kl_errf(r->err, -ENOMEM, "section %d (%s): out of memory for %s",
                   r->sec, kl_wasm_section_name((unsigned)r->sec), what);
}

/*
 * Zeroed array of n items, or NULL for n == 0 (so free() needs no special
 * case). On failure sets *rc to -ENOMEM; *rc is untouched otherwise.
 */
static void *rd_calloc(struct rd *r, size_t n, size_t size, const char *what, int *rc)
{
    void *p;

    if (n == 0)
        return NULL;
    if (!(p = calloc(n, size)))
        *rc = rd_nomem(r, what);
    return p;
}

static size_t rd_left(const struct rd *r)
{
    return r->end - r->pos;
}

/* Ensure n more bytes exist before the current end. */
static int rd_need(struct rd *r, size_t n, const char *what)
{
    if (rd_left(r) < n)
        return rd_fail(r, r->pos, "unexpected end reading %s: need %zu bytes, %zu left",
                       what, n, rd_left(r));
    return 0;
}

static int rd_skip(struct rd *r, size_t n, const char *what)
{
    int rc = rd_need(r, n, what);

    if (rc == 0)
        r->pos += n;
    return rc;
}

static int rd_u8(struct rd *r, uint8_t *out, const char *what)
{
    int rc = rd_need(r, 1, what);

    if (rc == 0)
        *out = r->buf[r->pos++];
    return rc;
}

/*
 * Unsigned LEB128 of at most `bits` bits. The spec bounds the encoding to
 * ceil(bits/7) bytes and requires the unused high bits of the last byte to be
 * zero; anything else is malformed (and would be a way to smuggle big values).
 */
static int rd_uleb(struct rd *r, unsigned bits, uint64_t *out, const char *what)
{
    size_t start = r->pos;
    unsigned maxlen = (bits + 6) / 7;
    uint64_t v = 0;

    for (unsigned i = 0;; i++) {
        unsigned shift = 7 * i;
        uint8_t b;

        if (r->pos >= r->end)
            return rd_fail(r, start, "unexpected end in LEB128 %s", what);
        b = r->buf[r->pos++];
        if (i == maxlen - 1) {
            if (b & 0x80)
                return rd_fail(r, start, "LEB128 %s longer than %u bytes", what, maxlen);
            if ((b >> (bits - shift)) != 0)
                return rd_fail(r, start, "LEB128 %s overflows %u bits", what, bits);
        }
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80))
            break;
    }
    *out = v;
    return 0;
}

/*
 * Signed LEB128 of at most `bits` bits: the same length bound, and the unused
 * bits of the last byte must all copy the sign bit.
 */
static int rd_sleb(struct rd *r, unsigned bits, int64_t *out, const char *what)
{
    size_t start = r->pos;
    unsigned maxlen = (bits + 6) / 7;
    uint64_t v = 0;

    for (unsigned i = 0;; i++) {
        unsigned shift = 7 * i;
        uint8_t b;

        if (r->pos >= r->end)
            return rd_fail(r, start, "unexpected end in LEB128 %s", what);
        b = r->buf[r->pos++];
        if (i == maxlen - 1) {
            unsigned used = bits - shift;             /* 1..7 value bits here */
            uint8_t top = (uint8_t)((b & 0x7F) >> (used - 1));

            if (b & 0x80)
                return rd_fail(r, start, "LEB128 %s longer than %u bytes", what, maxlen);
            if (top != 0 && top != (0x7F >> (used - 1)))
                return rd_fail(r, start, "LEB128 %s overflows %u bits", what, bits);
        }
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            if (shift + 7 < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << (shift + 7);
            break;
        }
    }
    *out = (int64_t)v;
    return 0;
}

static int rd_u32(struct rd *r, uint32_t *out, const char *what)
{
    uint64_t v;
    int rc = rd_uleb(r, 32, &v, what);

    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

/*
 * A vector length: capped at `limit`, and at what the rest of the section
 * could hold if each item takes at least `min_size` bytes. The second check
 * is what keeps allocation proportional to the input's size.
 */
static int rd_count(struct rd *r, uint32_t *n, uint32_t limit, size_t min_size,
                    const char *what)
{
    size_t at = r->pos;
    int rc = rd_u32(r, n, what);

    if (rc)
        return rc;
    if (*n > limit)
        return rd_fail(r, at, "%s %u exceeds limit %u", what, *n, limit);
    if ((uint64_t)*n * min_size > rd_left(r))
        return rd_fail(r, at, "%s %u needs at least %llu bytes, only %zu left",
                       what, *n, (unsigned long long)*n * min_size, rd_left(r));
    return 0;
}

/* Length of the UTF-8 prefix that is well formed: rejects overlong forms,
 * surrogates, code points over U+10FFFF, stray and missing continuations. */
static size_t utf8_valid_prefix(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;

        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (n - i - 1 < k)
            return i;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += k + 1;
    }
    return n;
}

/*
 * A name: length-prefixed UTF-8. With out == NULL it is only checked (custom
 * section names); otherwise a NUL-terminated copy goes to *out.
 */
static int rd_name(struct rd *r, char **out, uint32_t *out_len, const char *what)
{
    size_t at = r->pos, bad;
    uint32_t len;
    int rc = rd_u32(r, &len, what);

    if (rc)
        return rc;
    if (len > KL_WASM_MAX_NAME)
        return rd_fail(r, at, "%s length %u exceeds limit %u", what, len, KL_WASM_MAX_NAME);
    if ((rc = rd_need(r, len, what)))
        return rc;
    bad = utf8_valid_prefix(r->buf + r->pos, len);
    if (bad < len)
        return rd_fail(r, r->pos + bad, "%s is not valid UTF-8 (byte 0x%02x at index %zu)",
                       what, r->buf[r->pos + bad], bad);
    if (out) {
        if (!(*out = malloc((size_t)len + 1)))
            return rd_nomem(r, what);
        memcpy(*out, r->buf + r->pos, len);
        (*out)[len] = '\0';
        *out_len = len;
    }
    r->pos += len;
    return 0;
}

/* A value type byte; notes v128 so callers can refuse SIMD early. */
static int rd_valtype(struct rd *r, uint8_t *out, const char *what)
{
    size_t at = r->pos;
    int rc = rd_u8(r, out, what);

    if (rc)
        return rc;
    if (!kl_wasm_valtype_name(*out))
        return rd_fail(r, at, "%s: unknown value type 0x%02x", what, *out);
    if (*out == KL_WT_V128)
        r->m->uses_v128 = 1;
    return 0;
}

static int rd_reftype(struct rd *r, uint8_t *out, const char *what)
{
    size_t at = r->pos;
    int rc = rd_u8(r, out, what);

    if (rc)
        return rc;
    if (*out != KL_WT_FUNCREF && *out != KL_WT_EXTERNREF)
        return rd_fail(r, at, "%s: 0x%02x is not a reference type", what, *out);
    return 0;
}

/*
 * Limits. Flag bit 0: has max; bit 1: shared (threads); bit 2: 64-bit
 * (memory64, whose bounds are u64). Tables only know bit 0. The threads
 * encoding has no "shared without max" form, so flags 0x02/0x06 are malformed.
 */
static int rd_limits(struct rd *r, struct kl_wasm_limits *l, int is_memory)
{
    size_t at = r->pos;
    unsigned bits;
    uint8_t flags;
    int rc = rd_u8(r, &flags, "limits flags");

    if (rc)
        return rc;
    if (flags > (is_memory ? 7 : 1) || (flags & 3) == 2)
        return rd_fail(r, at, "bad %s limits flags 0x%02x", is_memory ? "memory" : "table", flags);
    l->has_max = flags & 1;
    l->shared = (flags >> 1) & 1;
    l->is64 = (flags >> 2) & 1;
    bits = l->is64 ? 64 : 32;
    if ((rc = rd_uleb(r, bits, &l->min, "limits minimum")))
        return rc;
    if (l->has_max)
        return rd_uleb(r, bits, &l->max, "limits maximum");
    return 0;
}

/* The opcode following 0xFD in a constant expression must be v128.const. */
static int rd_const_simd(struct rd *r, size_t at)
{
    uint32_t sub;
    int rc = rd_u32(r, &sub, "SIMD opcode");

    if (rc)
        return rc;
    if (sub != 12)
        return rd_fail(r, at, "SIMD opcode 0xfd %u not allowed in a constant expression", sub);
    r->m->uses_v128 = 1;
    return rd_skip(r, 16, "v128.const immediate");
}

/* One instruction of a constant expression; *done is set at `end`. *depth
 * counts the values it leaves: each constant pushes one, each extended-const
 * operator pops two and pushes one. */
static int rd_const_instr(struct rd *r, int *done, uint32_t *depth)
{
    size_t at = r->pos;
    uint32_t idx;
    int64_t s;
    uint8_t op, t;
    int rc = rd_u8(r, &op, "constant expression");

    if (rc)
        return rc;
    if (op != 0x0B && !(op >= 0x6A && op <= 0x6C) && !(op >= 0x7C && op <= 0x7E))
        ++*depth;
    switch (op) {
    case 0x0B: *done = 1; return 0;                          /* end */
    case 0x41: return rd_sleb(r, 32, &s, "i32.const");
    case 0x42: return rd_sleb(r, 64, &s, "i64.const");
    case 0x43: return rd_skip(r, 4, "f32.const");
    case 0x44: return rd_skip(r, 8, "f64.const");
    case 0x23: return rd_u32(r, &idx, "global.get index");
    case 0xD0: return rd_reftype(r, &t, "ref.null");
    case 0xD2: return rd_u32(r, &idx, "ref.func index");
    case 0x6A: case 0x6B: case 0x6C:                          /* extended-const i32 add/sub/mul */
    case 0x7C: case 0x7D: case 0x7E:                          /* extended-const i64 add/sub/mul */
        if (*depth < 2)
            return rd_fail(r, at, "constant expression: operator 0x%02x without two operands", op);
        --*depth;
        return 0;
    case 0xFD: return rd_const_simd(r, at);
    default:
        return rd_fail(r, at, "opcode 0x%02x not allowed in a constant expression", op);
    }
}

/* Skip a constant expression by decoding it: each instruction eats at least
 * one byte and the section end bounds the loop. */
static int rd_const_expr(struct rd *r)
{
    size_t at = r->pos;
    uint32_t depth = 0;
    int done = 0, rc = 0;

    while (!done && rc == 0)
        rc = rd_const_instr(r, &done, &depth);
    if (rc == 0 && depth != 1)   /* wabt 1.0.32's validator misses this */
        return rd_fail(r, at, "constant expression leaves %u values, not 1", depth);
    return rc;
}

/* Read an index and check it against the size of its index space. */
static int rd_index(struct rd *r, uint32_t *out, uint32_t bound, const char *what)
{
    size_t at = r->pos;
    int rc = rd_u32(r, out, what);

    if (rc)
        return rc;
    if (*out >= bound)
        return rd_fail(r, at, "%s %u out of range (%u defined)", what, *out, bound);
    return 0;
}

static void rd_ctx(struct rd *r, const char *what, uint32_t i)
{
    snprintf(r->ctx, sizeof(r->ctx), "%s %u: ", what, i);
}

/* A vector of value types (params or results). */
static int rd_valtypes(struct rd *r, uint8_t **out, uint32_t *n, uint32_t limit,
                       const char *what)
{
    int rc = rd_count(r, n, limit, 1, what);

    if (rc == 0)
        *out = rd_calloc(r, *n, 1, what, &rc);
    if (rc) {
        *n = 0;
        return rc;
    }
    for (uint32_t i = 0; i < *n && rc == 0; i++)
        rc = rd_valtype(r, &(*out)[i], what);
    return rc;
}

static int parse_functype(struct rd *r, struct kl_wasm_functype *ft)
{
    size_t at = r->pos;
    uint8_t form;
    int rc = rd_u8(r, &form, "type form");

    if (rc)
        return rc;
    if (form != 0x60)
        return rd_fail(r, at, "expected function type form 0x60, got 0x%02x", form);
    if ((rc = rd_valtypes(r, &ft->params, &ft->nparams, KL_WASM_MAX_PARAMS, "param count")))
        return rc;
    return rd_valtypes(r, &ft->results, &ft->nresults, KL_WASM_MAX_RESULTS, "result count");
}

static int parse_type_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_TYPES, 3, "count");

    if (rc)
        return rc;
    m->types = rd_calloc(r, n, sizeof(*m->types), "types", &rc);
    if (rc)
        return rc;
    m->ntypes = n;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "type", i);
        rc = parse_functype(r, &m->types[i]);
    }
    return rc;
}

/* Bump an imported-thing counter, keeping imported + defined under the cap. */
static int count_import(struct rd *r, uint32_t *counter, uint32_t limit, size_t at,
                        const char *what)
{
    if (*counter >= limit)
        return rd_fail(r, at, "more than %u %s", limit, what);
    (*counter)++;
    return 0;
}

static int parse_import_desc(struct rd *r, struct kl_wasm_import *im, size_t at)
{
    struct kl_wasm_module *m = r->m;
    int rc;

    switch (im->kind) {
    case KL_EXT_FUNC:
        if ((rc = rd_index(r, &im->type_index, m->ntypes, "type index")))
            return rc;
        return count_import(r, &m->nimported_funcs, KL_WASM_MAX_FUNCS, at, "functions");
    case KL_EXT_TABLE:
        if ((rc = rd_reftype(r, &im->valtype, "table element type")) ||
            (rc = rd_limits(r, &im->limits, 0)))
            return rc;
        return count_import(r, &m->nimported_tables, KL_WASM_MAX_TABLES, at, "tables");
    case KL_EXT_MEMORY:
        if ((rc = rd_limits(r, &im->limits, 1)))
            return rc;
        return count_import(r, &m->nimported_memories, KL_WASM_MAX_MEMORIES, at, "memories");
    case KL_EXT_GLOBAL:
        if ((rc = rd_valtype(r, &im->valtype, "global type")) ||
            (rc = rd_u8(r, &im->mut, "global mutability")))
            return rc;
        if (im->mut > 1)
            return rd_fail(r, r->pos - 1, "bad global mutability 0x%02x", im->mut);
        return count_import(r, &m->nimported_globals, KL_WASM_MAX_GLOBALS, at, "globals");
    default:
        return rd_fail(r, at, "unknown import kind 0x%02x", im->kind);
    }
}

static int parse_import(struct rd *r, struct kl_wasm_import *im)
{
    size_t at;
    int rc;

    if ((rc = rd_name(r, &im->module, &im->module_len, "module name")) ||
        (rc = rd_name(r, &im->name, &im->name_len, "field name")))
        return rc;
    at = r->pos;
    if ((rc = rd_u8(r, &im->kind, "import kind")))
        return rc;
    return parse_import_desc(r, im, at);
}

/* Collect function imports' types so kl_wasm_func_type() is O(1). */
static int index_imported_funcs(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    uint32_t k = 0;
    int rc = 0;

    m->imported_func_types = rd_calloc(r, m->nimported_funcs, sizeof(uint32_t),
                                       "imported function types", &rc);

    for (uint32_t i = 0; rc == 0 && i < m->nimports; i++)
        if (m->imports[i].kind == KL_EXT_FUNC)
            m->imported_func_types[k++] = m->imports[i].type_index;
    return rc;
}

static int parse_import_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_IMPORTS, 4, "count");

    if (rc)
        return rc;
    m->imports = rd_calloc(r, n, sizeof(*m->imports), "imports", &rc);
    if (rc)
        return rc;
    m->nimports = n;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "import", i);
        rc = parse_import(r, &m->imports[i]);
    }
    r->ctx[0] = '\0';
    return rc ? rc : index_imported_funcs(r);
}

static int parse_function_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_FUNCS - m->nimported_funcs, 1, "count");

    if (rc)
        return rc;
    m->func_types = rd_calloc(r, n, sizeof(uint32_t), "functions", &rc);
    if (rc)
        return rc;
    m->nfuncs = n;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "function", i);
        rc = rd_index(r, &m->func_types[i], m->ntypes, "type index");
    }
    return rc;
}

static int parse_table_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_TABLES - m->nimported_tables, 2, "count");

    if (rc)
        return rc;
    m->tables = rd_calloc(r, n, sizeof(*m->tables), "tables", &rc);
    if (rc)
        return rc;
    m->ntables = n;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "table", i);
        if ((rc = rd_reftype(r, &m->tables[i].elemtype, "table element type")) == 0)
            rc = rd_limits(r, &m->tables[i].limits, 0);
    }
    return rc;
}

static int parse_memory_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_MEMORIES - m->nimported_memories, 2, "count");

    if (rc)
        return rc;
    m->memories = rd_calloc(r, n, sizeof(*m->memories), "memories", &rc);
    if (rc)
        return rc;
    m->nmemories = n;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "memory", i);
        rc = rd_limits(r, &m->memories[i], 1);
    }
    return rc;
}

static int parse_global(struct rd *r, struct kl_wasm_globaltype *g)
{
    int rc;

    if ((rc = rd_valtype(r, &g->valtype, "global type")) ||
        (rc = rd_u8(r, &g->mut, "global mutability")))
        return rc;
    if (g->mut > 1)
        return rd_fail(r, r->pos - 1, "bad global mutability 0x%02x", g->mut);
    return rd_const_expr(r);
}

static int parse_global_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_GLOBALS - m->nimported_globals, 3, "count");

    if (rc)
        return rc;
    m->globals = rd_calloc(r, n, sizeof(*m->globals), "globals", &rc);
    if (rc)
        return rc;
    m->nglobals = n;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "global", i);
        rc = parse_global(r, &m->globals[i]);
    }
    return rc;
}

/* Size of the index space an export of `kind` refers to, or -1 if unknown. */
static int64_t export_space(const struct kl_wasm_module *m, uint8_t kind)
{
    switch (kind) {
    case KL_EXT_FUNC: return (int64_t)m->nimported_funcs + m->nfuncs;
    case KL_EXT_TABLE: return (int64_t)m->nimported_tables + m->ntables;
    case KL_EXT_MEMORY: return (int64_t)m->nimported_memories + m->nmemories;
    case KL_EXT_GLOBAL: return (int64_t)m->nimported_globals + m->nglobals;
    default: return -1;
    }
}

static int parse_export(struct rd *r, struct kl_wasm_export *ex)
{
    size_t at;
    int64_t space;
    int rc = rd_name(r, &ex->name, &ex->name_len, "export name");

    if (rc)
        return rc;
    at = r->pos;
    if ((rc = rd_u8(r, &ex->kind, "export kind")))
        return rc;
    if ((space = export_space(r->m, ex->kind)) < 0)
        return rd_fail(r, at, "unknown export kind 0x%02x", ex->kind);
    return rd_index(r, &ex->index, (uint32_t)space, "export index");
}

static int parse_export_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_EXPORTS, 3, "count");

    if (rc)
        return rc;
    m->exports = rd_calloc(r, n, sizeof(*m->exports), "exports", &rc);
    if (rc)
        return rc;
    m->nexports = n;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "export", i);
        rc = parse_export(r, &m->exports[i]);
    }
    return rc;
}

static int parse_start_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    int rc = rd_index(r, &m->start, m->nimported_funcs + m->nfuncs, "start function");

    if (rc == 0)
        m->has_start = 1;
    return rc;
}

/* The items of an element segment: function indices or constant expressions. */
static int parse_elem_items(struct rd *r, int exprs)
{
    uint32_t n, idx;
    int rc = rd_count(r, &n, KL_WASM_MAX_ELEM_ITEMS, 1, "item count");

    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = exprs ? rd_const_expr(r) : rd_u32(r, &idx, "function index");
    return rc;
}

/*
 * One element segment. Flags bit 0: passive/declarative, bit 1: explicit
 * table index (active) or declarative (otherwise), bit 2: items are
 * expressions. An element kind (must be 0x00, funcref) or reference type is
 * present unless the segment uses the MVP form (flags 0 or 4).
 */
static int parse_elem(struct rd *r)
{
    size_t at = r->pos;
    uint32_t flags, table;
    uint8_t kind;
    int rc = rd_u32(r, &flags, "segment flags");

    if (rc)
        return rc;
    if (flags > 7)
        return rd_fail(r, at, "bad element segment flags %u", flags);
    if (!(flags & 1) && (flags & 2) && (rc = rd_u32(r, &table, "table index")))
        return rc;
    if (!(flags & 1) && (rc = rd_const_expr(r)))
        return rc;
    if (flags & 3) {
        at = r->pos;
        if (flags & 4)
            rc = rd_reftype(r, &kind, "element type");
        else if ((rc = rd_u8(r, &kind, "element kind")) == 0 && kind != 0)
            rc = rd_fail(r, at, "bad element kind 0x%02x", kind);
        if (rc)
            return rc;
    }
    return parse_elem_items(r, flags & 4);
}

static int parse_element_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_ELEM_SEGMENTS, 2, "count");

    if (rc)
        return rc;
    m->nelems = n;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "element segment", i);
        rc = parse_elem(r);
    }
    return rc;
}

static int parse_datacount_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    size_t at = r->pos;
    int rc = rd_u32(r, &m->datacount, "data count");

    if (rc)
        return rc;
    if (m->datacount > KL_WASM_MAX_DATA_SEGMENTS)
        return rd_fail(r, at, "data count %u exceeds limit %u", m->datacount,
                       KL_WASM_MAX_DATA_SEGMENTS);
    m->has_datacount = 1;
    return 0;
}

/* Local declarations of one body: groups of (count, type), total capped. */
static int parse_locals(struct rd *r, uint32_t *total)
{
    uint32_t ngroups, n;
    uint8_t t;
    size_t at;
    int rc = rd_count(r, &ngroups, KL_WASM_MAX_FUNC_LOCALS, 2, "local group count");

    *total = 0;
    for (uint32_t i = 0; i < ngroups && rc == 0; i++) {
        at = r->pos;
        if ((rc = rd_u32(r, &n, "local count")) || (rc = rd_valtype(r, &t, "local type")))
            break;
        if (n > KL_WASM_MAX_FUNC_LOCALS - *total)
            rc = rd_fail(r, at, "more than %u locals", KL_WASM_MAX_FUNC_LOCALS);
        else
            *total += n;
    }
    return rc;
}

/* One function body: its size, then locals; instructions are skipped. */
static int parse_body(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    size_t at = r->pos, saved_end = r->end, body_end;
    uint32_t size, nlocals;
    int rc = rd_u32(r, &size, "body size");

    if (rc)
        return rc;
    if (size == 0 || size > KL_WASM_MAX_FUNC_SIZE)
        return rd_fail(r, at, "body size %u outside 1..%u", size, KL_WASM_MAX_FUNC_SIZE);
    if ((rc = rd_need(r, size, "function body")))
        return rc;
    body_end = r->pos + size;
    r->end = body_end;
    rc = parse_locals(r, &nlocals);
    r->end = saved_end;
    if (rc)
        return rc;
    /* A body's expression ends with `end`; a cheap sanity check, no more. */
    if (r->buf[body_end - 1] != 0x0B)
        return rd_fail(r, body_end - 1, "body does not end with 0x0b (end)");
    r->pos = body_end;
    m->code_bytes += size;
    m->total_locals += nlocals;
    if (nlocals > m->max_func_locals)
        m->max_func_locals = nlocals;
    return 0;
}

static int parse_code_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    size_t at = r->pos;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_FUNCS, 2, "count");

    if (rc)
        return rc;
    if (n != m->nfuncs)
        return rd_fail(r, at, "count %u does not match function section count %u", n, m->nfuncs);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "body", i);
        rc = parse_body(r);
    }
    return rc;
}

/* One data segment. Flags 0: active memory 0; 1: passive; 2: active, explicit memory. */
static int parse_data(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    size_t at = r->pos;
    uint32_t flags, mem, len;
    int rc = rd_u32(r, &flags, "segment flags");

    if (rc)
        return rc;
    if (flags > 2)
        return rd_fail(r, at, "bad data segment flags %u", flags);
    if (flags == 2 && (rc = rd_u32(r, &mem, "memory index")))
        return rc;
    if (flags != 1 && (rc = rd_const_expr(r)))
        return rc;
    if ((rc = rd_u32(r, &len, "data length")) || (rc = rd_skip(r, len, "data bytes")))
        return rc;
    m->data_bytes += len;
    return 0;
}

static int parse_data_section(struct rd *r)
{
    struct kl_wasm_module *m = r->m;
    size_t at = r->pos;
    uint32_t n;
    int rc = rd_count(r, &n, KL_WASM_MAX_DATA_SEGMENTS, 2, "count");

    if (rc)
        return rc;
    if (m->has_datacount && n != m->datacount)
        return rd_fail(r, at, "count %u does not match data count section %u", n, m->datacount);
    m->ndatas = n;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rd_ctx(r, "data segment", i);
        rc = parse_data(r);
    }
    return rc;
}

static int parse_custom_section(struct rd *r)
{
    int rc = rd_name(r, NULL, NULL, "custom section name");

    if (rc == 0)
        r->pos = r->end;     /* contents are opaque to us */
    return rc;
}

static int parse_section_body(struct rd *r, unsigned id)
{
    switch (id) {
    case SEC_CUSTOM: return parse_custom_section(r);
    case SEC_TYPE: return parse_type_section(r);
    case SEC_IMPORT: return parse_import_section(r);
    case SEC_FUNCTION: return parse_function_section(r);
    case SEC_TABLE: return parse_table_section(r);
    case SEC_MEMORY: return parse_memory_section(r);
    case SEC_GLOBAL: return parse_global_section(r);
    case SEC_EXPORT: return parse_export_section(r);
    case SEC_START: return parse_start_section(r);
    case SEC_ELEMENT: return parse_element_section(r);
    case SEC_DATACOUNT: return parse_datacount_section(r);
    case SEC_CODE: return parse_code_section(r);
    case SEC_DATA: return parse_data_section(r);
    default: return -EINVAL;   /* unreachable: ids are checked first */
    }
}

/* Where a known section must appear: datacount sits between element and code. */
static int section_rank(unsigned id)
{
    static const int rank[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10 };

    return id < sizeof(rank) / sizeof(rank[0]) ? rank[id] : -1;
}

/* Read one section header and body; *last_rank enforces order and uniqueness. */
static int parse_section(struct rd *r, size_t len, int *last_rank)
{
    size_t at = r->pos;
    uint32_t size;
    uint8_t id;
    int rank, rc;

    r->sec = -1;
    r->end = len;
    r->ctx[0] = '\0';
    if ((rc = rd_u8(r, &id, "section id")) || (rc = rd_u32(r, &size, "section size")))
        return rc;
    if ((rank = section_rank(id)) < 0)
        return rd_fail(r, at, "unknown section id %u", id);
    if (size > rd_left(r))
        return rd_fail(r, at, "section %u (%s) size %u exceeds the %zu bytes left",
                       id, kl_wasm_section_name(id), size, rd_left(r));
    if (id != SEC_CUSTOM && rank <= *last_rank)
        return rd_fail(r, at, "section %u (%s) is out of order or repeated",
                       id, kl_wasm_section_name(id));
    if (id != SEC_CUSTOM)
        *last_rank = rank;
    r->sec = id;
    r->end = r->pos + size;
    if ((rc = parse_section_body(r, id)))
        return rc;
    r->ctx[0] = '\0';
    if (r->pos != r->end)
        return rd_fail(r, r->pos, "%zu bytes left over at the end of the section", rd_left(r));
    return 0;
}

static int check_header(struct rd *r, size_t len)
{
    static const uint8_t magic[4] = { 0x00, 0x61, 0x73, 0x6D };
    uint32_t version;

    if (len > KL_WASM_MAX_MODULE_SIZE)
        return rd_fail(r, 0, "module of %zu bytes exceeds limit %u", len, KL_WASM_MAX_MODULE_SIZE);
    if (len < 8)
        return rd_fail(r, 0, "truncated header: %zu bytes, need 8", len);
    if (memcmp(r->buf, magic, 4) != 0)
        return rd_fail(r, 0, "bad magic: not a WebAssembly binary");
    version = (uint32_t)r->buf[4] | (uint32_t)r->buf[5] << 8 |
              (uint32_t)r->buf[6] << 16 | (uint32_t)r->buf[7] << 24;
    if (version != 1)
        return rd_fail(r, 4, "unsupported binary version 0x%x (want 1)", version);
    r->pos = 8;
    return 0;
}

/* Cross-section agreements only checkable once every section is read. */
static int check_counts(struct rd *r, int saw_code, int saw_data)
{
    struct kl_wasm_module *m = r->m;

    r->sec = -1;
    r->ctx[0] = '\0';
    if (!saw_code && m->nfuncs > 0)
        return rd_fail(r, r->pos, "%u functions declared but no code section", m->nfuncs);
    if (!saw_data && m->has_datacount && m->datacount > 0)
        return rd_fail(r, r->pos, "data count section says %u segments but no data section",
                       m->datacount);
    return 0;
}

static int parse_module(struct rd *r, size_t len)
{
    int last_rank = 0, saw_code = 0, saw_data = 0, rc;

    if ((rc = check_header(r, len)))
        return rc;
    while (r->pos < len) {
        if ((rc = parse_section(r, len, &last_rank)))
            return rc;
        saw_code |= r->sec == SEC_CODE;
        saw_data |= r->sec == SEC_DATA;
    }
    return check_counts(r, saw_code, saw_data);
}

int kl_wasm_parse(const uint8_t *buf, size_t len, struct kl_wasm_module *m,
                  struct kl_err *err)
{
    struct rd r = { .buf = buf, .pos = 0, .end = len, .sec = -1, .m = m, .err = err };
    int rc;

    memset(m, 0, sizeof(*m));
    if (buf == NULL)
        len = 0;
    r.end = len;
    rc = parse_module(&r, len);
    if (rc)
        goto err_free;
    return 0;

err_free:
    kl_wasm_module_free(m);
    return rc;
}

void kl_wasm_module_free(struct kl_wasm_module *m)
{
    for (uint32_t i = 0; i < m->ntypes; i++) {
        free(m->types[i].params);
        free(m->types[i].results);
    }
    for (uint32_t i = 0; i < m->nimports; i++) {
        free(m->imports[i].module);
        free(m->imports[i].name);
    }
    for (uint32_t i = 0; i < m->nexports; i++)
        free(m->exports[i].name);
    free(m->types);
    free(m->imports);
    free(m->imported_func_types);
    free(m->func_types);
    free(m->tables);
    free(m->memories);
    free(m->globals);
    free(m->exports);
    memset(m, 0, sizeof(*m));
}

const struct kl_wasm_functype *kl_wasm_func_type(const struct kl_wasm_module *m,
                                                 uint32_t funcidx)
{
    uint32_t t;

    if (funcidx < m->nimported_funcs)
        t = m->imported_func_types[funcidx];
    else if (funcidx - m->nimported_funcs < m->nfuncs)
        t = m->func_types[funcidx - m->nimported_funcs];
    else
        return NULL;
    return t < m->ntypes ? &m->types[t] : NULL;
}
