/* cmd_invoke.c - `kernless invoke NAME`: call a function through the server's management API. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client_cmd.h"
#include "cli/cmd.h"
#include "client/client.h"


/* --data @file, --data - (stdin) or --data TEXT, into a buffer. */
static int read_data(const char *spec, struct kl_buf *b)
{
    char chunk[65536];
    FILE *f;
    size_t n;

    kl_buf_init(b, 256u << 20);
    if (spec[0] != '@' && strcmp(spec, "-") != 0)
        return kl_buf_append(b, spec, strlen(spec));
    f = strcmp(spec, "-") == 0 ? stdin : fopen(spec + 1, "rb");
    if (f == NULL) {
        fprintf(stderr, "kernless: invoke: cannot read %s: %s\n", spec + 1, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (kl_buf_append(b, chunk, n) < 0)
            break;
    if (f != stdin)
        fclose(f);
    return 0;
}

/* --json form of a function response: status, headers, body (or body_base64). */
static void print_invoke_json(const struct kl_client_resp *r)
{
    json_t *o = json_object(), *h = json_array();
    const struct curl_slist *l;
    json_t *body = json_stringn((const char *)r->body.data, r->body.len);
    char *b64;

    for (l = r->headers; l != NULL; l = l->next)
        json_array_append_new(h, json_string(l->data));
    json_object_set_new(o, "status", json_integer(r->status));
    json_object_set_new(o, "headers", h);
    if (body != NULL || r->body.len == 0) {
        json_object_set_new(o, "body", body ? body : json_string(""));
    } else {
        b64 = malloc(4 * ((r->body.len + 2) / 3) + 1);
        if (b64 != NULL) {
            EVP_EncodeBlock((unsigned char *)b64, r->body.data, (int)r->body.len);
            json_object_set_new(o, "body_base64", json_string(b64));
        }
        free(b64);
    }
    kl_client_print_json(o);
    json_decref(o);
}

static int cmd_invoke(const struct kl_client *c, int argc, char **argv)
{
    struct kl_client_req q = {0};
    struct kl_client_resp r;
    struct kl_buf data;
    char path[128];
    int rc = 0;

    kl_buf_init(&data, 0);
    if (argc == 4 && strcmp(argv[2], "--data") == 0) {
        if (read_data(argv[3], &data) < 0)
            return 1;
    } else if (argc != 2) {
        return kl_cli_usage_fail("kernless invoke NAME [--data @file|-|TEXT] [--json]");
    }
    if (kl_cli_fn_name(argv[1]) < 0)
        return 2;
    snprintf(path, sizeof(path), "/v1/functions/%s/invoke", argv[1]);
    q.method = "POST";
    q.path = path;
    q.body = data.data ? (const void *)data.data : "";
    q.body_len = data.len;
    q.content_type = "application/octet-stream";
    if (kl_client_call(c, &q, &r) < 0) {
        kl_buf_free(&data);
        return 1;
    }
    if (c->json)
        print_invoke_json(&r);
    else if (r.status < 400)
        fwrite(r.body.data ? (const void *)r.body.data : "", 1, r.body.len, stdout);
    if (r.status >= 400)
        rc = c->json ? 1 : kl_client_fail_resp("invoke", &r, c);
    kl_client_resp_free(&r);
    kl_buf_free(&data);
    return rc;
}

static int run(int argc, char **argv)
{
    return kl_cli_client_main(argc, argv, cmd_invoke);
}

const struct kl_cmd kl_cmd_invoke = {
    .name = "invoke",
    .summary = "call a function through the server",
    .usage =
    "usage: kernless invoke NAME [--data @file|-|TEXT] [--json]\n"
    "  --data  the request body: a file (@file), stdin (-) or TEXT (default empty)\n"
    "  --json  print status, headers and body as JSON\n",
    .run = run,
};
