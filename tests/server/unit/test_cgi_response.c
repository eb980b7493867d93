/* test_cgi_response.c - unit tests for the CGI response parser. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>

#include "server/cgi_response.h"

/* Parse a string; returns the parser's result code. */
static int parse(const char *s, struct kl_cgi_response *r, char *why)
{
    return kl_cgi_parse((const uint8_t *)s, strlen(s), r, why, 256);
}

static void test_basic(void)
{
    struct kl_cgi_response r;
    char why[256];

    CHECK(parse("Content-Type: text/plain\n\nhello", &r, why) == 0);
    CHECK(r.status == 200);
    CHECK(r.nheaders == 1);
    CHECK_STR(r.headers[0].name, "Content-Type");
    CHECK_STR(r.headers[0].value, "text/plain");
    CHECK(r.body_len == 5 && memcmp(r.body, "hello", 5) == 0);
    kl_cgi_response_free(&r);

    CHECK(parse("Content-Type:text/html\r\nStatus: 404 Not Found\r\n\r\nnope\n", &r, why) == 0);
    CHECK(r.status == 404);
    CHECK(r.nheaders == 1);
    CHECK_STR(r.headers[0].value, "text/html");
    CHECK(r.body_len == 5);
    kl_cgi_response_free(&r);
}

static void test_location_cookies(void)
{
    struct kl_cgi_response r;
    char why[256];

    CHECK(parse("Location: /new\n\n", &r, why) == 0);
    CHECK(r.status == 302 && r.body_len == 0);
    kl_cgi_response_free(&r);
    CHECK(parse("Status: 301\nLocation: /new\n\n", &r, why) == 0);
    CHECK(r.status == 301);
    kl_cgi_response_free(&r);
    CHECK(parse("Set-Cookie: a=1\nSet-Cookie: b=2\nSet-Cookie: c=3\n\n", &r, why) == 0);
    CHECK(r.nheaders == 3);
    CHECK(r.nheaders == 3 && strcmp(r.headers[2].value, "c=3") == 0);
    kl_cgi_response_free(&r);
}

static void test_dropped(void)
{
    struct kl_cgi_response r;
    char why[256];

    CHECK(parse("Content-Length: 99\nX-Request-Id: forged\nX-Kernless-Error: x\n"
                "Transfer-Encoding: chunked\nX-Ok: yes  \n\nb", &r, why) == 0);
    CHECK(r.nheaders == 1);
    CHECK_STR(r.headers[0].name, "X-Ok");
    CHECK_STR(r.headers[0].value, "yes");
    kl_cgi_response_free(&r);
}

/* issue 20: one function's headers must not act on the origin every function
 * shares: a service worker widened to "/" and a Clear-Site-Data wipe. */
static void test_function_cannot_set_origin_wide_headers(void)
{
    struct kl_cgi_response r;
    char why[256];

    CHECK(parse("Service-Worker-Allowed: /\nclear-site-data: \"*\"\n"
                "service-worker-allowed: /x\nX-Ok: 1\n\nb", &r, why) == 0);
    CHECK(r.nheaders == 1);
    CHECK_STR(r.headers[0].name, "X-Ok");
    kl_cgi_response_free(&r);
}

static void test_errors(void)
{
    struct kl_cgi_response r;
    char why[256], big[KL_CGI_MAX_HEAD + 100];
    size_t i;

    CHECK(parse("", &r, why) == -EPROTO);
    CHECK(parse("hello world\n", &r, why) == -EPROTO);
    CHECK(strstr(why, "no header section") != NULL);
    CHECK(parse("hello world\n\nbody", &r, why) == -EPROTO);
    CHECK(strstr(why, "no header section") != NULL);
    CHECK(parse("\nbody", &r, why) == -EPROTO);
    CHECK(parse("Content-Type: text/plain\nbad line\n\n", &r, why) == -EPROTO);
    CHECK(strstr(why, "line 2") != NULL);
    CHECK(parse("Status: abc\n\n", &r, why) == -EPROTO);
    CHECK(parse("Status: 99\n\n", &r, why) == -EPROTO);
    CHECK(parse("Status: 200\nStatus: 201\n\n", &r, why) == -EPROTO);
    CHECK(parse("Bad Name: x\n\n", &r, why) == -EPROTO);
    CHECK(parse("X: a\x01" "b\n\n", &r, why) == -EPROTO);
    CHECK(kl_cgi_parse((const uint8_t *)"X: a\0b\n\n", 8, &r, why, 256) == -EPROTO);
    /* A header section that never ends within the bound. */
    for (i = 0; i + 1 < sizeof(big); i++)
        big[i] = (i % 10 == 9) ? '\n' : 'a';
    memcpy(big, "X-A: ", 5);
    big[sizeof(big) - 1] = 0;
    CHECK(parse(big, &r, why) == -EPROTO);
    /* Too many headers. */
    {
        char many[KL_CGI_MAX_HEADERS * 8 + 16];
        size_t o = 0;
        for (i = 0; i <= KL_CGI_MAX_HEADERS; i++)
            o += (size_t)snprintf(many + o, sizeof(many) - o, "X: %zu\n", i % 10);
        snprintf(many + o, sizeof(many) - o, "\n");
        CHECK(parse(many, &r, why) == -EPROTO);
        CHECK(strstr(why, "headers") != NULL);
    }
}

/* Random bytes biased toward the structure characters must never crash the
 * parser or make it read past the input (ASan watches the exact-size copy). */
static void test_random(void)
{
    static const char alpha[] = "ab:\r\n \tStatus:Location0123456789\x01\x80";
    struct kl_cgi_response r;
    char why[256];
    uint8_t *buf;
    int i, ok = 1;
    size_t n, j;

    srand(42);
    for (i = 0; i < 20000; i++) {
        n = (size_t)(rand() % 200);
        buf = malloc(n ? n : 1);
        for (j = 0; j < n; j++)
            buf[j] = (uint8_t)(rand() % 4 ? alpha[rand() % (sizeof(alpha) - 1)] : rand());
        if (kl_cgi_parse(buf, n, &r, why, sizeof(why)) == 0) {
            ok &= r.body + r.body_len == buf + n && r.status >= 200 && r.status <= 599;
            kl_cgi_response_free(&r);
        }
        free(buf);
    }
    CHECK(ok);
}

int main(void)
{
    test_random();
    test_basic();
    test_location_cookies();
    test_dropped();
    test_function_cannot_set_origin_wide_headers();
    test_errors();
    UNIT_DONE();
}
