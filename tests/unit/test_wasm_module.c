/* test_wasm_module.c - unit tests for the untrusted-input WebAssembly structure reader. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compile/wasm_module.h"
#include "unit.h"

/* ---- a tiny module builder, so every test module is spelled out here ---- */

struct buf {
    uint8_t d[1 << 17];
    size_t n;
};

static void b_u8(struct buf *b, uint8_t v)
{
    if (b->n < sizeof(b->d))
        b->d[b->n++] = v;
}

static void b_raw(struct buf *b, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b_u8(b, ((const uint8_t *)p)[i]);
}

static void b_uleb(struct buf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7F;

        v >>= 7;
        b_u8(b, (uint8_t)(c | (v ? 0x80 : 0)));
    } while (v);
}

static void b_name(struct buf *b, const char *s)
{
    b_uleb(b, strlen(s));
    b_raw(b, s, strlen(s));
}

static void b_header(struct buf *b)
{
    static const uint8_t h[8] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };

    b->n = 0;
    b_raw(b, h, 8);
}

/* Section boundaries seen so far, for the truncation test. */
static size_t bounds[64];
static int nbounds;

static void b_section(struct buf *b, uint8_t id, const struct buf *body)
{
    b_u8(b, id);
    b_uleb(b, body->n);
    b_raw(b, body->d, body->n);
    if (nbounds < 64)
        bounds[nbounds++] = b->n;
}

static struct buf mod, sec;

/* Parse mod (copied to an exact-size heap block so ASan sees any overread). */
static int parse(const uint8_t *p, size_t n, struct kl_wasm_module *m, struct kl_err *e)
{
    uint8_t *copy = malloc(n ? n : 1);
    int rc;

    memcpy(copy, p, n);
    e->code = 0;
    e->msg[0] = '\0';
    rc = kl_wasm_parse(copy, n, m, e);
    free(copy);
    return rc;
}

/* Parse a module of one section and expect failure whose message contains `want`. */
static int fails_with(uint8_t id, const struct buf *body, const char *want)
{
    struct kl_wasm_module m;
    struct kl_err e;
    struct buf *b = malloc(sizeof(*b));
    int ok;

    b_header(b);
    b_section(b, id, body);
    ok = parse(b->d, b->n, &m, &e) == -EINVAL && strstr(e.msg, want) != NULL;
    if (!ok)
        fprintf(stderr, "  want \"%s\", got \"%s\"\n", want, e.msg);
    free(b);
    return ok;
}

/* Parse a one-section module; 0 on success. */
static int parses(uint8_t id, const struct buf *body, struct kl_wasm_module *m)
{
    struct kl_err e;
    struct buf *b = malloc(sizeof(*b));
    int rc;

    b_header(b);
    b_section(b, id, body);
    rc = parse(b->d, b->n, m, &e);
    if (rc)
        fprintf(stderr, "  unexpected error: %s\n", e.msg);
    free(b);
    return rc;
}

/* ---- the big valid module: every section kind, several forms of each ---- */

static void build_types(void)
{
    sec.n = 0;
    b_uleb(&sec, 4);
    b_raw(&sec, "\x60\x04\x7f\x7f\x7f\x7f\x01\x7f", 8);     /* 0: (i32 x4) -> i32 */
    b_raw(&sec, "\x60\x00\x00", 3);                         /* 1: () -> () */
    b_raw(&sec, "\x60\x01\x70\x03\x7f\x7e\x7d", 7);         /* 2: funcref -> i32 i64 f32 */
    b_raw(&sec, "\x60\x01\x6f\x01\x7c", 5);                 /* 3: externref -> f64 */
    b_section(&mod, 1, &sec);
}

static void build_imports(void)
{
    sec.n = 0;
    b_uleb(&sec, 5);
    b_name(&sec, "wasi_snapshot_preview1");
    b_name(&sec, "fd_write");
    b_raw(&sec, "\x00\x00", 2);                             /* func type 0 */
    b_name(&sec, "env");
    b_name(&sec, "mem");
    b_raw(&sec, "\x02\x03\x01\x80\x80\x04", 6);             /* memory shared 1..65536 */
    b_name(&sec, "env");
    b_name(&sec, "tbl");
    b_raw(&sec, "\x01\x6f\x00\x02", 4);                     /* table externref min 2 */
    b_name(&sec, "env");
    b_name(&sec, "g");
    b_raw(&sec, "\x03\x7e\x01", 3);                         /* global mut i64 */
    b_name(&sec, "other.mod");
    b_name(&sec, "f x");
    b_raw(&sec, "\x00\x03", 2);                             /* func type 3 */
    b_section(&mod, 2, &sec);
}

static void build_funcs_tables_mems(void)
{
    sec.n = 0;
    b_raw(&sec, "\x03\x01\x02\x01", 4);                     /* funcs 2,3,4: types 1,2,1 */
    b_section(&mod, 3, &sec);
    sec.n = 0;
    b_raw(&sec, "\x01\x70\x01\x03\x0a", 5);                 /* funcref 3..10 */
    b_section(&mod, 4, &sec);
    sec.n = 0;
    b_raw(&sec, "\x01\x04\x05", 3);                         /* memory64, min 5 */
    b_section(&mod, 5, &sec);
}

static void build_globals(void)
{
    sec.n = 0;
    b_uleb(&sec, 4);
    b_raw(&sec, "\x7f\x00\x41\x80\x80\x80\x80\x78\x0b", 9); /* i32 const INT32_MIN */
    b_raw(&sec, "\x7c\x01\x44", 3);                         /* mut f64 = 1.0 */
    b_raw(&sec, "\x00\x00\x00\x00\x00\x00\xf0\x3f\x0b", 9);
    b_raw(&sec, "\x70\x00\xd0\x70\x0b", 5);                 /* funcref null */
    b_raw(&sec, "\x7e\x00\x23\x00\x42\x01\x7c\x0b", 8);     /* i64 global.get 0 + 1 (extended const) */
    b_section(&mod, 6, &sec);
}

static void build_exports_start(void)
{
    sec.n = 0;
    b_uleb(&sec, 5);
    b_name(&sec, "_start");
    b_raw(&sec, "\x00\x02", 2);
    b_name(&sec, "memory");
    b_raw(&sec, "\x02\x01", 2);
    b_name(&sec, "h\xc3\xa9llo");
    b_raw(&sec, "\x03\x04", 2);
    b_name(&sec, "");
    b_raw(&sec, "\x01\x01", 2);
    b_name(&sec, "imp");
    b_raw(&sec, "\x00\x01", 2);
    b_section(&mod, 7, &sec);
    sec.n = 0;
    b_u8(&sec, 2);
    b_section(&mod, 8, &sec);
}

static void build_elems(void)
{
    sec.n = 0;
    b_uleb(&sec, 5);
    b_raw(&sec, "\x00\x41\x00\x0b\x02\x02\x03", 7);         /* flags 0: active, funcs 2 3 */
    b_raw(&sec, "\x01\x00\x01\x04", 4);                     /* flags 1: passive, func 4 */
    b_raw(&sec, "\x02\x01\x41\x01\x0b\x00\x01\x02", 8);     /* flags 2: table 1, func 2 */
    b_raw(&sec, "\x05\x70\x02\xd2\x02\x0b\xd0\x70\x0b", 9); /* flags 5: passive exprs */
    b_raw(&sec, "\x07\x70\x01\xd2\x03\x0b", 6);             /* flags 7: declarative exprs */
    b_section(&mod, 9, &sec);
    sec.n = 0;
    b_u8(&sec, 3);
    b_section(&mod, 12, &sec);                              /* datacount 3 */
}

static void build_code(void)
{
    sec.n = 0;
    b_uleb(&sec, 3);
    b_raw(&sec, "\x02\x00\x0b", 3);                         /* no locals */
    b_raw(&sec, "\x08\x02\x03\x7f\x02\x7e\x41\x00\x0b", 9); /* 5 locals; i32.const 0 (not run) */
    b_raw(&sec, "\x0a\x02\x80\x01\x7f\x00\x7c\x00\x00\x00\x0b", 11); /* 128+0 locals */
    b_section(&mod, 10, &sec);
}

static void build_data(void)
{
    sec.n = 0;
    b_uleb(&sec, 3);
    b_raw(&sec, "\x00\x41\x08\x0b\x05hello", 10);
    b_raw(&sec, "\x01\x03" "abc", 5);
    b_raw(&sec, "\x02\x00\x42\x00\x0b\x00", 6);
    b_section(&mod, 11, &sec);
}

static void build_custom(const char *name)
{
    sec.n = 0;
    b_name(&sec, name);
    b_raw(&sec, "\xff\xfe\x00junk", 7);
    b_section(&mod, 0, &sec);
}

static void build_big(void)
{
    nbounds = 0;
    b_header(&mod);
    bounds[nbounds++] = mod.n;
    build_custom("first");
    build_types();
    build_imports();
    build_funcs_tables_mems();
    build_custom("middle");
    build_globals();
    build_exports_start();
    build_elems();
    build_code();
    build_data();
    build_custom("name");
}

static void check_big_types(const struct kl_wasm_module *m)
{
    CHECK(m->ntypes == 4);
    CHECK(m->types[0].nparams == 4 && m->types[0].nresults == 1);
    CHECK(m->types[0].results[0] == KL_WT_I32);
    CHECK(m->types[1].nparams == 0 && m->types[1].params == NULL);
    CHECK(m->types[2].nresults == 3 && m->types[2].results[1] == KL_WT_I64);
    CHECK(m->types[2].params[0] == KL_WT_FUNCREF);
    CHECK(m->types[3].params[0] == KL_WT_EXTERNREF);
}

static void check_big_imports(const struct kl_wasm_module *m)
{
    const struct kl_wasm_import *im = m->imports;

    CHECK(m->nimports == 5);
    CHECK_STR(im[0].module, "wasi_snapshot_preview1");
    CHECK_STR(im[0].name, "fd_write");
    CHECK(im[0].kind == KL_EXT_FUNC && im[0].type_index == 0);
    CHECK(im[1].kind == KL_EXT_MEMORY && im[1].limits.shared && im[1].limits.has_max);
    CHECK(im[1].limits.min == 1 && im[1].limits.max == 65536 && !im[1].limits.is64);
    CHECK(im[2].kind == KL_EXT_TABLE && im[2].valtype == KL_WT_EXTERNREF);
    CHECK(im[2].limits.min == 2 && !im[2].limits.has_max);
    CHECK(im[3].kind == KL_EXT_GLOBAL && im[3].valtype == KL_WT_I64 && im[3].mut == 1);
    CHECK_STR(im[4].name, "f x");
    CHECK(im[4].module_len == 9 && im[4].name_len == 3);
    CHECK(m->nimported_funcs == 2 && m->nimported_tables == 1);
    CHECK(m->nimported_memories == 1 && m->nimported_globals == 1);
}

static void check_big_defs(const struct kl_wasm_module *m)
{
    CHECK(m->nfuncs == 3 && m->func_types[1] == 2);
    CHECK(m->ntables == 1 && m->tables[0].elemtype == KL_WT_FUNCREF);
    CHECK(m->tables[0].limits.min == 3 && m->tables[0].limits.max == 10);
    CHECK(m->nmemories == 1 && m->memories[0].is64 && m->memories[0].min == 5);
    CHECK(m->nglobals == 4 && m->globals[1].valtype == KL_WT_F64 && m->globals[1].mut == 1);
    CHECK(m->globals[2].valtype == KL_WT_FUNCREF && m->globals[3].valtype == KL_WT_I64);
    CHECK(m->nexports == 5);
    CHECK_STR(m->exports[0].name, "_start");
    CHECK(m->exports[0].kind == KL_EXT_FUNC && m->exports[0].index == 2);
    CHECK_STR(m->exports[2].name, "h\xc3\xa9llo");
    CHECK(m->exports[2].kind == KL_EXT_GLOBAL && m->exports[2].index == 4);
    CHECK(m->exports[3].name_len == 0 && m->exports[3].name[0] == '\0');
    CHECK(m->has_start && m->start == 2);
}

static void check_big_rest(const struct kl_wasm_module *m)
{
    CHECK(m->nelems == 5);
    CHECK(m->has_datacount && m->datacount == 3 && m->ndatas == 3);
    CHECK(m->data_bytes == 8);
    CHECK(m->total_locals == 133 && m->max_func_locals == 128);
    CHECK(m->code_bytes == 2 + 8 + 10);
    CHECK(!m->uses_v128);
    CHECK(kl_wasm_func_type(m, 0) == &m->types[0]);
    CHECK(kl_wasm_func_type(m, 1) == &m->types[3]);
    CHECK(kl_wasm_func_type(m, 2) == &m->types[1]);
    CHECK(kl_wasm_func_type(m, 3) == &m->types[2]);
    CHECK(kl_wasm_func_type(m, 5) == NULL);
    CHECK(kl_wasm_func_type(m, UINT32_MAX) == NULL);
}

static void test_big_module(void)
{
    struct kl_wasm_module m;
    struct kl_err e;

    build_big();
    CHECK(parse(mod.d, mod.n, &m, &e) == 0);
    if (e.msg[0]) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    check_big_types(&m);
    check_big_imports(&m);
    check_big_defs(&m);
    check_big_rest(&m);
    kl_wasm_module_free(&m);
    CHECK(m.ntypes == 0 && m.types == NULL);
    kl_wasm_module_free(&m);                                /* twice is harmless */
}

/* Every strict prefix must fail cleanly, unless it ends between sections. */
static void test_truncation(void)
{
    struct kl_wasm_module m;
    struct kl_err e;
    int bad = 0;

    build_big();
    for (size_t n = 0; n < mod.n; n++) {
        int at_bound = 0, rc = parse(mod.d, n, &m, &e);

        for (int i = 0; i < nbounds; i++)
            at_bound |= bounds[i] == n;
        if (rc != 0 && rc != -EINVAL)
            bad++;
        if (rc == 0 && !at_bound)
            bad++;
        if (rc != 0 && (e.code != rc || e.msg[0] == '\0' || m.types || m.imports))
            bad++;
        if (rc == 0)
            kl_wasm_module_free(&m);
    }
    CHECK(bad == 0);
}

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Random corruption: never crash, never an unexpected code, results consistent. */
static void test_mutations(void)
{
    struct kl_wasm_module m;
    struct kl_err e;
    int bad = 0, accepted = 0;
    static uint8_t copy[sizeof(mod.d)];

    build_big();
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(copy, mod.d, mod.n);
        for (int k = 1 + (int)(rng() % 4); k > 0; k--)
            copy[rng() % mod.n] = (uint8_t)rng();
        int rc = parse(copy, mod.n, &m, &e);

        if (rc != 0 && rc != -EINVAL)
            bad++;
        if (rc != 0)
            continue;
        accepted++;
        for (uint32_t f = 0; f < m.nimported_funcs + m.nfuncs; f++)
            bad += kl_wasm_func_type(&m, f) == NULL;
        kl_wasm_module_free(&m);
    }
    CHECK(bad == 0);
    CHECK(accepted > 0);   /* some flips land in data bytes and stay valid */
}

/* A module produced by wat2wasm 1.0.32 from this text:
 *   (module
 *     (type $fdw (func (param i32 i32 i32 i32) (result i32)))
 *     (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (type $fdw)))
 *     (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 *     (memory (export "memory") 1)
 *     (global $sp (mut i32) (i32.const 1024))
 *     (data (i32.const 8) "hello world\n")
 *     (func $main (export "_start") (local i32 i64) (local f64)
 *       (i32.store (i32.const 0) (i32.const 8))
 *       (i32.store (i32.const 4) (i32.const 12))
 *       (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))
 *       (call $exit (i32.const 0))))
 */
static const uint8_t hello_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x10, 0x03, 0x60,
    0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x00, 0x60,
    0x00, 0x00, 0x02, 0x46, 0x02, 0x16, 0x77, 0x61, 0x73, 0x69, 0x5f, 0x73,
    0x6e, 0x61, 0x70, 0x73, 0x68, 0x6f, 0x74, 0x5f, 0x70, 0x72, 0x65, 0x76,
    0x69, 0x65, 0x77, 0x31, 0x08, 0x66, 0x64, 0x5f, 0x77, 0x72, 0x69, 0x74,
    0x65, 0x00, 0x00, 0x16, 0x77, 0x61, 0x73, 0x69, 0x5f, 0x73, 0x6e, 0x61,
    0x70, 0x73, 0x68, 0x6f, 0x74, 0x5f, 0x70, 0x72, 0x65, 0x76, 0x69, 0x65,
    0x77, 0x31, 0x09, 0x70, 0x72, 0x6f, 0x63, 0x5f, 0x65, 0x78, 0x69, 0x74,
    0x00, 0x01, 0x03, 0x02, 0x01, 0x02, 0x05, 0x03, 0x01, 0x00, 0x01, 0x06,
    0x07, 0x01, 0x7f, 0x01, 0x41, 0x80, 0x08, 0x0b, 0x07, 0x13, 0x02, 0x06,
    0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x06, 0x5f, 0x73, 0x74,
    0x61, 0x72, 0x74, 0x00, 0x02, 0x0a, 0x27, 0x01, 0x25, 0x03, 0x01, 0x7f,
    0x01, 0x7e, 0x01, 0x7c, 0x41, 0x00, 0x41, 0x08, 0x36, 0x02, 0x00, 0x41,
    0x04, 0x41, 0x0c, 0x36, 0x02, 0x00, 0x41, 0x01, 0x41, 0x00, 0x41, 0x01,
    0x41, 0x14, 0x10, 0x00, 0x1a, 0x41, 0x00, 0x10, 0x01, 0x0b, 0x0b, 0x12,
    0x01, 0x00, 0x41, 0x08, 0x0b, 0x0c, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20,
    0x77, 0x6f, 0x72, 0x6c, 0x64, 0x0a,
};

static void test_wat2wasm_module(void)
{
    struct kl_wasm_module m;
    struct kl_err e;
    const struct kl_wasm_functype *ft;

    CHECK(parse(hello_wasm, sizeof(hello_wasm), &m, &e) == 0);
    CHECK(m.ntypes == 3 && m.nimports == 2 && m.nimported_funcs == 2);
    CHECK_STR(m.imports[1].name, "proc_exit");
    CHECK(m.nfuncs == 1 && m.nmemories == 1 && m.memories[0].min == 1);
    CHECK(!m.memories[0].has_max);
    CHECK(m.nglobals == 1 && m.globals[0].mut == 1);
    CHECK(m.nexports == 2 && m.exports[1].index == 2);
    CHECK(m.ndatas == 1 && m.data_bytes == 12 && !m.has_datacount);
    CHECK(m.total_locals == 3 && m.max_func_locals == 3 && m.code_bytes == 37);
    ft = kl_wasm_func_type(&m, 0);
    CHECK(ft && ft->nparams == 4 && ft->nresults == 1);
    ft = kl_wasm_func_type(&m, 2);
    CHECK(ft && ft->nparams == 0 && ft->nresults == 0);
    kl_wasm_module_free(&m);
}

static void test_header(void)
{
    struct kl_wasm_module m;
    struct kl_err e;

    CHECK(parse((const uint8_t *)"", 0, &m, &e) == -EINVAL);
    CHECK(strstr(e.msg, "truncated header") != NULL);
    CHECK(parse((const uint8_t *)"\0asn\1\0\0\0", 8, &m, &e) == -EINVAL);
    CHECK(strstr(e.msg, "bad magic") != NULL);
    CHECK(parse((const uint8_t *)"\0asm\2\0\0\0", 8, &m, &e) == -EINVAL);
    CHECK_STR(e.msg, "offset 0x4: unsupported binary version 0x2 (want 1)");
    CHECK(parse((const uint8_t *)"\0asm\1\0\0\0", 8, &m, &e) == 0);
    CHECK(m.ntypes == 0 && m.nfuncs == 0);
    kl_wasm_module_free(&m);
    CHECK(kl_wasm_parse(NULL, 0, &m, NULL) == -EINVAL);   /* err may be NULL */
}

/* A count LEB in a type section, then padding so the count check is reached. */
static int type_count_fails(const char *leb, size_t n, const char *want)
{
    sec.n = 0;
    b_raw(&sec, leb, n);
    return fails_with(1, &sec, want);
}

static void test_leb_unsigned(void)
{
    struct kl_wasm_module m;

    CHECK(type_count_fails("\x80\x80\x80\x80\x80\x00", 6, "LEB128 count longer than 5 bytes"));
    CHECK(type_count_fails("\xff\xff\xff\xff\x1f", 5, "LEB128 count overflows 32 bits"));
    CHECK(type_count_fails("\xff\xff\xff\xff\x7f", 5, "overflows 32 bits"));
    CHECK(type_count_fails("\x80\x80", 2, "unexpected end in LEB128 count"));
    CHECK(type_count_fails("\xff\xff\xff\xff\x0f", 5,
                           "section 1 (type) at offset 0xa: count 4294967295 exceeds limit 1000000"));
    /* Padded but in-range encodings are legal: count 0 in five bytes. */
    sec.n = 0;
    b_raw(&sec, "\x80\x80\x80\x80\x00", 5);
    CHECK(parses(1, &sec, &m) == 0);
    kl_wasm_module_free(&m);
}

/* A global with an i32/i64 init written as the given LEB bytes. */
static struct buf *global_init(uint8_t valtype, uint8_t op, const char *leb, size_t n)
{
    sec.n = 0;
    b_raw(&sec, "\x01", 1);
    b_u8(&sec, valtype);
    b_u8(&sec, 0);
    b_u8(&sec, op);
    b_raw(&sec, leb, n);
    b_u8(&sec, 0x0b);
    return &sec;
}

static void test_leb_signed(void)
{
    struct kl_wasm_module m;

    CHECK(parses(6, global_init(0x7f, 0x41, "\x80\x80\x80\x80\x78", 5), &m) == 0);  /* INT32_MIN */
    kl_wasm_module_free(&m);
    CHECK(parses(6, global_init(0x7f, 0x41, "\xff\xff\xff\xff\x07", 5), &m) == 0);  /* INT32_MAX */
    kl_wasm_module_free(&m);
    CHECK(parses(6, global_init(0x7f, 0x41, "\x7f", 1), &m) == 0);                  /* -1 */
    kl_wasm_module_free(&m);
    CHECK(fails_with(6, global_init(0x7f, 0x41, "\x80\x80\x80\x80\x70", 5), "i32.const overflows 32"));
    CHECK(fails_with(6, global_init(0x7f, 0x41, "\xff\xff\xff\xff\x0f", 5), "i32.const overflows 32"));
    CHECK(fails_with(6, global_init(0x7f, 0x41, "\xff\xff\xff\xff\x8f\x00", 6), "longer than 5"));
    CHECK(parses(6, global_init(0x7e, 0x42, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", 10), &m) == 0);
    kl_wasm_module_free(&m);
    CHECK(parses(6, global_init(0x7e, 0x42, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00", 10), &m) == 0);
    kl_wasm_module_free(&m);
    CHECK(fails_with(6, global_init(0x7e, 0x42, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 10),
                     "i64.const overflows 64"));
    CHECK(fails_with(6, global_init(0x7e, 0x42, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7e", 10),
                     "i64.const overflows 64"));
    CHECK(fails_with(6, global_init(0x7e, 0x42, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11),
                     "longer than 10"));
}

static void test_leb_u64_limits(void)
{
    struct kl_wasm_module m;

    sec.n = 0;
    b_raw(&sec, "\x01\x04\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);  /* memory64 min 2^64-1 */
    CHECK(parses(5, &sec, &m) == 0);
    CHECK(m.memories && m.memories[0].min == UINT64_MAX);
    kl_wasm_module_free(&m);
    sec.n = 0;
    b_raw(&sec, "\x01\x04\xff\xff\xff\xff\xff\xff\xff\xff\xff\x03", 12);
    CHECK(fails_with(5, &sec, "limits minimum overflows 64"));
    sec.n = 0;
    b_raw(&sec, "\x01\x00\x80\x80\x80\x80\x10", 7);                        /* 32-bit memory, 2^32 */
    CHECK(fails_with(5, &sec, "limits minimum overflows 32"));
    sec.n = 0;
    b_raw(&sec, "\x01\x08\x00", 3);
    CHECK(fails_with(5, &sec, "bad memory limits flags 0x08"));
    sec.n = 0;
    b_raw(&sec, "\x01\x02\x00", 3);                                     /* shared, no max */
    CHECK(fails_with(5, &sec, "bad memory limits flags 0x02"));
    sec.n = 0;
    b_raw(&sec, "\x01\x07\x01\x02", 4);                                 /* shared memory64 1..2 */
    CHECK(parses(5, &sec, &m) == 0);
    CHECK(m.memories && m.memories[0].shared && m.memories[0].is64 && m.memories[0].max == 2);
    kl_wasm_module_free(&m);
    sec.n = 0;
    b_raw(&sec, "\x01\x70\x02\x00", 4);
    CHECK(fails_with(4, &sec, "bad table limits flags 0x02"));
}

static void test_counts(void)
{
    sec.n = 0;
    b_raw(&sec, "\x05\x60\x00\x00", 4);      /* says 5 types, holds 1 */
    CHECK(fails_with(1, &sec, "count 5 needs at least 15 bytes, only 3 left"));
    sec.n = 0;
    b_raw(&sec, "\xff\xff\xff\xff\x0f", 5);
    CHECK(fails_with(3, &sec, "section 3 (function) at offset 0xa: count 4294967295 exceeds limit 1000000"));
    CHECK(fails_with(2, &sec, "count 4294967295 exceeds limit 100000"));
    CHECK(fails_with(7, &sec, "count 4294967295 exceeds limit 100000"));
    CHECK(fails_with(11, &sec, "exceeds limit 100000"));
    CHECK(fails_with(9, &sec, "exceeds limit 100000"));
    CHECK(fails_with(12, &sec, "data count 4294967295 exceeds limit 100000"));
    sec.n = 0;
    b_raw(&sec, "\x01\x60\xe9\x07", 4);      /* 1001 params */
    CHECK(fails_with(1, &sec, "type 0: param count 1001 exceeds limit 1000"));
    sec.n = 0;
    b_raw(&sec, "\x01\x00\x41\x00\x0b\xff\xff\xff\xff\x0f", 10);
    CHECK(fails_with(9, &sec, "element segment 0: item count 4294967295 exceeds limit 10000000"));
}

/* An export section with one function export named by the given bytes. */
static struct buf *export_named(const char *name, size_t n)
{
    sec.n = 0;
    b_u8(&sec, 1);
    b_uleb(&sec, n);
    b_raw(&sec, name, n);
    b_raw(&sec, "\x00\x00", 2);
    return &sec;
}

/* Exporting function 0 needs a function: prepend type+function+code sections. */
static int export_result(const char *name, size_t n, struct kl_wasm_module *m, struct kl_err *e)
{
    struct buf *b = malloc(sizeof(*b));
    int rc;

    b_header(b);
    b_raw(b, "\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00", 10);
    b_section(b, 7, export_named(name, n));
    b_raw(b, "\x0a\x04\x01\x02\x00\x0b", 6);
    rc = parse(b->d, b->n, m, e);
    free(b);
    return rc;
}

static int utf8_ok(const char *s, size_t n)
{
    struct kl_wasm_module m;
    struct kl_err e;
    int rc = export_result(s, n, &m, &e);

    if (rc == 0) {
        rc = m.exports[0].name_len == n && memcmp(m.exports[0].name, s, n) == 0 ? 0 : -1;
        kl_wasm_module_free(&m);
    } else if (!strstr(e.msg, "not valid UTF-8")) {
        fprintf(stderr, "  unexpected: %s\n", e.msg);
    }
    return rc == 0;
}

static void test_utf8(void)
{
    CHECK(utf8_ok("plain", 5));
    CHECK(utf8_ok("\xe2\x82\xac", 3));             /* U+20AC */
    CHECK(utf8_ok("\xf4\x8f\xbf\xbf", 4));         /* U+10FFFF */
    CHECK(utf8_ok("\xed\x9f\xbf", 3));             /* U+D7FF, just below surrogates */
    CHECK(utf8_ok("a\0b", 3));                     /* NUL is a valid code point */
    CHECK(!utf8_ok("\xc0\x80", 2));                /* overlong NUL */
    CHECK(!utf8_ok("\xe0\x9f\xbf", 3));            /* overlong 3-byte */
    CHECK(!utf8_ok("\xf0\x8f\xbf\xbf", 4));        /* overlong 4-byte */
    CHECK(!utf8_ok("\xed\xa0\x80", 3));            /* surrogate U+D800 */
    CHECK(!utf8_ok("\xf4\x90\x80\x80", 4));        /* U+110000 */
    CHECK(!utf8_ok("\xe2\x82", 2));                /* truncated */
    CHECK(!utf8_ok("ab\x80", 3));                  /* stray continuation */
    CHECK(!utf8_ok("\xff", 1));                    /* never valid */
    CHECK(!utf8_ok("\xc3\x28", 2));                /* bad continuation */
    CHECK(fails_with(7, export_named("ok\xc3", 3), "export 0: export name is not valid UTF-8 (byte 0xc3 at index 2)"));
    sec.n = 0;
    b_raw(&sec, "\x02\xc3\x28", 3);
    CHECK(fails_with(0, &sec, "custom section name is not valid UTF-8"));
}

static void test_name_cap(void)
{
    struct kl_wasm_module m;
    struct kl_err e;
    char *s = malloc(KL_WASM_MAX_NAME + 1);

    memset(s, 'x', KL_WASM_MAX_NAME + 1);
    CHECK(export_result(s, KL_WASM_MAX_NAME, &m, &e) == 0);
    CHECK(m.nexports == 1 && m.exports[0].name_len == KL_WASM_MAX_NAME);
    kl_wasm_module_free(&m);
    CHECK(export_result(s, KL_WASM_MAX_NAME + 1, &m, &e) == -EINVAL);
    CHECK(strstr(e.msg, "export name length 65537 exceeds limit 65536") != NULL);
    free(s);
}

static void test_v128(void)
{
    struct kl_wasm_module m;

    sec.n = 0;
    b_raw(&sec, "\x01\x60\x01\x7b\x00", 5);
    CHECK(parses(1, &sec, &m) == 0 && m.uses_v128);
    kl_wasm_module_free(&m);
    sec.n = 0;
    b_raw(&sec, "\x01\x7f\x00\xfd\x0c", 5);              /* an i32 global, v128.const init */
    b_raw(&sec, "0123456789abcdef\x0b", 17);
    CHECK(parses(6, &sec, &m) == 0 && m.uses_v128);
    kl_wasm_module_free(&m);
    sec.n = 0;
    b_raw(&sec, "\x01\x7f\x00\xfd\x0d", 5);
    CHECK(fails_with(6, &sec, "SIMD opcode 0xfd 13 not allowed"));
    sec.n = 0;
    b_raw(&sec, "\x01\x03" "env" "\x01" "g" "\x03\x7b\x00", 10);   /* import global v128 */
    CHECK(parses(2, &sec, &m) == 0 && m.uses_v128);
    kl_wasm_module_free(&m);
}

static void test_v128_local(void)
{
    struct kl_wasm_module m;
    struct kl_err e;
    static const uint8_t plain[] = "\0asm\1\0\0\0\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00"
                                   "\x0a\x06\x01\x04\x01\x01\x7f\x0b";
    uint8_t simd[sizeof(plain)];

    CHECK(parse(plain, sizeof(plain) - 1, &m, &e) == 0 && !m.uses_v128);
    kl_wasm_module_free(&m);
    memcpy(simd, plain, sizeof(plain));
    simd[sizeof(plain) - 3] = 0x7b;
    CHECK(parse(simd, sizeof(plain) - 1, &m, &e) == 0 && m.uses_v128);
    kl_wasm_module_free(&m);
    simd[sizeof(plain) - 3] = 0x7a;
    CHECK(parse(simd, sizeof(plain) - 1, &m, &e) == -EINVAL);
    CHECK(strstr(e.msg, "local type: unknown value type 0x7a") != NULL);
}

/* Parse raw module bytes (given after the header) and expect `want` in the error. */
static int raw_fails(const char *bytes, size_t n, const char *want)
{
    struct kl_wasm_module m;
    struct kl_err e;
    struct buf *b = malloc(sizeof(*b));
    int ok;

    b_header(b);
    b_raw(b, bytes, n);
    ok = parse(b->d, b->n, &m, &e) == -EINVAL && strstr(e.msg, want);
    if (!ok)
        fprintf(stderr, "  want \"%s\", got \"%s\"\n", want, e.msg);
    free(b);
    return ok;
}

static int raw_parses(const char *bytes, size_t n)
{
    struct kl_wasm_module m;
    struct kl_err e;
    struct buf *b = malloc(sizeof(*b));
    int rc;

    b_header(b);
    b_raw(b, bytes, n);
    rc = parse(b->d, b->n, &m, &e);
    if (rc)
        fprintf(stderr, "  unexpected: %s\n", e.msg);
    else
        kl_wasm_module_free(&m);
    free(b);
    return rc == 0;
}

#define RAW_FAILS(s, want) raw_fails(s, sizeof(s) - 1, want)
#define RAW_PARSES(s) raw_parses(s, sizeof(s) - 1)

static void test_section_order(void)
{
    CHECK(RAW_FAILS("\x01\x01\x00\x01\x01\x00", "section 1 (type) is out of order or repeated"));
    CHECK(RAW_FAILS("\x03\x01\x00\x01\x01\x00", "out of order"));
    CHECK(RAW_FAILS("\x0a\x01\x00\x0c\x01\x00", "section 12 (datacount) is out of order"));
    CHECK(RAW_PARSES("\x0c\x01\x00\x0a\x01\x00"));                      /* datacount before code */
    CHECK(RAW_PARSES("\x00\x01\x00\x01\x01\x00\x00\x01\x00"));          /* custom anywhere */
    CHECK(RAW_FAILS("\x0d\x01\x00", "offset 0x8: unknown section id 13"));
    CHECK(RAW_FAILS("\x01\x05\x00", "size 5 exceeds the 1 bytes left"));
    CHECK(RAW_FAILS("\x01\x02\x00\x00", "section 1 (type) at offset 0xb: 1 bytes left over"));
    CHECK(RAW_FAILS("\x01\x00", "unexpected end in LEB128 count"));     /* empty section body */
    CHECK(RAW_FAILS("\x01", "unexpected end in LEB128 section size"));
    CHECK(RAW_FAILS("\x00\x00", "unexpected end in LEB128 custom section name"));
}

static void test_indices(void)
{
    CHECK(RAW_FAILS("\x01\x04\x01\x60\x00\x00\x03\x02\x01\x01",
                    "function 0: type index 1 out of range (1 defined)"));
    CHECK(RAW_FAILS("\x02\x07\x01\x01m\x01" "f\x00\x00", "import 0: type index 0 out of range (0 defined)"));
    CHECK(RAW_FAILS("\x02\x07\x01\x01m\x01" "f\x04\x00", "import 0: unknown import kind 0x04"));
    CHECK(RAW_FAILS("\x02\x08\x01\x01m\x01g\x03\x7f\x02", "bad global mutability 0x02"));
    CHECK(RAW_FAILS("\x07\x05\x01\x01x\x02\x00", "export 0: export index 0 out of range (0 defined)"));
    CHECK(RAW_FAILS("\x07\x05\x01\x01x\x05\x00", "unknown export kind 0x05"));
    CHECK(RAW_FAILS("\x08\x01\x00", "start function 0 out of range (0 defined)"));
    CHECK(RAW_PARSES("\x05\x03\x01\x00\x01\x07\x05\x01\x01x\x02\x00"));  /* memory 0 exists */
}

static void test_code_data_counts(void)
{
    CHECK(RAW_FAILS("\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00",
                    "1 functions declared but no code section"));
    CHECK(RAW_FAILS("\x0a\x04\x01\x02\x00\x0b", "count 1 does not match function section count 0"));
    CHECK(RAW_FAILS("\x0c\x01\x02\x0b\x04\x01\x01\x01x", "count 1 does not match data count section 2"));
    CHECK(RAW_FAILS("\x0c\x01\x01", "data count section says 1 segments but no data section"));
    CHECK(RAW_PARSES("\x0c\x01\x00"));
    CHECK(RAW_FAILS("\x0b\x04\x01\x03\x01x", "data segment 0: bad data segment flags 3"));
    CHECK(RAW_FAILS("\x0b\x04\x01\x01\x05x", "unexpected end reading data bytes"));
    CHECK(RAW_FAILS("\x09\x03\x01\x08\x00", "bad element segment flags 8"));
    CHECK(RAW_FAILS("\x09\x04\x01\x01\x01\x00", "bad element kind 0x01"));
    CHECK(RAW_FAILS("\x09\x04\x01\x05\x7f\x00", "element type: 0x7f is not a reference type"));
    CHECK(RAW_FAILS("\x06\x04\x01\x7f\x00\x20", "opcode 0x20 not allowed in a constant expression"));
    CHECK(RAW_FAILS("\x06\x05\x01\x7f\x00\x41\x00", "unexpected end reading constant expression"));
}

/* One function whose body declares the given local groups. */
static int body_result(const char *locals, size_t n, uint8_t last, struct kl_wasm_module *m,
                       struct kl_err *e)
{
    struct buf *b = malloc(sizeof(*b));
    int rc;

    b_header(b);
    b_raw(b, "\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00", 10);
    sec.n = 0;
    b_u8(&sec, 1);
    b_uleb(&sec, n + 1);
    b_raw(&sec, locals, n);
    b_u8(&sec, last);
    b_section(b, 10, &sec);
    rc = parse(b->d, b->n, m, e);
    free(b);
    return rc;
}

static void test_locals(void)
{
    struct kl_wasm_module m;
    struct kl_err e;

    CHECK(body_result("\x01\xd0\x86\x03\x7f", 5, 0x0b, &m, &e) == 0);       /* 50000 */
    CHECK(m.max_func_locals == 50000 && m.total_locals == 50000);
    kl_wasm_module_free(&m);
    CHECK(body_result("\x01\xd1\x86\x03\x7f", 5, 0x0b, &m, &e) == -EINVAL); /* 50001 */
    CHECK(strstr(e.msg, "body 0: more than 50000 locals") != NULL);
    /* Two groups whose sum wraps a u32 must not slip through. */
    CHECK(body_result("\x02\x01\x7f\xff\xff\xff\xff\x0f\x7f", 9, 0x0b, &m, &e) == -EINVAL);
    CHECK(strstr(e.msg, "more than 50000 locals") != NULL);
    CHECK(body_result("\x00", 1, 0x01, &m, &e) == -EINVAL);
    CHECK(strstr(e.msg, "body does not end with 0x0b") != NULL);
    /* Local groups may not run past the body into the next one. */
    CHECK(body_result("\x05\x01\x7f", 3, 0x0b, &m, &e) == -EINVAL);
    CHECK(strstr(e.msg, "local group count 5 needs at least 10 bytes") != NULL);
    CHECK(RAW_FAILS("\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x03\x01\x00\x00",
                    "body 0: body size 0 outside 1..7654321"));
}

int main(void)
{
    test_big_module();
    test_truncation();
    test_mutations();
    test_wat2wasm_module();
    test_header();
    test_leb_unsigned();
    test_leb_signed();
    test_leb_u64_limits();
    test_counts();
    test_utf8();
    test_name_cap();
    test_v128();
    test_v128_local();
    test_section_order();
    test_indices();
    test_code_data_counts();
    test_locals();
    UNIT_DONE();
}
