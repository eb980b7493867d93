/* api_svc.c - the management API of host services: /v1/kv (stores, keys, values) and /v1/secrets (names only out). */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/fnconfig_svc.h"
#include "server/http.h"
#include "server/registry_kv.h"
#include "server/secrets.h"
#include "server/server.h"
#include "server/svc_exec.h"
#include "server/api_svc.h"
#include "server/wagi_env.h"

/** The path after a prefix, split at its first '/' into two decoded parts. */
struct parts {
    char a[KL_SVC_KEY_MAX * 3 + 1];   /* store or secret name */
    char b[KL_SVC_KEY_MAX * 3 + 1];   /* key */
    size_t blen;
    int has_a, has_b;
};

/* Split and %-decode "A[/B]" (B may hold '/'). -E2BIG when a part is too long. */
static int split(const char *rest, size_t n, struct parts *p)
{
    const char *slash = memchr(rest, '/', n);
    size_t an = slash ? (size_t)(slash - rest) : n;

    memset(p, 0, sizeof(*p));
    if (an >= sizeof(p->a) || (slash && n - an - 1 >= sizeof(p->b)))
        return -E2BIG;
    memcpy(p->a, rest, an);
    p->has_a = an > 0;
    MHD_http_unescape(p->a);
    if (slash) {
        memcpy(p->b, slash + 1, n - an - 1);
        p->blen = MHD_http_unescape(p->b);
        p->has_b = p->blen > 0;
    }
    return 0;
}

static int reg_status(int rc)
{
    return rc == -ENOENT ? 404 : rc == -EDQUOT ? 507 : rc == -ENOTCONN ? 503 : 500;
}

/* GET /v1/kv/STORE[?prefix=P]: the keys, as JSON strings (bytes that are not UTF-8 are left out). */
static enum MHD_Result kv_keys(struct kl_req *r, struct MHD_Connection *c, const char *store)
{
    const char *prefix = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "prefix");
    struct kl_err err = {0};
    struct kl_buf keys;
    json_t *a = json_array();
    int rc;

    kl_buf_init(&keys, 64u << 20);
    rc = kl_reg_kv_keys(r->srv->reg, store, (const uint8_t *)(prefix ? prefix : ""),
                        prefix ? strlen(prefix) : 0, &keys, &err);
    for (size_t off = 0; rc == 0 && off < keys.len;) {
        const char *k = (const char *)keys.data + off;
        json_t *s = json_string(k);
        if (s)
            json_array_append_new(a, s);
        off += strlen(k) + 1;
    }
    kl_buf_free(&keys);
    if (rc < 0) {
        json_decref(a);
        return kl_http_error(r, c, reg_status(rc), "registry", "kv: %s", err.msg);
    }
    return kl_http_json(r, c, 200, json_pack("{s:s,s:o}", "store", store, "keys", a));
}

static enum MHD_Result kv_key(struct kl_req *r, struct MHD_Connection *c, const struct parts *p)
{
    struct kl_err err = {0};
    uint8_t *val = NULL;
    size_t n = 0;
    int rc;

    if (strcmp(r->method, "GET") == 0) {
        rc = kl_reg_kv_get(r->srv->reg, p->a, (const uint8_t *)p->b, p->blen, &val, &n, &err);
        if (rc == -ENOENT)
            return kl_http_error(r, c, 404, "not_found", "store %s has no such key", p->a);
        if (rc < 0)
            return kl_http_error(r, c, reg_status(rc), "registry", "kv: %s", err.msg);
        enum MHD_Result ret = kl_http_bytes(r, c, 200, "application/octet-stream", val, n);
        free(val);
        return ret;
    }
    if (strcmp(r->method, "PUT") == 0)
        rc = kl_reg_kv_set(r->srv->reg, p->a, (const uint8_t *)p->b, p->blen, r->body.data,
                           r->body.len, KL_KV_QUOTA_DEFAULT, &err);
    else if (strcmp(r->method, "DELETE") == 0)
        rc = kl_reg_kv_delete(r->srv->reg, p->a, (const uint8_t *)p->b, p->blen, &err);
    else
        return kl_http_error(r, c, 405, "bad_method", "use GET, PUT or DELETE on a key");
    if (rc < 0)
        return kl_http_error(r, c, reg_status(rc), "registry", "kv: %s", err.msg);
    return kl_http_json(r, c, 200, json_pack("{s:b}", "ok", 1));
}

static enum MHD_Result kv(struct kl_req *r, struct MHD_Connection *c, const char *rest, size_t n)
{
    struct kl_err err = {0};
    struct parts p;
    json_t *o;

    if (split(rest, n, &p) < 0 || p.blen > KL_SVC_KEY_MAX)
        return kl_http_error(r, c, 400, "bad_request", "a key is at most %u bytes",
                             KL_SVC_KEY_MAX);
    if (p.has_a && !kl_kv_store_name_ok(p.a))
        return kl_http_error(r, c, 400, "bad_request", "store names are 1 to 64 of A-Za-z0-9_-");
    if (!p.has_a) {
        if (strcmp(r->method, "GET") != 0)
            return kl_http_error(r, c, 405, "bad_method", "use GET on /v1/kv");
        if (!(o = kl_reg_kv_stores_json(r->srv->reg, &err)))
            return kl_http_error(r, c, reg_status(err.code), "registry", "kv: %s", err.msg);
        return kl_http_json(r, c, 200, o);
    }
    if (!p.has_b) {
        if (strcmp(r->method, "GET") != 0)
            return kl_http_error(r, c, 405, "bad_method", "use GET on a store");
        return kv_keys(r, c, p.a);
    }
    return kv_key(r, c, &p);
}

/* PUT /v1/secrets/NAME seals the body; DELETE removes; there is no GET of one. */
static enum MHD_Result secret(struct kl_req *r, struct MHD_Connection *c, const char *name)
{
    struct kl_err err = {0};
    char *sealed;
    int rc;

    if (!kl_fn_var_name_ok(name))
        return kl_http_error(r, c, 400, "bad_request", "secret names are 1 to 64 of a-z0-9_");
    if (strcmp(r->method, "DELETE") == 0) {
        if ((rc = kl_reg_secret_rm(r->srv->reg, name, &err)) < 0)
            return kl_http_error(r, c, reg_status(rc), rc == -ENOENT ? "not_found" : "registry",
                                 "%s", rc == -ENOENT ? "no such secret" : err.msg);
        kl_log("secret %s removed [%s]", name, r->id);
        return kl_http_json(r, c, 200, json_pack("{s:b}", "ok", 1));
    }
    if (strcmp(r->method, "PUT") != 0)
        return kl_http_error(r, c, 405, "bad_method", "a secret is only set (PUT) or removed "
                             "(DELETE): its value never comes back");
    if (r->body.len == 0 || r->body.len > KL_SECRET_MAX || memchr(r->body.data, 0, r->body.len))
        return kl_http_error(r, c, 400, "bad_request", "a secret is 1 to %u bytes without NUL",
                             KL_SECRET_MAX);
    if (!(sealed = kl_secret_seal(kl_svc_secret_key(), name, r->body.data, r->body.len)))
        return kl_http_error(r, c, 500, "internal", "cannot seal the secret");
    rc = kl_reg_secret_put(r->srv->reg, name, sealed, &err);
    free(sealed);
    /* The body held the value: it goes now, not when the request is freed. */
    memset(r->body.data, 0, r->body.len);
    if (rc < 0)
        return kl_http_error(r, c, reg_status(rc), "registry", "%s", err.msg);
    kl_log("secret %s set [%s]", name, r->id);
    return kl_http_json(r, c, 200, json_pack("{s:b,s:s}", "ok", 1, "name", name));
}

/* The headers are in: values and secrets are at most 1 MiB. */
static enum MHD_Result svc_begin(void *hctx, struct kl_req *r, struct MHD_Connection *c,
                                 const char *path, size_t *cap, int *handled)
{
    (void)hctx, (void)r, (void)c, (void)path;
    *cap = KL_SVC_VALUE_MAX;
    *handled = 0;
    return MHD_YES;
}

static enum MHD_Result svc_finish(void *hctx, struct kl_req *r, struct MHD_Connection *c)
{
    size_t n = kl_target_path_len(r->target);
    const char *t = r->target;
    struct kl_err err = {0};
    struct parts p;
    json_t *o;

    (void)hctx;
    if (n >= 6 && strncmp(t, "/v1/kv", 6) == 0)
        return kv(r, c, t + (n > 6 ? 7 : 6), n > 6 ? n - 7 : 0);
    if (n <= 12) {   /* /v1/secrets[/] */
        if (strcmp(r->method, "GET") != 0)
            return kl_http_error(r, c, 405, "bad_method", "use GET on /v1/secrets");
        if (!(o = kl_reg_secret_list_json(r->srv->reg, &err)))
            return kl_http_error(r, c, reg_status(err.code), "registry", "%s", err.msg);
        return kl_http_json(r, c, 200, o);
    }
    if (split(t + 12, n - 12, &p) < 0 || p.has_b)
        return kl_http_error(r, c, 400, "bad_request", "bad secret name");
    return secret(r, c, p.a);
}

static const struct kl_http_handler svc_handler = {svc_begin, svc_finish, NULL};

int kl_api_svc_register(struct kl_server *s)
{
    const unsigned f = KL_ROUTE_RESERVED | KL_ROUTE_AUTH;
    static const char *const paths[] = {"/v1/kv", "/v1/kv/", "/v1/secrets", "/v1/secrets/"};
    int rc = 0;

    for (size_t i = 0; i < 4 && rc == 0; i++)
        rc = kl_http_route_add(s, KL_LISTEN_ADMIN, paths[i], f | (i % 2 ? KL_ROUTE_PREFIX : 0),
                               &svc_handler, NULL);
    return rc;
}
