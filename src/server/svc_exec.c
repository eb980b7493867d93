/* svc_exec.c - the server's side of host services: per-request contexts, unconfined worker threads, KV and HTTP backends. */
#include "server/svc_exec.h"
#include "server/table.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "host/svc_http.h"
#include "server/registry_kv.h"
#include "server/secrets.h"
#include "common/log.h"

#define WORKERS 8

/** One call waiting for, or served by, a worker. */
struct job {
    struct kl_svc_call *call;
    int rc, done;
    struct job *next;
};

/* The vCPU threads run under seccomp and landlock, which threads they
 * create inherit: the workers are started once, before any of them. */
static struct {
    struct kl_server *srv;
    struct kl_secret_key key;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    struct job *head, *tail;
    int started;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
       .done = PTHREAD_COND_INITIALIZER};

/** The per-request context with what it owns. */
struct req {
    struct kl_svc_ctx c;          /* first: kl_svc_request_close gets it back */
    struct kl_svc_var *vars;
    unsigned char *secret;        /* secret[i]: vars[i].value is in dont_dump pages */
    char *rid;
    char *fn;
};


/* A registry failure as the guest's error (the reason names no value). */
static void db_err(struct kl_svc_call *c, int rc, const struct kl_err *e)
{
    if (rc == -EDQUOT)
        kl_svc_call_fail(c, KL_SVC_ELIMIT, "%s", e->msg);
    else
        kl_svc_call_fail(c, KL_SVC_EFAILED, "the store is unavailable (%s)", strerror(-rc));
}

static int serve_kv(struct kl_svc_call *c)
{
    struct kl_registry *r = S.srv->reg;
    struct kl_err e = {0};
    struct kl_buf keys;
    int rc = 0;

    switch (c->op) {
    case KL_SVC_KV_GET:
        rc = kl_reg_kv_get(r, c->store, c->key, c->key_len, &c->result, &c->result_len, &e);
        if (rc == -ENOENT) {
            kl_svc_call_fail(c, KL_SVC_ENOENT, "no such key");
            return 0;
        }
        break;
    case KL_SVC_KV_SET:
        rc = kl_reg_kv_set(r, c->store, c->key, c->key_len, c->val, c->val_len,
                           KL_KV_QUOTA_DEFAULT, &e);
        break;
    case KL_SVC_KV_DELETE:
        rc = kl_reg_kv_delete(r, c->store, c->key, c->key_len, &e);
        break;
    case KL_SVC_KV_EXISTS:
        if ((rc = kl_reg_kv_exists(r, c->store, c->key, c->key_len, &e)) >= 0) {
            c->status = (uint32_t)rc;
            rc = 0;
        }
        break;
    case KL_SVC_KV_KEYS:
        kl_buf_init(&keys, 64u << 20);
        rc = kl_reg_kv_keys(r, c->store, c->key, c->key_len, &keys, &e);
        c->result = keys.data;
        c->result_len = keys.len;
        break;
    }
    if (rc < 0)
        db_err(c, rc, &e);
    return 0;
}

static int serve(struct kl_svc_call *c)
{
    struct kl_svc_http_opts o = {.ndeny = 0};

    if (c->op != KL_SVC_HTTP)
        return serve_kv(c);
    /* The admin API is never a destination, whatever the allow-list says. */
    o.deny_ports[o.ndeny++] = (unsigned)atoi(S.srv->admin_port);
    return kl_svc_http_exec(c, &o);
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&S.lock);
    for (;;) {
        while (!S.head)
            pthread_cond_wait(&S.work, &S.lock);
        struct job *j = S.head;
        if (!(S.head = j->next))
            S.tail = NULL;
        pthread_mutex_unlock(&S.lock);
        int rc = serve(j->call);
        pthread_mutex_lock(&S.lock);
        j->rc = rc;
        j->done = 1;
        pthread_cond_broadcast(&S.done);
    }
    return NULL;
}

/* The backend of every request: hand the call to a worker and wait. */
static int backend(void *ctx, struct kl_svc_call *call)
{
    struct job j = {.call = call};

    (void)ctx;
    if (!S.started)
        return -ENOTSUP;
    pthread_mutex_lock(&S.lock);
    if (S.tail)
        S.tail->next = &j;
    else
        S.head = &j;
    S.tail = &j;
    pthread_cond_signal(&S.work);
    while (!j.done)
        pthread_cond_wait(&S.done, &S.lock);
    pthread_mutex_unlock(&S.lock);
    return j.rc;
}

int kl_svc_server_start(struct kl_server *s, const char *key_path, struct kl_err *err)
{
    char def[PATH_MAX + 32];
    pthread_attr_t a;
    pthread_t t;
    int rc;

    S.srv = s;
    if ((rc = kl_reg_kv_init(s->reg, err)) < 0)
        return rc;
    /* The default key is made on first start; a cluster's nodes must all be
     * given the same file, so a named one must exist. */
    snprintf(def, sizeof(def), "%s/secrets.key", s->data);
    if ((rc = kl_secret_key_load(key_path ? key_path : def, key_path == NULL, &S.key, err)) < 0)
        return rc;
    if (kl_svc_http_global_init() < 0)
        return kl_errf(err, -EIO, "cannot initialise libcurl");
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < WORKERS; i++)
        if ((rc = pthread_create(&t, &a, worker, NULL)) != 0) {
            pthread_attr_destroy(&a);
            return kl_errf(err, -rc, "cannot start the service threads");
        }
    pthread_attr_destroy(&a);
    S.started = 1;
    return 0;
}

const struct kl_secret_key *kl_svc_secret_key(void)
{
    return &S.key;
}

static void log_line(const struct kl_svc_ctx *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    kl_log("request %s: function %s: %s", c->request_id, c->fn_name, line);
}

/* A copy of a secret's value in pages of its own that a core dump leaves
 * out (MADV_DONTDUMP); the page count is kept in front of the value. */
static char *dont_dump_dup(const char *v, size_t n)
{
    size_t len = (sizeof(size_t) + n + 1 + 4095) & ~(size_t)4095;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    madvise(p, len, MADV_DONTDUMP);
    memcpy(p, &len, sizeof(len));
    memcpy(p + sizeof(len), v, n);
    p[sizeof(len) + n] = 0;
    return p + sizeof(len);
}

/* Wipe and unmap a dont_dump_dup copy. */
static void dont_dump_free(char *v)
{
    char *p = v - sizeof(size_t);
    size_t len;

    memcpy(&len, p, sizeof(len));
    memset(p, 0, len);
    munmap(p, len);
}

/* Resolve a variable: a plain value (0), or its secret opened with the key
 * into dont_dump pages (1); a secret that is not set or cannot be opened is
 * left out (0, value NULL). -ENOMEM. */
static int resolve_var(const struct kl_fn_var *v, struct kl_svc_var *out, const char *fn,
                       const char *rid)
{
    struct kl_err e = {0};
    char *sealed = NULL, *val = NULL;
    size_t n;
    int rc;

    out->name = v->name;
    if (!v->secret) {
        out->value = strdup(v->value);
        return out->value ? 0 : -ENOMEM;
    }
    rc = kl_reg_secret_get(S.srv->reg, v->value, &sealed, &e);
    if (rc == 0)
        rc = kl_secret_open(&S.key, v->value, sealed, &val, &n);
    free(sealed);
    if (rc < 0) {
        kl_log("request %s: function %s: variable %s: secret %s %s", rid, fn, v->name, v->value,
               rc == -ENOENT ? "is not set" : "cannot be opened (another --secrets-key?)");
        out->value = NULL;   /* left out: the guest gets KL_SVC_ENOENT */
        return 0;
    }
    out->value = dont_dump_dup(val, n);
    memset(val, 0, n);
    free(val);
    return out->value ? 1 : -ENOMEM;
}

int kl_svc_request_open(const struct kl_fn *fn, const char *request_id, struct kl_svc_ctx **out)
{
    const struct kl_fn_svc *d = &fn->cfg.svc;
    struct req *q;
    size_t n = 0;

    /* A context even when nothing is declared: every call is then denied,
     * and each denial is logged with the request id. */
    *out = NULL;
    if (!(q = calloc(1, sizeof(*q))) || !(q->vars = calloc(d->nvars + 1, sizeof(*q->vars))) ||
        !(q->secret = calloc(d->nvars + 1, 1)) ||
        !(q->rid = strdup(request_id ? request_id : "-")) || !(q->fn = strdup(fn->name)))
        goto err_free;
    for (size_t i = 0; i < d->nvars; i++) {
        int rc = resolve_var(&d->vars[i], &q->vars[n], fn->name, q->rid);
        if (rc < 0)
            goto err_free;
        q->secret[n] = rc == 1;
        n += q->vars[n].value != NULL;
    }
    q->c.outbound = (const char *const *)d->outbound.v;
    q->c.noutbound = d->outbound.n;
    q->c.stores = (const char *const *)d->stores.v;
    q->c.nstores = d->stores.n;
    q->c.vars = q->vars;
    q->c.nvars = n;
    q->c.request_id = q->rid;
    q->c.fn_name = q->fn;
    q->c.backend = backend;
    q->c.log = log_line;
    *out = &q->c;
    return 0;

err_free:
    kl_svc_request_close(q ? &q->c : NULL);
    return -ENOMEM;
}

void kl_svc_request_close(struct kl_svc_ctx *c)
{
    struct req *q = (struct req *)c;

    if (!q)
        return;
    for (size_t i = 0; q->vars && q->vars[i].name; i++) {
        char *v = (char *)q->vars[i].value;
        /* Secrets do not outlive the request in the server's memory. */
        if (v && q->secret && q->secret[i])
            dont_dump_free(v);
        else
            free(v);
    }
    kl_svc_ctx_reset(&q->c);
    free(q->secret);
    free(q->vars);
    free(q->rid);
    free(q->fn);
    free(q);
}
