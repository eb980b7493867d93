/* fnconfig.c - validation and JSON (jansson) encoding of function settings. */
#include "server/fnconfig.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"

/* A refusal: the reason in `why`, -EINVAL. */
#define fail(why, why_len, ...) kl_whyf(why, why_len, -EINVAL, __VA_ARGS__)

int kl_fn_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > KL_FN_NAME_MAX || name[0] == '-' || name[0] == '_')
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* "K=V" with K a portable environment name. */
static int env_ok(const char *kv)
{
    size_t k = strcspn(kv, "=");

    if (k == 0 || kv[k] != '=' || (kv[0] >= '0' && kv[0] <= '9'))
        return 0;
    return strspn(kv, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789_") == k;
}

static int parse_env(json_t *env, struct kl_fn_config *c, char *why, size_t why_len)
{
    size_t i, total = 0;
    json_t *v;

    if (env == NULL)
        return 0;
    if (!json_is_array(env) || json_array_size(env) > KL_FN_MAX_ENV)
        return fail(why, why_len, "env must be an array of at most %d \"K=V\" strings",
                    KL_FN_MAX_ENV);
    json_array_foreach(env, i, v) {
        if (!json_is_string(v) || !env_ok(json_string_value(v)) ||
            strlen(json_string_value(v)) != json_string_length(v))
            return fail(why, why_len, "env entry %zu is not NAME=value", i + 1);
        total += json_string_length(v);
        if (total > 65536)
            return fail(why, why_len, "env larger than 64 KiB");
        if (kl_strv_addn(&c->env, json_string_value(v), json_string_length(v)) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* A folder entry: absolute host path (existing when check_dirs), absolute guest path. */
static int parse_dir(json_t *d, size_t i, int check_dirs, struct kl_fn_config *c,
                     char *why, size_t why_len)
{
    const char *host = json_string_value(json_object_get(d, "host"));
    const char *guest = json_string_value(json_object_get(d, "guest"));
    struct stat st;

    if (host == NULL || guest == NULL || host[0] != '/' || guest[0] != '/' ||
        strlen(host) > 1024 || strlen(guest) > 1024 || strstr(guest, "::"))
        return fail(why, why_len, "dir %zu needs absolute \"host\" and \"guest\" paths", i + 1);
    if (check_dirs && (stat(host, &st) < 0 || !S_ISDIR(st.st_mode)))
        return fail(why, why_len, "dir %zu: %s is not a folder on the server", i + 1, host);
    c->dirs[i].host = strdup(host);
    c->dirs[i].guest = strdup(guest);
    if (c->dirs[i].host == NULL || c->dirs[i].guest == NULL)
        return -ENOMEM;
    c->ndirs = i + 1;
    return 0;
}

static int parse_dirs(json_t *dirs, int check_dirs, struct kl_fn_config *c,
                      char *why, size_t why_len)
{
    size_t i;
    json_t *d;
    int rc;

    if (dirs == NULL)
        return 0;
    if (!json_is_array(dirs) || json_array_size(dirs) > KL_FN_MAX_DIRS)
        return fail(why, why_len, "dirs must be an array of at most %d folders",
                    KL_FN_MAX_DIRS);
    c->dirs = calloc(json_array_size(dirs) + 1, sizeof(*c->dirs));
    if (c->dirs == NULL)
        return -ENOMEM;
    json_array_foreach(dirs, i, d)
        if ((rc = parse_dir(d, i, check_dirs, c, why, why_len)) < 0)
            return rc;
    return 0;
}

/* An optional integer in [1, max], default `def`. */
static int parse_limit(json_t *o, const char *key, uint32_t def, uint32_t max,
                       uint32_t *out, char *why, size_t why_len)
{
    json_t *v = json_object_get(o, key);

    *out = def;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > (json_int_t)max)
        return fail(why, why_len, "%s must be an integer from 1 to %u", key, max);
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

int kl_fn_config_parse(const char *json, size_t len, int check_dirs,
                       struct kl_fn_config *c, char *why, size_t why_len)
{
    json_error_t jerr;
    const char *route;
    json_t *o;
    int rc;

    memset(c, 0, sizeof(*c));
    o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return fail(why, why_len, "config is not a JSON object: %s", jerr.text);
    }
    route = json_string_value(json_object_get(o, "route"));
    if (route == NULL) {
        rc = fail(why, why_len, "config needs a \"route\"");
        goto out;
    }
    if ((rc = kl_route_check(route, why, why_len)) < 0)
        goto out;
    snprintf(c->route, sizeof(c->route), "%s", route);
    if ((rc = parse_limit(o, "timeout_ms", KL_FN_TIMEOUT_DEFAULT, KL_FN_TIMEOUT_MAX,
                          &c->timeout_ms, why, why_len)) < 0 ||
        (rc = parse_limit(o, "max_memory_mb", KL_FN_MEMORY_DEFAULT, KL_FN_MEMORY_MAX,
                          &c->max_memory_mb, why, why_len)) < 0 ||
        (rc = parse_limit(o, "max_body_kb", KL_FN_BODY_DEFAULT, KL_FN_BODY_MAX,
                          &c->max_body_kb, why, why_len)) < 0 ||
        (rc = parse_limit(o, "max_response_kb", KL_FN_RESPONSE_DEFAULT, KL_FN_RESPONSE_MAX,
                          &c->max_response_kb, why, why_len)) < 0 ||
        (rc = parse_limit(o, "max_open_files", KL_FN_OPEN_FILES_DEFAULT, KL_FN_OPEN_FILES_MAX,
                          &c->max_open_files, why, why_len)) < 0 ||
        (rc = parse_env(json_object_get(o, "env"), c, why, why_len)) < 0 ||
        (rc = parse_dirs(json_object_get(o, "dirs"), check_dirs, c, why, why_len)) < 0 ||
        (rc = kl_fn_svc_parse(o, &c->svc, why, why_len)) < 0)
        goto out;
out:
    json_decref(o);
    if (rc < 0)
        kl_fn_config_free(c);
    return rc;
}

char *kl_fn_config_dump(const struct kl_fn_config *c)
{
    json_t *o = json_object(), *env = json_array(), *dirs = json_array();
    char *s = NULL;
    size_t i;

    if (o == NULL || env == NULL || dirs == NULL)
        goto out;
    for (i = 0; i < c->env.n; i++)
        json_array_append_new(env, json_string(c->env.v[i]));
    for (i = 0; i < c->ndirs; i++)
        json_array_append_new(dirs, json_pack("{s:s,s:s}", "host", c->dirs[i].host,
                                              "guest", c->dirs[i].guest));
    json_object_set_new(o, "route", json_string(c->route));
    json_object_set(o, "env", env);
    json_object_set_new(o, "timeout_ms", json_integer(c->timeout_ms));
    json_object_set_new(o, "max_memory_mb", json_integer(c->max_memory_mb));
    json_object_set_new(o, "max_body_kb", json_integer(c->max_body_kb));
    json_object_set_new(o, "max_response_kb", json_integer(c->max_response_kb));
    json_object_set_new(o, "max_open_files", json_integer(c->max_open_files));
    json_object_set(o, "dirs", dirs);
    if (kl_fn_svc_dump(o, &c->svc) < 0)
        goto out;
    s = json_dumps(o, JSON_COMPACT);
out:
    json_decref(env);
    json_decref(dirs);
    json_decref(o);
    return s;
}

void kl_fn_config_free(struct kl_fn_config *c)
{
    size_t i;

    kl_strv_free(&c->env);
    for (i = 0; c->dirs != NULL && i < c->ndirs; i++) {
        free(c->dirs[i].host);
        free(c->dirs[i].guest);
    }
    free(c->dirs);
    c->dirs = NULL;
    c->ndirs = 0;
    kl_fn_svc_free(&c->svc);
}
