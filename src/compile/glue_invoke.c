/* glue_invoke.c - generate invoke-image glue: import forwarders, export trampolines, module tables, output patches. */
#include "compile/glue_invoke.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compile/glue.h"
#include "compile/w2c_names.h"

/* ---- names ---- */

/* malloc'd MangleName(a)+MangleName(b): an import's symbol. */
static char *import_symbol(const struct kl_wasm_import *im)
{
    size_t n = kl_w2c_mangled_len(im->module, im->module_len) +
               kl_w2c_mangled_len(im->name, im->name_len) + 1;
    char *s = malloc(n);

    if (s && kl_w2c_symbol(im->module, im->module_len, im->name, im->name_len, s, n) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* malloc'd accessor symbol of an export of module `cname`. */
static char *export_symbol(const char *cname, const struct kl_wasm_export *ex)
{
    size_t n = kl_w2c_mangled_len(cname, strlen(cname)) +
               kl_w2c_mangled_len(ex->name, ex->name_len) + 1;
    char *s = malloc(n);

    if (s && kl_w2c_export_symbol(cname, ex->name, ex->name_len, s, n) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* malloc'd "Z_<module>_instance_t": the struct tag wasm2c gives an import's instance. */
static char *import_instance_type(const struct kl_wasm_import *im)
{
    size_t n = kl_w2c_mangled_len(im->module, im->module_len) + 32;
    char *s = malloc(n);

    if (s && kl_w2c_module_symbol(im->module, im->module_len, "instance_t", s, n) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* Import i's (module, field) already appeared at an earlier index: wasm2c
 * then uses one symbol for both. */
static int first_with_same_name(const struct kl_wasm_module *m, uint32_t i)
{
    const struct kl_wasm_import *a = &m->imports[i];

    for (uint32_t j = 0; j < i; j++) {
        const struct kl_wasm_import *b = &m->imports[j];
        if (a->module_len == b->module_len && a->name_len == b->name_len &&
            !memcmp(a->module, b->module, a->module_len) && !memcmp(a->name, b->name, a->name_len))
            return (int)j;
    }
    return (int)i;
}

/* ---- types ---- */

/* The n-th import of `kind` (n counts imports of that kind only). */
static const struct kl_wasm_import *nth_import(const struct kl_wasm_module *m, uint8_t kind,
                                               uint32_t n)
{
    for (uint32_t i = 0; i < m->nimports; i++)
        if (m->imports[i].kind == kind && n-- == 0)
            return &m->imports[i];
    return NULL;
}

static uint8_t global_type(const struct kl_wasm_module *m, uint32_t idx)
{
    if (idx < m->nimported_globals)
        return nth_import(m, KL_EXT_GLOBAL, idx)->valtype;
    return m->globals[idx - m->nimported_globals].valtype;
}

static uint8_t table_elem(const struct kl_wasm_module *m, uint32_t idx)
{
    if (idx < m->nimported_tables)
        return nth_import(m, KL_EXT_TABLE, idx)->valtype;
    return m->tables[idx - m->nimported_tables].elemtype;
}

static const char *table_ctype(uint8_t elem)
{
    return elem == KL_WT_EXTERNREF ? "wasm_rt_externref_table_t" : "wasm_rt_funcref_table_t";
}

/* The C return type of a function type: void, one type, or wasm_multi_*. */
static int ret_type(const struct kl_wasm_functype *t, char *buf, size_t len)
{
    char multi[128];

    if (t->nresults == 0)
        return snprintf(buf, len, "void"), 0;
    if (t->nresults == 1)
        return snprintf(buf, len, "%s", kl_w2c_c_type(t->results[0])), 0;
    if (kl_w2c_multi_struct(t->results, t->nresults, multi, sizeof(multi)) < 0)
        return -EINVAL;
    snprintf(buf, len, "struct %s", multi);
    return 0;
}

/* A C expression turning word a[i] into a value of type t. */
static void print_arg(FILE *f, uint8_t t, uint32_t i)
{
    switch (t) {
    case KL_WT_I32: fprintf(f, "(u32)a[%u]", i); break;
    case KL_WT_I64: fprintf(f, "a[%u]", i); break;
    case KL_WT_F32: fprintf(f, "kl_inv_f32(a[%u])", i); break;
    case KL_WT_F64: fprintf(f, "kl_inv_f64(a[%u])", i); break;
    case KL_WT_FUNCREF: fprintf(f, "wasm_rt_funcref_null_value"); break;   /* host passes null only */
    default: fprintf(f, "(wasm_rt_externref_t)(uintptr_t)a[%u]", i); break;
    }
}

/* A C expression turning value `v` of type t into a word. */
static void print_word(FILE *f, uint8_t t, const char *v)
{
    switch (t) {
    case KL_WT_I32: fprintf(f, "(uint64_t)(%s)", v); break;
    case KL_WT_I64: fprintf(f, "(%s)", v); break;
    case KL_WT_F32: fprintf(f, "kl_inv_w32(%s)", v); break;
    case KL_WT_F64: fprintf(f, "kl_inv_w64(%s)", v); break;
    case KL_WT_FUNCREF: fprintf(f, "(uint64_t)(uintptr_t)(%s).func", v); break;
    default: fprintf(f, "(uint64_t)(uintptr_t)(%s)", v); break;
    }
}

static char result_letter(uint8_t t)
{
    switch (t) {
    case KL_WT_I32: return 'i';
    case KL_WT_I64: return 'j';
    case KL_WT_F32: return 'f';
    case KL_WT_F64: return 'd';
    case KL_WT_FUNCREF: return 'r';
    default: return 'e';
    }
}

/* ---- prologue ---- */

int kl_glue_invoke_prologue(FILE *f, const struct kl_wasm_module *m, const char *cname,
                            struct kl_err *err)
{
    fprintf(f, "/* Generated by kernless: invoke glue for module %s (see compile/glue_invoke.h). */\n"
               "#include <stddef.h>\n"
               "#include \"kernless/abi.h\"\n"
               "#include \"kl_invoke.h\"\n"
               "/* An element segment's function: its own instance, or (offset + 1) the\n"
               " * instance an import field of ours holds. */\n"
               "static inline void *kl_elem_instance(void *inst, size_t off)\n"
               "{\n    return off ? *(void **)((char *)inst + off - 1) : inst;\n}\n",
            cname);
    for (uint32_t i = 0; i < m->nimports; i++) {
        char *sym;
        if (first_with_same_name(m, i) != (int)i)
            continue;
        if (!(sym = import_symbol(&m->imports[i])))
            return kl_errf(err, -ENOMEM, "out of memory");
        fprintf(f, "#define %s kl_imp_%s_%u\n", sym, cname, i);
        free(sym);
    }
    return ferror(f) ? kl_errf(err, -EIO, "writing glue failed") : 0;
}

/* ---- epilogue ---- */

static int write_func_forwarder(FILE *f, const struct kl_wasm_module *m, uint32_t i,
                                const char *cname, const char *itype)
{
    const struct kl_wasm_functype *t = &m->types[m->imports[i].type_index];
    char ret[160];

    if (ret_type(t, ret, sizeof(ret)) < 0)
        return -EINVAL;
    fprintf(f, "%s kl_imp_%s_%u(struct %s *b_", ret, cname, i, itype);
    for (uint32_t p = 0; p < t->nparams; p++)
        fprintf(f, ", %s p%u", kl_w2c_c_type(t->params[p]), p);
    fprintf(f, ")\n{\n    struct kl_inv_bind *e = &((struct kl_inv_binding *)(void *)b_)->e[%u];\n"
               "    %s((%s (*)(void *", i, t->nresults ? "return " : "", ret);
    for (uint32_t p = 0; p < t->nparams; p++)
        fprintf(f, ", %s", kl_w2c_c_type(t->params[p]));
    fprintf(f, "))e->fn)(e->inst");
    for (uint32_t p = 0; p < t->nparams; p++)
        fprintf(f, ", p%u", p);
    fprintf(f, ");\n}\n\n");
    return 0;
}

static int write_forwarder(FILE *f, const struct kl_wasm_module *m, uint32_t i, const char *cname)
{
    const struct kl_wasm_import *im = &m->imports[i];
    char *itype = import_instance_type(im);
    const char *obj;
    int rc = 0;

    if (!itype)
        return -ENOMEM;
    if (im->kind == KL_EXT_FUNC) {
        rc = write_func_forwarder(f, m, i, cname, itype);
        free(itype);
        return rc;
    }
    obj = im->kind == KL_EXT_MEMORY ? "wasm_rt_memory_t"
        : im->kind == KL_EXT_TABLE ? table_ctype(im->valtype) : kl_w2c_c_type(im->valtype);
    if (!obj)
        rc = -EINVAL;
    else
        fprintf(f, "%s *kl_imp_%s_%u(struct %s *b_)\n{\n"
                   "    return ((struct kl_inv_binding *)(void *)b_)->e[%u].ptr;\n}\n\n",
                obj, cname, i, itype, i);
    free(itype);
    return rc;
}

static int write_func_tramp(FILE *f, const struct kl_wasm_functype *t, const char *sym,
                            const char *cname, uint32_t j)
{
    char ret[160], field[16];

    if (ret_type(t, ret, sizeof(ret)) < 0)
        return -EINVAL;
    fprintf(f, "static void kl_tr_%s_%u(void *inst, const uint64_t *a, uint64_t *r)\n{\n    ",
            cname, j);
    if (t->nresults)
        fprintf(f, "%s v = ", ret);
    fprintf(f, "%s((Z_%s_instance_t *)inst", sym, cname);
    for (uint32_t p = 0; p < t->nparams; p++) {
        fprintf(f, ", ");
        print_arg(f, t->params[p], p);
    }
    fprintf(f, ");\n");
    for (uint32_t k = 0; k < t->nresults; k++) {
        if (t->nresults == 1)
            snprintf(field, sizeof(field), "v");
        else
            snprintf(field, sizeof(field), "v.%c%u", result_letter(t->results[k]), k);
        fprintf(f, "    r[%u] = ", k);
        print_word(f, t->results[k], field);
        fprintf(f, ";\n");
    }
    fprintf(f, "    (void)a;\n    (void)r;\n}\n\n");
    return 0;
}

static int write_global_tramp(FILE *f, uint8_t type, const char *sym, const char *cname,
                              uint32_t j)
{
    size_t n = strlen(sym) + strlen(cname) + 32;
    char *v = malloc(n);

    if (!v)
        return -ENOMEM;
    snprintf(v, n, "*%s((Z_%s_instance_t *)inst)", sym, cname);
    fprintf(f, "static void kl_tr_%s_%u(void *inst, const uint64_t *a, uint64_t *r)\n{\n"
               "    (void)a;\n    r[0] = ", cname, j);
    print_word(f, type, v);
    fprintf(f, ";\n}\n\n");
    free(v);
    return 0;
}

/* One trampoline per function or global export. */
static int write_tramps(FILE *f, const struct kl_wasm_module *m, const char *cname)
{
    for (uint32_t j = 0; j < m->nexports; j++) {
        const struct kl_wasm_export *ex = &m->exports[j];
        char *sym;
        int rc = 0;

        if (ex->kind != KL_EXT_FUNC && ex->kind != KL_EXT_GLOBAL)
            continue;
        if (!(sym = export_symbol(cname, ex)))
            return -ENOMEM;
        if (ex->kind == KL_EXT_FUNC)
            rc = write_func_tramp(f, kl_wasm_func_type(m, ex->index), sym, cname, j);
        else
            rc = write_global_tramp(f, global_type(m, ex->index), sym, cname, j);
        free(sym);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int write_export_table(FILE *f, const struct kl_wasm_module *m, const char *cname)
{
    fprintf(f, "static const struct kl_inv_export kl_ex_%s[] = {\n", cname);
    for (uint32_t j = 0; j < m->nexports; j++) {
        const struct kl_wasm_export *ex = &m->exports[j];
        const struct kl_wasm_functype *t = ex->kind == KL_EXT_FUNC ? kl_wasm_func_type(m, ex->index)
                                                                   : NULL;
        char *sym = export_symbol(cname, ex);
        char tramp[64];

        if (!sym)
            return -ENOMEM;
        snprintf(tramp, sizeof(tramp), "kl_tr_%s_%u", cname, j);
        fprintf(f, "    {%u, %u, %u, %u, %s, (void *)%s},\n", ex->kind,
                ex->kind == KL_EXT_TABLE ? table_elem(m, ex->index) : 0,
                t ? t->nparams : 0, t ? t->nresults : 0,
                ex->kind == KL_EXT_FUNC || ex->kind == KL_EXT_GLOBAL ? tramp : "0", sym);
        free(sym);
    }
    fprintf(f, "    {0, 0, 0, 0, 0, 0}\n};\n\n");
    return 0;
}

/* How many distinct module names the imports use: wasm2c's instantiate
 * takes one instance pointer per name. */
static uint32_t import_module_count(const struct kl_wasm_module *m)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < m->nimports; i++) {
        uint32_t j;
        for (j = 0; j < i; j++)
            if (m->imports[j].module_len == m->imports[i].module_len &&
                !memcmp(m->imports[j].module, m->imports[i].module, m->imports[i].module_len))
                break;
        n += j == i;
    }
    return n;
}

static void write_descriptor(FILE *f, const struct kl_wasm_module *m, const char *cname)
{
    uint32_t nmods = import_module_count(m);

    fprintf(f, "static const uint8_t kl_ik_%s[] = {", cname);
    for (uint32_t i = 0; i < m->nimports; i++)
        fprintf(f, "%u, ", m->imports[i].kind);
    fprintf(f, "0};\n\n");
    /* Every imported module's instance is the binding: the forwarders know
     * their own slot in it. */
    fprintf(f, "static void kl_in_%s(void *inst, struct kl_inv_binding *b)\n{\n"
               "    (void)b;\n    Z_%s_instantiate((Z_%s_instance_t *)inst", cname, cname, cname);
    for (uint32_t i = 0; i < nmods; i++)
        fprintf(f, ", (void *)b");
    fprintf(f, ");\n}\n\n");
    fprintf(f, "const struct kl_inv_module kl_inv_desc_%s = {\n"
               "    sizeof(Z_%s_instance_t), %u, %u, kl_ik_%s, kl_ex_%s,\n"
               "    Z_%s_init_module, kl_in_%s,\n};\n",
            cname, cname, m->nimports, m->nexports, cname, cname, cname, cname);
}

int kl_glue_invoke_epilogue(FILE *f, const struct kl_wasm_module *m, const char *cname,
                            struct kl_err *err)
{
    int rc = 0;

    fprintf(f, "\n/* ---- kernless invoke glue ---- */\n\n");
    for (uint32_t i = 0; i < m->nimports && rc == 0; i++)
        if (first_with_same_name(m, i) == (int)i)
            rc = write_forwarder(f, m, i, cname);
    if (rc == 0)
        rc = write_tramps(f, m, cname);
    if (rc == 0)
        rc = write_export_table(f, m, cname);
    if (rc < 0)
        return kl_errf(err, rc, "cannot generate invoke glue: %s", strerror(-rc));
    write_descriptor(f, m, cname);
    return ferror(f) ? kl_errf(err, -EIO, "writing glue failed") : 0;
}

/* ---- patches ---- */

/* Replace the single occurrence of `from` in [*src, *src+*len) by `to`. */
static int replace_once(char **src, size_t *len, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    char *at = memmem(*src, *len, from, fl), *n;
    size_t off;

    if (!at || memmem(at + fl, *len - (size_t)(at - *src) - fl, from, fl))
        return -EPROTO;
    off = (size_t)(at - *src);
    if (tl > fl) {
        if (!(n = realloc(*src, *len + tl - fl + 1)))
            return -ENOMEM;
        *src = n;
    }
    memmove(*src + off + tl, *src + off + fl, *len - off - fl);
    memcpy(*src + off, to, tl);
    *len = *len - fl + tl;
    return 0;
}

/* Element-segment entries naming an imported function carry
 * offsetof(instance, import field); mark them (offset + 1) for
 * kl_elem_instance. Only lines of the form "  {N, (wasm_rt_function_ptr_t)..."
 * are touched. */
static int mark_import_elems(char **src, size_t *len)
{
    static const char from[] = ", offsetof(", to[] = ", 1 + offsetof(";
    size_t pos = 0;

    for (;;) {
        char *at = memmem(*src + pos, *len - pos, from, sizeof(from) - 1), *line, *n;
        size_t off;

        if (!at)
            return 0;
        off = (size_t)(at - *src);
        for (line = at; line > *src && line[-1] != '\n'; line--)
            ;
        if (strncmp(line, "  {", 3) || !memmem(line, (size_t)(at - line), "(wasm_rt_function_ptr_t)", 24)) {
            pos = off + 1;
            continue;
        }
        if (!(n = realloc(*src, *len + 5)))
            return -ENOMEM;
        *src = n;
        memmove(*src + off + sizeof(to) - 1, *src + off + sizeof(from) - 1,
                *len - off - (sizeof(from) - 1));
        memcpy(*src + off, to, sizeof(to) - 1);
        *len += sizeof(to) - sizeof(from);
        pos = off + sizeof(to) - 1;
    }
}

/* Element segments before data segments. wasm2c calls init_memories (data)
 * before init_tables (elements), each only when the module has any. */
static int order_segments(char **src, size_t *len)
{
    static const char mem[] = "  init_memories(instance);\n", tab[] = "  init_tables(instance);\n";

    if (!memmem(*src, *len, mem, sizeof(mem) - 1) || !memmem(*src, *len, tab, sizeof(tab) - 1))
        return 0;
    return replace_once(src, len, "  init_memories(instance);\n  init_tables(instance);\n",
                        "  init_tables(instance);\n  init_memories(instance);\n");
}

int kl_glue_invoke_patch(char **src, size_t *len, struct kl_err *err)
{
    char *n = realloc(*src, *len + 1024);
    const char *what = NULL;
    int rc;

    if (!n)
        return kl_errf(err, -ENOMEM, "out of memory");
    *src = n;
    if (kl_glue_patch_call_indirect(*src, len, *len + 1024) < 0)
        what = "CALL_INDIRECT";
    else if (kl_glue_patch_table_traps(*src, len, *len + 1024) < 0)
        what = "table helpers";
    else if (replace_once(src, len, "(char*)module_instance + src_expr->module_offset}",
                          "kl_elem_instance(module_instance, src_expr->module_offset)}") < 0)
        what = "funcref_table_init";
    else if ((rc = mark_import_elems(src, len)) < 0)
        return kl_errf(err, rc, "out of memory");
    else if (order_segments(src, len) < 0)
        what = "instantiate";
    if (what)
        return kl_errf(err, -EPROTO, "wasm2c output is not what this kernless expects (%s); "
                       "is wabt 1.0.32 installed?", what);
    return 0;
}

/* ---- image ---- */

int kl_glue_invoke_image(FILE *f, const char *const *cnames, size_t n, struct kl_err *err)
{
    fprintf(f, "/* Generated by kernless: the module table of an invoke image. */\n"
               "#include <stdint.h>\n#include \"kl_invoke.h\"\n\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "extern const struct kl_inv_module kl_inv_desc_%s;\n", cnames[i]);
    fprintf(f, "\nconst struct kl_inv_module *const kl_inv_modules[] = {\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "    &kl_inv_desc_%s,\n", cnames[i]);
    fprintf(f, "    0\n};\nconst uint32_t kl_inv_nmodules = %zu;\n\n", n);
    /* main.c's command-mode hooks: an invoke image has no single module. */
    fprintf(f, "struct Z_wasi_snapshot_preview1_instance_t;\n"
               "void kl_module_init(void) {}\n"
               "void kl_module_instantiate(struct Z_wasi_snapshot_preview1_instance_t *w) { (void)w; }\n"
               "void *kl_module_memory(void) { return 0; }\n"
               "int kl_module_run_start(void) { return 0; }\n");
    return ferror(f) ? kl_errf(err, -EIO, "writing image glue failed") : 0;
}
