/* plan.c - before anything runs: parse each module, resolve its imports like a linker, pack instances into VMs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wast/internal.h"

/* The spectest module (as the spec interpreter's spectest.ml defines it). */
static const struct {
    const char *name;
    uint8_t kind;
    const char *params;   /* value types of a function, or the global's type */
} spectest[KL_SPECTEST_COUNT] = {
    [KL_SPECTEST_PRINT] = {"print", KL_EXT_FUNC, ""},
    [KL_SPECTEST_PRINT_I32] = {"print_i32", KL_EXT_FUNC, "\x7F"},
    [KL_SPECTEST_PRINT_I64] = {"print_i64", KL_EXT_FUNC, "\x7E"},
    [KL_SPECTEST_PRINT_F32] = {"print_f32", KL_EXT_FUNC, "\x7D"},
    [KL_SPECTEST_PRINT_F64] = {"print_f64", KL_EXT_FUNC, "\x7C"},
    [KL_SPECTEST_PRINT_I32_F32] = {"print_i32_f32", KL_EXT_FUNC, "\x7F\x7D"},
    [KL_SPECTEST_PRINT_F64_F64] = {"print_f64_f64", KL_EXT_FUNC, "\x7C\x7C"},
    [KL_SPECTEST_GLOBAL_I32] = {"global_i32", KL_EXT_GLOBAL, "\x7F"},
    [KL_SPECTEST_GLOBAL_I64] = {"global_i64", KL_EXT_GLOBAL, "\x7E"},
    [KL_SPECTEST_GLOBAL_F32] = {"global_f32", KL_EXT_GLOBAL, "\x7D"},
    [KL_SPECTEST_GLOBAL_F64] = {"global_f64", KL_EXT_GLOBAL, "\x7C"},
    [KL_SPECTEST_TABLE] = {"table", KL_EXT_TABLE, ""},
    [KL_SPECTEST_MEMORY] = {"memory", KL_EXT_MEMORY, ""},
};
static const struct kl_wasm_limits spectest_table_limits = {10, 20, 1, 0, 0};
static const struct kl_wasm_limits spectest_memory_limits = {1, 2, 1, 0, 0};

#define UNKNOWN "unknown import"
#define INCOMPATIBLE "incompatible import type"

int w_find_export(const struct wmod *mod, const char *field, size_t len)
{
    for (uint32_t i = 0; mod->parsed && i < mod->m.nexports; i++)
        if (mod->m.exports[i].name_len == len && !memcmp(mod->m.exports[i].name, field, len))
            return (int)i;
    return -1;
}

/* The n-th import of `kind`, as an index into m->imports. */
static uint32_t nth_import(const struct kl_wasm_module *m, uint8_t kind, uint32_t n)
{
    for (uint32_t i = 0; i < m->nimports; i++)
        if (m->imports[i].kind == kind && n-- == 0)
            return i;
    return 0;   /* unreachable for indices the parser checked */
}

uint8_t w_global_type(const struct kl_wasm_module *m, uint32_t idx)
{
    if (idx < m->nimported_globals)
        return m->imports[nth_import(m, KL_EXT_GLOBAL, idx)].valtype;
    return m->globals[idx - m->nimported_globals].valtype;
}

static uint8_t global_mut(const struct kl_wasm_module *m, uint32_t idx)
{
    if (idx < m->nimported_globals)
        return m->imports[nth_import(m, KL_EXT_GLOBAL, idx)].mut;
    return m->globals[idx - m->nimported_globals].mut;
}

/*
 * Limits (and element type) of the table or memory that index `idx` of
 * module `mi` finally refers to, following re-exports to the module that
 * defines it: an import's declared limits may be looser than the object's.
 */
static void origin(const struct wscript *s, int mi, uint8_t kind, uint32_t idx,
                   struct kl_wasm_limits *lim, uint8_t *elem)
{
    const struct wmod *m = &s->mods[mi];
    uint32_t nimp = kind == KL_EXT_TABLE ? m->m.nimported_tables : m->m.nimported_memories;
    const struct wbind *b;

    if (idx >= nimp) {
        if (kind == KL_EXT_TABLE) {
            *lim = m->m.tables[idx - nimp].limits;
            *elem = m->m.tables[idx - nimp].elemtype;
        } else {
            *lim = m->m.memories[idx - nimp];
        }
        return;
    }
    b = &m->binds[nth_import(&m->m, kind, idx)];
    if (b->src == W_SPECTEST) {
        *lim = kind == KL_EXT_TABLE ? spectest_table_limits : spectest_memory_limits;
        *elem = KL_WT_FUNCREF;
        return;
    }
    /* Sources are earlier modules, so this ends. */
    origin(s, b->src, kind, s->mods[b->src].m.exports[b->item].index, lim, elem);
}

/* Limits subtyping with what is known before running: a max that does not
 * fit fails now; a min above the object's initial size is checked against
 * its current size when the import is linked. */
static const char *check_limits(const struct kl_wasm_limits *imp, const struct kl_wasm_limits *obj,
                                struct wbind *b)
{
    if (imp->has_max && (!obj->has_max || obj->max > imp->max))
        return INCOMPATIBLE;
    if (imp->min <= obj->min)
        return NULL;
    if (obj->has_max && imp->min > obj->max)
        return INCOMPATIBLE;
    b->size_check = 1;
    b->min = imp->min;
    return NULL;
}

static int same_functype(const struct kl_wasm_functype *a, const struct kl_wasm_functype *b)
{
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           (!a->nparams || !memcmp(a->params, b->params, a->nparams)) &&
           (!a->nresults || !memcmp(a->results, b->results, a->nresults));
}

static const char *bind_spectest(const struct kl_wasm_module *m, const struct kl_wasm_import *im,
                                 struct wbind *b)
{
    uint32_t k;

    for (k = 0; k < KL_SPECTEST_COUNT; k++)
        if (strlen(spectest[k].name) == im->name_len && !memcmp(spectest[k].name, im->name, im->name_len))
            break;
    if (k == KL_SPECTEST_COUNT)
        return UNKNOWN;
    b->src = W_SPECTEST;
    b->item = k;
    if (im->kind != spectest[k].kind)
        return INCOMPATIBLE;
    switch (im->kind) {
    case KL_EXT_FUNC: {
        const struct kl_wasm_functype *t = &m->types[im->type_index];
        size_t np = strlen(spectest[k].params);
        return t->nresults == 0 && t->nparams == np &&
                       (np == 0 || !memcmp(t->params, spectest[k].params, np)) ? NULL : INCOMPATIBLE;
    }
    case KL_EXT_GLOBAL:
        return im->valtype == (uint8_t)spectest[k].params[0] && !im->mut ? NULL : INCOMPATIBLE;
    case KL_EXT_TABLE:
        return im->valtype != KL_WT_FUNCREF ? INCOMPATIBLE
                                            : check_limits(&im->limits, &spectest_table_limits, b);
    default:
        return check_limits(&im->limits, &spectest_memory_limits, b);
    }
}

static const char *bind_instance(const struct wscript *s, const struct kl_wasm_module *m,
                                 const struct kl_wasm_import *im, int src, struct wbind *b)
{
    const struct wmod *sm = &s->mods[src];
    const struct kl_wasm_export *ex;
    struct kl_wasm_limits lim = {0};
    uint8_t elem = 0;
    int e = w_find_export(sm, im->name, im->name_len);

    if (e < 0)
        return UNKNOWN;
    b->src = src;
    b->item = (uint32_t)e;
    ex = &sm->m.exports[e];
    if (ex->kind != im->kind)
        return INCOMPATIBLE;
    switch (im->kind) {
    case KL_EXT_FUNC:
        return same_functype(&m->types[im->type_index], kl_wasm_func_type(&sm->m, ex->index))
                   ? NULL : INCOMPATIBLE;
    case KL_EXT_GLOBAL:
        return w_global_type(&sm->m, ex->index) == im->valtype &&
                       global_mut(&sm->m, ex->index) == im->mut ? NULL : INCOMPATIBLE;
    default:
        origin(s, src, im->kind, ex->index, &lim, &elem);
        if (im->kind == KL_EXT_TABLE && elem != im->valtype)
            return INCOMPATIBLE;
        return check_limits(&im->limits, &lim, b);
    }
}

/* The registry: names given by `register`, latest first. */
struct registry {
    const char *name[4096];
    int mod[4096];
    size_t n;
};

static int registry_get(const struct registry *r, const char *name, size_t len, int *mod)
{
    for (size_t i = r->n; i-- > 0;)
        if (strlen(r->name[i]) == len && !memcmp(r->name[i], name, len))
            return *mod = r->mod[i], 1;
    return 0;
}

/* Resolve every import of module `mi`; the first failure wins. */
static void resolve(struct wscript *s, struct wmod *md, const struct registry *reg)
{
    const struct kl_wasm_module *m = &md->m;

    for (uint32_t i = 0; i < m->nimports && !md->link_error[0] && !md->skip[0]; i++) {
        const struct kl_wasm_import *im = &m->imports[i];
        const char *why;
        int src;

        if (registry_get(reg, im->module, im->module_len, &src)) {
            if (src < 0 || !s->mods[src].parsed) {
                why = UNKNOWN;
            } else if (s->mods[src].skip[0]) {
                snprintf(md->skip, sizeof(md->skip), "imports from a skipped module (%s)",
                         s->mods[src].skip);
                return;
            } else {
                why = bind_instance(s, m, im, src, &md->binds[i]);
            }
        } else if (im->module_len == 8 && !memcmp(im->module, "spectest", 8)) {
            why = bind_spectest(m, im, &md->binds[i]);
        } else {
            why = UNKNOWN;
        }
        if (why)
            snprintf(md->link_error, sizeof(md->link_error), "%s %.60s.%.60s", why, im->module,
                     im->name);
    }
}

static void plan_module(struct wscript *s, struct wmod *md, const struct registry *reg)
{
    enum wcmd_kind k = s->cmds[md->cmd].kind;
    struct kl_err e = {0};

    md->instantiable = k == W_MODULE || k == W_UNINSTANTIABLE;
    if (md->text || k == W_INVALID || k == W_MALFORMED)
        return;
    if (kl_wasm_parse(md->wasm, md->len, &md->m, &e) < 0) {
        snprintf(md->error, sizeof(md->error), "the module was rejected: %s", e.msg);
        return;
    }
    md->parsed = 1;
    if (kl_compile_check_features(&md->m, &e) < 0) {
        snprintf(md->skip, sizeof(md->skip), "%s", e.msg);
        return;
    }
    if (md->m.nimports && !(md->binds = calloc(md->m.nimports, sizeof(*md->binds)))) {
        snprintf(md->error, sizeof(md->error), "out of memory");
        return;
    }
    for (uint32_t i = 0; i < md->m.nimports; i++)
        md->binds[i].src = W_UNBOUND;
    resolve(s, md, reg);
    md->build = md->instantiable && !md->skip[0] && !md->link_error[0];
}

/* ---- packing instances into VMs ---- */

static int find(int *parent, int x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

static void unite(int *parent, int a, int b)
{
    a = find(parent, a);
    b = find(parent, b);
    if (a != b)
        parent[a > b ? a : b] = a < b ? a : b;   /* the earlier module is the root */
}

static int runnable(const struct wmod *m)
{
    return m->build;
}

/*
 * Instances that import from each other must share a VM (they share state
 * for real), and so must everything that imports the spectest table or
 * memory (one spectest instance per script). Groups fill VMs in order up
 * to the per-VM memory limit; unrelated modules share a VM, which saves
 * starting one per module.
 */
static int pack(struct wscript *s)
{
    uint32_t n = s->nmods, S = n;
    int *parent = malloc((n + 1) * sizeof(int)), *vm_of = malloc((n + 1) * sizeof(int));
    uint32_t *mems = calloc(n + 1, sizeof(uint32_t)), *insts = calloc(n + 1, sizeof(uint32_t));
    int rc = 0;

    if (!parent || !vm_of || !mems || !insts) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i <= n; i++)
        parent[i] = (int)i, vm_of[i] = -1;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; runnable(&s->mods[i]) && j < s->mods[i].m.nimports; j++) {
            const struct wbind *b = &s->mods[i].binds[j];
            uint8_t kind = s->mods[i].m.imports[j].kind;
            if (b->src >= 0)
                unite(parent, (int)i, b->src);
            else if (b->src == W_SPECTEST && (kind == KL_EXT_TABLE || kind == KL_EXT_MEMORY))
                unite(parent, (int)i, (int)S);
            if (b->src == W_SPECTEST && kind == KL_EXT_MEMORY)
                mems[S] = 1;
        }
    /* The spectest memory counts once, in the group of its importers. */
    if (mems[S]) {
        mems[S] = 0;
        mems[find(parent, (int)S)] += 1;
    }
    for (uint32_t i = 0; i < n; i++)
        if (runnable(&s->mods[i])) {
            mems[find(parent, (int)i)] += s->mods[i].m.nmemories;
            insts[find(parent, (int)i)]++;
        }
    for (uint32_t i = 0; i < n; i++) {
        int r = find(parent, (int)i);
        struct wvm *cur = s->nvms ? &s->vms[s->nvms - 1] : NULL;
        if (!runnable(&s->mods[i]))
            continue;
        if (vm_of[r] < 0) {
            if (!cur || cur->nmem + mems[r] > W_MAX_MEMS_PER_VM ||
                cur->ninst + insts[r] > W_MAX_INST_PER_VM)
                cur = &s->vms[s->nvms++];
            cur->nmem += mems[r];
            cur->ninst += insts[r];
            vm_of[r] = (int)(cur - s->vms);
        }
        s->mods[i].vm = vm_of[r];
    }
    s->spectest_vm = vm_of[find(parent, (int)S)];
out:
    free(parent);
    free(vm_of);
    free(mems);
    free(insts);
    return rc;
}

static int pack_prepare(struct wscript *s)
{
    s->spectest_vm = -1;
    s->vms = calloc(s->nmods + 1, sizeof(*s->vms));
    return s->vms ? 0 : -ENOMEM;
}

/* A VM is destroyed after the last command that can reach it. */
static void last_uses(struct wscript *s)
{
    for (uint32_t i = 0; i < s->ncmds; i++) {
        const struct wcmd *w = &s->cmds[i];
        const struct wmod *m = w->mod >= 0 ? &s->mods[w->mod] : NULL;

        if (m && m->vm >= 0)
            s->vms[m->vm].last_use = i;
        for (uint32_t j = 0; m && m->parsed && m->binds && j < m->m.nimports; j++) {
            int src = m->binds[j].src, vm = src >= 0 ? s->mods[src].vm : s->spectest_vm;
            if (vm >= 0 && (src >= 0 || (src == W_SPECTEST && m->binds[j].size_check)))
                s->vms[vm].last_use = i;
        }
        if (w->act.target >= 0 && s->mods[w->act.target].vm >= 0)
            s->vms[s->mods[w->act.target].vm].last_use = i;
    }
}

void w_plan(struct wscript *s)
{
    struct registry *reg = calloc(1, sizeof(*reg));

    if (!reg || pack_prepare(s) < 0) {
        snprintf(s->load_error, sizeof(s->load_error), "out of memory planning the script");
        free(reg);
        return;
    }
    for (uint32_t i = 0; i < s->ncmds; i++) {
        struct wcmd *w = &s->cmds[i];
        if (w->mod >= 0)
            plan_module(s, &s->mods[w->mod], reg);
        if (w->kind == W_REGISTER && w->reg_as) {
            if (reg->n == sizeof(reg->mod) / sizeof(reg->mod[0])) {
                snprintf(s->load_error, sizeof(s->load_error), "more than %zu register commands",
                         reg->n);
                break;
            }
            reg->name[reg->n] = w->reg_as;
            reg->mod[reg->n++] = w->reg_src;
        }
    }
    free(reg);
    if (pack(s) < 0) {
        snprintf(s->load_error, sizeof(s->load_error), "out of memory planning the script");
        return;
    }
    last_uses(s);
}
