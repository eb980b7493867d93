/* client.c - client operations on a kernless server's management API: deploy a module, list, remove, print log lines. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "client/client.h"

void kl_client_print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(2));

    if (s != NULL)
        printf("%s\n", s);
    free(s);
}

void kl_client_fmt_time(json_int_t t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    localtime_r(&tt, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---- deploy ------------------------------------------------------------ */

/* One deploy's state while the server streams its progress. */
struct deploy_args {
    const char *name;
    const char *module;
    json_t *config;
    int json;
    int quiet;        /* no progress lines (deploy -f, up) */
    json_t *done;     /* the final event */
};

int kl_client_dir_add(json_t *dirs, const char *spec, const char *base, char *why,
                      size_t why_len)
{
    const char *sep = strstr(spec, "::");
    char host[PATH_MAX], *real;

    if (sep == NULL || sep == spec || sep[2] != '/') {
        snprintf(why, why_len, "want HOST::GUEST with an absolute GUEST, got %s", spec);
        return -1;
    }
    if (base != NULL && spec[0] != '/')
        snprintf(host, sizeof(host), "%s/%.*s", base, (int)(sep - spec), spec);
    else
        snprintf(host, sizeof(host), "%.*s", (int)(sep - spec), spec);
    real = realpath(host, NULL);
    json_array_append_new(dirs, json_pack("{s:s,s:s}", "host", real ? real : host,
                                          "guest", sep + 2));
    free(real);
    return 0;
}

static curl_mime *deploy_mime(CURL *h, void *ctx)
{
    struct deploy_args *a = ctx;
    curl_mime *m = curl_mime_init(h);
    curl_mimepart *p;
    char *cfg = json_dumps(a->config, JSON_COMPACT);

    if (m == NULL || cfg == NULL) {
        free(cfg);
        curl_mime_free(m);
        return NULL;
    }
    p = curl_mime_addpart(m);
    curl_mime_name(p, "config");
    curl_mime_data(p, cfg, CURL_ZERO_TERMINATED);
    curl_mime_type(p, "application/json");
    free(cfg);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "module");
    if (curl_mime_filedata(p, a->module) != CURLE_OK) {
        curl_mime_free(m);
        return NULL;
    }
    curl_mime_type(p, "application/wasm");
    return m;
}

/* One progress line on stderr: upload size, compiler stages, then commit. */
static void progress(const char *name, const char *stage, json_int_t bytes)
{
    static const char *const compiling[] = {"compile", "check", "validate",
                                            "wasm2c", "cc", "link"};
    size_t i;

    if (stage == NULL)
        return;
    if (strcmp(stage, "upload") == 0) {
        fprintf(stderr, "kernless: %s: uploaded %lld bytes\n", name, (long long)bytes);
        return;
    }
    for (i = 0; i < sizeof(compiling) / sizeof(compiling[0]); i++) {
        if (strcmp(stage, compiling[i]) == 0) {
            fprintf(stderr, "kernless: %s: compiling (%s)\n", name, stage);
            return;
        }
    }
    fprintf(stderr, "kernless: %s: %s\n", name, strcmp(stage, "load") == 0
            ? "loading the image" : strcmp(stage, "commit") == 0
            ? "activating the new version" : stage);
}

/* One NDJSON event from the server: show progress, keep the outcome. */
static void deploy_line(void *ctx, const char *line, size_t n)
{
    struct deploy_args *a = ctx;
    json_t *o = json_loadb(line, n, 0, NULL);
    const char *ev = json_string_value(json_object_get(o, "event"));

    if (ev != NULL && strcmp(ev, "done") == 0) {
        json_decref(a->done);
        a->done = o;
        return;
    }
    if (ev != NULL && !a->json && !a->quiet)
        progress(a->name, json_string_value(json_object_get(o, "stage")),
                 json_integer_value(json_object_get(o, "bytes")));
    json_decref(o);
}

/* Print the deploy's outcome; returns the exit status. */
static int deploy_report(struct deploy_args *a)
{
    json_t *d = a->done;

    if (d == NULL) {
        fprintf(stderr, "kernless: deploy %s: the server closed the stream without an outcome\n",
                a->name);
        return 1;
    }
    if (a->json)
        kl_client_print_json(d);
    if (!json_is_true(json_object_get(d, "ok"))) {
        fprintf(stderr, "kernless: deploy %s rejected (HTTP %d): %s\n", a->name,
                (int)json_integer_value(json_object_get(d, "status")),
                json_string_value(json_object_get(d, "error")) ?: "unknown error");
        return 1;
    }
    if (!a->json)
        printf("deployed %s version %d at %s (%s, %s tier, in %d ms)\n", a->name,
               (int)json_integer_value(json_object_get(d, "version")),
               json_string_value(json_object_get(d, "route")),
               json_is_true(json_object_get(d, "cached")) ? "cached image" : "compiled",
               json_string_value(json_object_get(d, "tier")) ?: "optimised",
               (int)json_integer_value(json_object_get(d, "compile_ms")));
    return 0;
}

int kl_client_deploy(const struct kl_client *c, const char *name, const char *module,
                     json_t *config, int quiet, int *version)
{
    struct deploy_args a = {.name = name, .module = module, .config = config,
                            .json = c->json, .quiet = quiet};
    struct kl_client_req q = {0};
    struct kl_client_resp r;
    char path[256];
    struct stat st;
    int rc;

    errno = 0;
    if (stat(module, &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "kernless: deploy %s: cannot read %s: %s\n", name, module,
                errno ? strerror(errno) : "not a file");
        return 1;
    }
    snprintf(path, sizeof(path), "/v1/functions/%s/deploy?progress=1", name);
    q.method = "POST";
    q.path = path;
    q.mime = deploy_mime;
    q.mime_ctx = &a;
    q.on_line = deploy_line;
    q.line_ctx = &a;
    if (kl_client_call(c, &q, &r) < 0)
        return 1;
    rc = r.status == 200 ? deploy_report(&a) : kl_client_fail_resp("deploy", &r, c);
    if (rc == 0 && version != NULL)
        *version = (int)json_integer_value(json_object_get(a.done, "version"));
    kl_client_resp_free(&r);
    json_decref(a.done);
    return rc;
}

json_t *kl_client_names(const struct kl_client *c)
{
    json_t *o, *names = json_array(), *f;
    size_t i;
    int st;

    if ((o = kl_client_call_json(c, "ls", "GET", "/v1/functions", NULL, &st)) == NULL) {
        json_decref(names);
        return NULL;
    }
    json_array_foreach(json_object_get(o, "functions"), i, f)
        json_array_append(names, json_object_get(f, "name"));
    json_decref(o);
    return names;
}

int kl_client_remove(const struct kl_client *c, const char *name)
{
    char path[128];
    json_t *o;
    int st;

    snprintf(path, sizeof(path), "/v1/functions/%s", name);
    if ((o = kl_client_call_json(c, "rm", "DELETE", path, NULL, &st)) == NULL)
        return st;
    json_decref(o);
    return 0;
}

/* ---- logs -------------------------------------------------------------- */

void kl_client_print_log(const struct kl_client *c, json_t *l, const char *node)
{
    char when[32], *s;

    if (c->json) {
        if (node != NULL)
            json_object_set_new(l, "node", json_string(node));
        s = json_dumps(l, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
        return;
    }
    kl_client_fmt_time(json_integer_value(json_object_get(l, "ts")) / 1000, when, sizeof(when));
    printf("%s %s%s[%s] %s\n", when, node ? node : "", node ? " " : "",
           json_string_value(json_object_get(l, "request_id")),
           json_string_value(json_object_get(l, "line")));
}
