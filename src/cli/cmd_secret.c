/* cmd_secret.c - `kernless secret set|ls|rm`: secrets over /v1/secrets; a value goes in from stdin and never comes back. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client_http.h"
#include "cli/client_svc.h"
#include "cli/cmd.h"

static int secret_run(int argc, char **argv)
{
    const char *op = argc > 1 ? argv[1] : "", *name = argc > 2 ? argv[2] : NULL;
    struct kl_client c;
    struct kl_client_resp r;
    json_t *o, *v;
    char path[256], *val = NULL;
    size_t n = 0, i;
    int rc;

    kl_client_init(&c);
    if (!((strcmp(op, "ls") == 0 && argc == 2) ||
          ((strcmp(op, "set") == 0 || strcmp(op, "rm") == 0) && argc == 3 && strlen(name) < 100))) {
        fprintf(stderr, "kernless: usage: kernless secret set NAME (value on stdin) | ls | rm NAME\n");
        return 2;
    }
    if (strcmp(op, "ls") == 0) {
        if (kl_client_svc_call(&c, "secret ls", "GET", "/v1/secrets", NULL, 0, &r))
            return 1;
        o = kl_client_json(&r);
        json_array_foreach(json_object_get(o, "secrets"), i, v)
            printf("%s\n", json_string_value(json_object_get(v, "name")));
        json_decref(o);
        kl_client_resp_free(&r);
        return 0;
    }
    snprintf(path, sizeof(path), "/v1/secrets/%s", name);
    if (strcmp(op, "set") == 0) {
        /* Never from argv: it would show in ps and in shell history. */
        if (isatty(0))
            fprintf(stderr, "kernless: reading the value of %s from stdin (end with Ctrl-D)\n", name);
        if (!(val = kl_client_read_stdin(64u << 10, &n))) {
            fprintf(stderr, "kernless: secret set: the value is over 64 KiB\n");
            return 1;
        }
        while (n && (val[n - 1] == '\n' || val[n - 1] == '\r'))
            n--;   /* `echo x |` adds a newline nobody means */
    }
    rc = kl_client_svc_call(&c, "secret", strcmp(op, "set") == 0 ? "PUT" : "DELETE", path, val, n, &r);
    if (val) {
        memset(val, 0, n);
        free(val);
    }
    if (rc)
        return 1;
    kl_client_resp_free(&r);
    printf("kernless: secret %s %s\n", name, strcmp(op, "set") == 0 ? "set" : "removed");
    return 0;
}

const struct kl_cmd kl_cmd_secret = {
    "secret", "set (from stdin), list or remove secrets",
    "usage: kernless secret set NAME | ls | rm NAME\n"
    "  set       read the value from stdin (never from the command line), seal it\n"
    "  ls        the names (a value never comes back)\n"
    "  rm        remove a secret\n",
    secret_run,
};
