/* wagi_env.c - a bounded builder of WAGI argv/environment from untrusted request data. */
#include "server/wagi_env.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char *why, size_t why_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t why_len, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return code;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long kl_url_decode(const char *s, size_t n, char *out, int plus_space)
{
    size_t i, o = 0;
    int hi, lo;

    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            hi = i + 1 < n ? hexval(s[i + 1]) : -1;
            lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -EINVAL;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+' && plus_space) {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    return (long)o;
}

size_t kl_target_path_len(const char *target)
{
    return strcspn(target, "?#");
}

/* Set NAME=value in the CGI list, replacing nothing: callers set each once. */
static int put(struct kl_strv *cgi, const char *name, const char *value)
{
    return kl_strv_addf(cgi, "%s=%s", name, value ? value : "");
}

/* Same, for a value that is not NUL-terminated. */
static int putn(struct kl_strv *cgi, const char *name, const char *v, size_t n)
{
    return kl_strv_addf(cgi, "%s=%.*s", name, (int)n, v);
}

/* Index of the entry named `name` (n bytes) in a "K=V" list, or -1. */
static long find_var(const struct kl_strv *sv, const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        if (strncmp(sv->v[i], name, n) == 0 && sv->v[i][n] == '=')
            return (long)i;
    return -1;
}

/* "HTTP_" + the header name upper-cased with '-' as '_'. Names with other
 * characters (notably '_', which would alias a '-' name) are skipped. */
static int header_var(const char *name, char *out, size_t out_len)
{
    size_t i, n = strlen(name);

    if (n == 0 || n + 6 > out_len)
        return -1;
    memcpy(out, "HTTP_", 5);
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (c == '-')
            c = '_';
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return -1;
        out[5 + i] = c;
    }
    out[5 + n] = 0;
    return 0;
}

/* Add HTTP_* for every header; a repeated header joins its earlier value. */
static int put_headers(const struct kl_wagi_req *q, struct kl_strv *cgi)
{
    char var[300], *joined;
    const char *sep;
    size_t i;
    long at;

    for (i = 0; i < q->nheaders; i++) {
        if (header_var(q->headers[i].name, var, sizeof(var)) < 0 ||
            strcmp(var, "HTTP_CONTENT_TYPE") == 0 ||
            strcmp(var, "HTTP_CONTENT_LENGTH") == 0)
            continue;
        at = find_var(cgi, var, strlen(var));
        if (at < 0) {
            if (put(cgi, var, q->headers[i].value) < 0)
                return -ENOMEM;
            continue;
        }
        sep = strcmp(var, "HTTP_COOKIE") == 0 ? "; " : ", ";
        if (asprintf(&joined, "%s%s%s", cgi->v[at], sep, q->headers[i].value) < 0)
            return -ENOMEM;
        free(cgi->v[at]);
        cgi->v[at] = joined;
    }
    return 0;
}

/* The value of the first header called `name` (case-insensitive), or NULL. */
static const char *header(const struct kl_wagi_req *q, const char *name)
{
    size_t i;

    for (i = 0; i < q->nheaders; i++)
        if (strcasecmp(q->headers[i].name, name) == 0)
            return q->headers[i].value;
    return NULL;
}

/* A Host header we are willing to echo back: no spaces, controls or slashes. */
static int host_ok(const char *h)
{
    size_t i;

    if (h == NULL || h[0] == 0 || strlen(h) > 255)
        return 0;
    for (i = 0; h[i]; i++)
        if ((unsigned char)h[i] <= 0x20 || h[i] == 0x7f || strchr("/\\?#@", h[i]))
            return 0;
    return 1;
}

/* SERVER_NAME / SERVER_PORT: from a sane Host header, else the listener. */
static int put_server(const struct kl_wagi_req *q, struct kl_strv *cgi)
{
    const char *h = header(q, "Host"), *colon;
    int rc;

    if (!host_ok(h)) {
        rc = put(cgi, "SERVER_NAME", q->listen_host);
        return rc < 0 ? rc : put(cgi, "SERVER_PORT", q->listen_port);
    }
    colon = strrchr(h, ':');
    if (colon != NULL && strchr(colon, ']') != NULL)
        colon = NULL;  /* "[::1]" without a port */
    if (colon == NULL) {
        rc = put(cgi, "SERVER_NAME", h);
        return rc < 0 ? rc : put(cgi, "SERVER_PORT", "80");
    }
    rc = putn(cgi, "SERVER_NAME", h, (size_t)(colon - h));
    return rc < 0 ? rc : put(cgi, "SERVER_PORT", colon + 1);
}

/* SCRIPT_NAME, PATH_INFO, X_RAW_PATH_INFO, X_MATCHED_ROUTE from the route. */
static int put_paths(const struct kl_wagi_req *q, struct kl_strv *cgi,
                     size_t path_len, char *why, size_t why_len)
{
    size_t rlen = strlen(q->route), base = rlen;
    const char *raw_info = "";
    size_t info_len = 0;
    char *dec;
    long n;
    int rc;

    if (rlen >= 4 && strcmp(q->route + rlen - 4, "/...") == 0) {
        base = rlen - 4;
        raw_info = q->target;       /* the router should never allow this */
        info_len = path_len;
        if (path_len >= base && strncmp(q->target, q->route, base) == 0) {
            raw_info = q->target + base;
            info_len = path_len - base;
        }
    }
    dec = malloc(info_len + 1);
    if (dec == NULL)
        return -ENOMEM;
    n = kl_url_decode(raw_info, info_len, dec, 0);
    if (n < 0) {
        free(dec);
        return fail(why, why_len, -EINVAL, "malformed percent-encoding in the path");
    }
    if ((rc = putn(cgi, "SCRIPT_NAME", q->route, base)) < 0 ||
        (rc = put(cgi, "PATH_INFO", dec)) < 0 ||
        (rc = put(cgi, "PATH_TRANSLATED", dec)) < 0 ||
        (rc = putn(cgi, "X_RAW_PATH_INFO", raw_info, info_len)) < 0 ||
        (rc = put(cgi, "X_MATCHED_ROUTE", q->route)) < 0) {
        free(dec);
        return rc;
    }
    free(dec);
    return 0;
}

/* The fixed CGI variables that do not depend on the path. */
static int put_fixed(const struct kl_wagi_req *q, struct kl_strv *cgi,
                     const char *query)
{
    const char *ct = header(q, "Content-Type");
    const char *h = header(q, "Host");
    char len[32];
    int rc;

    snprintf(len, sizeof(len), "%zu", q->content_length);
    if ((rc = put(cgi, "REQUEST_METHOD", q->method)) < 0 ||
        (rc = put(cgi, "QUERY_STRING", query)) < 0 ||
        (rc = put(cgi, "SERVER_PROTOCOL", q->protocol)) < 0 ||
        (rc = put(cgi, "SERVER_SOFTWARE", "Kernless/1")) < 0 ||
        (rc = put(cgi, "GATEWAY_INTERFACE", "CGI/1.1")) < 0 ||
        (rc = put(cgi, "REMOTE_ADDR", q->remote_addr)) < 0 ||
        (rc = put(cgi, "REMOTE_HOST", q->remote_addr)) < 0 ||
        (rc = put(cgi, "REMOTE_USER", "")) < 0 ||
        (rc = put(cgi, "AUTH_TYPE", "")) < 0 ||
        (rc = put(cgi, "CONTENT_TYPE", ct)) < 0 ||
        (rc = put(cgi, "CONTENT_LENGTH", len)) < 0 ||
        (rc = put(cgi, "X_REQUEST_ID", q->request_id)) < 0)
        return rc;
    if (host_ok(h))
        return kl_strv_addf(cgi, "X_FULL_URL=http://%s%s", h, q->target);
    return kl_strv_addf(cgi, "X_FULL_URL=http://%s:%s%s", q->listen_host,
                        q->listen_port, q->target);
}

/* argv: the raw path, then every non-empty '&' item of the query, decoded
 * ('+' is space); an item with a broken escape is passed as it came. */
static int build_argv(const char *target, size_t path_len, const char *query,
                      struct kl_strv *argv)
{
    const char *p = query, *amp;
    size_t n;
    char *dec;
    int rc;

    if ((rc = kl_strv_addn(argv, target, path_len)) < 0)
        return rc;
    while (*p != 0) {
        amp = strchr(p, '&');
        n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > 0) {
            if (argv->n > KL_WAGI_MAX_ARGS)
                return -E2BIG;
            dec = malloc(n + 1);
            if (dec == NULL)
                return -ENOMEM;
            if (kl_url_decode(p, n, dec, 1) < 0)
                rc = kl_strv_addn(argv, p, n);
            else
                rc = kl_strv_addn(argv, dec, strlen(dec));
            free(dec);
            if (rc < 0)
                return rc;
        }
        p += n + (amp ? 1 : 0);
    }
    return 0;
}

/* The function's own values first, minus any name the CGI list sets. */
static int merge_env(const struct kl_wagi_req *q, struct kl_strv *cgi,
                     struct kl_strv *env)
{
    const char *eq;
    size_t i;
    int rc;

    for (i = 0; i < q->fn_envc; i++) {
        eq = strchr(q->fn_env[i], '=');
        if (eq == NULL || find_var(cgi, q->fn_env[i], (size_t)(eq - q->fn_env[i])) >= 0)
            continue;
        if ((rc = kl_strv_addn(env, q->fn_env[i], strlen(q->fn_env[i]))) < 0)
            return rc;
    }
    for (i = 0; i < cgi->n; i++)
        if ((rc = kl_strv_addn(env, cgi->v[i], strlen(cgi->v[i]))) < 0)
            return rc;
    return 0;
}

int kl_wagi_build(const struct kl_wagi_req *q, struct kl_strv *env,
                  struct kl_strv *argv, char *why, size_t why_len)
{
    struct kl_strv cgi = {0};
    size_t path_len;
    const char *query;
    char *qcopy = NULL;
    int rc;

    memset(env, 0, sizeof(*env));
    memset(argv, 0, sizeof(*argv));
    if (q->target[0] != '/')
        return fail(why, why_len, -EINVAL, "request target must start with '/'");
    if (q->nheaders > KL_WAGI_MAX_HEADERS)
        return fail(why, why_len, -E2BIG, "more than %d request headers",
                    KL_WAGI_MAX_HEADERS);
    path_len = kl_target_path_len(q->target);
    query = q->target[path_len] == '?' ? q->target + path_len + 1 : "";
    qcopy = strndup(query, strcspn(query, "#"));
    if (qcopy == NULL)
        return -ENOMEM;
    if ((rc = put_paths(q, &cgi, path_len, why, why_len)) < 0 ||
        (rc = put_fixed(q, &cgi, qcopy)) < 0 ||
        (rc = put_server(q, &cgi)) < 0 || (rc = put_headers(q, &cgi)) < 0)
        goto err_free;
    if ((rc = build_argv(q->target, path_len, qcopy, argv)) < 0) {
        if (rc == -E2BIG)
            fail(why, why_len, rc, "more than %d query items", KL_WAGI_MAX_ARGS);
        goto err_free;
    }
    if ((rc = merge_env(q, &cgi, env)) < 0)
        goto err_free;
    kl_strv_free(&cgi);
    free(qcopy);
    return 0;

err_free:
    if (rc == -ENOMEM)
        fail(why, why_len, rc, "out of memory");
    kl_strv_free(&cgi);
    kl_strv_free(env);
    kl_strv_free(argv);
    free(qcopy);
    return rc;
}
