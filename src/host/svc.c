/* svc.c - KL_HC_SVC: check a guest's service call against what its function declared, then hand it to the backend. */
#include "host/svc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "host/svc_url.h"
#include "inst/hostcall.h"
#include "inst/instance.h"

/* Free a result, wiped first: it may hold a secret's value. */
static void drop_result(uint8_t *p, size_t n)
{
    if (p)
        memset(p, 0, n);
    free(p);
}

void kl_svc_ctx_reset(struct kl_svc_ctx *c)
{
    drop_result(c->result, c->result_len);
    c->result = NULL;
    c->result_len = c->hdr_len = 0;
    c->calls = 0;
    c->resp_bytes = 0;
}

/* Refuse the call with `code` and a reason the guest gets (and the log, for denials and failures). */
static int refuse(struct kl_inst *in, struct kl_hc_svc *s, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(struct kl_inst *in, struct kl_hc_svc *s, uint32_t code, const char *fmt, ...)
{
    const struct kl_svc_ctx *c = in->cfg->svc;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
    va_end(ap);
    s->err = code;
    if (c && c->log && code != KL_SVC_ENOENT)
        c->log(c, "svc: %s", s->reason);
    return KL_HC_CONTINUE;
}

/* A guest buffer as host memory: NULL for an empty one, *bad on a bad range. */
static const uint8_t *in_buf(struct kl_inst *in, const struct kl_svc_buf *b, int *bad)
{
    struct kl_err err;
    const uint8_t *p;

    if (b->len == 0)
        return NULL;
    p = kl_gmem_at(&in->gm, b->ptr, b->len, KL_GMEM_READ, "hostcall svc", &err);
    if (!p)
        *bad = 1;
    return p;
}

/* A guest string as a malloc'd NUL-terminated copy; refuses embedded NULs. */
static char *dup_str(struct kl_inst *in, const struct kl_svc_buf *b, size_t max, int *bad)
{
    const uint8_t *p = in_buf(in, b, bad);
    char *s;

    if (*bad || b->len > max || (p && memchr(p, 0, b->len))) {
        *bad = 1;
        return NULL;
    }
    if (!(s = malloc(b->len + 1)))
        return NULL;
    if (b->len)
        memcpy(s, p, b->len);
    s[b->len] = 0;
    return s;
}

/* A private copy of a guest buffer: in a process sandbox the guest may go on
 * writing while the host works, so what was checked must be what is used. */
static uint8_t *dup_buf(struct kl_inst *in, const struct kl_svc_buf *b, int *bad)
{
    const uint8_t *p = in_buf(in, b, bad);
    uint8_t *c;

    if (*bad || !(c = malloc(b->len + 1)))
        return NULL;
    if (b->len)
        memcpy(c, p, b->len);
    c[b->len] = 0;
    return c;
}

/* Copy result bytes from `off` into the guest's out buffer. */
static int copy_out(struct kl_inst *in, struct kl_hc_svc *s, uint64_t off)
{
    struct kl_svc_ctx *c = in->cfg->svc;
    uint64_t n = off < c->result_len ? c->result_len - off : 0;
    struct kl_err err;
    uint8_t *dst;

    s->result_len = c->result_len;
    s->hdr_len = c->hdr_len;
    if (n > s->out.len)
        n = s->out.len;
    if (n == 0)
        return KL_HC_CONTINUE;
    if (!(dst = kl_gmem_at(&in->gm, s->out.ptr, n, KL_GMEM_WRITE, "hostcall svc out", &err)))
        return refuse(in, s, KL_SVC_EINVAL, "%s", err.msg);
    memcpy(dst, c->result + off, n);
    s->copied = n;
    return KL_HC_CONTINUE;
}

static int listed(const char *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], name) == 0)
            return 1;
    return 0;
}

/* Keep the backend's result as the request's last result. */
static void keep_result(struct kl_svc_ctx *c, struct kl_svc_call *call)
{
    drop_result(c->result, c->result_len);
    c->result = call->result;
    c->result_len = call->result_len;
    c->hdr_len = call->hdr_len;
    call->result = NULL;
}

static int do_var(struct kl_inst *in, struct kl_hc_svc *s)
{
    struct kl_svc_ctx *c = in->cfg->svc;
    int bad = 0;
    char *name = dup_str(in, &s->a, 256, &bad);

    if (bad || !name) {
        free(name);
        return refuse(in, s, KL_SVC_EINVAL, "variable name: a bad buffer or over 256 bytes");
    }
    for (size_t i = 0; i < c->nvars; i++)
        if (strcmp(c->vars[i].name, name) == 0) {
            struct kl_svc_call call = {.result_len = strlen(c->vars[i].value)};
            if (!(call.result = malloc(call.result_len + 1))) {
                free(name);
                return -ENOMEM;
            }
            memcpy(call.result, c->vars[i].value, call.result_len);
            keep_result(c, &call);
            free(name);
            return copy_out(in, s, 0);
        }
    /* The name is the guest's own, so it may go to the log; a value never does. */
    refuse(in, s, KL_SVC_ENOENT, "variable %.64s is not declared", name);
    free(name);
    return KL_HC_CONTINUE;
}

/* Run a checked call on the backend and take its answer; `what` prefixes its reasons. */
static int run_backend(struct kl_inst *in, struct kl_hc_svc *s, struct kl_svc_call *call,
                       const char *what)
{
    struct kl_svc_ctx *c = in->cfg->svc;
    int rc;

    call->deadline_ns = in->deadline_ns;
    if (in->deadline_ns && kl_now_ns() >= in->deadline_ns)
        return refuse(in, s, KL_SVC_ETIMEOUT, "%s: the request's deadline has passed", what);
    rc = c->backend ? c->backend(c->backend_ctx, call) : -ENOTSUP;
    if (rc < 0) {
        free(call->result);
        return refuse(in, s, KL_SVC_EFAILED, "%s: the service is unavailable: %s", what,
                      strerror(-rc));
    }
    s->status = call->status;
    if (call->err) {
        free(call->result);
        return refuse(in, s, call->err, "%s: %s", what, call->reason);
    }
    keep_result(c, call);
    return copy_out(in, s, 0);
}

static int do_kv(struct kl_inst *in, struct kl_hc_svc *s)
{
    struct kl_svc_ctx *c = in->cfg->svc;
    struct kl_svc_call call = {.op = s->op};
    int bad = 0, rc;
    char *store = dup_str(in, &s->a, 128, &bad);
    uint8_t *key = s->b.len <= KL_SVC_KEY_MAX ? dup_buf(in, &s->b, &bad) : NULL;
    uint8_t *val = s->op == KL_SVC_KV_SET && s->d.len <= KL_SVC_VALUE_MAX ? dup_buf(in, &s->d, &bad)
                                                                         : NULL;

    if (bad || !store) {
        rc = refuse(in, s, KL_SVC_EINVAL, "kv: a buffer outside guest memory or a bad store name");
        goto out;
    }
    if (!listed(c->stores, c->nstores, store)) {
        rc = refuse(in, s, KL_SVC_EDENIED, "kv: store %.64s is not declared (key_value_stores)", store);
        goto out;
    }
    if (s->b.len > KL_SVC_KEY_MAX || !key || memchr(key, 0, s->b.len) ||
        (s->op != KL_SVC_KV_KEYS && s->b.len == 0)) {
        rc = refuse(in, s, KL_SVC_ELIMIT, "kv: a key is 1 to %u bytes without NUL", KL_SVC_KEY_MAX);
        goto out;
    }
    if (s->op == KL_SVC_KV_SET && s->d.len > KL_SVC_VALUE_MAX) {
        rc = refuse(in, s, KL_SVC_ELIMIT, "kv: a value is at most %u bytes", KL_SVC_VALUE_MAX);
        goto out;
    }
    call.store = store;
    call.key = key;
    call.key_len = s->b.len;
    call.val = val;
    call.val_len = val ? s->d.len : 0;
    rc = run_backend(in, s, &call, "kv");
out:
    free(store);
    free(key);
    free(val);
    return rc;
}

static int do_http(struct kl_inst *in, struct kl_hc_svc *s)
{
    struct kl_svc_ctx *c = in->cfg->svc;
    uint32_t max_calls = c->max_calls ? c->max_calls : KL_SVC_CALLS_DEFAULT;
    uint64_t max_bytes = c->max_resp_bytes ? c->max_resp_bytes : KL_SVC_RESP_DEFAULT;
    struct kl_svc_call call = {.op = s->op};
    char why[KL_SVC_REASON_MAX];
    int bad = 0, rc;
    char *method = dup_str(in, &s->a, 16, &bad);
    char *url = dup_str(in, &s->b, KL_SVC_URL_MAX, &bad);
    char *hdrs = dup_str(in, &s->c, KL_SVC_HDRS_MAX, &bad);
    uint8_t *body = s->d.len && s->d.len <= KL_SVC_BODY_MAX ? dup_buf(in, &s->d, &bad) : NULL;

    if (bad || !method || !url || !hdrs || s->d.len > KL_SVC_BODY_MAX) {
        rc = refuse(in, s, KL_SVC_EINVAL, "http: a buffer outside guest memory, or a method, "
                    "URL, headers or body over its limit");
        goto out;
    }
    if (kl_svc_url_allowed(url, c->outbound, c->noutbound, NULL, why, sizeof(why)) < 0) {
        rc = refuse(in, s, KL_SVC_EDENIED, "http: %s", why);
        goto out;
    }
    if (c->calls >= max_calls) {
        rc = refuse(in, s, KL_SVC_ELIMIT, "http: more than %u outbound calls in one request", max_calls);
        goto out;
    }
    if (c->resp_bytes >= max_bytes) {
        rc = refuse(in, s, KL_SVC_ELIMIT, "http: the request's %llu response bytes are used up",
                    (unsigned long long)max_bytes);
        goto out;
    }
    c->calls++;
    call.method = method[0] ? method : "GET";
    call.key = (const uint8_t *)url;
    call.key_len = strlen(url);
    call.headers = hdrs;
    call.val = body;
    call.val_len = body ? s->d.len : 0;
    call.max_bytes = max_bytes - c->resp_bytes;
    call.allow = c->outbound;
    call.nallow = c->noutbound;
    rc = run_backend(in, s, &call, "http");
    c->resp_bytes += call.result_len;
out:
    free(method);
    free(url);
    free(hdrs);
    free(body);
    return rc;
}

int kl_hc_svc(struct kl_inst *in, void *arg)
{
    struct kl_hc_svc *s = arg;
    struct kl_svc_ctx *c = in->cfg->svc;

    s->err = KL_SVC_OK;
    s->status = 0;
    s->result_len = s->copied = s->hdr_len = 0;
    memset(s->reason, 0, sizeof(s->reason));
    if (s->version != KL_SVC_VERSION)
        return refuse(in, s, KL_SVC_EINVAL, "svc: version %u, this host speaks %u",
                      s->version, KL_SVC_VERSION);
    if (!c)
        return refuse(in, s, KL_SVC_EDENIED, "svc: this run declared no services");
    switch (s->op) {
    case KL_SVC_HTTP:
        return do_http(in, s);
    case KL_SVC_KV_GET: case KL_SVC_KV_SET: case KL_SVC_KV_DELETE:
    case KL_SVC_KV_EXISTS: case KL_SVC_KV_KEYS:
        return do_kv(in, s);
    case KL_SVC_VAR_GET:
        return do_var(in, s);
    case KL_SVC_RESULT:
        return copy_out(in, s, s->offset);
    default:
        return refuse(in, s, KL_SVC_EINVAL, "svc: unknown op %u", s->op);
    }
}
