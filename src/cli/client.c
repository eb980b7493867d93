/* client.c - the CLI client: deploy, ls, info, rm, logs, rollback, invoke against `kernless serve`. */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/client_http.h"
#include "cli/commands.h"
#include "cli/mfdeploy.h"
#include "cli/opts.h"
#include "compile/compile.h"
#include "server/fnconfig.h"

/* Remove a "--json" flag anywhere in argv; returns whether it was there. */
static int take_json(int *argc, char **argv)
{
    int i, j, found = 0;

    for (i = j = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            found = 1;
        else
            argv[j++] = argv[i];
    }
    *argc = j;
    return found;
}

static int usage_fail(const char *usage)
{
    fprintf(stderr, "kernless: usage: %s\n", usage);
    return 2;
}

/* A function name from the command line, checked before it goes in a URL. */
static int name_arg(const char *name)
{
    if (kl_fn_name_ok(name))
        return 0;
    fprintf(stderr, "kernless: bad function name \"%s\" (1-63 of a-z 0-9 _ -)\n", name);
    return -1;
}

/* Print a JSON value on stdout (for --json). */
static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(2));

    if (s != NULL)
        printf("%s\n", s);
    free(s);
}

/* ---- deploy ------------------------------------------------------------ */

struct deploy_args {
    const char *name;
    const char *module;
    const char *entry;    /* --entry: a source folder's handler file */
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

/* --dir-ro HOST::GUEST, relative to the current folder. */
static int add_dir(json_t *dirs, const char *spec)
{
    char why[PATH_MAX + 64];

    if (kl_client_dir_add(dirs, spec, NULL, why, sizeof(why)) == 0)
        return 0;
    fprintf(stderr, "kernless: --dir-ro: %s\n", why);
    return -1;
}

static int parse_deploy(int argc, char **argv, struct deploy_args *a)
{
    json_t *env = json_array(), *dirs = json_array();
    const char *route = NULL;
    uint32_t v;
    int i, pos = 0;

    a->config = json_object();
    for (i = 1; i < argc; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-' || o[1] == 0) {
            if (pos == 0) a->name = o;
            else if (pos == 1) a->module = o;
            else goto bad;
            pos++;
            continue;
        }
        if (val == NULL)
            goto bad;
        i++;
        if (strcmp(o, "--route") == 0) {
            route = val;
        } else if (strcmp(o, "--entry") == 0) {
            a->entry = val;
        } else if (strcmp(o, "--env") == 0) {
            if (strchr(val, '=') == NULL) {
                fprintf(stderr, "kernless: --env wants K=V, got %s\n", val);
                goto err;
            }
            json_array_append_new(env, json_string(val));
        } else if (strcmp(o, "--timeout-ms") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_TIMEOUT_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "timeout_ms", json_integer(v));
        } else if (strcmp(o, "--max-memory-mb") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_MEMORY_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "max_memory_mb", json_integer(v));
        } else if (strcmp(o, "--max-body-kb") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_BODY_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "max_body_kb", json_integer(v));
        } else if (strcmp(o, "--max-response-kb") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_RESPONSE_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "max_response_kb", json_integer(v));
        } else if (strcmp(o, "--max-open-files") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_OPEN_FILES_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "max_open_files", json_integer(v));
        } else if (strcmp(o, "--dir-ro") == 0) {
            if (add_dir(dirs, val) < 0) goto err;
        } else {
            goto bad;
        }
    }
    if (pos != 2 || route == NULL)
        goto bad;
    json_object_set_new(a->config, "route", json_string(route));
    json_object_set_new(a->config, "env", env);
    json_object_set_new(a->config, "dirs", dirs);
    return name_arg(a->name);
bad:
    usage_fail("kernless deploy NAME module.wasm|app.py|handler.js|DIR --route /path "
               "[--entry FILE] [--env K=V]... "
               "[--timeout-ms N] [--max-memory-mb N] [--max-body-kb N] [--max-response-kb N] "
               "[--max-open-files N] "
               "[--dir-ro HOST::GUEST]... [--json]  |  kernless deploy -f kernless.toml "
               "[--no-build]");
err:
    json_decref(env);
    json_decref(dirs);
    return -1;
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
        print_json(d);
    if (!json_is_true(json_object_get(d, "ok"))) {
        fprintf(stderr, "kernless: deploy %s rejected (HTTP %d): %s\n", a->name,
                (int)json_integer_value(json_object_get(d, "status")),
                json_string_value(json_object_get(d, "error")) ?: "unknown error");
        return 1;
    }
    if (!a->json)
        printf("deployed %s version %d at %s (%s in %d ms)\n", a->name,
               (int)json_integer_value(json_object_get(d, "version")),
               json_string_value(json_object_get(d, "route")),
               json_is_true(json_object_get(d, "cached")) ? "cached image" : "compiled",
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

static int cmd_deploy(const struct kl_client *c, int argc, char **argv)
{
    struct deploy_args a = {0};
    int rc;

    if (argc >= 2 && (strcmp(argv[1], "-f") == 0 || strcmp(argv[1], "--file") == 0))
        return kl_mf_deploy(c, argc, argv);
    if (parse_deploy(argc, argv, &a) < 0) {
        json_decref(a.config);
        return 2;
    }
    if (a.entry != NULL && !kl_deploy_needs_lang(a.module)) {
        json_decref(a.config);
        fprintf(stderr, "kernless: deploy %s: --entry names the handler file of a source folder; "
                "%s is a module\n", a.name, a.module);
        return 2;
    }
    if (kl_deploy_needs_lang(a.module)) {
        /* Python/JavaScript: the hook's work files go to the user's cache. */
        char work[PATH_MAX];
        if (kl_default_cache_dir(work, sizeof(work) - 80) < 0)
            snprintf(work, sizeof(work), "/tmp");
        snprintf(work + strlen(work), 80, "/lang/%s", a.name);
        rc = kl_deploy_source(c, a.name, a.module, a.entry, a.config, work, 0, NULL);
    } else {
        rc = kl_client_deploy(c, a.name, a.module, a.config, 0, NULL);
    }
    json_decref(a.config);
    return rc;
}

/* ---- simple requests ---------------------------------------------------- */

static void fmt_time(json_int_t t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    localtime_r(&tt, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static int cmd_ls(const struct kl_client *c, int argc, char **argv)
{
    json_t *o, *f;
    size_t i;
    char when[32];
    int st;

    if (argc != 1)
        return usage_fail("kernless ls [--json]");
    if ((o = kl_client_call_json(c, "ls", "GET", "/v1/functions", NULL, &st)) == NULL)
        return st;
    if (c->json) {
        print_json(o);
    } else {
        printf("%-24s %-8s %-9s %-20s %s\n", "NAME", "VERSION", "VERSIONS", "UPDATED", "ROUTE");
        json_array_foreach(json_object_get(o, "functions"), i, f) {
            fmt_time(json_integer_value(json_object_get(f, "updated")), when, sizeof(when));
            printf("%-24s %-8d %-9d %-20s %s\n",
                   json_string_value(json_object_get(f, "name")),
                   (int)json_integer_value(json_object_get(f, "version")),
                   (int)json_integer_value(json_object_get(f, "versions")), when,
                   json_string_value(json_object_get(f, "route")));
        }
    }
    json_decref(o);
    return 0;
}

static void print_info(json_t *o)
{
    json_t *cfg = json_object_get(o, "config"), *v;
    size_t i;
    char when[32];

    printf("name:       %s\n", json_string_value(json_object_get(o, "name")));
    printf("version:    %d (active)\n", (int)json_integer_value(json_object_get(o, "active")));
    printf("route:      %s\n", json_string_value(json_object_get(o, "route")));
    printf("timeout:    %d ms\n", (int)json_integer_value(json_object_get(cfg, "timeout_ms")));
    printf("memory:     %d MiB max\n", (int)json_integer_value(json_object_get(cfg, "max_memory_mb")));
    printf("body:       %d KiB max\n", (int)json_integer_value(json_object_get(cfg, "max_body_kb")));
    printf("response:   %d KiB max\n", (int)json_integer_value(json_object_get(cfg, "max_response_kb")));
    printf("open files: %d max\n", (int)json_integer_value(json_object_get(cfg, "max_open_files")));
    json_array_foreach(json_object_get(cfg, "env"), i, v)
        printf("env:        %s\n", json_string_value(v));
    json_array_foreach(json_object_get(cfg, "dirs"), i, v)
        printf("dir (ro):   %s -> %s\n", json_string_value(json_object_get(v, "host")),
               json_string_value(json_object_get(v, "guest")));
    printf("versions:\n");
    json_array_foreach(json_object_get(o, "history"), i, v) {
        fmt_time(json_integer_value(json_object_get(v, "created")), when, sizeof(when));
        printf("  %c v%-4d %s  %-24s sha256:%.12s  %lld bytes\n",
               json_integer_value(json_object_get(v, "version")) ==
               json_integer_value(json_object_get(o, "active")) ? '*' : ' ',
               (int)json_integer_value(json_object_get(v, "version")), when,
               json_string_value(json_object_get(v, "route")),
               json_string_value(json_object_get(v, "sha256")),
               (long long)json_integer_value(json_object_get(v, "module_size")));
    }
}

static int cmd_info(const struct kl_client *c, int argc, char **argv)
{
    char path[128];
    json_t *o;
    int st;

    if (argc != 2)
        return usage_fail("kernless info NAME [--json]");
    if (name_arg(argv[1]) < 0)
        return 2;
    snprintf(path, sizeof(path), "/v1/functions/%s", argv[1]);
    if ((o = kl_client_call_json(c, "info", "GET", path, NULL, &st)) == NULL)
        return st;
    if (c->json)
        print_json(o);
    else
        print_info(o);
    json_decref(o);
    return 0;
}

static int cmd_rm(const struct kl_client *c, int argc, char **argv)
{
    char path[128];
    json_t *o;
    int st;

    if (argc != 2)
        return usage_fail("kernless rm NAME [--json]");
    if (name_arg(argv[1]) < 0)
        return 2;
    snprintf(path, sizeof(path), "/v1/functions/%s", argv[1]);
    if ((o = kl_client_call_json(c, "rm", "DELETE", path, NULL, &st)) == NULL)
        return st;
    if (c->json)
        print_json(o);
    else
        printf("removed %s\n", argv[1]);
    json_decref(o);
    return 0;
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

static int cmd_rollback(const struct kl_client *c, int argc, char **argv)
{
    char path[128], body[64] = "{}";
    uint32_t v;
    json_t *o;
    int st;

    if (argc != 2 && argc != 3)
        return usage_fail("kernless rollback NAME [VERSION] [--json]");
    if (name_arg(argv[1]) < 0)
        return 2;
    if (argc == 3) {
        if (kl_cli_u32("VERSION", argv[2], 1, 1000000000, &v) < 0)
            return 2;
        snprintf(body, sizeof(body), "{\"version\": %u}", v);
    }
    snprintf(path, sizeof(path), "/v1/functions/%s/rollback", argv[1]);
    if ((o = kl_client_call_json(c, "rollback", "POST", path, body, &st)) == NULL)
        return st;
    if (c->json)
        print_json(o);
    else
        printf("%s now serves version %d\n", argv[1],
               (int)json_integer_value(json_object_get(o, "version")));
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
    fmt_time(json_integer_value(json_object_get(l, "ts")) / 1000, when, sizeof(when));
    printf("%s %s%s[%s] %s\n", when, node ? node : "", node ? " " : "",
           json_string_value(json_object_get(l, "request_id")),
           json_string_value(json_object_get(l, "line")));
}

/* Print a batch of log lines; returns the next cursor. */
static long long print_logs(const struct kl_client *c, json_t *o)
{
    json_t *l;
    size_t i;

    json_array_foreach(json_object_get(o, "lines"), i, l)
        kl_client_print_log(c, l, NULL);
    fflush(stdout);
    return (long long)json_integer_value(json_object_get(o, "next"));
}

static int cmd_logs(const struct kl_client *c, int argc, char **argv)
{
    long long after = 0;
    int follow = 0, st;
    char path[200];
    json_t *o;

    if (argc == 3 && (strcmp(argv[2], "-f") == 0 || strcmp(argv[2], "--follow") == 0))
        follow = 1;
    else if (argc != 2)
        return usage_fail("kernless logs NAME [-f] [--json]");
    if (name_arg(argv[1]) < 0)
        return 2;
    /* A cluster: every live node has its own lines. */
    if ((st = kl_client_logs_cluster(c, argv[1], follow)) >= 0)
        return st;
    do {
        snprintf(path, sizeof(path), "/v1/functions/%s/logs?after=%lld&wait=%d",
                 argv[1], after, follow ? 25 : 0);
        if ((o = kl_client_call_json(c, "logs", "GET", path, NULL, &st)) == NULL)
            return st;
        after = print_logs(c, o);
        json_decref(o);
    } while (follow);
    return 0;
}

/* ---- invoke ------------------------------------------------------------ */

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
    print_json(o);
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
        return usage_fail("kernless invoke NAME [--data @file|-|TEXT] [--json]");
    }
    if (name_arg(argv[1]) < 0)
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

int kl_cmd_client(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(const struct kl_client *, int, char **);
    } cmds[] = {
        {"deploy", cmd_deploy}, {"ls", cmd_ls}, {"info", cmd_info}, {"rm", cmd_rm},
        {"logs", cmd_logs}, {"rollback", cmd_rollback}, {"invoke", cmd_invoke},
        {"nodes", kl_client_cmd_nodes}, {"haproxy-config", kl_client_cmd_haproxy},
    };
    struct kl_client c;
    size_t i;
    int rc = 2;

    if (argc < 1)
        return usage_fail("kernless deploy|ls|info|rm|logs|rollback|invoke|nodes|haproxy-config ...");
    kl_client_init(&c);
    c.json = take_json(&argc, argv);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[0], cmds[i].name) == 0)
            break;
    if (i < sizeof(cmds) / sizeof(cmds[0]))
        rc = cmds[i].fn(&c, argc, argv);
    else
        fprintf(stderr, "kernless: unknown client command '%s'\n", argv[0]);
    curl_global_cleanup();
    return rc;
}
