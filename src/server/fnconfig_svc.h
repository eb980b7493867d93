/* fnconfig_svc.h - the services a function version declares: outbound hosts, key-value stores, variables. */
#ifndef KL_SERVER_FNCONFIG_SVC_H
#define KL_SERVER_FNCONFIG_SVC_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"

#define KL_FN_MAX_OUTBOUND 64
#define KL_FN_MAX_STORES 16
#define KL_FN_MAX_VARS 64

/** A variable: a plain value, or the name of a secret (resolved per request). */
struct kl_fn_var {
    char *name;
    char *value;     /* the value, or the secret's name when `secret` */
    int secret;
};

/** What a version declared; nothing is allowed that is not here. */
struct kl_fn_svc {
    struct kl_strv outbound;     /* "scheme://host[:port|:*]" */
    struct kl_strv stores;
    struct kl_fn_var *vars;
    size_t nvars;
};

#define KL_KV_STORE_MAX 64     /* bytes in a store name */

/** Store names: 1..64 of [A-Za-z0-9_-]. */
int kl_kv_store_name_ok(const char *s);

/** Variable and secret names: 1..64 of [a-z0-9_], starting with a letter. */
int kl_fn_var_name_ok(const char *s);

/**
 * Parse "allowed_outbound_hosts", "key_value_stores" and "variables"
 * ({"name": "value" | {"secret": "NAME"}}) of config object `o`. Returns 0
 * or -EINVAL with the reason in why, -ENOMEM.
 */
int kl_fn_svc_parse(json_t *o, struct kl_fn_svc *s, char *why, size_t why_len);

/** Add the same keys to `o` (secrets by name only). */
int kl_fn_svc_dump(json_t *o, const struct kl_fn_svc *s);

void kl_fn_svc_free(struct kl_fn_svc *s);

#endif
