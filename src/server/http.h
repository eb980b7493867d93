/* http.h - the HTTP front on libmicrohttpd: routes that modules register, per-request state, response helpers. */
#ifndef KL_SERVER_HTTP_H
#define KL_SERVER_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

#include "common/buf.h"
#include "server/server.h"

#define KL_URL_MAX 8192              /* request target bytes -> 414 */
#define KL_HEADERS_MAX 32768         /* all header bytes -> 431 */
#define KL_HEADER_COUNT_MAX 100      /* header fields -> 431 */
/* A request body must be in within this, or its handler's longer time. */
#define KL_HTTP_BODY_MIN_MS 10000

/* Which listener a route is served on. */
#define KL_LISTEN_FUNCTIONS 1u       /* --listen */
#define KL_LISTEN_ADMIN 2u           /* --admin-listen */

/* Route flags. */
#define KL_ROUTE_PREFIX 1u    /* `path` is a prefix (ending in '/'), else the whole path */
#define KL_ROUTE_RESERVED 2u  /* the other listener refuses the path (404): no shared origin */
#define KL_ROUTE_AUTH 4u      /* the admin bearer token is required (401) */
#define KL_ROUTE_FUNCTION 8u  /* a function answers: its own headers, plain-text errors */
#define KL_ROUTE_OWN_POLICY 16u /* the handler sets its own framing and script policy */

struct kl_req;

/**
 * What serves a route, registered at start-up by the module that owns it
 * (kl_http_route_add). `hctx` is the module's own context given at
 * registration; per-request state goes in r->ctx.
 */
struct kl_http_handler {
    /**
     * The headers are in, the body is not: set up the request (r->ctx, the
     * body cap in *cap, r->body_ms, r->upload) or answer at once (set
     * *handled and return that answer). NULL: nothing to set up, the cap 0.
     */
    enum MHD_Result (*begin)(void *hctx, struct kl_req *r, struct MHD_Connection *c,
                             const char *path, size_t *cap, int *handled);
    /** The whole body is in: answer. */
    enum MHD_Result (*finish)(void *hctx, struct kl_req *r, struct MHD_Connection *c);
    /** The request is over: free r->ctx. NULL when begin keeps none. */
    void (*done)(struct kl_req *r);
};

/** One registered route (http.c's table in struct kl_server). */
struct kl_http_route {
    char path[32];
    size_t len;
    unsigned listeners;       /* KL_LISTEN_* */
    unsigned flags;           /* KL_ROUTE_* */
    const struct kl_http_handler *h;
    void *hctx;
};

/** Everything the HTTP front tracks about one request; the handler's own state is in `ctx`. */
struct kl_req {
    struct kl_server *srv;
    int admin;                   /* arrived on the admin listener */
    char *target;                /* raw request target as received */
    const char *method;
    const char *version;
    char id[20];                 /* request id, also sent as X-Request-Id */
    uint64_t t0_ns;
    int started;
    int responded;
    /* the route taken (NULL before routing, or when answered without one) */
    const struct kl_http_route *via;
    unsigned flags;              /* the route's KL_ROUTE_* */
    void *ctx;                   /* the handler's, freed by its `done` */
    /* body */
    struct kl_buf body;
    int too_big;
    uint64_t body_deadline_ns;   /* the whole body must be in by then */
    uint64_t body_ms;            /* how long it may take (begin may raise it) */
    char cap_what[64];           /* the cap in words for a 413, e.g. "the function's limit of 8 KiB" */
    /* A handler that parses the body as it streams (a multipart upload) sets
     * this: bytes go to it, not to `body`; -E2BIG means over `upload_cap`. */
    int (*upload)(struct kl_req *r, const char *data, size_t n);
    size_t upload_cap;
    /* for metrics */
    char metric_fn[KL_FN_NAME_MAX + 1];
};

/**
 * Register `h` for `path` on `listeners` (KL_LISTEN_*) with KL_ROUTE_*
 * `flags`; call before kl_http_start. A request takes the route that names
 * its whole path, else the longest prefix. Returns 0, -ENAMETOOLONG or
 * -ENOMEM.
 */
int kl_http_route_add(struct kl_server *s, unsigned listeners, const char *path,
                      unsigned flags, const struct kl_http_handler *h, void *hctx);

/** Drop the route table (after the daemons stopped). */
void kl_http_routes_free(struct kl_server *s);

/**
 * Start the HTTP daemon for `s` on its function listen address (`admin` 0:
 * fills s->listen_port) or its admin one (`admin` 1: fills s->admin_port).
 */
struct MHD_Daemon *kl_http_start(struct kl_server *s, int admin, struct kl_err *err);

/**
 * Queue `resp` with `status` (adds X-Request-Id, counts metrics, logs
 * errors) and destroy our reference. `cause` names the failure for the
 * metrics (NULL for success).
 */
enum MHD_Result kl_http_send(struct kl_req *r, struct MHD_Connection *c,
                             int status, struct MHD_Response *resp,
                             const char *cause);

/**
 * Answer with an error: status, `X-Kernless-Error: <message>`, and a body
 * (JSON {"error"} for the API, text for functions). `cause` is the short
 * metrics label ("trap", "timeout", "too_large"...).
 */
enum MHD_Result kl_http_error(struct kl_req *r, struct MHD_Connection *c,
                              int status, const char *cause, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/** Answer with a JSON value (reference stolen). */
enum MHD_Result kl_http_json(struct kl_req *r, struct MHD_Connection *c,
                             int status, json_t *o);

/** Answer with bytes of a given content type (copied). */
enum MHD_Result kl_http_bytes(struct kl_req *r, struct MHD_Connection *c,
                              int status, const char *ctype, const void *p,
                              size_t n);

#endif
