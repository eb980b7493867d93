/* http.h - per-request state and response helpers on top of libmicrohttpd. */
#ifndef KL_SERVER_HTTP_H
#define KL_SERVER_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

#include "server/buf.h"
#include "server/server.h"

#define KL_URL_MAX 8192              /* request target bytes -> 414 */
#define KL_HEADERS_MAX 32768         /* all header bytes -> 431 */
#define KL_HEADER_COUNT_MAX 100      /* header fields -> 431 */
#define KL_API_BODY_MAX 65536        /* JSON bodies of the management API */
#define KL_CONFIG_MAX 262144         /* the deploy "config" part */

enum kl_req_kind { KL_REQ_BUILTIN, KL_REQ_API, KL_REQ_WAGI, KL_REQ_DASHBOARD };

/** Management API operations, decided from method + path before the body arrives. */
enum kl_api_op {
    KL_API_NONE, KL_API_LIST, KL_API_INFO, KL_API_REMOVE, KL_API_DEPLOY,
    KL_API_ROLLBACK, KL_API_LOGS, KL_API_INVOKE, KL_API_METRICS, KL_API_STATS,
    KL_API_NODES,
};

struct kl_deploy;

/** Everything the server tracks about one HTTP request. */
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
    enum kl_req_kind kind;
    /* WAGI */
    struct kl_table *table;      /* reference held while the request runs */
    const struct kl_fn *fn;
    const char *route;
    /* API */
    enum kl_api_op op;
    char fn_name[KL_FN_NAME_MAX + 1];
    struct MHD_PostProcessor *pp;
    struct kl_buf part_config;
    struct kl_buf part_module;
    char part_error[160];
    struct kl_deploy *deploy;
    /* body */
    struct kl_buf body;
    int too_big;
    uint64_t body_deadline_ns;   /* the whole body must be in by then */
    /* for metrics */
    char metric_fn[KL_FN_NAME_MAX + 1];
};

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

/** Decide the API operation and its body cap; an error response is queued on failure. */
enum MHD_Result kl_api_begin(struct kl_req *r, struct MHD_Connection *c,
                             const char *path, size_t *body_cap, int *handled);

/** Feed upload bytes to an API request (deploy multipart parsing). */
int kl_api_upload(struct kl_req *r, const char *data, size_t n);

/** Run the API operation once the whole body is in. */
enum MHD_Result kl_api_finish(struct kl_req *r, struct MHD_Connection *c);

/**
 * Serve a WAGI request for `fn`: `target` is what the function sees as the
 * request target and `route` the route it matched.
 */
enum MHD_Result kl_wagi_serve(struct kl_req *r, struct MHD_Connection *c,
                              const struct kl_fn *fn, const char *target,
                              const char *route, const char *method);

#endif
