/* unit_url.c - the outbound allow-list against every spelling trick, each next to the plain form that passes (its control). */
#include <stdio.h>
#include <string.h>

#include "host/svc_url.h"

static const char *const allow[] = {
    "http://127.0.0.1:18099", "https://API.example.com", "http://localhost:*",
    "http://[::1]:18099/",
};

static const struct {
    const char *url;
    int ok;
} cases[] = {
    /* Controls: plain spellings of allowed origins pass. */
    {"http://127.0.0.1:18099/", 1},
    {"http://127.0.0.1:18099/path?q=1#f", 1},
    {"https://api.example.com/v1", 1},
    {"HTTPS://Api.Example.COM/v1", 1},              /* case-insensitive scheme and host */
    {"https://api.example.com:443/", 1},            /* the default port written out */
    {"http://localhost:1/", 1},                     /* '*' is any port */
    {"http://localhost:65535/", 1},
    {"http://[::1]:18099/", 1},
    /* Not on the list. */
    {"http://127.0.0.1:18098/", 0},                 /* another port */
    {"https://127.0.0.1:18099/", 0},                /* another scheme */
    {"http://api.example.com/", 0},
    {"https://api.example.com:8443/", 0},
    {"https://evil.example.com/", 0},
    {"https://api.example.com.evil.net/", 0},
    {"http://localhost.evil.net:80/", 0},
    {"ftp://127.0.0.1:18099/", 0},
    {"file:///etc/passwd", 0},
    {"gopher://127.0.0.1:18099/", 0},
    /* Userinfo. */
    {"http://user@127.0.0.1:18099/", 0},
    {"http://user:pw@127.0.0.1:18099/", 0},
    {"http://api.example.com@127.0.0.1:18099/", 0},
    {"http://:@127.0.0.1:18099/", 0},
    /* The same IPv4 address written another way. */
    {"http://2130706433:18099/", 0},
    {"http://0x7f000001:18099/", 0},
    {"http://0x7f.0.0.1:18099/", 0},
    {"http://0177.0.0.1:18099/", 0},
    {"http://017700000001:18099/", 0},
    {"http://127.1:18099/", 0},
    {"http://127.0.1:18099/", 0},
    {"http://127.000.000.001:18099/", 0},
    {"http://[::ffff:127.0.0.1]:18099/", 0},
    {"http://[::ffff:7f00:1]:18099/", 0},
    {"http://[::127.0.0.1]:18099/", 0},
    {"http://[0:0:0:0:0:0:0:1]:18099/", 0},          /* ::1 not written canonically */
    {"http://%31%32%37.0.0.1:18099/", 0},            /* %-encoded host */
    /* Trailing dots, empty labels. */
    {"https://api.example.com./v1", 0},
    {"http://localhost.:80/", 0},
    {"https://api..example.com/", 0},
    /* IDN look-alikes: non-ASCII bytes, full-width dots. */
    {"https://\xd0\xb0pi.example.com/", 0},          /* Cyrillic a */
    {"https://api\xef\xbc\x8e" "example.com/", 0},    /* full-width dot */
    {"https://api.ex\xc3\xa4mple.com/", 0},
    {"https://xn--pi-7ld.example.com/", 0},           /* punycode of the look-alike: just another host */
    /* Malformed. */
    {"127.0.0.1:18099", 0},
    {"//127.0.0.1:18099/", 0},
    {"http:///", 0},
    {"", 0},
};

static const struct {
    const char *entry;
    int ok;
} entries[] = {
    {"http://localhost:*", 1}, {"https://api.example.com", 1}, {"http://127.0.0.1:8099/", 1},
    {"http://*.example.com", 0}, {"http://localhost:8*", 0}, {"*", 0},
    {"http://example.com/path", 0}, {"http://example.com?x=1", 0}, {"http://u@example.com", 0},
    {"ftp://example.com", 0}, {"http://0x7f.1", 0}, {"http://example.com.", 0},
};

int main(void)
{
    char why[256];
    struct kl_svc_url u;
    int bad = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = kl_svc_url_allowed(cases[i].url, allow, 4, &u, why, sizeof(why)) == 0;
        if (got != cases[i].ok) {
            printf("FAIL url %s: want %s, got %s (%s)\n", cases[i].url,
                   cases[i].ok ? "allowed" : "refused", got ? "allowed" : "refused", why);
            bad++;
        }
    }
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        int got = kl_svc_allow_parse(entries[i].entry, &u, why, sizeof(why)) == 0;
        if (got != entries[i].ok) {
            printf("FAIL entry %s: want %s (%s)\n", entries[i].entry,
                   entries[i].ok ? "valid" : "refused", why);
            bad++;
        }
    }
    /* Nothing is allowed by an empty list (the default). */
    if (kl_svc_url_allowed("http://127.0.0.1:18099/", NULL, 0, &u, why, sizeof(why)) == 0) {
        printf("FAIL an empty allow-list allowed a URL\n");
        bad++;
    }
    printf("%zu cases, %d failed\n", sizeof(cases) / sizeof(cases[0]) + sizeof(entries) / sizeof(entries[0]) + 1, bad);
    return bad != 0;
}
