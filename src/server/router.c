/* router.c - route validation and longest-prefix matching for WAGI functions. */
#include "server/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3986 pchar minus '%' (routes are matched against raw paths, so an
 * escape in a route could never match consistently) plus '/'. */
static int route_char(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

/* Built-in paths a function may not take over. */
static int reserved(const char *p, size_t base_len, int prefix)
{
    if (!prefix && (strcmp(p, "/healthz") == 0 || strcmp(p, "/metrics") == 0))
        return 1;
    if ((base_len == 3 && strncmp(p, "/v1", 3) == 0) ||
        (base_len == 2 && strncmp(p, "/_", 2) == 0))   /* the dashboard */
        return 1;
    return strncmp(p, "/v1/", 4) == 0 || strncmp(p, "/_/", 3) == 0;
}

/* No "." or ".." segment in the first n bytes. */
static int has_dot_segment(const char *p, size_t n)
{
    size_t i = 0, start;

    while (i < n) {
        start = ++i;  /* skip the '/' */
        while (i < n && p[i] != '/')
            i++;
        if ((i - start == 1 && p[start] == '.') ||
            (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
            return 1;
    }
    return 0;
}

int kl_route_check(const char *p, char *why, size_t why_len)
{
    size_t n = strlen(p), base, i;
    int prefix;

    if (n == 0 || p[0] != '/') {
        snprintf(why, why_len, "route must start with '/'");
        return -EINVAL;
    }
    if (n > KL_ROUTE_MAX) {
        snprintf(why, why_len, "route longer than %d bytes", KL_ROUTE_MAX);
        return -EINVAL;
    }
    prefix = n >= 4 && strcmp(p + n - 4, "/...") == 0;
    base = prefix ? n - 4 : n;
    for (i = 0; i < base; i++) {
        if (!route_char(p[i])) {
            snprintf(why, why_len, "route has a character not allowed in a "
                     "path at offset %zu", i);
            return -EINVAL;
        }
    }
    if (has_dot_segment(p, base) || memmem(p, base, "...", 3) != NULL) {
        snprintf(why, why_len, "route has a '.' or '..' segment, or '...' "
                 "not at the end as \"/...\"");
        return -EINVAL;
    }
    if (reserved(p, base, prefix)) {
        snprintf(why, why_len, "route %s is reserved by the server", p);
        return -EINVAL;
    }
    return 0;
}

int kl_router_add(struct kl_router *rt, const char *pattern, void *target)
{
    struct kl_route *r;
    size_t i, n = strlen(pattern);

    for (i = 0; i < rt->n; i++)
        if (strcmp(rt->routes[i].pattern, pattern) == 0)
            return -EEXIST;
    r = realloc(rt->routes, (rt->n + 1) * sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    rt->routes = r;
    r = &rt->routes[rt->n];
    r->pattern = strdup(pattern);
    if (r->pattern == NULL)
        return -ENOMEM;
    r->prefix = n >= 4 && strcmp(pattern + n - 4, "/...") == 0;
    r->base_len = r->prefix ? n - 4 : n;
    r->target = target;
    rt->n++;
    return 0;
}

/* A prefix route matches its base exactly or followed by '/'. */
static int prefix_match(const struct kl_route *r, const char *path, size_t len)
{
    if (len < r->base_len || memcmp(path, r->pattern, r->base_len) != 0)
        return 0;
    return len == r->base_len || path[r->base_len] == '/';
}

const struct kl_route *kl_router_match(const struct kl_router *rt,
                                       const char *path, size_t len)
{
    const struct kl_route *best = NULL, *r;
    size_t i;

    for (i = 0; i < rt->n; i++) {
        r = &rt->routes[i];
        if (!r->prefix && r->base_len == len && memcmp(r->pattern, path, len) == 0)
            return r;
        if (r->prefix && prefix_match(r, path, len) &&
            (best == NULL || r->base_len > best->base_len))
            best = r;
    }
    return best;
}

void kl_router_free(struct kl_router *rt)
{
    size_t i;

    for (i = 0; i < rt->n; i++)
        free(rt->routes[i].pattern);
    free(rt->routes);
    rt->routes = NULL;
    rt->n = 0;
}
