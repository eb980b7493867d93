/* wagi.c - the functions' route: match a request to a function, CGI env in, run the VM, CGI response out. */
#include "server/wagi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "server/cgi_response.h"
#include "server/http.h"
#include "server/table.h"
#include "server/wagi_env.h"

struct headers {
    struct kl_wagi_header h[KL_HEADER_COUNT_MAX + 1];
    size_t n;
    int skip_auth;   /* an API invoke: its Authorization is our admin token */
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind,
                               const char *k, const char *v)
{
    struct headers *hs = cls;

    if (hs->skip_auth && strcasecmp(k, "Authorization") == 0)
        return MHD_YES;
    if (hs->n < KL_HEADER_COUNT_MAX + 1) {
        hs->h[hs->n].name = k;
        hs->h[hs->n].value = v ? v : "";
        hs->n++;
    }
    return MHD_YES;
}

static void remote_addr(struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    socklen_t sl = sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                   : sizeof(struct sockaddr_in);

    snprintf(out, len, "unknown");
    if (sa != NULL)
        getnameinfo(sa, sl, out, (socklen_t)len, NULL, 0, NI_NUMERICHOST);
}

/* The function's stderr, then our own note on how it ended, go to its log. */
static void log_run(struct kl_req *r, const struct kl_fn *fn,
                    const struct kl_run_result *res, const char *note)
{
    char line[700];

    if (res != NULL && res->err_len > 0)
        kl_logs_append(r->srv->logs, fn->name, r->id, res->err, res->err_len);
    if (note != NULL) {
        snprintf(line, sizeof(line), "[kernless] %s", note);
        kl_logs_append(r->srv->logs, fn->name, r->id, (const uint8_t *)line,
                       strlen(line));
    }
}

/* Map a run that did not exit(0) to its error response. */
static enum MHD_Result run_failed(struct kl_req *r, struct MHD_Connection *c,
                                  const struct kl_fn *fn,
                                  const struct kl_run_result *res)
{
    char msg[400];
    int status;
    const char *cause;

    switch (res->kind) {
    case KL_RES_EXIT:
        status = 500, cause = "exit";
        snprintf(msg, sizeof(msg), "exit status %d", res->exit_code);
        break;
    case KL_RES_TRAP:
        status = 500, cause = "trap";
        snprintf(msg, sizeof(msg), "trap: %s", res->reason[0] ? res->reason
                 : kl_trap_name(res->trap));
        break;
    case KL_RES_TIMEOUT:
        status = 504, cause = "timeout";
        snprintf(msg, sizeof(msg), "timeout: no response within %u ms",
                 fn->cfg.timeout_ms);
        break;
    case KL_RES_LIMIT:
        status = 502, cause = "output_limit";
        snprintf(msg, sizeof(msg), "%s", res->reason[0] ? res->reason
                 : "output limit: the function wrote too much");
        break;
    default:
        status = 502, cause = "guest_error";
        snprintf(msg, sizeof(msg), "guest error: %s", res->reason);
        break;
    }
    log_run(r, fn, res, msg);
    return kl_http_error(r, c, status, cause, "%s", msg);
}

/* Turn a successful run's stdout into the HTTP response. */
static enum MHD_Result respond(struct kl_req *r, struct MHD_Connection *c,
                               const struct kl_fn *fn,
                               const struct kl_run_result *res)
{
    struct kl_cgi_response cgi;
    struct MHD_Response *resp;
    char why[256], msg[300];
    size_t i;

    if (kl_cgi_parse(res->out, res->out_len, &cgi, why, sizeof(why)) < 0) {
        snprintf(msg, sizeof(msg), "bad response: %s", why);
        log_run(r, fn, res, msg);
        return kl_http_error(r, c, 502, "bad_response", "%s", msg);
    }
    log_run(r, fn, res, NULL);
    resp = MHD_create_response_from_buffer(cgi.body_len, (void *)cgi.body,
                                           MHD_RESPMEM_MUST_COPY);
    for (i = 0; resp != NULL && i < cgi.nheaders; i++)
        if (MHD_add_response_header(resp, cgi.headers[i].name,
                                    cgi.headers[i].value) != MHD_YES)
            kl_log("%s %s: header %s refused by the HTTP layer", r->id,
                   fn->name, cgi.headers[i].name);
    i = (size_t)cgi.status;
    kl_cgi_response_free(&cgi);
    return kl_http_send(r, c, (int)i, resp, NULL);
}

/* Build argv/env for this request; an error response is queued on failure. */
static int build(struct kl_req *r, struct MHD_Connection *c, const struct kl_fn *fn,
                 const char *target, const char *route, const char *method,
                 struct kl_strv *env, struct kl_strv *argv)
{
    struct headers *hs = calloc(1, sizeof(*hs));
    struct kl_wagi_req q = {0};
    char addr[INET6_ADDRSTRLEN + 8], why[256];
    int rc;

    if (hs == NULL)
        return -ENOMEM;
    hs->skip_auth = r->admin;   /* only an API invoke arrives on the admin listener */
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect, hs);
    remote_addr(c, addr, sizeof(addr));
    q.method = method;
    q.target = target;
    q.route = route;
    q.listen_host = r->srv->listen_host;
    q.listen_port = r->srv->listen_port;
    q.protocol = r->version ? r->version : "HTTP/1.1";
    q.remote_addr = addr;
    q.request_id = r->id;
    q.headers = hs->h;
    q.nheaders = hs->n;
    q.content_length = r->body.len;
    q.fn_env = (const char *const *)fn->cfg.env.v;
    q.fn_envc = fn->cfg.env.n;
    rc = kl_wagi_build(&q, env, argv, why, sizeof(why));
    free(hs);
    if (rc == -EINVAL)
        kl_http_error(r, c, 400, "bad_request", "%s", why);
    else if (rc == -E2BIG)
        kl_http_error(r, c, 414, "too_large", "%s", why);
    else if (rc < 0)
        kl_http_error(r, c, 500, "internal", "%s", why);
    return rc;
}

enum MHD_Result kl_wagi_serve(struct kl_req *r, struct MHD_Connection *c,
                              const struct kl_fn *fn, const char *target,
                              const char *route, const char *method)
{
    struct kl_strv env, argv;
    struct kl_run_result res;
    struct kl_exec_in in;
    struct kl_err err = {0};
    enum MHD_Result ret;
    char why[512];
    int rc;

    if (kl_fn_image(fn, why, sizeof(why)) == NULL)
        return kl_http_error(r, c, 503, "unavailable", "image unavailable: %s", why);
    if (r->body.len > (size_t)fn->cfg.max_body_kb << 10)
        return kl_http_error(r, c, 413, "too_large", "request body of %zu bytes is over the "
                             "function's limit of %u KiB", r->body.len, fn->cfg.max_body_kb);
    if (build(r, c, fn, target, route, method, &env, &argv) < 0)
        return r->responded ? MHD_YES : MHD_NO;
    in.argc = (int)argv.n;
    in.argv = (const char *const *)argv.v;
    in.envc = (int)env.n;
    in.envp = (const char *const *)env.v;
    in.body = r->body.data;
    in.body_len = r->body.len;
    in.request_id = r->id;
    rc = kl_exec_run(fn, &in, &res, &err);
    kl_strv_free(&env);
    kl_strv_free(&argv);
    if (rc < 0) {
        log_run(r, fn, NULL, err.msg);
        return kl_http_error(r, c, 503, rc == -EBUSY ? "busy" : rc == -EAGAIN ? "queue_full" : "host",
                             "cannot run: %s", err.msg);
    }
    if (res.kind == KL_RES_EXIT && res.exit_code == 0)
        ret = respond(r, c, fn, &res);
    else
        ret = run_failed(r, c, fn, &res);
    kl_run_result_free(&res);
    return ret;
}

/* A function request's own state: the table it was routed with (a
 * reference held until the request ends) and what it matched there. */
struct wagi_req {
    struct kl_table *table;
    const struct kl_fn *fn;
    const char *route;
};

static enum MHD_Result wagi_begin(void *hctx, struct kl_req *r, struct MHD_Connection *c,
                                  const char *path, size_t *cap, int *handled)
{
    const struct kl_route *route;
    struct wagi_req *w = calloc(1, sizeof(*w));
    size_t fn_cap;

    *handled = 1;
    if (w == NULL)
        return kl_http_error(r, c, 500, "internal", "out of memory");
    r->ctx = w;
    w->table = kl_server_table(r->srv);
    route = w->table ? kl_router_match(&w->table->router, path, strlen(path)) : NULL;
    if (route == NULL)
        return kl_http_error(r, c, 404, "no_route", "no function is routed at this path");
    w->fn = route->target;
    w->route = route->pattern;
    snprintf(r->metric_fn, sizeof(r->metric_fn), "%s", w->fn->name);
    /* The function's own limit: a larger declared body is refused from its
     * Content-Length, and a streamed one is kept only up to it (the rest is
     * read and dropped, then answered 413: a client still sending would not
     * see an earlier answer). */
    *cap = r->srv->max_body;
    fn_cap = (size_t)w->fn->cfg.max_body_kb << 10;
    if (fn_cap <= *cap) {
        *cap = fn_cap;
        snprintf(r->cap_what, sizeof(r->cap_what), "the function's limit of %u KiB",
                 w->fn->cfg.max_body_kb);
    }
    /* The body must be in within the function's own time, at least the minimum. */
    if (w->fn->cfg.timeout_ms > KL_HTTP_BODY_MIN_MS)
        r->body_ms = w->fn->cfg.timeout_ms;
    *handled = 0;
    return MHD_YES;
}

static enum MHD_Result wagi_finish(void *hctx, struct kl_req *r, struct MHD_Connection *c)
{
    struct wagi_req *w = r->ctx;

    return kl_wagi_serve(r, c, w->fn, r->target, w->route, r->method);
}

static void wagi_done(struct kl_req *r)
{
    struct wagi_req *w = r->ctx;

    if (w != NULL)
        kl_table_put(w->table);
    free(w);
    r->ctx = NULL;
}

static const struct kl_http_handler wagi_handler = {wagi_begin, wagi_finish, wagi_done};

int kl_wagi_register(struct kl_server *s)
{
    /* Every path of the functions' listener that no other route names. */
    return kl_http_route_add(s, KL_LISTEN_FUNCTIONS, "/", KL_ROUTE_PREFIX | KL_ROUTE_FUNCTION,
                             &wagi_handler, NULL);
}
