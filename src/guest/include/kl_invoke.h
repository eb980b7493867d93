/* kl_invoke.h - the contract between the compiler's per-module invoke glue and the guest's invoke loop. */
#ifndef KL_GUEST_KL_INVOKE_H
#define KL_GUEST_KL_INVOKE_H

#include <stddef.h>
#include <stdint.h>

/*
 * For KL_MODE_INVOKE images the compiler appends to every module's C file
 * (src/compile/glue_invoke.c):
 *  - one forwarder per import, which wasm2c's code calls instead of a fixed
 *    symbol; it reads its target from the kl_inv_binding the guest passes as
 *    every imported-module instance pointer, so one compiled module can be
 *    linked differently in each instance;
 *  - one trampoline per function or global export, moving values between
 *    64-bit words (see abi.h, KL_HC_INVOKE) and C types;
 *  - a struct kl_inv_module describing all of that.
 * The image glue lists the modules in kl_inv_modules[].
 */

/* Export kinds: the binary encoding (import/export kind bytes). */
enum { KL_INV_FUNC = 0, KL_INV_TABLE = 1, KL_INV_MEMORY = 2, KL_INV_GLOBAL = 3 };

/** What import i of an instance is bound to. */
struct kl_inv_bind {
    void *fn;      /* function: the exporter's accessor (called as fn(inst, args...)) */
    void *inst;    /* function: the exporter's instance */
    void *ptr;     /* global, memory, table: the exporter's object */
};

/** All imports of one instance; passed as each imported module's instance. */
struct kl_inv_binding {
    uint32_t n;
    struct kl_inv_bind e[];
};

/* Function export: args[nparams] in, res[nresults] out. Global export: reads into res[0]. */
typedef void (*kl_inv_tramp_t)(void *inst, const uint64_t *args, uint64_t *res);
/* Memory, table and global exports: wasm2c's accessor returning the object. */
typedef void *(*kl_inv_getter_t)(void *inst);

/** One export, in the module's export order. */
struct kl_inv_export {
    uint8_t kind;             /* KL_INV_FUNC ... */
    uint8_t elem;             /* table: 0x70 funcref, 0x6F externref */
    uint16_t nparams, nresults;
    kl_inv_tramp_t tramp;     /* func, global */
    void *fn;                 /* func: the accessor; others: a kl_inv_getter_t */
};

/** One compiled module. */
struct kl_inv_module {
    size_t instance_size;
    uint32_t nimports, nexports;
    const uint8_t *import_kinds;           /* nimports kinds */
    const struct kl_inv_export *exports;   /* nexports */
    void (*init_module)(void);
    void (*instantiate)(void *inst, struct kl_inv_binding *imports);
};

/* Bit-exact moves between words and floats: no conversion may touch a NaN. */
static inline float kl_inv_f32(uint64_t w)
{
    uint32_t b = (uint32_t)w;
    float f;
    __builtin_memcpy(&f, &b, 4);
    return f;
}

static inline double kl_inv_f64(uint64_t w)
{
    double d;
    __builtin_memcpy(&d, &w, 8);
    return d;
}

static inline uint64_t kl_inv_w32(float f)
{
    uint32_t b;
    __builtin_memcpy(&b, &f, 4);
    return b;
}

static inline uint64_t kl_inv_w64(double d)
{
    uint64_t b;
    __builtin_memcpy(&b, &d, 8);
    return b;
}

#endif
