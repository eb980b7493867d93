/* http.c - libmicrohttpd daemon: request limits, auth, and dispatch to the routes modules registered (functions, API, dashboard, /healthz). */
#include "server/http.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "server/metrics.h"
#include "server/wagi_env.h"

/*
 * How long a connection may take, in whole seconds of libmicrohttpd's
 * inactivity timer, which any byte resets: so a client trickling a byte
 * every few seconds never trips it, and receiving a body also has a total
 * deadline (start_body_clock). Waiting for a request (a new connection, or
 * one kept alive) is short; sending an answer (a slow reader, a deploy's
 * progress stream) keeps the old, generous limit.
 */
#define KL_WAIT_REQUEST_S 15
#define KL_ANSWER_IDLE_S 120

/* A header value must be one line of visible text for MHD and for logs. */
static void one_line(char *s, size_t max)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = ' ';
    if (i > max)
        s[max] = 0;
}

/* The admin origin's answers are for our own dashboard and CLI only: no
 * other origin may embed or read them, and none is ever a document that
 * runs script (an invoked function's output included: CSP sandbox). The
 * dashboard's own pages carry their stricter policy (dashboard.c). */
static void harden_admin(const struct kl_req *r, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    if (r->flags & KL_ROUTE_OWN_POLICY)
        return;
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'; sandbox");
}

enum MHD_Result kl_http_send(struct kl_req *r, struct MHD_Connection *c,
                             int status, struct MHD_Response *resp,
                             const char *cause)
{
    enum MHD_Result ret;
    double secs = (double)(kl_now_ns() - r->t0_ns) / 1e9;

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    /* Our own answers are never to be sniffed into HTML; a function's
     * headers are its own business. */
    if (!(r->flags & KL_ROUTE_FUNCTION))
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->admin)
        harden_admin(r, resp);
    /* Behind HAProxy, which node answered (set once the node is named). */
    if (__atomic_load_n(&r->srv->node_named, __ATOMIC_ACQUIRE) && kl_reg_is_shared(r->srv->reg))
        MHD_add_response_header(resp, "X-Kernless-Node", r->srv->node.name);
    ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->responded = 1;
    kl_metrics_observe(r->metric_fn[0] ? r->metric_fn : KL_METRICS_NO_FUNCTION,
                       status, secs, cause);
    return ret;
}

enum MHD_Result kl_http_bytes(struct kl_req *r, struct MHD_Connection *c,
                              int status, const char *ctype, const void *p,
                              size_t n)
{
    struct MHD_Response *resp;

    resp = MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    if (ctype != NULL)
        MHD_add_response_header(resp, "Content-Type", ctype);
    return kl_http_send(r, c, status, resp, NULL);
}

enum MHD_Result kl_http_json(struct kl_req *r, struct MHD_Connection *c,
                             int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    enum MHD_Result ret;
    struct kl_buf b;

    json_decref(o);
    if (s == NULL)
        return kl_http_error(r, c, 500, "internal", "out of memory");
    kl_buf_init(&b, (size_t)-1 / 2);
    kl_buf_append(&b, s, strlen(s));
    kl_buf_append(&b, "\n", 1);
    free(s);
    ret = kl_http_bytes(r, c, status, "application/json", b.data, b.len);
    kl_buf_free(&b);
    return ret;
}

/* The short English phrase for our statuses, for plain-text error bodies. */
static const char *phrase(int status)
{
    const char *p = MHD_get_reason_phrase_for((unsigned)status);

    return p && *p ? p : "Error";
}

enum MHD_Result kl_http_error(struct kl_req *r, struct MHD_Connection *c,
                              int status, const char *cause, const char *fmt, ...)
{
    struct MHD_Response *resp;
    char msg[600], *body = NULL;
    json_t *o;
    va_list ap;
    size_t plen;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    one_line(msg, 400);
    if (r->flags & KL_ROUTE_FUNCTION) {
        n = asprintf(&body, "%d %s: %s\n", status, phrase(status), msg);
    } else {
        o = json_pack("{s:s,s:i,s:s}", "error", msg, "status", status,
                      "request_id", r->id);
        body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        n = body ? (int)strlen(body) : -1;
    }
    if (n < 0)
        return MHD_NO;
    resp = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", r->flags & KL_ROUTE_FUNCTION
                            ? "text/plain; charset=utf-8" : "application/json");
    MHD_add_response_header(resp, "X-Kernless-Error", msg);
    if (status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"kernless\"");
    if (status == 503)   /* at capacity: a client may try again shortly */
        MHD_add_response_header(resp, "Retry-After", "1");
    /* Log the path but never the query (it may carry secrets) or a token. */
    plen = kl_target_path_len(r->target ? r->target : "");
    kl_log("%s %s %.*s%s -> %d %s", r->id, r->method ? r->method : "?",
           (int)(plen > 200 ? 200 : plen), r->target ? r->target : "",
           plen > 200 ? "..." : "", status, msg);
    return kl_http_send(r, c, status, resp, cause ? cause : "error");
}

/* libmicrohttpd hands us the raw target here, before it unescapes the path. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    const struct kl_listener *l = cls;
    struct kl_req *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->srv = l->srv;
    r->admin = l->admin;
    r->t0_ns = kl_now_ns();
    r->target = strndup(uri ? uri : "", KL_URL_MAX + 1);
    kl_random_hex(r->id, 8);
    kl_buf_init(&r->body, 0);
    return r;
}

/* Log (and count) a request whose body did not arrive in time: its
 * connection is closed without an answer, which libmicrohttpd cannot send
 * while it still reads the body. */
static void body_cut(struct kl_req *r, const char *why)
{
    size_t plen = kl_target_path_len(r->target ? r->target : "");

    kl_log("%s %s %.*s%s -> connection closed: request body not received within "
           "%llu ms (%s)", r->id, r->method ? r->method : "?",
           (int)(plen > 200 ? 200 : plen), r->target ? r->target : "",
           plen > 200 ? "..." : "",
           (unsigned long long)((r->body_deadline_ns - r->t0_ns) / 1000000), why);
    kl_metrics_observe(r->metric_fn[0] ? r->metric_fn : KL_METRICS_NO_FUNCTION, 408,
                       (double)(kl_now_ns() - r->t0_ns) / 1e9, "body_timeout");
    r->responded = 1;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    struct kl_req *r = *con_cls;

    if (r == NULL)
        return;
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED && r->started && !r->responded)
        body_cut(r, "no byte of it came within the idle limit");
    /* A connection kept alive waits for its next request briefly. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)KL_WAIT_REQUEST_S);
    if (r->via != NULL && r->via->h->done != NULL)
        r->via->h->done(r);
    kl_buf_free(&r->body);
    free(r->target);
    free(r);
    *con_cls = NULL;
}

struct header_count {
    size_t n;
    size_t bytes;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
                                    const char *k, const char *v)
{
    struct header_count *hc = cls;

    hc->n++;
    hc->bytes += strlen(k) + (v ? strlen(v) : 0) + 4;
    return MHD_YES;
}

/* Size limits every request must pass before anything else looks at it. */
static enum MHD_Result check_limits(struct kl_req *r, struct MHD_Connection *c,
                                    int *handled)
{
    struct header_count hc = {0, 0};

    *handled = 1;
    if (r->target == NULL || strlen(r->target) > KL_URL_MAX)
        return kl_http_error(r, c, 414, "too_large", "request target longer "
                             "than %d bytes", KL_URL_MAX);
    if (r->target[0] != '/')
        return kl_http_error(r, c, 400, "bad_request", "request target must be a path");
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &hc);
    if (hc.n > KL_HEADER_COUNT_MAX || hc.bytes > KL_HEADERS_MAX)
        return kl_http_error(r, c, 431, "too_large", "request headers over %d "
                             "fields or %d bytes", KL_HEADER_COUNT_MAX, KL_HEADERS_MAX);
    *handled = 0;
    return MHD_YES;
}

/* Reject a declared body over the cap before a single byte of it is read. */
static enum MHD_Result check_length(struct kl_req *r, struct MHD_Connection *c,
                                    size_t cap, int *handled)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    unsigned long long n;
    char *end;

    *handled = 0;
    if (cl == NULL)
        return MHD_YES;
    errno = 0;
    n = strtoull(cl, &end, 10);
    *handled = 1;
    if (errno != 0 || end == cl || *end != 0)
        return kl_http_error(r, c, 400, "bad_request", "malformed Content-Length");
    if (n > cap && r->cap_what[0])
        return kl_http_error(r, c, 413, "too_large", "request body of %llu bytes is over "
                             "%s", n, r->cap_what);
    if (n > cap)
        return kl_http_error(r, c, 413, "too_large", "request body of %llu bytes "
                             "is over the limit of %zu bytes", n, cap);
    *handled = 0;
    return MHD_YES;
}

/* "Authorization: Bearer <token>", compared in constant time. */
static int authorized(struct kl_req *r, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    return kl_token_equal(h, strlen(h), r->srv->token);
}

/* Does `rt` name `path`: all of it, or (a prefix route) its start? */
static int route_matches(const struct kl_http_route *rt, const char *path)
{
    if (rt->flags & KL_ROUTE_PREFIX)
        return strncmp(path, rt->path, rt->len) == 0;
    return strcmp(path, rt->path) == 0;
}

/* The route for `path` among those on `listener`: the one naming the whole
 * path, else the longest prefix; NULL when none. */
static const struct kl_http_route *route_find(const struct kl_server *s, unsigned listener,
                                              const char *path)
{
    const struct kl_http_route *best = NULL;
    size_t i, score, best_score = 0;

    for (i = 0; i < s->n_routes; i++) {
        const struct kl_http_route *rt = &s->routes[i];

        if (!(rt->listeners & listener) || !route_matches(rt, path))
            continue;
        score = rt->flags & KL_ROUTE_PREFIX ? rt->len : (size_t)-1;
        if (best == NULL || score > best_score) {
            best = rt;
            best_score = score;
        }
    }
    return best;
}

/* Is `path` reserved by a route of another listener (the API and the
 * dashboard never answer on the functions' origin)? */
static int reserved_elsewhere(const struct kl_server *s, unsigned listener, const char *path)
{
    size_t i;

    for (i = 0; i < s->n_routes; i++)
        if ((s->routes[i].flags & KL_ROUTE_RESERVED) &&
            !(s->routes[i].listeners & listener) && route_matches(&s->routes[i], path))
            return 1;
    return 0;
}

int kl_http_route_add(struct kl_server *s, unsigned listeners, const char *path,
                      unsigned flags, const struct kl_http_handler *h, void *hctx)
{
    struct kl_http_route *rt;

    if (strlen(path) >= sizeof(rt->path))
        return -ENAMETOOLONG;
    rt = realloc(s->routes, (s->n_routes + 1) * sizeof(*rt));
    if (rt == NULL)
        return -ENOMEM;
    s->routes = rt;
    rt = &s->routes[s->n_routes++];
    *rt = (struct kl_http_route){.listeners = listeners, .flags = flags, .h = h, .hctx = hctx};
    snprintf(rt->path, sizeof(rt->path), "%s", path);
    rt->len = strlen(path);
    return 0;
}

void kl_http_routes_free(struct kl_server *s)
{
    free(s->routes);
    s->routes = NULL;
    s->n_routes = 0;
}

/* Take `rt` for the request: its flags, the token it may need, its begin. */
static enum MHD_Result take_route(struct kl_req *r, struct MHD_Connection *c,
                                  const struct kl_http_route *rt, const char *path,
                                  size_t *cap, int *handled)
{
    r->flags = rt->flags;
    *handled = 1;
    if ((rt->flags & KL_ROUTE_AUTH) && !authorized(r, c))
        return kl_http_error(r, c, 401, "unauthorized", "missing or wrong "
                             "bearer token (see <data>/admin.token)");
    /* From here on the route's `done` frees what its begin made. */
    r->via = rt;
    *handled = 0;
    if (rt->h->begin == NULL)
        return MHD_YES;
    return rt->h->begin(rt->hctx, r, c, path, cap, handled);
}

/*
 * Arm the connection's idle timer to the time left until the body deadline
 * (rounded up to its whole seconds): a client that stops sending is cut
 * then, one that trickles is cut at its next byte past the deadline.
 * 0 when the deadline has passed.
 */
static int arm_body_timer(struct kl_req *r, struct MHD_Connection *c)
{
    uint64_t now = kl_now_ns();

    if (now >= r->body_deadline_ns)
        return 0;
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned)((r->body_deadline_ns - now + 999999999ull) / 1000000000ull));
    return 1;
}

/* The deadline for the whole request body, from the request line on (a
 * trickled body holds a connection and its thread; issue 20). */
static enum MHD_Result start_body_clock(struct kl_req *r, struct MHD_Connection *c)
{
    uint64_t ms = r->body_ms;

    r->body_deadline_ns = r->t0_ns + ms * 1000000ull;
    if (!arm_body_timer(r, c))
        return kl_http_error(r, c, 408, "body_timeout", "the request headers took over "
                             "%llu ms", (unsigned long long)ms);
    return MHD_YES;
}

/* First call for a request: headers are in, the body is not. Functions and
 * the admin side never answer on each other's listener (issue 20): a
 * function's page must not share an origin with the dashboard. */
static enum MHD_Result begin(struct kl_req *r, struct MHD_Connection *c)
{
    unsigned listener = r->admin ? KL_LISTEN_ADMIN : KL_LISTEN_FUNCTIONS;
    const struct kl_http_route *rt;
    size_t plen, cap = 0;
    char path[KL_URL_MAX + 1];
    enum MHD_Result ret;
    int handled;

    /* Until the request's own deadline is known (start_body_clock), and
     * for a body that follows an early answer. */
    r->body_ms = KL_HTTP_BODY_MIN_MS;
    r->body_deadline_ns = r->t0_ns + KL_HTTP_BODY_MIN_MS * 1000000ull;
    ret = check_limits(r, c, &handled);
    if (handled)
        return ret;
    plen = kl_target_path_len(r->target);
    memcpy(path, r->target, plen);
    path[plen] = 0;
    rt = route_find(r->srv, listener, path);
    /* A route naming the whole path here wins (/healthz is on both). */
    if ((rt == NULL || (rt->flags & KL_ROUTE_PREFIX)) &&
        reserved_elsewhere(r->srv, listener, path))
        return kl_http_error(r, c, 404, "not_found", "not found here (the management "
                             "API and the dashboard are on the --admin-listen address)");
    if (rt == NULL)
        return kl_http_error(r, c, 404, "not_found", r->admin ? "the admin listener "
                             "serves no function (functions are on the --listen address)"
                             : "nothing is served at this path");
    ret = take_route(r, c, rt, path, &cap, &handled);
    if (handled)
        return ret;
    ret = check_length(r, c, cap, &handled);
    if (handled)
        return ret;
    r->body.cap = r->upload ? 0 : cap;
    return start_body_clock(r, c);
}

/* Body bytes: keep up to the cap, then only remember that it overflowed. */
static void absorb(struct kl_req *r, const char *data, size_t n)
{
    if (r->too_big)
        return;
    if (r->upload != NULL) {
        if (r->upload(r, data, n) == -E2BIG)
            r->too_big = 1;
        return;
    }
    if (kl_buf_append(&r->body, data, n) == -E2BIG)
        r->too_big = 1;
}

static enum MHD_Result finish(struct kl_req *r, struct MHD_Connection *c)
{
    if (r->too_big)
        return kl_http_error(r, c, 413, "too_large", "request body over the "
                             "limit of %zu bytes", r->upload ? r->upload_cap
                             : r->body.cap);
    if (r->via == NULL)   /* every request without a route was answered at begin */
        return MHD_NO;
    return r->via->h->finish(r->via->hctx, r, c);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    struct kl_req *r = *con_cls;

    if (r == NULL)
        return MHD_NO;
    if (!r->started) {
        r->started = 1;
        r->method = method;
        r->version = version;
        return begin(r, c);
    }
    if (*size != 0) {
        /* Also after an early answer (404, 413...): its body is still read. */
        if (!arm_body_timer(r, c)) {
            if (!r->responded)
                body_cut(r, "it came too slowly");
            return MHD_NO;   /* close the connection */
        }
        if (!r->responded)
            absorb(r, data, *size);
        *size = 0;
        return MHD_YES;
    }
    if (r->responded)
        return MHD_YES;
    /* The body is in: answering has the generous idle limit again. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)KL_ANSWER_IDLE_S);
    return finish(r, c);
}

/* libmicrohttpd's own complaints (e.g. a header section over its memory
 * limit, answered 431 by it) go to our log in our format. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[600];

    vsnprintf(line, sizeof(line), fmt, ap);
    one_line(line, 500);
    kl_log("http: %s", line);
}

/* Parse "host:port" / "[v6]:port" into a socket address. */
static int resolve(const char *flag, const char *listen, struct sockaddr_storage *ss,
                   socklen_t *len, char *host, size_t host_len, struct kl_err *err)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char buf[300], *port;
    int rc;

    snprintf(buf, sizeof(buf), "%s", listen);
    port = strrchr(buf, ':');
    if (port == NULL || port[1] == 0)
        return kl_errf(err, -EINVAL, "%s wants HOST:PORT, got \"%s\"", flag, listen);
    *port++ = 0;
    if (buf[0] == '[' && port[-2] == ']') {
        port[-2] = 0;
        memmove(buf, buf + 1, strlen(buf));
    }
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    rc = getaddrinfo(buf[0] ? buf : NULL, port, &hints, &ai);
    if (rc != 0)
        return kl_errf(err, -EINVAL, "%s %s: %s", flag, listen, gai_strerror(rc));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    snprintf(host, host_len, "%s", buf[0] ? buf : "0.0.0.0");
    return 0;
}

struct MHD_Daemon *kl_http_start(struct kl_server *s, int admin, struct kl_err *err)
{
    struct kl_listener *l = &s->listeners[admin ? 1 : 0];
    char *host = admin ? s->admin_host : s->listen_host;
    char *port = admin ? s->admin_port : s->listen_port;
    struct sockaddr_storage ss;
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *d;
    socklen_t len;
    /* poll(), not select(): select() refuses every descriptor at or above
     * FD_SETSIZE, so a process with many open files (guests' handles, VMs)
     * stopped accepting connections. libmicrohttpd has no epoll with a
     * thread per connection; poll has no such limit either. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
                     MHD_USE_ERROR_LOG;
    char listen[300];

    *l = (struct kl_listener){s, admin ? 1 : 0};
    snprintf(listen, sizeof(listen), "%s:%s", host, port);
    if (resolve(admin ? "--admin-listen" : "--listen", listen, &ss, &len, host,
                sizeof(s->listen_host), err) < 0)
        return NULL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* One thread per connection: a slow or looping function only ever
     * holds its own connection's thread. */
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,  /* must be first */
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_URI_LOG_CALLBACK, on_uri, l,
                         MHD_OPTION_NOTIFY_COMPLETED, on_done, l,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KL_WAIT_REQUEST_S,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(KL_HEADERS_MAX + KL_URL_MAX + 16384),
                         MHD_OPTION_END);
    if (d == NULL) {
        kl_errf(err, -EADDRINUSE, "cannot listen on %s (in use or not allowed)", listen);
        return NULL;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (info != NULL && info->port != 0)
        snprintf(port, sizeof(s->listen_port), "%u", (unsigned)info->port);
    return d;
}
