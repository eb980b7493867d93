/* rt.c - the wasm2c runtime (wasm-rt.h) for a guest with no OS: memories, tables, types, traps. */
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include "guest.h"
#include "wasm-rt.h"

/* Caps that keep a hostile module from exhausting the runtime heap in one go. */
#define KL_MAX_FUNC_TYPES 100000u
#define KL_MAX_TABLE_ELEMS 10000000u

struct functype {
    uint32_t nparams, nresults;
    wasm_rt_type_t *types;   /* params then results */
};

static struct functype *types;
static uint32_t ntypes, types_cap;
static uint32_t nmemories;
static int initialized;
static jmp_buf *trap_target;
static uint32_t last_trap;

void wasm_rt_init(void) { initialized = 1; }
bool wasm_rt_is_initialized(void) { return initialized; }
void wasm_rt_free(void) { initialized = 0; }

/** Where wasm_rt_trap unwinds to; NULL makes a trap end the run. */
void kl_rt_set_trap_target(void *jmpbuf) { trap_target = jmpbuf; }

/** The code of the last trap caught through the trap target. */
uint32_t kl_rt_last_trap(void) { return last_trap; }

void wasm_rt_trap(wasm_rt_trap_t code)
{
    last_trap = (uint32_t)code;
    if (trap_target)
        longjmp(*trap_target, 1);
    kl_exit(KL_EXIT_TRAP, (uint32_t)code);
}

const char *wasm_rt_strerror(wasm_rt_trap_t trap)
{
    (void)trap;
    return "trap";   /* the host owns the trap names (kl_trap_name) */
}

static int types_equal(const struct functype *t, uint32_t np, uint32_t nr,
                       const wasm_rt_type_t *v)
{
    return t->nparams == np && t->nresults == nr &&
           memcmp(t->types, v, (np + nr) * sizeof(*v)) == 0;
}

/* Type indices start at 1 so that a null funcref (func_type 0) never matches. */
uint32_t wasm_rt_register_func_type(uint32_t nparams, uint32_t nresults, ...)
{
    wasm_rt_type_t v[64];
    wasm_rt_type_t *vals = v;
    va_list ap;

    if (nparams + nresults > 64) {
        vals = kl_alloc((nparams + nresults) * sizeof(*vals));
        if (!vals)
            kl_fatal("out of runtime heap registering a function type");
    }
    va_start(ap, nresults);
    for (uint32_t i = 0; i < nparams + nresults; i++)
        vals[i] = va_arg(ap, wasm_rt_type_t);
    va_end(ap);
    for (uint32_t i = 0; i < ntypes; i++)
        if (types_equal(&types[i], nparams, nresults, vals))
            return i + 1;
    if (ntypes == types_cap) {
        uint32_t cap = types_cap ? types_cap * 2 : 64;
        struct functype *n = kl_alloc(cap * sizeof(*n));
        if (!n || cap > KL_MAX_FUNC_TYPES)
            kl_fatal("too many function types");
        if (types)
            memcpy(n, types, ntypes * sizeof(*n));
        types = n;
        types_cap = cap;
    }
    if (vals == v) {
        vals = kl_alloc((nparams + nresults) * sizeof(*vals) + 1);
        if (!vals)
            kl_fatal("out of runtime heap registering a function type");
        memcpy(vals, v, (nparams + nresults) * sizeof(*vals));
    }
    types[ntypes] = (struct functype){nparams, nresults, vals};
    return ++ntypes;
}

/* ---- linear memory: host-mapped pages behind an 8 GiB guard window ---- */

static uint32_t mem_index(const wasm_rt_memory_t *m)
{
    return (uint32_t)(((uint64_t)(uintptr_t)m->data - KL_MEM_GVA(0)) / KL_MEM_WINDOW);
}

static uint32_t effective_max(uint32_t max_pages)
{
    uint32_t lim = KL_BOOT->max_memory_pages;
    if (max_pages > KL_MEM_MAX_PAGES)
        max_pages = KL_MEM_MAX_PAGES;
    if (lim && lim < max_pages)
        max_pages = lim;
    return max_pages;
}

/* Ask the host to map pages [0, new_pages) of memory `idx`. */
static int host_map(uint32_t idx, uint32_t new_pages, uint32_t max_pages)
{
    volatile struct kl_hc_memgrow *g = &KL_HCALL->memgrow;

    g->mem = idx;
    g->new_pages = new_pages;
    g->max_pages = max_pages;
    g->ret = 0;
    kl_hostcall(KL_HC_MEMGROW, (void *)g);
    return g->ret;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t *m, uint32_t initial, uint32_t max)
{
    uint32_t idx = nmemories;

    if (idx >= KL_MAX_MEMORIES)
        kl_fatal("too many linear memories");
    max = effective_max(max);
    if (initial > max)
        kl_fatal("memory's initial size exceeds the memory limit");
    if (initial > 0 && host_map(idx, initial, max) < 0)
        kl_fatal("the host could not map the initial memory");
    nmemories++;
    m->data = (uint8_t *)(uintptr_t)KL_MEM_GVA(idx);
    m->pages = initial;
    m->max_pages = max;
    m->size = initial * (uint32_t)KL_WASM_PAGE;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint32_t delta)
{
    uint32_t old = m->pages;
    uint64_t want = (uint64_t)old + delta;

    if (delta == 0)
        return old;
    if (want > m->max_pages)
        return UINT32_MAX;
    if (host_map(mem_index(m), (uint32_t)want, m->max_pages) < 0)
        return UINT32_MAX;
    m->pages = (uint32_t)want;
    m->size = (uint32_t)want * (uint32_t)KL_WASM_PAGE;
    return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *m) { (void)m; }

/* ---- tables: plain arrays on the runtime heap ---- */

static void *table_alloc(uint32_t elems, size_t elem_size)
{
    if (elems > KL_MAX_TABLE_ELEMS)
        return NULL;
    return kl_alloc((size_t)elems * elem_size + 1);
}

#define DEFINE_TABLE(kind, elem_t, null_value)                                      \
    void wasm_rt_allocate_##kind##_table(wasm_rt_##kind##_table_t *t,               \
                                         uint32_t elems, uint32_t max)              \
    {                                                                               \
        t->data = table_alloc(elems, sizeof(elem_t));                               \
        if (!t->data)                                                               \
            kl_fatal("table too large for the runtime heap");                       \
        for (uint32_t i = 0; i < elems; i++)                                        \
            t->data[i] = null_value;                                                \
        t->size = elems;                                                            \
        t->max_size = max;                                                          \
    }                                                                               \
    void wasm_rt_free_##kind##_table(wasm_rt_##kind##_table_t *t) { (void)t; }      \
    uint32_t wasm_rt_grow_##kind##_table(wasm_rt_##kind##_table_t *t,               \
                                         uint32_t delta, elem_t init)               \
    {                                                                               \
        uint32_t old = t->size;                                                     \
        uint64_t want = (uint64_t)old + delta;                                      \
        if (delta == 0)                                                             \
            return old;                                                             \
        if (want > t->max_size || want > KL_MAX_TABLE_ELEMS)                        \
            return UINT32_MAX;                                                      \
        elem_t *d = table_alloc((uint32_t)want, sizeof(elem_t));                    \
        if (!d)                                                                     \
            return UINT32_MAX;                                                      \
        memcpy(d, t->data, (size_t)old * sizeof(elem_t));                           \
        for (uint64_t i = old; i < want; i++)                                       \
            d[i] = init;                                                            \
        t->data = d;                                                                \
        t->size = (uint32_t)want;                                                   \
        return old;                                                                 \
    }

DEFINE_TABLE(funcref, wasm_rt_funcref_t, wasm_rt_funcref_null_value)
DEFINE_TABLE(externref, wasm_rt_externref_t, wasm_rt_externref_null_value)
