/* fnconfig_svc.c - validation and JSON form of a function's declared services. */
#include "server/fnconfig_svc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "host/svc_url.h"

/* A refusal: the reason in `why`, -EINVAL. */
#define fail(why, why_len, ...) kl_whyf(why, why_len, -EINVAL, __VA_ARGS__)

int kl_kv_store_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > KL_KV_STORE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* Variable and secret names: 1..64 of [a-z0-9_] (wasi:config keys), starting with a letter. */
int kl_fn_var_name_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 64 && s[0] >= 'a' && s[0] <= 'z' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int parse_outbound(json_t *a, struct kl_fn_svc *s, char *why, size_t why_len)
{
    struct kl_svc_url u;
    char r[256];
    size_t i;
    json_t *v;

    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > KL_FN_MAX_OUTBOUND)
        return fail(why, why_len, "allowed_outbound_hosts must be an array of at most %d URLs",
                    KL_FN_MAX_OUTBOUND);
    json_array_foreach(a, i, v) {
        const char *e = json_string_value(v);
        if (!e || strlen(e) != json_string_length(v))
            return fail(why, why_len, "allowed_outbound_hosts entry %zu is not a string", i + 1);
        if (kl_svc_allow_parse(e, &u, r, sizeof(r)) < 0)
            return fail(why, why_len, "allowed_outbound_hosts: %s", r);
        if (kl_strv_addn(&s->outbound, e, strlen(e)) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int parse_stores(json_t *a, struct kl_fn_svc *s, char *why, size_t why_len)
{
    size_t i;
    json_t *v;

    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > KL_FN_MAX_STORES)
        return fail(why, why_len, "key_value_stores must be an array of at most %d names",
                    KL_FN_MAX_STORES);
    json_array_foreach(a, i, v) {
        const char *e = json_string_value(v);
        if (!e || strlen(e) != json_string_length(v) || !kl_kv_store_name_ok(e))
            return fail(why, why_len, "key_value_stores entry %zu is not a store name "
                        "(1 to 64 of A-Za-z0-9_-)", i + 1);
        if (kl_strv_addn(&s->stores, e, strlen(e)) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int parse_var(const char *name, json_t *v, struct kl_fn_var *out, char *why, size_t why_len)
{
    json_t *sec = json_is_object(v) ? json_object_get(v, "secret") : NULL;
    const char *val = sec ? json_string_value(sec) : json_string_value(v);

    if (!kl_fn_var_name_ok(name))
        return fail(why, why_len, "variable %.64s: names are 1 to 64 of a-z0-9_", name);
    if (!val || (json_is_object(v) && json_object_size(v) != 1) ||
        strlen(val) != json_string_length(sec ? sec : v) || strlen(val) > 65536)
        return fail(why, why_len, "variable %s must be a string or {\"secret\": \"NAME\"}", name);
    if (sec && !kl_fn_var_name_ok(val))
        return fail(why, why_len, "variable %s: secret names are 1 to 64 of a-z0-9_", name);
    out->secret = sec != NULL;
    out->name = strdup(name);
    out->value = strdup(val);
    return out->name && out->value ? 0 : -ENOMEM;
}

static int parse_vars(json_t *o, struct kl_fn_svc *s, char *why, size_t why_len)
{
    const char *k;
    json_t *v;
    int rc;

    if (!o)
        return 0;
    if (!json_is_object(o) || json_object_size(o) > KL_FN_MAX_VARS)
        return fail(why, why_len, "variables must be an object of at most %d entries",
                    KL_FN_MAX_VARS);
    if (!(s->vars = calloc(json_object_size(o) + 1, sizeof(*s->vars))))
        return -ENOMEM;
    json_object_foreach(o, k, v) {
        if ((rc = parse_var(k, v, &s->vars[s->nvars], why, why_len)) < 0)
            return rc;
        s->nvars++;
    }
    return 0;
}

int kl_fn_svc_parse(json_t *o, struct kl_fn_svc *s, char *why, size_t why_len)
{
    int rc;

    memset(s, 0, sizeof(*s));
    if ((rc = parse_outbound(json_object_get(o, "allowed_outbound_hosts"), s, why, why_len)) < 0 ||
        (rc = parse_stores(json_object_get(o, "key_value_stores"), s, why, why_len)) < 0 ||
        (rc = parse_vars(json_object_get(o, "variables"), s, why, why_len)) < 0)
        kl_fn_svc_free(s);
    return rc;
}

int kl_fn_svc_dump(json_t *o, const struct kl_fn_svc *s)
{
    json_t *out = json_array(), *st = json_array(), *vars = json_object();
    size_t i;

    if (!out || !st || !vars) {
        json_decref(out);
        json_decref(st);
        json_decref(vars);
        return -ENOMEM;
    }
    for (i = 0; i < s->outbound.n; i++)
        json_array_append_new(out, json_string(s->outbound.v[i]));
    for (i = 0; i < s->stores.n; i++)
        json_array_append_new(st, json_string(s->stores.v[i]));
    for (i = 0; i < s->nvars; i++)
        json_object_set_new(vars, s->vars[i].name,
                            s->vars[i].secret ? json_pack("{s:s}", "secret", s->vars[i].value)
                                              : json_string(s->vars[i].value));
    json_object_set_new(o, "allowed_outbound_hosts", out);
    json_object_set_new(o, "key_value_stores", st);
    json_object_set_new(o, "variables", vars);
    return 0;
}

void kl_fn_svc_free(struct kl_fn_svc *s)
{
    kl_strv_free(&s->outbound);
    kl_strv_free(&s->stores);
    for (size_t i = 0; i < s->nvars; i++) {
        free(s->vars[i].name);
        free(s->vars[i].value);
    }
    free(s->vars);
    s->vars = NULL;
    s->nvars = 0;
}
