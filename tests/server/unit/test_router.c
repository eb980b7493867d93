/* test_router.c - unit tests for route validation and precedence. */
#include "unit.h"

#include <errno.h>

#include "server/router.h"

/* The pattern that matches `path`, or "" when none does. */
static const char *match(const struct kl_router *rt, const char *path)
{
    const struct kl_route *r = kl_router_match(rt, path, strlen(path));

    return r ? r->pattern : "";
}

static void test_check(void)
{
    char why[256];

    CHECK(kl_route_check("/hello", why, sizeof(why)) == 0);
    CHECK(kl_route_check("/api/...", why, sizeof(why)) == 0);
    CHECK(kl_route_check("/...", why, sizeof(why)) == 0);
    CHECK(kl_route_check("hello", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/a b", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/a%20", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/a/../b", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/a/.../b", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/healthz", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/metrics", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/v1/...", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/v1/x", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/v1", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/v10", why, sizeof(why)) == 0);
    /* The dashboard's /_ and /_/... belong to the server. */
    CHECK(kl_route_check("/_", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/_/...", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/_/app.js", why, sizeof(why)) == -EINVAL);
    CHECK(kl_route_check("/_x", why, sizeof(why)) == 0);
    CHECK(kl_route_check("/__/x", why, sizeof(why)) == 0);
}

static void test_match(void)
{
    struct kl_router rt = {0};

    CHECK(kl_router_add(&rt, "/...", NULL) == 0);
    CHECK(kl_router_add(&rt, "/api/...", NULL) == 0);
    CHECK(kl_router_add(&rt, "/api/v2/...", NULL) == 0);
    CHECK(kl_router_add(&rt, "/api/v2/exact", NULL) == 0);
    CHECK(kl_router_add(&rt, "/hello", NULL) == 0);
    CHECK(kl_router_add(&rt, "/hello", NULL) == -EEXIST);
    CHECK_STR(match(&rt, "/hello"), "/hello");
    CHECK_STR(match(&rt, "/hello/x"), "/...");
    CHECK_STR(match(&rt, "/api"), "/api/...");
    CHECK_STR(match(&rt, "/api/x"), "/api/...");
    CHECK_STR(match(&rt, "/apix"), "/...");
    CHECK_STR(match(&rt, "/api/v2"), "/api/v2/...");
    CHECK_STR(match(&rt, "/api/v2/exact"), "/api/v2/exact");
    CHECK_STR(match(&rt, "/api/v2/exact/more"), "/api/v2/...");
    kl_router_free(&rt);
    CHECK(kl_router_add(&rt, "/only", NULL) == 0);
    CHECK_STR(match(&rt, "/other"), "");
    kl_router_free(&rt);
}

int main(void)
{
    test_check();
    test_match();
    UNIT_DONE();
}
