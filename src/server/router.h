/* router.h - WAGI route table: exact routes and "/prefix/..." routes, longest prefix wins. */
#ifndef KL_SERVER_ROUTER_H
#define KL_SERVER_ROUTER_H

#include <stddef.h>

#define KL_ROUTE_MAX 256

/** One route: `pattern` as configured ("/hello" or "/api/..."). */
struct kl_route {
    char *pattern;
    size_t base_len;   /* bytes that must match: the pattern without "/..." */
    int prefix;
    void *target;
};

/** A table of routes; build it once, then match from any thread. */
struct kl_router {
    struct kl_route *routes;
    size_t n;
};

/**
 * Check a route pattern: starts with '/', at most KL_ROUTE_MAX bytes of URL
 * path characters, no "." / ".." segments, "..." only as a final "/...",
 * and not a built-in path (/healthz, /metrics, /v1...). Returns 0 or -EINVAL
 * with the reason in `why`.
 */
int kl_route_check(const char *pattern, char *why, size_t why_len);

/** Add a route (pattern is copied). -EEXIST when the pattern is taken. */
int kl_router_add(struct kl_router *rt, const char *pattern, void *target);

/**
 * Match a raw request path (len bytes): an exact route first, otherwise the
 * prefix route with the longest base. Returns the route or NULL.
 */
const struct kl_route *kl_router_match(const struct kl_router *rt,
                                       const char *path, size_t len);

/** Free the table (not the targets). */
void kl_router_free(struct kl_router *rt);

#endif
