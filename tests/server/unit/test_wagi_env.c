/* test_wagi_env.c - unit tests for the WAGI argv/environment builder. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>

#include "server/wagi_env.h"

/* The value of NAME in env, or NULL. */
static const char *getv(const struct kl_strv *env, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < env->n; i++)
        if (strncmp(env->v[i], name, n) == 0 && env->v[i][n] == '=')
            return env->v[i] + n + 1;
    return NULL;
}

/* How many entries are named NAME. */
static int count(const struct kl_strv *env, const char *name)
{
    size_t i, n = strlen(name);
    int c = 0;

    for (i = 0; i < env->n; i++)
        c += strncmp(env->v[i], name, n) == 0 && env->v[i][n] == '=';
    return c;
}

static void base_req(struct kl_wagi_req *q)
{
    memset(q, 0, sizeof(*q));
    q->method = "POST";
    q->protocol = "HTTP/1.1";
    q->listen_host = "127.0.0.1";
    q->listen_port = "8080";
    q->remote_addr = "127.0.0.1";
    q->request_id = "abc";
}

static void test_prefix(void)
{
    static const struct kl_wagi_header h[] = {
        {"Host", "example.com:9000"}, {"Content-Type", "text/plain"},
        {"X-Thing", "a"}, {"x-thing", "b"}, {"Cookie", "a=1"}, {"Cookie", "b=2"},
        {"Bad_Name", "spoof"},
    };
    static const char *const fenv[] = {"GREETING=hi", "PATH_INFO=spoofed", "noeq"};
    struct kl_wagi_req q;
    struct kl_strv env, argv;
    char why[256];

    base_req(&q);
    q.target = "/api/a%20b/c?x=1&y=%41+B&&z";
    q.route = "/api/...";
    q.headers = h;
    q.nheaders = sizeof(h) / sizeof(h[0]);
    q.content_length = 5;
    q.fn_env = fenv;
    q.fn_envc = 3;
    CHECK(kl_wagi_build(&q, &env, &argv, why, sizeof(why)) == 0);
    CHECK_STR(getv(&env, "SCRIPT_NAME"), "/api");
    CHECK_STR(getv(&env, "PATH_INFO"), "/a b/c");
    CHECK_STR(getv(&env, "X_RAW_PATH_INFO"), "/a%20b/c");
    CHECK_STR(getv(&env, "QUERY_STRING"), "x=1&y=%41+B&&z");
    CHECK_STR(getv(&env, "X_MATCHED_ROUTE"), "/api/...");
    CHECK_STR(getv(&env, "SERVER_NAME"), "example.com");
    CHECK_STR(getv(&env, "SERVER_PORT"), "9000");
    CHECK_STR(getv(&env, "X_FULL_URL"), "http://example.com:9000/api/a%20b/c?x=1&y=%41+B&&z");
    CHECK_STR(getv(&env, "CONTENT_TYPE"), "text/plain");
    CHECK_STR(getv(&env, "CONTENT_LENGTH"), "5");
    CHECK_STR(getv(&env, "HTTP_X_THING"), "a, b");
    CHECK_STR(getv(&env, "HTTP_COOKIE"), "a=1; b=2");
    CHECK(getv(&env, "HTTP_BAD_NAME") == NULL);
    CHECK(getv(&env, "HTTP_CONTENT_TYPE") == NULL);
    CHECK_STR(getv(&env, "GREETING"), "hi");
    CHECK(count(&env, "PATH_INFO") == 1);
    CHECK(strcmp(env.v[0], "GREETING=hi") == 0);
    CHECK(env.v[env.n] == NULL);
    CHECK(argv.n == 4);
    CHECK_STR(argv.v[0], "/api/a%20b/c");
    CHECK_STR(argv.v[1], "x=1");
    CHECK_STR(argv.v[2], "y=A B");
    CHECK_STR(argv.v[3], "z");
    kl_strv_free(&env);
    kl_strv_free(&argv);
}

static void test_exact_and_errors(void)
{
    struct kl_wagi_req q;
    struct kl_strv env, argv;
    char why[256];

    base_req(&q);
    q.target = "/hello";
    q.route = "/hello";
    CHECK(kl_wagi_build(&q, &env, &argv, why, sizeof(why)) == 0);
    CHECK_STR(getv(&env, "SCRIPT_NAME"), "/hello");
    CHECK_STR(getv(&env, "PATH_INFO"), "");
    CHECK_STR(getv(&env, "QUERY_STRING"), "");
    CHECK_STR(getv(&env, "SERVER_NAME"), "127.0.0.1");
    CHECK_STR(getv(&env, "X_FULL_URL"), "http://127.0.0.1:8080/hello");
    CHECK(argv.n == 1);
    kl_strv_free(&env);
    kl_strv_free(&argv);

    q.target = "/x/%00y";
    q.route = "/...";
    CHECK(kl_wagi_build(&q, &env, &argv, why, sizeof(why)) == -EINVAL);
    q.target = "/x/%4";
    CHECK(kl_wagi_build(&q, &env, &argv, why, sizeof(why)) == -EINVAL);
    q.target = "/x/%zz";
    CHECK(kl_wagi_build(&q, &env, &argv, why, sizeof(why)) == -EINVAL);
    q.target = "http://evil/x";
    CHECK(kl_wagi_build(&q, &env, &argv, why, sizeof(why)) == -EINVAL);
    q.target = "/x/y";
    CHECK(kl_wagi_build(&q, &env, &argv, why, sizeof(why)) == 0);
    CHECK_STR(getv(&env, "SCRIPT_NAME"), "");
    CHECK_STR(getv(&env, "PATH_INFO"), "/x/y");
    kl_strv_free(&env);
    kl_strv_free(&argv);
}

static void test_decode(void)
{
    char out[32];

    CHECK(kl_url_decode("a%2Fb+c", 7, out, 1) == 5);
    CHECK_STR(out, "a/b c");
    CHECK(kl_url_decode("a+c", 3, out, 0) == 3);
    CHECK(kl_url_decode("%", 1, out, 0) == -EINVAL);
    CHECK(kl_url_decode("%a", 2, out, 0) == -EINVAL);
    CHECK(kl_url_decode("%00", 3, out, 0) == -EINVAL);
    CHECK(kl_target_path_len("/a/b?c") == 4);
}

/* Random targets, routes and headers: the builder must fail cleanly or
 * produce NULL-terminated vectors, never crash or overread. */
static void test_random(void)
{
    static const char alpha[] = "/%?&=+#aZ09_-.:[] ";
    static const char *const routes[] = {"/...", "/a/...", "/a", "/a/b/..."};
    struct kl_wagi_header h[3];
    char target[64], name[3][16], value[3][16], why[256];
    struct kl_wagi_req q;
    struct kl_strv env, argv;
    int i, k, ok = 1;
    size_t j, n;

    srand(7);
    for (i = 0; i < 20000; i++) {
        base_req(&q);
        n = 1 + (size_t)(rand() % 60);
        for (j = 0; j < n; j++)
            target[j] = alpha[rand() % (sizeof(alpha) - 1)];
        target[0] = rand() % 8 ? '/' : target[0];
        target[n] = 0;
        for (k = 0; k < 3; k++) {
            for (j = 0; j < 15; j++) {
                name[k][j] = alpha[rand() % (sizeof(alpha) - 1)];
                value[k][j] = (char)(1 + rand() % 255);
            }
            name[k][rand() % 16] = 0;
            name[k][15] = value[k][15] = 0;
            h[k].name = name[k];
            h[k].value = value[k];
        }
        q.target = target;
        q.route = routes[rand() % 4];
        q.headers = h;
        q.nheaders = 3;
        if (kl_wagi_build(&q, &env, &argv, why, sizeof(why)) == 0) {
            ok &= env.v[env.n] == NULL && argv.v[argv.n] == NULL && argv.n >= 1;
            kl_strv_free(&env);
            kl_strv_free(&argv);
        }
    }
    CHECK(ok);
}

int main(void)
{
    test_random();
    test_prefix();
    test_exact_and_errors();
    test_decode();
    UNIT_DONE();
}
