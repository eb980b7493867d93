/* invoke.c - a VM held in the guest's invoke loop: one command per exit, faults recovered into traps. */
#include "wast/invoke.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "inst/hostcall.h"
#include "inst/inst_output.h"
#include "inst/run.h"
#include "inst/instance.h"
#include "inst/service.h"

#define BOOT_TIMEOUT_MS 10000u   /* start to command loop when cfg sets no timeout */

struct kl_invoker {
    struct kl_inst in;
    struct kl_run_result res;          /* how the VM ended, once in.done */
    struct kl_run_config cfg;
    struct kl_hc_invoke *waiting;      /* the guest's struct while it waits for a command */
    struct kl_invoke_result *cur;      /* the command in flight, or NULL */
    uint64_t recover;                  /* guest entry point after a fault */
    int faulted;                       /* cur holds a fault's trap; RECOVERED is due */
    uint32_t ninst;                    /* instances created so far */
};

static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static int reg_rc;
/* The invoker's slot in its instance (kl_service_state): the session that
 * KL_HC_INVOKE reports to. -1 until registered: no instance is an invoker. */
static int invoke_svc = -1;

static const char *refusal_name(uint32_t code)
{
    switch (code) {
    case KL_INV_BAD_MODULE: return "no such module in the image";
    case KL_INV_BAD_INSTANCE: return "no such instance (or its instantiation failed)";
    case KL_INV_BAD_EXPORT: return "no such export of that kind";
    case KL_INV_BAD_ARITY: return "wrong number of values";
    case KL_INV_BAD_IMPORT: return "an import binding does not match the exporter";
    case KL_INV_LIMIT: return "out of guest runtime memory";
    case KL_INV_BAD_OP: return "unknown command";
    default: return "refused";
    }
}

/* Take the guest's report of the command in flight (if any). */
static int take_report(struct kl_invoker *v, const struct kl_hc_invoke *h)
{
    struct kl_invoke_result *r = v->cur;

    if (!r)
        return h->status == KL_INV_READY ? 0 : -EPROTO;
    if (v->faulted)
        return h->status == KL_INV_RECOVERED ? 0 : -EPROTO;
    switch (h->status) {
    case KL_INV_OK:
        if (h->nvals > KL_INVOKE_MAX_VALS)
            return -EPROTO;
        r->kind = KL_INVOKE_OK;
        r->nvals = h->nvals;
        memcpy(r->vals, h->vals, h->nvals * sizeof(h->vals[0]));
        return 0;
    case KL_INV_TRAPPED:
        r->kind = KL_INVOKE_TRAP;
        r->trap = h->code < KL_TRAP_COUNT ? (enum kl_trap)h->code : KL_TRAP_NONE;
        snprintf(r->reason, sizeof(r->reason), "%s", kl_trap_name(r->trap));
        return 0;
    case KL_INV_REFUSED:
        r->kind = KL_INVOKE_REFUSED;
        snprintf(r->reason, sizeof(r->reason), "%s", refusal_name(h->code));
        return 0;
    default:
        return -EPROTO;
    }
}

/* KL_HC_INVOKE: take the guest's report of the command in flight; the guest
 * then waits in its hostcall for the next command. */
static int hc_invoke(struct kl_inst *in, void *arg)
{
    struct kl_invoker *v = kl_service_state(in, invoke_svc);
    struct kl_hc_invoke *h = arg;

    if (!v)
        return kl_inst_finish(in, KL_RES_ERROR, "invoke hostcall outside invoke mode");
    if (take_report(v, h) < 0)
        return kl_inst_finish(in, KL_RES_ERROR, "invoke hostcall with status %u out of turn",
                              h->status);
    v->recover = h->recover;
    /* The next command is written straight into the guest's struct (the
     * handler's `h` is the host's copy of it, see kl_hostcall_dispatch). */
    v->waiting = in->hc_guest;   /* the loop below stops; the guest stays in its hostcall */
    v->cur = NULL;
    v->faulted = 0;
    return KL_HC_CONTINUE;
}

/* A CPU fault: inside a command it is that command's trap, and the guest
 * resumes at its recovery entry with a fresh stack; otherwise the VM ends. */
static int on_fault(struct kl_invoker *v)
{
    struct kl_inst *in = &v->in;
    struct kl_err err;
    int rc = kl_fault_handle(in);

    if (rc < 0 || v->res.kind != KL_RES_TRAP || !v->cur || v->faulted || !v->recover)
        return rc;
    v->cur->kind = KL_INVOKE_TRAP;
    v->cur->trap = v->res.trap;
    snprintf(v->cur->reason, sizeof(v->cur->reason), "%s", kl_trap_name(v->res.trap));
    v->faulted = 1;
    in->done = 0;   /* undo the end kl_fault_handle recorded */
    memset(v->res.reason, 0, sizeof(v->res.reason));
    v->res.kind = KL_RES_EXIT;
    v->res.trap = KL_TRAP_NONE;
    /* The backend finishes the fault report's exit first (kl_vm_enter). */
    rc = kl_vm_enter(in->vm, v->recover, KL_STACK_TOP, &err);
    return rc < 0 ? rc : KL_HC_CONTINUE;
}

/* The fault hook of the invoker's instance (see kl_inst_handle_exit). */
static int inst_on_fault(struct kl_inst *in)
{
    return on_fault(kl_service_state(in, invoke_svc));
}

/* Run until the guest waits for a command or the VM ends, within timeout_ms. */
static int run_until_waiting(struct kl_invoker *v, uint32_t timeout_ms, struct kl_err *err)
{
    struct kl_inst *in = &v->in;
    struct kl_vm_exit x;
    int rc = 0;

    in->deadline_ns = timeout_ms ? kl_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;
    if (timeout_ms && (rc = kl_vm_arm_timeout(in->vm, timeout_ms)) < 0)
        return kl_errf(err, rc, "cannot arm the timeout timer");
    while (!in->done && !v->waiting) {
        if ((rc = kl_vm_run(in->vm, &x)) < 0) {
            kl_errf(err, rc, "running the guest (%s backend) failed: %s", kl_vm_name(in->vm),
                    strerror(-rc));
            break;
        }
        v->res.exits++;
        if ((rc = kl_inst_handle_exit(in, &x)) < 0) {
            kl_errf(err, rc, "handling a VM exit failed: %s", strerror(-rc));
            break;
        }
    }
    if (timeout_ms)
        kl_vm_disarm_timeout(in->vm);
    return rc < 0 ? rc : 0;
}

/* The first line of what the guest runtime wrote on stderr, if captured. */
static void stderr_line(const struct kl_invoker *v, char *buf, size_t len)
{
    const struct kl_capture *c = &v->in.err;
    size_t n = 0;

    while (n < c->len && c->buf[n] != '\n')
        n++;
    snprintf(buf, len, "%.*s", (int)n, c->buf ? (const char *)c->buf : "");
}

static void describe_end(const struct kl_invoker *v, struct kl_invoke_result *r)
{
    char line[160];

    r->kind = KL_INVOKE_DEAD;
    r->nvals = 0;
    stderr_line(v, line, sizeof(line));
    snprintf(r->reason, sizeof(r->reason), "the VM ended: %s%s%s",
             v->res.reason[0] ? v->res.reason : "no reason given", line[0] ? ": " : "", line);
}

/* Send one command and run until its report. */
static int command(struct kl_invoker *v, uint32_t op, uint32_t inst, uint32_t index,
                   const uint64_t *vals, uint32_t n, struct kl_invoke_result *res,
                   struct kl_err *err)
{
    struct kl_hc_invoke *h = v->waiting;
    int rc;

    memset(res, 0, offsetof(struct kl_invoke_result, vals));
    res->reason[0] = 0;
    if (!kl_invoker_alive(v)) {
        describe_end(v, res);
        return 0;
    }
    if (n > KL_INVOKE_MAX_VALS) {
        res->kind = KL_INVOKE_REFUSED;
        snprintf(res->reason, sizeof(res->reason), "more than %u values", KL_INVOKE_MAX_VALS);
        return 0;
    }
    h->op = op;
    h->inst = inst;
    h->index = index;
    h->nvals = n;
    if (n)
        memcpy(h->vals, vals, n * sizeof(vals[0]));
    v->waiting = NULL;
    v->cur = res;
    rc = run_until_waiting(v, v->cfg.timeout_ms, err);
    v->cur = NULL;
    if (rc < 0)
        return rc;
    if (v->in.done)
        describe_end(v, res);
    return 0;
}

static void register_once(void)
{
    static const struct kl_service svc = {.name = "invoke"};   /* a slot, no hooks */

    if ((invoke_svc = kl_service_register(&svc)) < 0)
        reg_rc = invoke_svc;
    else
        reg_rc = kl_hostcall_register(KL_HC_INVOKE, "invoke", sizeof(struct kl_hc_invoke),
                                      hc_invoke);
}

int kl_invoke_register(void)
{
    pthread_once(&reg_once, register_once);
    return reg_rc;
}

int kl_invoker_alive(const struct kl_invoker *v)
{
    return v && !v->in.done && v->waiting;
}

int kl_invoker_start(const struct kl_image *img, const struct kl_run_config *cfg,
                     struct kl_invoker **out, struct kl_err *err)
{
    struct kl_invoker *v = calloc(1, sizeof(*v));
    int rc;

    if (!v)
        return kl_errf(err, -ENOMEM, "out of memory");
    /* An invoker's guest reports through KL_HC_INVOKE: make sure it is there. */
    if ((rc = kl_invoke_register()) < 0) {
        free(v);
        return kl_errf(err, rc, "cannot register the invoke hostcall: %s", strerror(-rc));
    }
    v->cfg = *cfg;
    v->cfg.argc = v->cfg.envc = v->cfg.npreopens = 0;
    v->in.cfg = &v->cfg;
    v->in.on_fault = inst_on_fault;
    v->in.res = &v->res;
    v->in.out.limit = cfg->out_limit ? cfg->out_limit : KL_OUT_SIZE;
    v->in.err.limit = cfg->err_limit ? cfg->err_limit : KL_ERR_SIZE;
    v->in.mode = KL_MODE_INVOKE;
    kl_service_set_state(&v->in, invoke_svc, v);
    if ((rc = kl_inst_setup(&v->in, img, &v->cfg, err)) < 0)
        goto err_free;
    if ((rc = run_until_waiting(v, cfg->timeout_ms ? cfg->timeout_ms : BOOT_TIMEOUT_MS, err)) < 0)
        goto err_free;
    if (v->in.done) {
        struct kl_invoke_result r;
        describe_end(v, &r);
        rc = kl_errf(err, -EPROTO, "the image did not reach its invoke loop (%s)", r.reason);
        goto err_free;
    }
    *out = v;
    return 0;

err_free:
    kl_invoker_free(v);
    return rc;
}

int kl_invoker_instantiate(struct kl_invoker *v, uint32_t module, const uint64_t *imports,
                           uint32_t nimports, uint32_t *inst, struct kl_invoke_result *res,
                           struct kl_err *err)
{
    int alive = kl_invoker_alive(v), rc;

    *inst = v->ninst;
    rc = command(v, KL_INV_OP_INSTANTIATE, v->ninst, module, imports, nimports, res, err);
    if (alive && nimports <= KL_INVOKE_MAX_VALS)
        v->ninst++;   /* the guest takes the number even when instantiation fails */
    return rc;
}

/* Check typed arguments against a signature; refusals go into *res. */
static int check_args(const struct kl_func_sig *sig, const struct kl_value *args, uint32_t n,
                      uint64_t *words, struct kl_invoke_result *res)
{
    const char *why = NULL;

    if (n != sig->nparams || n > KL_INVOKE_MAX_VALS)
        why = "wrong number of arguments";
    for (uint32_t i = 0; !why && i < n; i++) {
        if (args[i].type != sig->params[i])
            why = "argument type does not match the signature";
        else if (args[i].type == 0x70 && args[i].bits != 0)
            why = "only null funcref arguments can be passed in";
        words[i] = args[i].bits;
    }
    if (!why)
        return 0;
    memset(res, 0, offsetof(struct kl_invoke_result, vals));
    res->kind = KL_INVOKE_REFUSED;
    snprintf(res->reason, sizeof(res->reason), "%s", why);
    return -1;
}

/* Give raw result words their types. */
static void type_results(const uint8_t *types, uint32_t n, struct kl_value *out,
                         struct kl_invoke_result *res)
{
    if (res->kind != KL_INVOKE_OK)
        return;
    if (res->nvals != n) {
        res->kind = KL_INVOKE_REFUSED;
        snprintf(res->reason, sizeof(res->reason), "the guest returned %u values, expected %u",
                 res->nvals, n);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        out[i].type = types[i];
        out[i].bits = types[i] == 0x7F || types[i] == 0x7D ? (uint32_t)res->vals[i] : res->vals[i];
    }
}

int kl_invoker_call(struct kl_invoker *v, uint32_t inst, uint32_t index,
                    const struct kl_func_sig *sig, const struct kl_value *args, uint32_t nargs,
                    struct kl_value *results, struct kl_invoke_result *res, struct kl_err *err)
{
    uint64_t words[KL_INVOKE_MAX_VALS];
    int rc;

    if (check_args(sig, args, nargs, words, res) < 0)
        return 0;
    if ((rc = command(v, KL_INV_OP_CALL, inst, index, words, nargs, res, err)) < 0)
        return rc;
    type_results(sig->results, sig->nresults, results, res);
    return 0;
}

int kl_invoker_get(struct kl_invoker *v, uint32_t inst, uint32_t index, uint8_t type,
                   struct kl_value *value, struct kl_invoke_result *res, struct kl_err *err)
{
    int rc = command(v, KL_INV_OP_GET, inst, index, NULL, 0, res, err);

    if (rc < 0)
        return rc;
    type_results(&type, 1, value, res);
    return 0;
}

int kl_invoker_size(struct kl_invoker *v, uint32_t inst, uint32_t index, uint64_t *size,
                    struct kl_invoke_result *res, struct kl_err *err)
{
    int rc = command(v, KL_INV_OP_SIZE, inst, index, NULL, 0, res, err);

    if (rc < 0)
        return rc;
    if (res->kind == KL_INVOKE_OK && res->nvals != 1) {
        res->kind = KL_INVOKE_REFUSED;
        snprintf(res->reason, sizeof(res->reason), "size query returned %u values", res->nvals);
    }
    *size = res->kind == KL_INVOKE_OK ? res->vals[0] : 0;
    return 0;
}

void kl_invoker_free(struct kl_invoker *v)
{
    if (!v)
        return;
    kl_inst_teardown(&v->in);
    free(v->in.out.buf);
    free(v->in.err.buf);
    free(v);
}
