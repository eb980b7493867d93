/* client_http.c - libcurl plumbing for the client operations: auth header, capped body, line streaming, errors. */
#include "client/client_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/datadir.h"

#define BODY_MAX (256u << 20)

void kl_client_init(struct kl_client *c)
{
    const char *u = getenv("KERNLESS_URL"), *t = getenv("KERNLESS_TOKEN");
    char dir[4096];
    size_t n;

    memset(c, 0, sizeof(*c));
    /* The management API's listener (serve --admin-listen), not the functions'. */
    snprintf(c->url, sizeof(c->url), "%s", u && *u ? u : "http://127.0.0.1:8081");
    n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = 0;
    if (t != NULL && *t != 0) {
        snprintf(c->token, sizeof(c->token), "%s", t);
        return;
    }
    /* A local server keeps its token in its data folder; reading it is what
     * makes `kernless deploy` work with no setup on the same machine. */
    if (kl_data_dir_default(dir, sizeof(dir)) == 0 &&
        kl_admin_token_read(dir, c->token, sizeof(c->token), NULL) < 0)
        c->token[0] = 0;
}

struct sink {
    struct kl_client_resp *resp;
    const struct kl_client_req *req;
    size_t line_start;
    int overflow;
};

/* Hand every complete line to the hook as soon as it arrives. */
static void emit_lines(struct sink *s)
{
    struct kl_buf *b = &s->resp->body;
    size_t i;

    for (i = s->line_start; i < b->len; i++) {
        if (b->data[i] != '\n')
            continue;
        s->req->on_line(s->req->line_ctx, (const char *)b->data + s->line_start,
                        i - s->line_start);
        s->line_start = i + 1;
    }
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct sink *s = ctx;
    size_t n = size * nmemb;

    if (kl_buf_append(&s->resp->body, p, n) < 0) {
        s->overflow = 1;
        return 0;
    }
    if (s->req->on_line != NULL && s->resp->status < 300)
        emit_lines(s);
    return n;
}

/* Keep every header line; pick out our error and request id. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct sink *s = ctx;
    size_t n = size * nmemb, len = n;
    char line[1024];

    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    if (len >= sizeof(line))
        len = sizeof(line) - 1;
    memcpy(line, p, len);
    line[len] = 0;
    if (strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue or a redirect): start over. */
        curl_slist_free_all(s->resp->headers);
        s->resp->headers = NULL;
        s->resp->status = strchr(line, ' ') ? strtol(strchr(line, ' ') + 1, NULL, 10) : 0;
        return n;
    }
    if (len == 0)
        return n;
    s->resp->headers = curl_slist_append(s->resp->headers, line);
    if (strncasecmp(line, "X-Kernless-Error:", 17) == 0)
        snprintf(s->resp->error, sizeof(s->resp->error), "%s", line + 17 + strspn(line + 17, " "));
    if (strncasecmp(line, "X-Request-Id:", 13) == 0)
        snprintf(s->resp->request_id, sizeof(s->resp->request_id), "%s",
                 line + 13 + strspn(line + 13, " "));
    return n;
}

/* Set the method, URL, auth and body options on a handle. */
static int setup(CURL *h, const struct kl_client *c, const struct kl_client_req *q,
                 struct curl_slist **hdrs, curl_mime **mime)
{
    char url[4096], auth[200], ct[200];

    snprintf(url, sizeof(url), "%s%s", c->url, q->path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    if (q->timeout_s > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, q->timeout_s);
    if (c->token[0] != 0) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        *hdrs = curl_slist_append(*hdrs, auth);
    }
    *hdrs = curl_slist_append(*hdrs, "Expect:");
    if (q->mime != NULL) {
        *mime = q->mime(h, q->mime_ctx);
        if (*mime == NULL)
            return -1;
        curl_easy_setopt(h, CURLOPT_MIMEPOST, *mime);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    } else if (q->body != NULL || strcmp(q->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        snprintf(ct, sizeof(ct), "Content-Type: %s",
                 q->content_type ? q->content_type : "application/octet-stream");
        *hdrs = curl_slist_append(*hdrs, ct);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    return 0;
}

int kl_client_call(const struct kl_client *c, const struct kl_client_req *q,
                   struct kl_client_resp *resp)
{
    struct sink s = {resp, q, 0, 0};
    struct curl_slist *hdrs = NULL;
    curl_mime *mime = NULL;
    CURL *h = curl_easy_init();
    CURLcode rc;
    int ret = -1;

    memset(resp, 0, sizeof(*resp));
    kl_buf_init(&resp->body, BODY_MAX);
    if (h == NULL) {
        fprintf(stderr, "kernless: cannot start libcurl\n");
        return -1;
    }
    if (setup(h, c, q, &hdrs, &mime) < 0)
        goto out;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && s.overflow)) {
        if (!q->quiet)
            fprintf(stderr, "kernless: cannot reach the server at %s: %s%s\n", c->url,
                    curl_easy_strerror(rc), rc == CURLE_COULDNT_CONNECT
                    ? " (is `kernless serve` running? set KERNLESS_URL)" : "");
        goto out;
    }
    if (s.overflow) {
        fprintf(stderr, "kernless: response larger than %u bytes\n", BODY_MAX);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    /* A last line without a newline still counts. */
    if (q->on_line != NULL && resp->status < 300 && s.line_start < resp->body.len)
        q->on_line(q->line_ctx, (const char *)resp->body.data + s.line_start,
                   resp->body.len - s.line_start);
    ret = 0;
out:
    curl_mime_free(mime);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (ret < 0)
        kl_client_resp_free(resp);
    return ret;
}

void kl_client_resp_free(struct kl_client_resp *resp)
{
    kl_buf_free(&resp->body);
    curl_slist_free_all(resp->headers);
    resp->headers = NULL;
}

json_t *kl_client_json(const struct kl_client_resp *resp)
{
    if (resp->body.len == 0)
        return NULL;
    return json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
}

int kl_client_fail_resp(const char *what, const struct kl_client_resp *resp,
                        const struct kl_client *c)
{
    json_t *o = kl_client_json(resp);
    const char *msg = resp->error[0] ? resp->error
                      : json_string_value(json_object_get(o, "error"));

    if (c->json && o != NULL)
        printf("%.*s\n", (int)resp->body.len, (const char *)resp->body.data);
    fprintf(stderr, "kernless: %s: HTTP %ld: %s%s\n", what, resp->status,
            msg ? msg : "request failed",
            resp->status == 401 ? " (set KERNLESS_TOKEN, or run on the server's"
            " machine with KERNLESS_DATA pointing at its data folder)" : "");
    json_decref(o);
    return 1;
}

/* GET/POST/DELETE a path and hand back the JSON body of a 2xx answer. */
json_t *kl_client_call_json(const struct kl_client *c, const char *what,
                         const char *method, const char *path, const char *body,
                         int *status)
{
    struct kl_client_req q = {0};
    struct kl_client_resp r;
    json_t *o;

    q.method = method;
    q.path = path;
    q.body = body;
    q.body_len = body ? strlen(body) : 0;
    q.content_type = "application/json";
    *status = 1;
    if (kl_client_call(c, &q, &r) < 0)
        return NULL;
    if (r.status < 200 || r.status >= 300) {
        kl_client_fail_resp(what, &r, c);
        kl_client_resp_free(&r);
        return NULL;
    }
    o = kl_client_json(&r);
    if (o == NULL)
        fprintf(stderr, "kernless: %s: the server sent a body that is not JSON\n", what);
    kl_client_resp_free(&r);
    *status = o ? 0 : 1;
    return o;
}
