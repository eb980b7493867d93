/* spectest.c - the "spectest" host module of the WebAssembly spec tests, built into the guest for invoke mode. */
#include <string.h>

#include "guest.h"
#include "kl_invoke.h"
#include "wasm-rt.h"

/*
 * The exports the spec scripts import (see the spec interpreter's
 * spectest.ml): print functions, four constant globals, a 10..20 funcref
 * table and a 1..2 page memory. The table and memory are one instance per
 * VM, allocated on first use, so only VMs that import them pay a memory.
 */
static uint32_t global_i32 = 666;
static uint64_t global_i64 = 666;
static float global_f32 = 666.6f;
static double global_f64 = 666.6;
static wasm_rt_funcref_table_t table;
static wasm_rt_memory_t memory;
static int have_table, have_memory;

/* "<value> : <type>\n" on stdout, values in hex for floats (bit exact). */
static void print_word(uint64_t v, int hex, const char *type)
{
    char buf[40];
    int n = sizeof(buf);

    buf[--n] = 0;
    do {
        buf[--n] = "0123456789abcdef"[v % (hex ? 16 : 10)];
        v /= hex ? 16 : 10;
    } while (v && n > 2);
    if (hex) {
        buf[--n] = 'x';
        buf[--n] = '0';
    }
    kl_io_write(1, (const uint8_t *)&buf[n], strlen(&buf[n]));
    kl_io_write(1, (const uint8_t *)" : ", 3);
    kl_io_write(1, (const uint8_t *)type, strlen(type));
    kl_io_write(1, (const uint8_t *)"\n", 1);
}

static void print_signed(int64_t v, const char *type)
{
    if (v < 0) {
        kl_io_write(1, (const uint8_t *)"-", 1);
        print_word((uint64_t)0 - (uint64_t)v, 0, type);
    } else {
        print_word((uint64_t)v, 0, type);
    }
}

static void st_print(void *inst) { (void)inst; kl_io_write(1, (const uint8_t *)"\n", 1); }
static void st_print_i32(void *inst, uint32_t v) { (void)inst; print_signed((int32_t)v, "i32"); }
static void st_print_i64(void *inst, uint64_t v) { (void)inst; print_signed((int64_t)v, "i64"); }
static void st_print_f32(void *inst, float v) { (void)inst; print_word(kl_inv_w32(v), 1, "f32"); }
static void st_print_f64(void *inst, double v) { (void)inst; print_word(kl_inv_w64(v), 1, "f64"); }

static void st_print_i32_f32(void *inst, uint32_t a, float b)
{
    st_print_i32(inst, a);
    st_print_f32(inst, b);
}

static void st_print_f64_f64(void *inst, double a, double b)
{
    st_print_f64(inst, a);
    st_print_f64(inst, b);
}

static void *spectest_table(void)
{
    if (!have_table) {
        wasm_rt_allocate_funcref_table(&table, 10, 20);
        have_table = 1;
    }
    return &table;
}

static void *spectest_memory(void)
{
    if (!have_memory) {
        wasm_rt_allocate_memory(&memory, 1, 2);
        have_memory = 1;
    }
    return &memory;
}

/**
 * Bind an import to spectest export `item`, checking its kind. The host
 * has already matched the types. Returns 0, or -1 for a mismatch.
 */
int kl_spectest_bind(uint32_t item, uint8_t kind, struct kl_inv_bind *b)
{
    static void *const funcs[] = {
        [KL_SPECTEST_PRINT] = (void *)st_print,
        [KL_SPECTEST_PRINT_I32] = (void *)st_print_i32,
        [KL_SPECTEST_PRINT_I64] = (void *)st_print_i64,
        [KL_SPECTEST_PRINT_F32] = (void *)st_print_f32,
        [KL_SPECTEST_PRINT_F64] = (void *)st_print_f64,
        [KL_SPECTEST_PRINT_I32_F32] = (void *)st_print_i32_f32,
        [KL_SPECTEST_PRINT_F64_F64] = (void *)st_print_f64_f64,
    };

    b->fn = b->inst = b->ptr = NULL;
    if (item <= KL_SPECTEST_PRINT_F64_F64 && kind == KL_INV_FUNC)
        b->fn = funcs[item];
    else if (item == KL_SPECTEST_GLOBAL_I32 && kind == KL_INV_GLOBAL)
        b->ptr = &global_i32;
    else if (item == KL_SPECTEST_GLOBAL_I64 && kind == KL_INV_GLOBAL)
        b->ptr = &global_i64;
    else if (item == KL_SPECTEST_GLOBAL_F32 && kind == KL_INV_GLOBAL)
        b->ptr = &global_f32;
    else if (item == KL_SPECTEST_GLOBAL_F64 && kind == KL_INV_GLOBAL)
        b->ptr = &global_f64;
    else if (item == KL_SPECTEST_TABLE && kind == KL_INV_TABLE)
        b->ptr = spectest_table();
    else if (item == KL_SPECTEST_MEMORY && kind == KL_INV_MEMORY)
        b->ptr = spectest_memory();
    else
        return -1;
    return 0;
}

/** Current size of the spectest table (elements) or memory (pages). */
int kl_spectest_size(uint32_t item, uint64_t *size)
{
    /* Not allocated yet: the initial size, without spending a memory slot. */
    if (item == KL_SPECTEST_TABLE)
        *size = have_table ? table.size : 10;
    else if (item == KL_SPECTEST_MEMORY)
        *size = have_memory ? memory.pages : 1;
    else
        return -1;
    return 0;
}
