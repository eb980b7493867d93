/* wagi_env.h - turn an HTTP request into a WAGI function's argv and environment (CGI variables). */
#ifndef KL_SERVER_WAGI_ENV_H
#define KL_SERVER_WAGI_ENV_H

#include <stddef.h>

#include "common/buf.h"

#define KL_WAGI_MAX_HEADERS 200
#define KL_WAGI_MAX_ARGS 1024

/** One request header as received (NUL-terminated). */
struct kl_wagi_header {
    const char *name;
    const char *value;
};

/** Everything about one request that WAGI exposes to the function. */
struct kl_wagi_req {
    const char *method;
    const char *target;        /* request target as received: "/raw/path?query" */
    const char *route;         /* the route that matched: "/api/..." or "/exact" */
    const char *listen_host;   /* SERVER_NAME/PORT without a usable Host header */
    const char *listen_port;
    const char *protocol;      /* "HTTP/1.1" */
    const char *remote_addr;
    const char *request_id;
    const struct kl_wagi_header *headers;
    size_t nheaders;
    size_t content_length;     /* bytes of body actually passed as stdin */
    const char *const *fn_env; /* the function's own "K=V" values */
    size_t fn_envc;
};

/**
 * Build argv (the raw path, then each '&'-separated query item, decoded) and
 * the environment (the function's values first, then the CGI variables,
 * which replace function values of the same name; HTTP_* per header, repeats
 * joined with ", "). Returns 0, -EINVAL for a malformed target or path
 * (reason in `why`), -E2BIG for too many headers or query items, -ENOMEM.
 */
int kl_wagi_build(const struct kl_wagi_req *q, struct kl_strv *env,
                  struct kl_strv *argv, char *why, size_t why_len);

/**
 * Percent-decode n bytes of `s` into `out` (room for n + 1 bytes), with '+'
 * as space when plus_space. Returns the decoded length, or -EINVAL for a
 * broken escape or an escaped NUL.
 */
long kl_url_decode(const char *s, size_t n, char *out, int plus_space);

/** Length of the path part of a request target (up to '?' or '#'). */
size_t kl_target_path_len(const char *target);

#endif
