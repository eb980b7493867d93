/* api.c - the management API under /v1/ (functions, versions, logs, invoke, stats) and /metrics. */
#include "server/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "server/cluster.h"
#include "server/deploy.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/optimiser.h"
#include "server/pool.h"
#include "server/table.h"
#include "server/wagi.h"
#include "vm/vm.h"

#define KL_API_BODY_MAX 65536        /* JSON bodies of the management API */
#define KL_CONFIG_MAX 262144         /* the deploy "config" part */
/* An API body (a module of up to --max-upload-mb) must be in by then. */
#define KL_API_BODY_MS 300000

/** Management API operations, decided from method + path before the body arrives. */
enum kl_api_op {
    KL_API_NONE, KL_API_LIST, KL_API_INFO, KL_API_REMOVE, KL_API_DEPLOY,
    KL_API_ROLLBACK, KL_API_LOGS, KL_API_INVOKE, KL_API_METRICS, KL_API_STATS,
    KL_API_NODES,
};

/* An API request's own state (r->ctx). */
struct api_req {
    enum kl_api_op op;
    char fn_name[KL_FN_NAME_MAX + 1];
    struct MHD_PostProcessor *pp;   /* a deploy's multipart parser */
    struct kl_buf part_config;
    struct kl_buf part_module;
    char part_error[160];
    struct kl_deploy *deploy;
    struct kl_table *table;         /* an invoke's, held until the request ends */
};

static struct api_req *api_of(struct kl_req *r)
{
    return r->ctx;
}

static int api_upload(struct kl_req *r, const char *data, size_t n);

/* Which operation a method + path names; *known tells a 405 from a 404. */
static enum kl_api_op classify(const char *method, const char *path, char *name,
                               size_t name_len, int *known)
{
    const char *rest, *slash;
    size_t n;

    *known = 1;
    if (strcmp(path, "/metrics") == 0 || strcmp(path, "/v1/metrics") == 0)
        return strcmp(method, "GET") == 0 ? KL_API_METRICS : KL_API_NONE;
    if (strcmp(path, "/v1/stats") == 0)
        return strcmp(method, "GET") == 0 ? KL_API_STATS : KL_API_NONE;
    if (strcmp(path, "/v1/functions") == 0 || strcmp(path, "/v1/functions/") == 0)
        return strcmp(method, "GET") == 0 ? KL_API_LIST : KL_API_NONE;
    if (strcmp(path, "/v1/nodes") == 0)
        return strcmp(method, "GET") == 0 ? KL_API_NODES : KL_API_NONE;
    *known = 0;
    if (strncmp(path, "/v1/functions/", 14) != 0)
        return KL_API_NONE;
    rest = path + 14;
    slash = strchr(rest, '/');
    n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= name_len)
        return KL_API_NONE;
    memcpy(name, rest, n);
    name[n] = 0;
    *known = 1;
    if (slash == NULL || strcmp(slash, "/versions") == 0) {
        if (strcmp(method, "GET") == 0)
            return KL_API_INFO;
        return slash == NULL && strcmp(method, "DELETE") == 0 ? KL_API_REMOVE
                                                              : KL_API_NONE;
    }
    if (strcmp(slash, "/deploy") == 0)
        return strcmp(method, "POST") == 0 ? KL_API_DEPLOY : KL_API_NONE;
    if (strcmp(slash, "/rollback") == 0)
        return strcmp(method, "POST") == 0 ? KL_API_ROLLBACK : KL_API_NONE;
    if (strcmp(slash, "/invoke") == 0)
        return strcmp(method, "POST") == 0 ? KL_API_INVOKE : KL_API_NONE;
    if (strcmp(slash, "/logs") == 0)
        return strcmp(method, "GET") == 0 ? KL_API_LOGS : KL_API_NONE;
    *known = 0;
    return KL_API_NONE;
}

/* Multipart fields of a deploy: "config" (JSON) and "module" (the .wasm). */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *ctype,
                               const char *enc, const char *data, uint64_t off,
                               size_t size)
{
    struct kl_req *r = cls;
    struct kl_buf *b;

    if (key != NULL && strcmp(key, "config") == 0) {
        b = &api_of(r)->part_config;
    } else if (key != NULL && strcmp(key, "module") == 0) {
        b = &api_of(r)->part_module;
    } else {
        snprintf(api_of(r)->part_error, sizeof(api_of(r)->part_error), "unexpected form field "
                 "\"%.40s\" (want config and module)", key ? key : "");
        return MHD_NO;
    }
    if (size > 0 && kl_buf_append(b, data, size) < 0) {
        r->too_big = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result api_begin(void *hctx, struct kl_req *r, struct MHD_Connection *c,
                                 const char *path, size_t *body_cap, int *handled)
{
    struct api_req *a = calloc(1, sizeof(*a));
    int known;

    *handled = 1;
    if (a == NULL)
        return kl_http_error(r, c, 500, "internal", "out of memory");
    r->ctx = a;
    kl_buf_init(&a->part_config, KL_CONFIG_MAX);
    kl_buf_init(&a->part_module, r->srv->max_upload);
    r->body_ms = KL_API_BODY_MS;
    api_of(r)->op = classify(r->method, path, api_of(r)->fn_name, sizeof(api_of(r)->fn_name), &known);
    if (api_of(r)->op == KL_API_NONE && known)
        return kl_http_error(r, c, 405, "bad_method", "method %s not allowed on %s",
                             r->method, path);
    if (api_of(r)->op == KL_API_NONE)
        return kl_http_error(r, c, 404, "not_found", "no API endpoint %s", path);
    if (api_of(r)->fn_name[0] && !kl_fn_name_ok(api_of(r)->fn_name))
        return kl_http_error(r, c, 400, "bad_request", "bad function name");
    *body_cap = KL_API_BODY_MAX;
    if (api_of(r)->op == KL_API_INVOKE)
        *body_cap = r->srv->max_body;
    if (api_of(r)->op == KL_API_DEPLOY) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");

        *body_cap = r->srv->max_upload + KL_CONFIG_MAX + 65536;
        /* MHD would also take urlencoded forms; a module is binary, so only
         * multipart makes sense. */
        if (ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0)
            api_of(r)->pp = MHD_create_post_processor(c, 65536, on_part, r);
        if (api_of(r)->pp == NULL)
            return kl_http_error(r, c, 415, "bad_request", "deploy wants a "
                                 "multipart/form-data body with config and module");
        r->upload = api_upload;
        r->upload_cap = r->srv->max_upload;
    }
    *handled = 0;
    return MHD_YES;
}

/* Feed upload bytes to the deploy's multipart parser. */
static int api_upload(struct kl_req *r, const char *data, size_t n)
{
    if (api_of(r)->part_error[0] != 0)
        return -EINVAL;
    if (MHD_post_process(api_of(r)->pp, data, n) == MHD_YES)
        return 0;
    if (r->too_big)
        return -E2BIG;
    if (api_of(r)->part_error[0] == 0)
        snprintf(api_of(r)->part_error, sizeof(api_of(r)->part_error), "malformed multipart body");
    return -EINVAL;
}

/* A readable query parameter as a bounded integer. */
static long long qint(struct MHD_Connection *c, const char *key, long long def,
                      long long lo, long long hi)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    long long n;
    char *end;

    if (v == NULL || *v == 0)
        return def;
    n = strtoll(v, &end, 10);
    if (*end != 0)
        return def;
    return n < lo ? lo : n > hi ? hi : n;
}

static ssize_t deploy_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    long n = kl_deploy_read(cls, buf, max);

    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void deploy_reader_free(void *cls)
{
    kl_deploy_put(cls);
}

static enum MHD_Result do_deploy(struct kl_req *r, struct MHD_Connection *c)
{
    struct MHD_Response *resp;
    struct kl_deploy *d;
    int ok = MHD_destroy_post_processor(api_of(r)->pp) == MHD_YES, status;

    api_of(r)->pp = NULL;
    if (api_of(r)->part_error[0] != 0 || !ok)
        return kl_http_error(r, c, 400, "bad_request", "%s",
                             api_of(r)->part_error[0] ? api_of(r)->part_error : "malformed multipart body");
    if (api_of(r)->part_config.len == 0 || api_of(r)->part_module.len == 0)
        return kl_http_error(r, c, 400, "bad_request", "deploy needs both a "
                             "\"config\" and a \"module\" part");
    d = api_of(r)->deploy = kl_deploy_new(r->srv, api_of(r)->fn_name, r->id, &api_of(r)->part_config,
                                  &api_of(r)->part_module);
    if (d == NULL)
        return kl_http_error(r, c, 500, "internal", "out of memory");
    if (qint(c, "progress", 0, 0, 1) == 0) {
        status = kl_deploy_run(d);
        return kl_http_json(r, c, status, json_incref(kl_deploy_result(d)));
    }
    if (kl_deploy_spawn(d) < 0)
        return kl_http_error(r, c, 500, "internal", "cannot start the compile");
    /* The streamed response keeps its own reference to the job. */
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, deploy_reader,
                                             d, deploy_reader_free);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
    api_of(r)->deploy = NULL;   /* ownership moved to the response */
    return kl_http_send(r, c, 200, resp, NULL);
}

/* The HTTP status of a failed registry call: the registry's database out
 * of reach is 503 (try again), not the server's fault (500). */
static int reg_status(int rc)
{
    switch (rc) {
    case -ENOENT:
        return 404;
    case -EEXIST:
        return 409;
    case -ENOTCONN:
        return 503;
    default:
        return 500;
    }
}

/* Remove image files nobody references, but only inside our images folder. */
static void unlink_orphans(struct kl_server *s, const struct kl_strv *orphans)
{
    char path[PATH_MAX + 64];
    size_t i;

    for (i = 0; i < orphans->n; i++) {
        if (orphans->v[i][0] == '/' || strstr(orphans->v[i], ".."))
            continue;
        kl_server_image_path(s, orphans->v[i], path, sizeof(path));
        unlink(path);
    }
}

static enum MHD_Result do_remove(struct kl_req *r, struct MHD_Connection *c)
{
    struct kl_strv orphans = {0};
    struct kl_err err = {0};
    int rc;

    pthread_mutex_lock(&r->srv->control_lock);
    rc = kl_reg_remove(r->srv->reg, api_of(r)->fn_name, &orphans, &err);
    if (rc == 0 && kl_server_reload(r->srv, &err) < 0)
        kl_log("rm %s: republish failed: %s", api_of(r)->fn_name, err.msg);
    pthread_mutex_unlock(&r->srv->control_lock);
    if (rc < 0) {
        kl_strv_free(&orphans);
        return kl_http_error(r, c, reg_status(rc), "registry", "%s", err.msg);
    }
    unlink_orphans(r->srv, &orphans);
    kl_strv_free(&orphans);
    kl_logs_remove(r->srv->logs, api_of(r)->fn_name);
    kl_metrics_forget(api_of(r)->fn_name);
    kl_log("removed %s [%s]", api_of(r)->fn_name, r->id);
    return kl_http_json(r, c, 200, json_pack("{s:b,s:s}", "ok", 1, "name", api_of(r)->fn_name));
}

static enum MHD_Result do_rollback(struct kl_req *r, struct MHD_Connection *c)
{
    struct kl_err err = {0};
    json_t *o = NULL, *v;
    int version = 0, rc;

    if (r->body.len > 0) {
        o = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
        v = json_object_get(o, "version");
        if (o == NULL || (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 ||
                                        json_integer_value(v) > 1000000000))) {
            json_decref(o);
            return kl_http_error(r, c, 400, "bad_request",
                                 "body must be {\"version\": N} with N >= 1");
        }
        version = v ? (int)json_integer_value(v) : 0;
        json_decref(o);
    }
    pthread_mutex_lock(&r->srv->control_lock);
    rc = kl_reg_activate(r->srv->reg, api_of(r)->fn_name, &version, &err);
    if (rc == 0 && kl_server_reload(r->srv, &err) < 0)
        kl_log("rollback %s: republish failed: %s", api_of(r)->fn_name, err.msg);
    pthread_mutex_unlock(&r->srv->control_lock);
    if (rc < 0)
        return kl_http_error(r, c, reg_status(rc), "registry", "%s", err.msg);
    kl_log("rolled %s back to v%d [%s]", api_of(r)->fn_name, version, r->id);
    return kl_http_json(r, c, 200, json_pack("{s:b,s:s,s:i}", "ok", 1, "name",
                                             api_of(r)->fn_name, "version", version));
}

static enum MHD_Result do_info(struct kl_req *r, struct MHD_Connection *c, int list)
{
    struct kl_err err = {0};
    json_t *o = list ? kl_reg_list_json(r->srv->reg, &err)
                     : kl_reg_info_json(r->srv->reg, api_of(r)->fn_name, &err);

    if (o == NULL)
        return kl_http_error(r, c, reg_status(err.code), "registry", "%s", err.msg);
    kl_optimiser_describe_all(r->srv, o);
    return kl_http_json(r, c, 200, list ? json_pack("{s:o}", "functions", o) : o);
}

static enum MHD_Result do_nodes(struct kl_req *r, struct MHD_Connection *c)
{
    struct kl_err err = {0};
    json_t *o = kl_cluster_nodes_json(r->srv, &err);

    if (o == NULL)
        return kl_http_error(r, c, reg_status(err.code), "registry", "%s", err.msg);
    return kl_http_json(r, c, 200, o);
}

/* Does the registry know `name`? (logs of unknown functions are a 404) */
static int exists(struct kl_server *s, const char *name)
{
    json_t *o = kl_reg_info_json(s->reg, name, NULL);

    json_decref(o);
    return o != NULL;
}

static enum MHD_Result do_logs(struct kl_req *r, struct MHD_Connection *c)
{
    struct kl_err err = {0};
    json_t *o;

    if (!exists(r->srv, api_of(r)->fn_name))
        return kl_http_error(r, c, 404, "not_found", "no function named %s", api_of(r)->fn_name);
    o = kl_logs_read(r->srv->logs, api_of(r)->fn_name, qint(c, "after", 0, 0, INT64_MAX),
                     (int)qint(c, "limit", 1000, 1, 10000),
                     (int)qint(c, "wait", 0, 0, 30) * 1000, &err);
    if (o == NULL)
        return kl_http_error(r, c, 500, "logs", "%s", err.msg);
    return kl_http_json(r, c, 200, o);
}

/* Run the active version with the request body, as if called on its route. */
static enum MHD_Result do_invoke(struct kl_req *r, struct MHD_Connection *c)
{
    const struct kl_fn *fn;
    char target[KL_ROUTE_MAX + 2];
    size_t n;

    api_of(r)->table = kl_server_table(r->srv);
    fn = api_of(r)->table ? kl_table_find(api_of(r)->table, api_of(r)->fn_name) : NULL;
    if (fn == NULL)
        return kl_http_error(r, c, 404, "not_found", "no function named %s", api_of(r)->fn_name);
    /* Label metrics only for real functions: unknown names must not mint series. */
    snprintf(r->metric_fn, sizeof(r->metric_fn), "%s", fn->name);
    n = strlen(fn->cfg.route);
    if (n >= 4 && strcmp(fn->cfg.route + n - 4, "/...") == 0)
        n -= 4;
    snprintf(target, sizeof(target), "%.*s", (int)n, fn->cfg.route);
    if (target[0] == 0)
        snprintf(target, sizeof(target), "/");
    return kl_wagi_serve(r, c, fn, target, fn->cfg.route,
                         r->body.len > 0 ? "POST" : "GET");
}

static enum MHD_Result do_metrics(struct kl_req *r, struct MHD_Connection *c)
{
    struct kl_buf b;
    enum MHD_Result ret;

    kl_buf_init(&b, 64u << 20);
    kl_metrics_render_info(&b, kl_isolation_name());
    if (__atomic_load_n(&r->srv->node_named, __ATOMIC_ACQUIRE))
        kl_metrics_render_node(&b, r->srv->node.name);
    kl_metrics_render(&b);
    kl_pool_metrics_render(&b);
    kl_optimiser_metrics(&b);
    ret = kl_http_bytes(r, c, 200, "text/plain; version=0.0.4", b.data ? (char *)b.data : "",
                        b.len);
    kl_buf_free(&b);
    return ret;
}

/* Counters and live percentiles as JSON, for the dashboard's charts. */
static enum MHD_Result do_stats(struct kl_req *r, struct MHD_Connection *c)
{
    json_t *o = kl_metrics_stats_json((unsigned)qint(c, "window", 5, 1, 15));

    if (o == NULL)
        return kl_http_error(r, c, 500, "internal", "out of memory");
    return kl_http_json(r, c, 200, o);
}

static enum MHD_Result api_finish(void *hctx, struct kl_req *r, struct MHD_Connection *c)
{
    switch (api_of(r)->op) {
    case KL_API_LIST:
        return do_info(r, c, 1);
    case KL_API_INFO:
        return do_info(r, c, 0);
    case KL_API_REMOVE:
        return do_remove(r, c);
    case KL_API_DEPLOY:
        return do_deploy(r, c);
    case KL_API_ROLLBACK:
        return do_rollback(r, c);
    case KL_API_LOGS:
        return do_logs(r, c);
    case KL_API_INVOKE:
        return do_invoke(r, c);
    case KL_API_METRICS:
        return do_metrics(r, c);
    case KL_API_STATS:
        return do_stats(r, c);
    case KL_API_NODES:
        return do_nodes(r, c);
    case KL_API_NONE:
        break;
    }
    return kl_http_error(r, c, 404, "not_found", "no such API endpoint");
}

static void api_done(struct kl_req *r)
{
    struct api_req *a = r->ctx;

    if (a == NULL)
        return;
    if (a->pp != NULL)
        MHD_destroy_post_processor(a->pp);
    kl_deploy_put(a->deploy);
    kl_table_put(a->table);
    kl_buf_free(&a->part_config);
    kl_buf_free(&a->part_module);
    free(a);
    r->ctx = NULL;
}

static const struct kl_http_handler api_handler = {api_begin, api_finish, api_done};

int kl_api_register(struct kl_server *s)
{
    const unsigned f = KL_ROUTE_RESERVED | KL_ROUTE_AUTH;
    int rc;

    if ((rc = kl_http_route_add(s, KL_LISTEN_ADMIN, "/v1", f, &api_handler, NULL)) < 0 ||
        (rc = kl_http_route_add(s, KL_LISTEN_ADMIN, "/v1/", f | KL_ROUTE_PREFIX,
                                &api_handler, NULL)) < 0)
        return rc;
    return kl_http_route_add(s, KL_LISTEN_ADMIN, "/metrics", f, &api_handler, NULL);
}
