/* client_http.h - libcurl calls to a kernless server's management API. */
#ifndef KL_CLIENT_CLIENT_HTTP_H
#define KL_CLIENT_CLIENT_HTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"

/** Where the server is and how to authenticate. */
struct kl_client {
    char url[1024];           /* no trailing '/' */
    char token[128];          /* empty: none found */
    int json;                 /* --json */
};

/** One HTTP response. */
struct kl_client_resp {
    long status;
    struct kl_buf body;
    struct curl_slist *headers;  /* "Name: value" lines, in order */
    char error[512];             /* X-Kernless-Error, if any */
    char request_id[64];
};

/** Streaming hook: called with each complete line of the body. */
typedef void (*kl_client_line_fn)(void *ctx, const char *line, size_t n);

/** A request: method, path, optional body (or mime), optional line hook. */
struct kl_client_req {
    const char *method;
    const char *path;            /* "/v1/..." with query */
    const void *body;
    size_t body_len;
    const char *content_type;
    curl_mime *(*mime)(CURL *h, void *ctx);  /* builds a multipart body */
    void *mime_ctx;
    kl_client_line_fn on_line;
    void *line_ctx;
    long timeout_s;              /* 0: none */
    int quiet;                   /* no "cannot reach" line on stderr (the caller copes) */
};

/** Fill `c` from $KERNLESS_URL, $KERNLESS_TOKEN or a local server's token file. */
void kl_client_init(struct kl_client *c);

/**
 * Send one request. Returns 0 with *resp filled (any HTTP status), or -1
 * after printing "kernless: cannot reach ..." when there was no response.
 */
int kl_client_call(const struct kl_client *c, const struct kl_client_req *q,
                   struct kl_client_resp *resp);

/** Free a response. */
void kl_client_resp_free(struct kl_client_resp *resp);

/**
 * Print the one-line error for a failed response ("kernless: WHAT: reason")
 * and return 1. The reason is X-Kernless-Error, the JSON "error", or the status.
 */
int kl_client_fail_resp(const char *what, const struct kl_client_resp *resp,
                        const struct kl_client *c);

/** Parse the response body as JSON, or NULL. */
json_t *kl_client_json(const struct kl_client_resp *resp);

/**
 * GET/POST/DELETE `path` and hand back the JSON body of a 2xx answer; else
 * NULL after printing one line "kernless: WHAT: reason", with *status the
 * exit status to return.
 */
json_t *kl_client_call_json(const struct kl_client *c, const char *what,
                            const char *method, const char *path, const char *body,
                            int *status);

/** Print one log line object (text or --json), tagged with `node` unless NULL. */
void kl_client_print_log(const struct kl_client *c, json_t *line, const char *node);

/**
 * `kernless logs NAME [-f]` against a cluster: the lines of every live node,
 * oldest first, tagged with the node. Returns -1 when the server is a
 * single node (the caller reads its log directly), else the exit status.
 */
int kl_client_logs_cluster(const struct kl_client *c, const char *name, int follow);

#endif
