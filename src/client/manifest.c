/* manifest.c - load kernless.toml (parsed by toml++ in toml_json.cpp) and check every key, naming its line. */
#include "client/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/client.h"
#include "client/toml_json.h"
#include "server/fnconfig.h"
#include "server/router.h"

/* What one check needs: the manifest for messages and paths, and where
 * each key was (from toml_json.cpp). */
struct mf_ctx {
    const char *path;
    const char *dir;
    json_t *where;
};

/* A function's keys: name, TOML type, required. */
static const struct {
    const char *key;
    const char *type;
    int required;
} fn_keys[] = {
    {"name", "string", 1}, {"source", "string", 1}, {"route", "string", 1},
    {"env", "table", 0}, {"timeout_ms", "integer", 0}, {"memory_mb", "integer", 0},
    {"files", "array", 0}, {"build", "string", 0}, {"watch", "array", 0},
    {"max_open_files", "integer", 0}, {"allowed_outbound_hosts", "array", 0},
    {"key_value_stores", "array", 0}, {"variables", "table", 0},
};
#define FN_KEYS_HELP "name, source, route, env, timeout_ms, memory_mb, files, build, watch, " \
                     "max_open_files, allowed_outbound_hosts, key_value_stores, variables"

/* The declared services go to the server as they are: its config parser
 * (run below) checks them and names what is wrong. */
static const char *const svc_keys[] = {"allowed_outbound_hosts", "key_value_stores", "variables"};

/* "an integer", "a string": for messages. */
static const char *article(const char *type)
{
    return strchr("aeiou", type[0]) ? "an" : "a";
}

static int line_of(const struct mf_ctx *c, const char *kpath)
{
    return (int)json_integer_value(json_array_get(json_object_get(c->where, kpath), 0));
}

static const char *type_of(const struct mf_ctx *c, const char *kpath)
{
    return json_string_value(json_array_get(json_object_get(c->where, kpath), 1)) ?: "?";
}

/* The one error line: "kernless: PATH:LINE: what". Returns -1. */
static int __attribute__((format(printf, 3, 4)))
mf_fail(const struct mf_ctx *c, const char *kpath, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    int line = kpath ? line_of(c, kpath) : 0;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        fprintf(stderr, "kernless: %s:%d: %s\n", c->path, line, msg);
    else
        fprintf(stderr, "kernless: %s: %s\n", c->path, msg);
    return -1;
}

/* Read the whole file, at most KL_MANIFEST_MAX_BYTES. */
static char *read_small(const char *path, size_t *len)
{
    struct stat st;
    char *buf = NULL;
    ssize_t n = 0, r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0)
        goto err;
    if (!S_ISREG(st.st_mode) || st.st_size > KL_MANIFEST_MAX_BYTES) {
        errno = S_ISREG(st.st_mode) ? EFBIG : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        goto err;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
        goto err;
    while (n < st.st_size && (r = read(fd, buf + n, (size_t)(st.st_size - n))) > 0)
        n += r;
    buf[n] = 0;
    *len = (size_t)n;
    close(fd);
    return buf;
err:
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

/* A path from the manifest, resolved against the manifest's folder. */
static char *resolve(const struct mf_ctx *c, const char *p)
{
    char *out = NULL;

    if (p[0] == '/')
        return strdup(p);
    if (asprintf(&out, "%s/%s", c->dir, p) < 0)
        return NULL;
    return out;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Unknown keys, missing keys and wrong types of one [[function]]. */
static int check_keys(const struct mf_ctx *c, json_t *t, const char *fp, const char *who)
{
    char kp[256];
    const char *k;
    json_t *v;
    size_t i;

    json_object_foreach(t, k, v) {
        for (i = 0; i < sizeof(fn_keys) / sizeof(fn_keys[0]); i++)
            if (strcmp(k, fn_keys[i].key) == 0)
                break;
        snprintf(kp, sizeof(kp), "%s.%s", fp, k);
        if (i == sizeof(fn_keys) / sizeof(fn_keys[0]))
            return mf_fail(c, kp, "%s: unknown key \"%s\" (known: " FN_KEYS_HELP ")", who, k);
        if (strcmp(type_of(c, kp), fn_keys[i].type) != 0)
            return mf_fail(c, kp, "%s: \"%s\" must be %s %s, not %s %s", who, k,
                           article(fn_keys[i].type), fn_keys[i].type,
                           article(type_of(c, kp)), type_of(c, kp));
    }
    for (i = 0; i < sizeof(fn_keys) / sizeof(fn_keys[0]); i++)
        if (fn_keys[i].required && json_object_get(t, fn_keys[i].key) == NULL)
            return mf_fail(c, fp, "%s: missing key \"%s\"", who, fn_keys[i].key);
    return 0;
}

/* env = { K = "V" } into the config's ["K=V", ...]. */
static int parse_env(const struct mf_ctx *c, json_t *t, const char *fp, const char *who,
                     json_t *env)
{
    char kp[512];
    const char *k;
    json_t *v;

    json_object_foreach(t, k, v) {
        snprintf(kp, sizeof(kp), "%s.env.%s", fp, k);
        if (!json_is_string(v))
            return mf_fail(c, kp, "%s: env.%s must be a string, not %s %s", who, k,
                           article(type_of(c, kp)), type_of(c, kp));
        if (k[0] == 0 || strchr(k, '=') != NULL)
            return mf_fail(c, kp, "%s: env key \"%s\" must be non-empty and have no '='", who, k);
        json_array_append_new(env, json_sprintf("%s=%s", k, json_string_value(v)));
    }
    if (json_array_size(env) > KL_FN_MAX_ENV)
        return mf_fail(c, fp, "%s: env has more than %d variables", who, KL_FN_MAX_ENV);
    return 0;
}

/* files = ["HOST::GUEST" | "HOST"]: folders the function sees read-only
 * (WASI preopens), with the same HOST::GUEST form as deploy's --dir-ro;
 * a bare HOST is mounted at /<its last component>. */
static int parse_files(const struct mf_ctx *c, json_t *a, const char *fp, const char *who,
                       json_t *dirs)
{
    char kp[256], spec[PATH_MAX * 2], why[512];
    struct stat st;
    json_t *v;
    size_t i;

    json_array_foreach(a, i, v) {
        snprintf(kp, sizeof(kp), "%s.files[%zu]", fp, i);
        if (!json_is_string(v))
            return mf_fail(c, kp, "%s: files[%zu] must be a string \"HOST::GUEST\", not %s %s",
                           who, i, article(type_of(c, kp)), type_of(c, kp));
        const char *s = json_string_value(v);
        if (strstr(s, "::") == NULL) {
            char tmp[PATH_MAX];
            snprintf(tmp, sizeof(tmp), "%s", s);
            snprintf(spec, sizeof(spec), "%s::/%s", s, basename(tmp));
        } else {
            snprintf(spec, sizeof(spec), "%s", s);
        }
        if (kl_client_dir_add(dirs, spec, c->dir, why, sizeof(why)) < 0)
            return mf_fail(c, kp, "%s: files[%zu]: %s", who, i, why);
        const char *host = json_string_value(json_object_get(json_array_get(dirs, i), "host"));
        if (stat(host, &st) < 0 || !S_ISDIR(st.st_mode))
            return mf_fail(c, kp, "%s: files[%zu]: no folder %s", who, i, host);
    }
    if (json_array_size(dirs) > KL_FN_MAX_DIRS)
        return mf_fail(c, fp, "%s: more than %d folders in files", who, KL_FN_MAX_DIRS);
    return 0;
}

/* An integer key in [1, max] into the config under `cfg_key`. */
static int parse_limit(const struct mf_ctx *c, json_t *t, const char *fp, const char *who,
                       const char *key, json_int_t max, const char *cfg_key, json_t *cfg)
{
    json_t *v = json_object_get(t, key);
    char kp[256];

    if (v == NULL)
        return 0;
    snprintf(kp, sizeof(kp), "%s.%s", fp, key);
    if (json_integer_value(v) < 1 || json_integer_value(v) > max)
        return mf_fail(c, kp, "%s: \"%s\" must be 1 to %lld, got %lld", who, key,
                       (long long)max, (long long)json_integer_value(v));
    json_object_set_new(cfg, cfg_key, json_integer(json_integer_value(v)));
    return 0;
}

/* source: a .wasm, .py or .js file, or a folder; it must exist unless a
 * build makes it. */
static int parse_source(const struct mf_ctx *c, json_t *t, const char *fp, const char *who,
                        struct kl_mf_fn *f)
{
    char kp[256];
    struct stat st;

    snprintf(kp, sizeof(kp), "%s.source", fp);
    f->source_arg = strdup(json_string_value(json_object_get(t, "source")));
    f->source = f->source_arg ? resolve(c, f->source_arg) : NULL;
    f->source_line = line_of(c, kp);
    if (f->source == NULL)
        return mf_fail(c, kp, "out of memory");
    if (stat(f->source, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (!ends_with(f->source, ".wasm") && !ends_with(f->source, ".py") &&
        !ends_with(f->source, ".js"))
        return mf_fail(c, kp, "%s: source \"%s\" must be a .wasm, .py or .js file or a folder",
                       who, f->source_arg);
    if (f->build == NULL && stat(f->source, &st) < 0)
        return mf_fail(c, kp, "%s: source \"%s\": %s (and no \"build\" makes it)", who,
                       f->source_arg, strerror(errno));
    return 0;
}

/* watch = ["path", ...]; without it, the source, and the whole project
 * folder when a build makes the source from other files. */
static int parse_watch(const struct mf_ctx *c, json_t *t, const char *fp, const char *who,
                       struct kl_mf_fn *f)
{
    json_t *a = json_object_get(t, "watch"), *v;
    char kp[256];
    size_t i;

    f->watch = calloc(json_array_size(a) + 2, sizeof(char *));
    if (f->watch == NULL)
        return mf_fail(c, fp, "out of memory");
    if (a == NULL) {
        f->watch[f->nwatch++] = strdup(f->source);
        if (f->build != NULL)
            f->watch[f->nwatch++] = strdup(c->dir);
        return 0;
    }
    json_array_foreach(a, i, v) {
        snprintf(kp, sizeof(kp), "%s.watch[%zu]", fp, i);
        if (!json_is_string(v))
            return mf_fail(c, kp, "%s: watch[%zu] must be a string, not %s %s", who, i,
                           article(type_of(c, kp)), type_of(c, kp));
        f->watch[f->nwatch++] = resolve(c, json_string_value(v));
    }
    return 0;
}

/* The route, env, limits and folders as a deploy config, checked by the
 * server's own config parser so nothing it would refuse gets through. */
static int parse_config(const struct mf_ctx *c, json_t *t, const char *fp, const char *who,
                        struct kl_mf_fn *f)
{
    json_t *env = json_array(), *dirs = json_array();
    struct kl_fn_config fc;
    char kp[256], why[512], *text;
    int rc;

    f->config = json_pack("{s:s,s:o,s:o}", "route", f->route, "env", env, "dirs", dirs);
    if (f->config == NULL)
        return mf_fail(c, fp, "out of memory");
    if (json_object_get(t, "env") && parse_env(c, json_object_get(t, "env"), fp, who, env) < 0)
        return -1;
    if (json_object_get(t, "files") &&
        parse_files(c, json_object_get(t, "files"), fp, who, dirs) < 0)
        return -1;
    if (parse_limit(c, t, fp, who, "timeout_ms", KL_FN_TIMEOUT_MAX, "timeout_ms", f->config) < 0 ||
        parse_limit(c, t, fp, who, "memory_mb", KL_FN_MEMORY_MAX, "max_memory_mb", f->config) < 0 ||
        parse_limit(c, t, fp, who, "max_open_files", KL_FN_OPEN_FILES_MAX, "max_open_files",
                    f->config) < 0)
        return -1;
    for (size_t k = 0; k < sizeof(svc_keys) / sizeof(svc_keys[0]); k++)
        if (json_object_get(t, svc_keys[k]))
            json_object_set(f->config, svc_keys[k], json_object_get(t, svc_keys[k]));
    text = json_dumps(f->config, JSON_COMPACT);
    memset(&fc, 0, sizeof(fc));
    rc = text ? kl_fn_config_parse(text, strlen(text), 0, &fc, why, sizeof(why)) : -ENOMEM;
    free(text);
    kl_fn_config_free(&fc);
    snprintf(kp, sizeof(kp), "%s", fp);
    return rc < 0 ? mf_fail(c, kp, "%s: %s", who, rc == -ENOMEM ? "out of memory" : why) : 0;
}

/* One [[function]] table. */
static int parse_fn(const struct mf_ctx *c, json_t *t, size_t idx, struct kl_mf_fn *f)
{
    char fp[64], kp[96], who[128], why[512];
    const char *name;

    snprintf(fp, sizeof(fp), "function[%zu]", idx);
    f->line = line_of(c, fp);
    /* Name the function in every message once its name can be read. */
    if (kl_fn_name_ok(json_string_value(json_object_get(t, "name"))))
        snprintf(who, sizeof(who), "function \"%s\"",
                 json_string_value(json_object_get(t, "name")));
    else
        snprintf(who, sizeof(who), "[[function]] #%zu", idx + 1);
    if (check_keys(c, t, fp, who) < 0)
        return -1;
    name = json_string_value(json_object_get(t, "name"));
    snprintf(kp, sizeof(kp), "%s.name", fp);
    if (!kl_fn_name_ok(name))
        return mf_fail(c, kp, "%s: bad \"name\" \"%s\" (1-63 of a-z 0-9 _ -)", who, name);
    snprintf(who, sizeof(who), "function \"%s\"", name);
    f->name = strdup(name);
    f->route = strdup(json_string_value(json_object_get(t, "route")));
    snprintf(kp, sizeof(kp), "%s.route", fp);
    if (f->route && kl_route_check(f->route, why, sizeof(why)) < 0)
        return mf_fail(c, kp, "%s: bad \"route\" \"%s\": %s", who, f->route, why);
    if (json_object_get(t, "build") != NULL) {
        f->build = strdup(json_string_value(json_object_get(t, "build")));
        snprintf(kp, sizeof(kp), "%s.build", fp);
        if (f->build && f->build[0] == 0)
            return mf_fail(c, kp, "%s: \"build\" is empty", who);
    }
    if (f->name == NULL || f->route == NULL)
        return mf_fail(c, fp, "out of memory");
    if (parse_source(c, t, fp, who, f) < 0 || parse_watch(c, t, fp, who, f) < 0)
        return -1;
    return parse_config(c, t, fp, who, f);
}

/* Two functions with one name or one route: the second one's line is named. */
static int check_dups(const struct mf_ctx *c, const struct kl_manifest *m)
{
    char kp[64], first[64];
    size_t i, j;

    for (i = 1; i < m->n; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(m->fns[i].name, m->fns[j].name) == 0) {
                snprintf(kp, sizeof(kp), "function[%zu].name", i);
                snprintf(first, sizeof(first), "function[%zu].name", j);
                return mf_fail(c, kp, "duplicate function name \"%s\" (also on line %d)",
                               m->fns[i].name, line_of(c, first));
            }
            if (strcmp(m->fns[i].route, m->fns[j].route) == 0) {
                snprintf(kp, sizeof(kp), "function[%zu].route", i);
                snprintf(first, sizeof(first), "function[%zu].route", j);
                return mf_fail(c, kp, "function \"%s\": duplicate route \"%s\" "
                               "(also function \"%s\" on line %d)", m->fns[i].name,
                               m->fns[i].route, m->fns[j].name, line_of(c, first));
            }
        }
    }
    return 0;
}

/* The document's top level: only an array of [[function]] tables. */
static int parse_doc(const struct mf_ctx *c, json_t *doc, struct kl_manifest *m)
{
    json_t *fns = json_object_get(doc, "function"), *t;
    const char *k;
    json_t *v;
    char kp[64];
    size_t i;

    json_object_foreach(doc, k, v)
        if (strcmp(k, "function") != 0)
            return mf_fail(c, k, "unknown key \"%s\" (a manifest holds [[function]] tables)", k);
    if (fns == NULL || json_array_size(fns) == 0) {
        if (fns != NULL && !json_is_array(fns))
            return mf_fail(c, "function", "\"function\" must be an array of tables: "
                           "write [[function]], not [function]");
        return mf_fail(c, NULL, "no [[function]] tables");
    }
    if (!json_is_array(fns))
        return mf_fail(c, "function", "\"function\" must be an array of tables: "
                       "write [[function]], not [function]");
    if (json_array_size(fns) > KL_MANIFEST_MAX_FNS)
        return mf_fail(c, NULL, "more than %d functions", KL_MANIFEST_MAX_FNS);
    if ((m->fns = calloc(json_array_size(fns), sizeof(*m->fns))) == NULL)
        return mf_fail(c, NULL, "out of memory");
    json_array_foreach(fns, i, t) {
        snprintf(kp, sizeof(kp), "function[%zu]", i);
        if (!json_is_object(t))
            return mf_fail(c, kp, "\"function\" must hold tables, not %s %s",
                           article(type_of(c, kp)), type_of(c, kp));
        m->n = i + 1;
        if (parse_fn(c, t, i, &m->fns[i]) < 0)
            return -1;
    }
    return check_dups(c, m);
}

int kl_manifest_load(const char *path, struct kl_manifest *m)
{
    struct mf_ctx c = {path, NULL, NULL};
    char why[512], *text, *copy, *real;
    json_t *parsed;
    size_t len;
    int line, col, rc;

    memset(m, 0, sizeof(*m));
    if ((text = read_small(path, &len)) == NULL) {
        fprintf(stderr, "kernless: cannot read %s: %s%s\n", path,
                errno == EFBIG ? "larger than 1 MiB" : strerror(errno),
                errno == ENOENT ? " (kernless new TEMPLATE NAME makes a project)" : "");
        return -1;
    }
    parsed = kl_toml_to_json(text, len, &line, &col, why, sizeof(why));
    free(text);
    if (parsed == NULL) {
        fprintf(stderr, "kernless: %s:%d:%d: TOML syntax error: %s\n", path, line, col, why);
        return -1;
    }
    copy = strdup(path);
    real = copy ? realpath(dirname(copy), NULL) : NULL;
    free(copy);
    m->path = strdup(path);
    m->dir = real;
    c.dir = real;
    c.where = json_object_get(parsed, "where");
    rc = real && m->path ? parse_doc(&c, json_object_get(parsed, "doc"), m)
                         : mf_fail(&c, NULL, "cannot resolve its folder: %s", strerror(errno));
    json_decref(parsed);
    if (rc < 0)
        kl_manifest_free(m);
    return rc;
}

void kl_manifest_free(struct kl_manifest *m)
{
    size_t i, j;

    for (i = 0; i < m->n; i++) {
        struct kl_mf_fn *f = &m->fns[i];
        free(f->name);
        free(f->route);
        free(f->source);
        free(f->source_arg);
        free(f->build);
        json_decref(f->config);
        for (j = 0; j < f->nwatch; j++)
            free(f->watch[j]);
        free(f->watch);
    }
    free(m->fns);
    free(m->path);
    free(m->dir);
    memset(m, 0, sizeof(*m));
}

const struct kl_mf_fn *kl_manifest_find(const struct kl_manifest *m, const char *name)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (strcmp(m->fns[i].name, name) == 0)
            return &m->fns[i];
    return NULL;
}

/* Run `cmd` with /bin/sh in `dir`, its stdout sent to our stderr so a
 * caller's stdout carries only results. Returns the wait status, or -1. */
static int run_shell(const char *dir, const char *cmd)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (chdir(dir) < 0 || dup2(2, 1) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

int kl_manifest_build(const struct kl_manifest *m, const struct kl_mf_fn *f)
{
    int status;

    if (f->build != NULL) {
        fprintf(stderr, "kernless: %s: building: %s\n", f->name, f->build);
        status = run_shell(m->dir, f->build);
        if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "kernless: %s: build failed (%s %d): %s\n", f->name,
                    status >= 0 && WIFSIGNALED(status) ? "signal" : "exit",
                    status < 0 ? -1 : WIFSIGNALED(status) ? WTERMSIG(status)
                    : WEXITSTATUS(status), f->build);
            return -1;
        }
    }
    return kl_manifest_check_source(m, f);
}

int kl_manifest_check_source(const struct kl_manifest *m, const struct kl_mf_fn *f)
{
    struct stat st;

    if (stat(f->source, &st) < 0) {
        fprintf(stderr, "kernless: %s:%d: function \"%s\": source \"%s\": %s%s\n", m->path,
                f->source_line, f->name, f->source_arg, strerror(errno),
                f->build ? " after its build" : "");
        return -1;
    }
    return 0;
}
