/* exec.c - run a script's commands in order against its VMs and judge every assertion. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "wast/internal.h"

struct ctx {
    struct wscript *s;
    const struct kl_wast_opts *o;
    int devnull;                 /* spectest prints go nowhere */
};

static void pass(struct ctx *c)
{
    c->s->t.passed++;
}

__attribute__((format(printf, 3, 4)))
static void fail(struct ctx *c, const struct wcmd *w, const char *fmt, ...)
{
    va_list ap;

    c->s->t.failed++;
    fprintf(c->o->out, "%s:%u: ", c->s->base, w->line);
    va_start(ap, fmt);
    vfprintf(c->o->out, fmt, ap);
    va_end(ap);
    fputc('\n', c->o->out);
}

static void skip(struct ctx *c, const struct wcmd *w, const char *why)
{
    c->s->t.skipped++;
    if (c->o->verbose)
        fprintf(c->o->out, "%s:%u: skipped: %s\n", c->s->base, w->line, why);
}

static const char *kind_name(enum wcmd_kind k)
{
    static const char *const n[] = {
        [W_MODULE] = "module", [W_REGISTER] = "register", [W_ACTION] = "action",
        [W_RETURN] = "assert_return", [W_TRAP] = "assert_trap",
        [W_EXHAUSTION] = "assert_exhaustion", [W_INVALID] = "assert_invalid",
        [W_MALFORMED] = "assert_malformed", [W_UNLINKABLE] = "assert_unlinkable",
        [W_UNINSTANTIABLE] = "assert_uninstantiable", [W_UNKNOWN] = "command",
    };
    return n[k];
}

/* ---- VMs ---- */

static void vm_kill(struct ctx *c, int vm, const char *why)
{
    struct wvm *v = &c->s->vms[vm];

    kl_invoker_free(v->inv);
    v->inv = NULL;
    snprintf(v->dead, sizeof(v->dead), "%s", why);
}

/* The VM's invoker, started on first use; NULL with *why when it cannot run. */
static struct kl_invoker *vm_get(struct ctx *c, int vm, char *why, size_t len)
{
    struct wscript *s = c->s;
    struct wvm *v = &s->vms[vm];
    struct kl_run_config cfg;
    struct kl_err e = {0};

    if (v->inv)
        return v->inv;
    if (v->dead[0] || v->started) {
        snprintf(why, len, "%s", v->dead[0] ? v->dead : "its VM has ended");
        return NULL;
    }
    v->started = 1;
    if (!s->img && (s->img_error[0] || kl_image_load(s->img_path, &s->img, &e) < 0)) {
        snprintf(v->dead, sizeof(v->dead), "no image: %s", s->img_error[0] ? s->img_error : e.msg);
        snprintf(why, len, "%s", v->dead);
        return NULL;
    }
    kl_run_config_init(&cfg);
    cfg.timeout_ms = c->o->timeout_ms;
    cfg.stdin_fd = -1;
    cfg.stdout_fd = c->devnull;
    cfg.stderr_fd = -1;   /* captured: runtime errors explain a dead VM */
    if (kl_invoker_start(s->img, &cfg, &v->inv, &e) < 0) {
        snprintf(v->dead, sizeof(v->dead), "cannot start the VM: %s", e.msg);
        snprintf(why, len, "%s", v->dead);
        return NULL;
    }
    return v->inv;
}

/* After a host-side failure the VM is not trusted any more. */
static void host_failed(struct ctx *c, int vm, const struct kl_err *e)
{
    char why[sizeof(e->msg) + 32];

    snprintf(why, sizeof(why), "host failure: %s", e->msg);
    vm_kill(c, vm, why);
}

/* ---- linking ---- */

/* The skip reason inherited from an import source skipped at build time. */
static const char *dep_skip(const struct wscript *s, const struct wmod *m)
{
    for (uint32_t i = 0; m->parsed && m->binds && i < m->m.nimports; i++)
        if (m->binds[i].src >= 0 && s->mods[m->binds[i].src].skip[0])
            return s->mods[m->binds[i].src].skip;
    return NULL;
}

/* Current size of an import's source table or memory. */
static int source_size(struct ctx *c, const struct wbind *b, uint64_t *size, char *why, size_t len)
{
    struct wscript *s = c->s;
    struct kl_invoke_result r;
    struct kl_err e = {0};
    int vm = b->src >= 0 ? s->mods[b->src].vm : s->spectest_vm;
    struct kl_invoker *inv;

    if (b->src == W_SPECTEST && (vm < 0 || !s->vms[vm].inv)) {
        /* The spectest objects do not exist yet: their initial sizes. */
        *size = b->item == KL_SPECTEST_TABLE ? 10 : 1;
        return 0;
    }
    if (b->src >= 0 && !s->mods[b->src].ready)
        return snprintf(why, len, "the module it imports from is not instantiated"), -1;
    if (vm < 0 || !(inv = vm_get(c, vm, why, len)))
        return -1;
    if (kl_invoker_size(inv, b->src >= 0 ? (uint32_t)s->mods[b->src].inst : KL_INVOKE_SPECTEST,
                        b->item, size, &r, &e) < 0) {
        host_failed(c, vm, &e);
        return snprintf(why, len, "%s", e.msg), -1;
    }
    if (r.kind != KL_INVOKE_OK)
        return snprintf(why, len, "size query failed: %s", r.reason), -1;
    return 0;
}

/* The link checks that need current sizes: 0 links, 1 unlinkable (why), -1 error (why). */
static int link_now(struct ctx *c, const struct wmod *m, char *why, size_t len)
{
    for (uint32_t i = 0; m->binds && i < m->m.nimports; i++) {
        const struct wbind *b = &m->binds[i];
        uint64_t size;
        if (!b->size_check)
            continue;
        if (source_size(c, b, &size, why, len) < 0)
            return -1;
        if (size < b->min) {
            snprintf(why, len, "incompatible import type %.60s.%.60s (size %llu, minimum %llu)",
                     m->m.imports[i].module, m->m.imports[i].name, (unsigned long long)size,
                     (unsigned long long)b->min);
            return 1;
        }
    }
    return 0;
}

/* ---- instantiation ---- */

enum inst_outcome { I_SKIP, I_ERROR, I_UNLINKABLE, I_DONE };

/* Link and instantiate; on I_DONE *r says how instantiation went. */
static enum inst_outcome instantiate(struct ctx *c, struct wmod *m, struct kl_invoke_result *r,
                                     char *why, size_t len)
{
    struct wscript *s = c->s;
    uint64_t words[KL_INVOKE_MAX_VALS];
    struct kl_invoker *inv;
    struct kl_err e = {0};
    const char *dep;
    uint32_t inst;
    int rc;

    if (!m->skip[0] && (dep = dep_skip(s, m)))
        snprintf(m->skip, sizeof(m->skip), "imports from a skipped module (%s)", dep);
    if (m->skip[0])
        return snprintf(why, len, "%s", m->skip), I_SKIP;
    if (m->error[0])
        return snprintf(why, len, "%s", m->error), I_ERROR;
    if (m->link_error[0])
        return snprintf(why, len, "%s", m->link_error), I_UNLINKABLE;
    if (m->m.nimports > KL_INVOKE_MAX_VALS)
        return snprintf(why, len, "more than %u imports", KL_INVOKE_MAX_VALS), I_ERROR;
    if ((rc = link_now(c, m, why, len)) != 0)
        return rc > 0 ? I_UNLINKABLE : I_ERROR;
    for (uint32_t i = 0; i < m->m.nimports; i++) {
        const struct wbind *b = &m->binds[i];
        if (b->src >= 0 && !s->mods[b->src].ready)
            return snprintf(why, len, "imports from the module at line %u, which is not "
                            "instantiated", s->cmds[s->mods[b->src].cmd].line), I_ERROR;
        words[i] = kl_invoke_import(b->src >= 0 ? (uint32_t)s->mods[b->src].inst
                                                : KL_INVOKE_SPECTEST, b->item);
    }
    if (!(inv = vm_get(c, m->vm, why, len)))
        return I_ERROR;
    if (kl_invoker_instantiate(inv, m->image_index, words, m->m.nimports, &inst, r, &e) < 0) {
        host_failed(c, m->vm, &e);
        return snprintf(why, len, "%s", e.msg), I_ERROR;
    }
    m->inst = (int)inst;
    m->ready = r->kind == KL_INVOKE_OK;
    return I_DONE;
}

static void do_module(struct ctx *c, const struct wcmd *w, struct wmod *m)
{
    struct kl_invoke_result r;
    char why[600];

    switch (instantiate(c, m, &r, why, sizeof(why))) {
    case I_SKIP:
        skip(c, w, why);
        return;
    case I_ERROR:
        fail(c, w, "module: %s", why);
        return;
    case I_UNLINKABLE:
        fail(c, w, "module: linking failed: %s", why);
        return;
    default:
        if (r.kind == KL_INVOKE_OK) {
            pass(c);
            return;
        }
        fail(c, w, "module: instantiation failed: %s", r.reason);
    }
}

static void do_uninstantiable(struct ctx *c, const struct wcmd *w, struct wmod *m)
{
    struct kl_invoke_result r;
    char why[600];
    const char *exp = w->expect_text ? w->expect_text : "";

    switch (instantiate(c, m, &r, why, sizeof(why))) {
    case I_SKIP:
        skip(c, w, why);
        return;
    case I_ERROR:
        fail(c, w, "assert_uninstantiable: expected trap \"%s\", got error: %s", exp, why);
        return;
    case I_UNLINKABLE:
        fail(c, w, "assert_uninstantiable: expected trap \"%s\", got link error: %s", exp,
                    why);
        return;
    default:
        if (r.kind == KL_INVOKE_TRAP && w_message_match(exp, r.reason)) {
            pass(c);
            return;
        }
        if (r.kind == KL_INVOKE_OK) {
            fail(c, w, "assert_uninstantiable: expected trap \"%s\", got a working "
                        "instance", exp);
            return;
        }
        fail(c, w, "assert_uninstantiable: expected trap \"%s\", got %s: %s", exp,
             r.kind == KL_INVOKE_TRAP ? "trap" : "error", r.reason);
    }
}

static void do_unlinkable(struct ctx *c, const struct wcmd *w, struct wmod *m)
{
    const char *exp = w->expect_text ? w->expect_text : "", *dep;
    char why[600];
    int rc;

    if (!m->skip[0] && m->parsed && (dep = dep_skip(c->s, m)))
        snprintf(m->skip, sizeof(m->skip), "imports from a skipped module (%s)", dep);
    if (m->skip[0]) {
        skip(c, w, m->skip);
        return;
    }
    if (m->error[0]) {
        fail(c, w, "assert_unlinkable: expected \"%s\", got error: %s", exp, m->error);
        return;
    }
    if (m->link_error[0])
        rc = 1, snprintf(why, sizeof(why), "%s", m->link_error);
    else
        rc = link_now(c, m, why, sizeof(why));
    if (rc == 1 && w_message_match(exp, why)) {
        pass(c);
        return;
    }
    if (rc == 1) {
        fail(c, w, "assert_unlinkable: expected \"%s\", got \"%s\"", exp, why);
        return;
    }
    if (rc < 0) {
        fail(c, w, "assert_unlinkable: expected \"%s\", got error: %s", exp, why);
        return;
    }
    fail(c, w, "assert_unlinkable: expected \"%s\", but the module links", exp);
}

static void do_front_end(struct ctx *c, const struct wcmd *w, const struct wmod *m)
{
    const char *exp = w->expect_text ? w->expect_text : "";

    if (m->text) {
        skip(c, w, "text-format module: wast2json leaves (module quote ...) as text, and "
                    "Kernless reads binary modules only");
        return;
    }
    if (m->error[0]) {
        fail(c, w, "%s: the front end could not run: %s", kind_name(w->kind), m->error);
        return;
    }
    if (m->rejected) {
        pass(c);
        return;
    }
    fail(c, w, "%s: expected rejection (\"%s\"), but the pipeline accepted the module",
         kind_name(w->kind), exp);
}

/* ---- actions ---- */

enum act_outcome { A_SKIP, A_ERROR, A_RAN };

static enum act_outcome run_action(struct ctx *c, const struct wact *a, struct kl_value *res,
                                   uint32_t *nres, struct kl_invoke_result *r, char *why,
                                   size_t len)
{
    struct wscript *s = c->s;
    struct kl_value args[KL_INVOKE_MAX_VALS];
    const struct kl_wasm_export *ex;
    struct kl_invoker *inv;
    struct wmod *m;
    struct kl_err e = {0};
    int idx, rc;

    if (a->target < 0)
        return snprintf(why, len, "no module is defined"), A_ERROR;
    m = &s->mods[a->target];
    if (m->skip[0])
        return snprintf(why, len, "%s", m->skip), A_SKIP;
    if (!m->ready)
        return snprintf(why, len, "the module (line %u) is not instantiated",
                        s->cmds[m->cmd].line), A_ERROR;
    if ((idx = w_find_export(m, a->field, a->field_len)) < 0)
        return snprintf(why, len, "no export \"%.80s\"", a->field), A_ERROR;
    ex = &m->m.exports[idx];
    if (!(inv = vm_get(c, m->vm, why, len)))
        return A_ERROR;
    if (a->is_get) {
        if (ex->kind != KL_EXT_GLOBAL)
            return snprintf(why, len, "export \"%.80s\" is not a global", a->field), A_ERROR;
        *nres = 1;
        rc = kl_invoker_get(inv, (uint32_t)m->inst, (uint32_t)idx,
                            w_global_type(&m->m, ex->index), res, r, &e);
    } else {
        const struct kl_wasm_functype *t = kl_wasm_func_type(&m->m, ex->index);
        struct kl_func_sig sig;
        if (ex->kind != KL_EXT_FUNC || !t)
            return snprintf(why, len, "export \"%.80s\" is not a function", a->field), A_ERROR;
        sig = (struct kl_func_sig){t->nparams, t->nresults, t->params, t->results};
        for (uint32_t i = 0; i < a->nargs; i++)
            args[i] = (struct kl_value){a->args[i].type, a->args[i].bits};
        *nres = t->nresults;
        rc = kl_invoker_call(inv, (uint32_t)m->inst, (uint32_t)idx, &sig, args, a->nargs, res, r, &e);
    }
    if (rc < 0) {
        host_failed(c, m->vm, &e);
        return snprintf(why, len, "%s", e.msg), A_ERROR;
    }
    return A_RAN;
}

static void show_results(const struct kl_value *v, uint32_t n, char *buf, size_t len)
{
    size_t k = 0;

    buf[0] = 0;
    for (uint32_t i = 0; i < n && k + 1 < len; i++) {
        w_kvalue_show(&v[i], buf + k, len - k);
        k += strlen(buf + k);
        if (i + 1 < n && k + 2 < len)
            buf[k++] = ' ', buf[k] = 0;
    }
    if (n == 0)
        snprintf(buf, len, "(nothing)");
}

static void show_expected(const struct wval *v, uint32_t n, char *buf, size_t len)
{
    size_t k = 0;

    buf[0] = 0;
    for (uint32_t i = 0; i < n && k + 1 < len; i++) {
        w_value_show(&v[i], buf + k, len - k);
        k += strlen(buf + k);
        if (i + 1 < n && k + 2 < len)
            buf[k++] = ' ', buf[k] = 0;
    }
    if (n == 0)
        snprintf(buf, len, "(nothing)");
}

static int results_match(const struct wcmd *w, const struct kl_value *res, uint32_t n)
{
    if (n != w->nexp)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!w_value_match(&w->exp[i], &res[i]))
            return 0;
    return 1;
}

static void do_action(struct ctx *c, const struct wcmd *w)
{
    struct kl_value res[KL_INVOKE_MAX_VALS];
    struct kl_invoke_result r;
    char why[600], got[1200], exp[1200];
    const char *k = kind_name(w->kind), *text = w->expect_text ? w->expect_text : "";
    uint32_t n = 0;

    switch (run_action(c, &w->act, res, &n, &r, why, sizeof(why))) {
    case A_SKIP:
        skip(c, w, why);
        return;
    case A_ERROR:
        fail(c, w, "%s: cannot run \"%.80s\": %s", k, w->act.field, why);
        return;
    default:
        break;
    }
    if (r.kind == KL_INVOKE_OK)
        show_results(res, n, got, sizeof(got));
    else
        snprintf(got, sizeof(got), "%s: %s", r.kind == KL_INVOKE_TRAP ? "trap" : "error", r.reason);
    switch (w->kind) {
    case W_RETURN:
        if (r.kind == KL_INVOKE_OK && results_match(w, res, n)) {
            pass(c);
            return;
        }
        show_expected(w->exp, w->nexp, exp, sizeof(exp));
        fail(c, w, "assert_return \"%.80s\": expected %s, got %s", w->act.field, exp, got);
        return;
    case W_TRAP:
    case W_EXHAUSTION:
        if (r.kind == KL_INVOKE_TRAP && w_message_match(text, r.reason)) {
            pass(c);
            return;
        }
        fail(c, w, "%s \"%.80s\": expected trap \"%s\", got %s", k, w->act.field, text, got);
        return;
    default:
        if (r.kind == KL_INVOKE_OK) {
            pass(c);
            return;
        }
        fail(c, w, "action \"%.80s\": %s", w->act.field, got);
        return;
    }
}

/* ---- the script ---- */

static void run_command(struct ctx *c, const struct wcmd *w)
{
    struct wmod *m = w->mod >= 0 ? &c->s->mods[w->mod] : NULL;

    if (w->skip) {
        skip(c, w, w->skip);
        return;
    }
    if (w->bad) {
        fail(c, w, "%s: cannot read the command: %s", kind_name(w->kind), w->bad);
        return;
    }
    switch (w->kind) {
    case W_MODULE: do_module(c, w, m); break;
    case W_UNINSTANTIABLE: do_uninstantiable(c, w, m); break;
    case W_UNLINKABLE: do_unlinkable(c, w, m); break;
    case W_INVALID:
    case W_MALFORMED: do_front_end(c, w, m); break;
    case W_ACTION:
    case W_RETURN:
    case W_TRAP:
    case W_EXHAUSTION: do_action(c, w); break;
    case W_REGISTER: break;   /* resolved when the script was planned */
    default: skip(c, w, "unknown command type"); break;
    }
}

int w_exec(struct wscript *s, const struct kl_wast_opts *o, struct kl_err *err)
{
    struct ctx c = {s, o, open("/dev/null", O_WRONLY | O_CLOEXEC)};

    if (c.devnull < 0)
        return kl_errf(err, -errno, "cannot open /dev/null: %s", strerror(errno));
    for (uint32_t i = 0; i < s->ncmds; i++) {
        run_command(&c, &s->cmds[i]);
        for (uint32_t v = 0; v < s->nvms; v++)
            if (s->vms[v].inv && s->vms[v].last_use <= i)
                vm_kill(&c, (int)v, "its last command has run");
    }
    for (uint32_t v = 0; v < s->nvms; v++)
        if (s->vms[v].inv)
            vm_kill(&c, (int)v, "the script has ended");
    close(c.devnull);
    return 0;
}
