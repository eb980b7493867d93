/* cmd_kv.c - `kernless kv ls|get|set|rm STORE [KEY]`: key-value stores over /v1/kv. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client_http.h"
#include "cli/client_svc.h"
#include "cli/cmd.h"

/* "/v1/kv/STORE/KEY" with both %-encoded. */
static char *kv_path(const char *store, const char *key)
{
    char *s = curl_easy_escape(NULL, store, 0), *k = key ? curl_easy_escape(NULL, key, 0) : NULL;
    char *out = NULL;

    if (s && (!key || k) && asprintf(&out, "/v1/kv/%s%s%s", s, key ? "/" : "", k ? k : "") < 0)
        out = NULL;
    curl_free(s);
    curl_free(k);
    return out;
}

static int kv_print(const struct kl_client *c, struct kl_client_resp *r, const char *op)
{
    json_t *o = kl_client_json(r), *v;
    size_t i;

    if (strcmp(op, "get") == 0) {
        fwrite(r->body.data, 1, r->body.len, stdout);
    } else if (c->json || !o) {
        fwrite(r->body.data, 1, r->body.len, stdout);
        fputc('\n', stdout);
    } else if (json_object_get(o, "stores")) {
        json_array_foreach(json_object_get(o, "stores"), i, v)
            printf("%s\t%lld keys\t%lld bytes\n", json_string_value(json_object_get(v, "name")),
                   (long long)json_integer_value(json_object_get(v, "keys")),
                   (long long)json_integer_value(json_object_get(v, "bytes")));
    } else if (json_object_get(o, "keys")) {
        json_array_foreach(json_object_get(o, "keys"), i, v)
            printf("%s\n", json_string_value(v));
    }
    json_decref(o);
    kl_client_resp_free(r);
    return 0;
}

static int kv_run(int argc, char **argv)
{
    struct kl_client c;
    struct kl_client_resp r;
    const char *op = argc > 1 ? argv[1] : "", *store = argc > 2 ? argv[2] : NULL;
    const char *key = argc > 3 ? argv[3] : NULL, *method = "GET";
    char *path, *val = NULL;
    size_t n = 0;
    int rc;

    kl_client_init(&c);
    if (!((strcmp(op, "ls") == 0 && argc <= 3) ||
          ((strcmp(op, "get") == 0 || strcmp(op, "rm") == 0) && argc == 4) ||
          (strcmp(op, "set") == 0 && (argc == 4 || argc == 5)))) {
        fprintf(stderr, "kernless: usage: kernless kv ls [STORE] | get STORE KEY | "
                "set STORE KEY [VALUE] | rm STORE KEY\n");
        return 2;
    }
    if (strcmp(op, "set") == 0) {
        method = "PUT";
        val = argc == 5 ? strdup(argv[4]) : kl_client_read_stdin(1u << 20, &n);
        if (!val) {
            fprintf(stderr, "kernless: kv set: the value is over 1 MiB\n");
            return 1;
        }
        if (argc == 5)
            n = strlen(val);
    } else if (strcmp(op, "rm") == 0) {
        method = "DELETE";
    }
    path = store ? kv_path(store, key) : strdup("/v1/kv");
    rc = path ? kl_client_svc_call(&c, "kv", method, path, val, n, &r) : 1;
    free(path);
    free(val);
    return rc ? 1 : kv_print(&c, &r, op);
}

const struct kl_cmd kl_cmd_kv = {
    "kv", "list, read and write key-value stores (kv ls|get|set|rm STORE [KEY])",
    "usage: kernless kv ls [STORE] | get STORE KEY | set STORE KEY [VALUE] | rm STORE KEY\n"
    "  ls        the stores, or a store's keys\n"
    "  get       a value, as raw bytes on stdout\n"
    "  set       a value (from stdin when VALUE is not given), at most 1 MiB\n"
    "  rm        remove a key\n",
    kv_run,
};
