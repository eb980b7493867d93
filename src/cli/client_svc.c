/* client_svc.c - the CLI side of host services shared by deploy, info, kv and secret: flags, info lines, raw calls. */
#include "cli/client_svc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client_http.h"

/* Append `s` to the config's array `key`, creating it. */
static int push(json_t *config, const char *key, json_t *v)
{
    json_t *a = json_object_get(config, key);

    if (!a) {
        a = json_array();
        json_object_set_new(config, key, a);
    }
    return json_array_append_new(a, v) == 0 ? 1 : -1;
}

int kl_client_svc_flag(json_t *config, const char *opt, const char *val)
{
    const char *eq;
    json_t *vars;

    if (strcmp(opt, "--allow-outbound") == 0)
        return push(config, "allowed_outbound_hosts", json_string(val));
    if (strcmp(opt, "--kv") == 0)
        return push(config, "key_value_stores", json_string(val));
    if (strcmp(opt, "--var") != 0)
        return 0;
    if (!(eq = strchr(val, '=')) || eq == val) {
        fprintf(stderr, "kernless: --var wants NAME=VALUE or NAME=secret:SECRET, got %s\n", val);
        return -1;
    }
    if (!(vars = json_object_get(config, "variables"))) {
        vars = json_object();
        json_object_set_new(config, "variables", vars);
    }
    char *name = strndup(val, (size_t)(eq - val));
    json_t *v = strncmp(eq + 1, "secret:", 7) == 0 ? json_pack("{s:s}", "secret", eq + 8)
                                                    : json_string(eq + 1);
    int rc = name && v && json_object_set_new(vars, name, v) == 0 ? 1 : -1;
    free(name);
    return rc;
}

void kl_client_svc_print(json_t *config)
{
    const char *k;
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(config, "allowed_outbound_hosts"), i, v)
        printf("outbound:   %s\n", json_string_value(v));
    json_array_foreach(json_object_get(config, "key_value_stores"), i, v)
        printf("kv store:   %s\n", json_string_value(v));
    json_object_foreach(json_object_get(config, "variables"), k, v) {
        if (json_is_object(v))
            printf("variable:   %s = secret:%s\n", k,
                   json_string_value(json_object_get(v, "secret")));
        else
            printf("variable:   %s = %s\n", k, json_string_value(v));
    }
}

int kl_client_svc_call(const struct kl_client *c, const char *what, const char *method,
                       const char *path, const void *body, size_t len,
                       struct kl_client_resp *resp)
{
    struct kl_client_req q = {.method = method, .path = path, .body = body, .body_len = len,
                              .content_type = "application/octet-stream"};

    if (kl_client_call(c, &q, resp) < 0)
        return 1;
    if (resp->status / 100 != 2) {
        kl_client_fail_resp(what, resp, c);
        kl_client_resp_free(resp);
        return 1;
    }
    return 0;
}

char *kl_client_read_stdin(size_t max, size_t *n)
{
    char *b = malloc(max + 1);
    ssize_t k;

    *n = 0;
    while (b && (k = read(0, b + *n, max + 1 - *n)) > 0)
        if ((*n += (size_t)k) > max)
            break;
    if (b && *n > max) {
        free(b);
        return NULL;
    }
    return b;
}
