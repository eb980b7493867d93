/* cmd_dashboard.c - `kernless dashboard`: print the web dashboard's address with a log-in token in its fragment. */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "client/client_http.h"

/* Percent-encode all but RFC 3986's unreserved characters (a token is hex,
 * but one set in KERNLESS_TOKEN could hold anything). */
static void put_encoded(const char *s)
{
    for (; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
            (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL)
            putchar(*s);
        else
            printf("%%%02X", (unsigned char)*s);
    }
}

/*
 * The token goes in the fragment (after '#'): a browser never sends a
 * fragment to the server, so it reaches no request line, proxy or log. The
 * page moves it to the tab's sessionStorage and clears the address bar. The
 * token is checked against the server first, so a printed address works.
 */
static int cmd_dashboard(int argc, char **argv)
{
    struct kl_client_req q = {.method = "GET", .path = "/v1/functions", .timeout_s = 10};
    struct kl_client_resp r;
    struct kl_client c;
    int rc = 0;

    if (argc != 1) {
        fprintf(stderr, "kernless: usage: kernless dashboard (uses KERNLESS_URL and "
                "KERNLESS_TOKEN like the other commands)\n");
        return 2;
    }
    kl_client_init(&c);
    if (c.token[0] == 0) {
        fprintf(stderr, "kernless: dashboard: no admin token (set KERNLESS_TOKEN, or run on "
                "the server's machine with KERNLESS_DATA pointing at its data folder)\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (kl_client_call(&c, &q, &r) < 0) {
        rc = 1;
    } else {
        if (r.status != 200)
            rc = kl_client_fail_resp("dashboard", &r, &c);
        kl_client_resp_free(&r);
    }
    curl_global_cleanup();
    if (rc != 0)
        return rc;
    printf("%s/_/#token=", c.url);
    put_encoded(c.token);
    putchar('\n');
    return 0;
}

const struct kl_cmd kl_cmd_dashboard = {
    .name = "dashboard",
    .summary = "print the web dashboard's address, with a log-in token",
    .usage = 
    "usage: kernless dashboard\n"
    "  prints the dashboard's address with a log-in token (KERNLESS_URL and\n"
    "  KERNLESS_TOKEN as for the other commands)\n",
    .run = cmd_dashboard,
};
