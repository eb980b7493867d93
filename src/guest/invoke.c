/* invoke.c - KL_MODE_INVOKE: instantiate the image's modules and call their exports, one host command per exit. */
#include <setjmp.h>
#include <string.h>

#include "guest.h"
#include "kl_invoke.h"
#include "wasm-rt.h"

/* Instances live until the VM is discarded; the host numbers them. */
#define KL_INV_MAX_INSTANCES 4096u

/* Provided by the image glue of invoke images only (src/compile/glue_invoke.c);
 * weak, so command images link without them and refuse invoke mode. */
extern const struct kl_inv_module *const kl_inv_modules[] __attribute__((weak));
extern const uint32_t kl_inv_nmodules __attribute__((weak));

struct instance {
    const struct kl_inv_module *mod;
    void *data;      /* wasm2c's instance struct */
    int ready;       /* instantiation finished without a trap */
};

/* One command, copied out of the hostcall area before it runs, because a
 * flush of stdout during the command reuses that area. */
struct command {
    uint32_t op, inst, index, nvals;
    uint64_t vals[KL_INVOKE_MAX_VALS];
};

static struct instance *instances;
static uint32_t ninstances;
static uint8_t *module_inited;
static struct command cmd;
static uint64_t results[KL_INVOKE_MAX_VALS];
static jmp_buf trap_jb;

/* Entered by the host after a CPU fault: fresh stack at KL_STACK_TOP. */
void kl_invoke_recover_entry(void);
__asm__(".text\n"
        ".globl kl_invoke_recover_entry\n"
        ".type kl_invoke_recover_entry, @function\n"
        "kl_invoke_recover_entry:\n"
        "    xorl %ebp, %ebp\n"
        "    andq $-16, %rsp\n"
        "    call kl_invoke_recovered\n"
        "    ud2\n"
        ".size kl_invoke_recover_entry, . - kl_invoke_recover_entry\n");

/* A refused command: `why` is a kl_invoke_refusal. */
static uint32_t refuse(uint32_t *code, uint32_t why)
{
    *code = why;
    return KL_INV_REFUSED;
}

static const struct instance *instance_at(uint32_t i)
{
    return i < ninstances && instances[i].ready ? &instances[i] : NULL;
}

static const struct kl_inv_export *export_at(const struct instance *in, uint32_t i, uint8_t kind)
{
    if (!in || i >= in->mod->nexports || in->mod->exports[i].kind != kind)
        return NULL;
    return &in->mod->exports[i];
}

/* Resolve one import binding word: source instance << 32 | export index. */
static int bind_import(uint64_t word, uint8_t kind, struct kl_inv_bind *b)
{
    uint32_t src = (uint32_t)(word >> 32), item = (uint32_t)word;
    const struct instance *in;
    const struct kl_inv_export *ex;

    if (src == KL_INVOKE_SPECTEST)
        return kl_spectest_bind(item, kind, b);
    in = instance_at(src);
    if (!(ex = export_at(in, item, kind)))
        return -1;
    if (kind == KL_INV_FUNC) {
        b->fn = ex->fn;
        b->inst = in->data;
    } else {
        b->ptr = ((kl_inv_getter_t)ex->fn)(in->data);
    }
    return 0;
}

/* Instantiate: the slot is taken first, so instance numbers stay in step
 * with the host's even when binding or the start function fails. */
static uint32_t do_instantiate(const struct command *c, uint32_t *code)
{
    const struct kl_inv_module *mod;
    struct kl_inv_binding *bind;
    struct instance *in;

    if (c->inst != ninstances || ninstances == KL_INV_MAX_INSTANCES)
        return refuse(code, KL_INV_BAD_INSTANCE);
    in = &instances[ninstances++];
    if (c->index >= kl_inv_nmodules)
        return refuse(code, KL_INV_BAD_MODULE);
    mod = kl_inv_modules[c->index];
    if (c->nvals != mod->nimports)
        return refuse(code, KL_INV_BAD_ARITY);
    bind = kl_alloc(sizeof(*bind) + (size_t)mod->nimports * sizeof(bind->e[0]));
    in->data = kl_alloc(mod->instance_size ? mod->instance_size : 1);
    if (!bind || !in->data)
        return refuse(code, KL_INV_LIMIT);
    bind->n = mod->nimports;
    for (uint32_t i = 0; i < mod->nimports; i++)
        if (bind_import(c->vals[i], mod->import_kinds[i], &bind->e[i]) < 0)
            return refuse(code, KL_INV_BAD_IMPORT);
    in->mod = mod;
    if (!module_inited[c->index]) {
        mod->init_module();   /* registers the module's function types */
        module_inited[c->index] = 1;
    }
    mod->instantiate(in->data, bind);   /* segments and start may trap */
    in->ready = 1;
    return KL_INV_OK;
}

static uint32_t do_call(const struct command *c, uint32_t *nres, uint32_t *code)
{
    const struct instance *in = instance_at(c->inst);
    const struct kl_inv_export *ex = export_at(in, c->index, KL_INV_FUNC);

    if (!ex)
        return refuse(code, in ? KL_INV_BAD_EXPORT : KL_INV_BAD_INSTANCE);
    if (c->nvals != ex->nparams)
        return refuse(code, KL_INV_BAD_ARITY);
    ex->tramp(in->data, c->vals, results);
    *nres = ex->nresults;
    return KL_INV_OK;
}

static uint32_t do_get(const struct command *c, uint32_t *nres, uint32_t *code)
{
    const struct instance *in = instance_at(c->inst);
    const struct kl_inv_export *ex = export_at(in, c->index, KL_INV_GLOBAL);

    if (!ex)
        return refuse(code, in ? KL_INV_BAD_EXPORT : KL_INV_BAD_INSTANCE);
    ex->tramp(in->data, NULL, results);
    *nres = 1;
    return KL_INV_OK;
}

/* Current size of a memory (pages) or table (elements). */
static uint32_t do_size(const struct command *c, uint32_t *nres, uint32_t *code)
{
    const struct instance *in = instance_at(c->inst);
    const struct kl_inv_export *ex;
    void *obj;

    *nres = 1;
    if (c->inst == KL_INVOKE_SPECTEST)
        return kl_spectest_size(c->index, &results[0]) < 0 ? refuse(code, KL_INV_BAD_EXPORT)
                                                           : KL_INV_OK;
    if (!(ex = export_at(in, c->index, KL_INV_MEMORY)) &&
        !(ex = export_at(in, c->index, KL_INV_TABLE)))
        return refuse(code, in ? KL_INV_BAD_EXPORT : KL_INV_BAD_INSTANCE);
    obj = ((kl_inv_getter_t)ex->fn)(in->data);
    if (ex->kind == KL_INV_MEMORY)
        results[0] = ((wasm_rt_memory_t *)obj)->pages;
    else if (ex->elem == 0x70)
        results[0] = ((wasm_rt_funcref_table_t *)obj)->size;
    else
        results[0] = ((wasm_rt_externref_table_t *)obj)->size;
    return KL_INV_OK;
}

static uint32_t dispatch(const struct command *c, uint32_t *nres, uint32_t *code)
{
    switch (c->op) {
    case KL_INV_OP_INSTANTIATE: return do_instantiate(c, code);
    case KL_INV_OP_CALL: return do_call(c, nres, code);
    case KL_INV_OP_GET: return do_get(c, nres, code);
    case KL_INV_OP_SIZE: return do_size(c, nres, code);
    default: return refuse(code, KL_INV_BAD_OP);
    }
}

/* Run one command; a Wasm trap (wasm_rt_trap) unwinds to here. */
static uint32_t run_guarded(const struct command *c, uint32_t *nres, uint32_t *code)
{
    uint32_t status;

    *nres = 0;
    *code = 0;
    kl_rt_set_trap_target(&trap_jb);
    if (setjmp(trap_jb)) {
        kl_rt_set_trap_target(NULL);
        *nres = 0;
        *code = kl_rt_last_trap();
        return KL_INV_TRAPPED;
    }
    status = dispatch(c, nres, code);
    kl_rt_set_trap_target(NULL);
    return status;
}

/* Report, fetch, run, forever; STOP exits the guest. */
__attribute__((noreturn)) static void serve(uint32_t status, uint32_t code, uint32_t nres)
{
    volatile struct kl_hc_invoke *h = (volatile struct kl_hc_invoke *)KL_HCALL_GVA;

    for (;;) {
        kl_io_flush();   /* output of the command reaches the host before its result */
        if (status != KL_INV_OK)
            nres = 0;
        h->status = status;
        h->code = code;
        h->nvals = nres;
        h->recover = (uint64_t)(uintptr_t)kl_invoke_recover_entry;
        for (uint32_t i = 0; i < nres; i++)
            h->vals[i] = results[i];
        kl_hostcall(KL_HC_INVOKE, (void *)h);
        cmd.op = h->op;
        cmd.inst = h->inst;
        cmd.index = h->index;
        cmd.nvals = h->nvals < KL_INVOKE_MAX_VALS ? h->nvals : KL_INVOKE_MAX_VALS;
        for (uint32_t i = 0; i < cmd.nvals; i++)
            cmd.vals[i] = h->vals[i];
        if (cmd.op == KL_INV_OP_STOP)
            kl_exit(KL_EXIT_NORMAL, 0);
        status = run_guarded(&cmd, &nres, &code);
    }
}

/** Called from kl_invoke_recover_entry after a fault the host already reported. */
__attribute__((noreturn, used)) void kl_invoke_recovered(void)
{
    kl_rt_set_trap_target(NULL);
    serve(KL_INV_RECOVERED, 0, 0);
}

/** The invoke loop (main.c enters it when the host picks KL_MODE_INVOKE). */
void kl_invoke_main(void)
{
    if (!kl_inv_modules || !&kl_inv_nmodules)
        kl_fatal("this image was not built for invoke mode (no export table)");
    instances = kl_alloc(KL_INV_MAX_INSTANCES * sizeof(*instances));
    module_inited = kl_alloc(kl_inv_nmodules + 1);
    if (!instances || !module_inited)
        kl_fatal("out of runtime heap starting the invoke loop");
    serve(KL_INV_READY, 0, 0);
}
