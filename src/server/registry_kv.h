/* registry_kv.h - key-value stores and encrypted secrets kept in the registry's database (SQLite or PostgreSQL). */
#ifndef KL_SERVER_REGISTRY_KV_H
#define KL_SERVER_REGISTRY_KV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/buf.h"
#include "server/fnconfig_svc.h"
#include "server/registry.h"

#define KL_KV_QUOTA_DEFAULT (64ull << 20)   /* bytes of keys and values per store */

/** Create the kv and secrets tables if missing (both backends). */
int kl_reg_kv_init(struct kl_registry *r, struct kl_err *err);

/** Get: 0 and a malloc'd *val, or -ENOENT. */
int kl_reg_kv_get(struct kl_registry *r, const char *store, const uint8_t *key, size_t klen,
                  uint8_t **val, size_t *vlen, struct kl_err *err);

/** Set atomically; -EDQUOT when the store would pass `quota` bytes. */
int kl_reg_kv_set(struct kl_registry *r, const char *store, const uint8_t *key, size_t klen,
                  const uint8_t *val, size_t vlen, uint64_t quota, struct kl_err *err);

/** Delete (a missing key is not an error). */
int kl_reg_kv_delete(struct kl_registry *r, const char *store, const uint8_t *key, size_t klen,
                     struct kl_err *err);

/** 1 if the key exists, 0 if not, or -errno. */
int kl_reg_kv_exists(struct kl_registry *r, const char *store, const uint8_t *key, size_t klen,
                     struct kl_err *err);

/** Append the keys starting with `prefix`, each followed by a NUL, in key order. */
int kl_reg_kv_keys(struct kl_registry *r, const char *store, const uint8_t *prefix, size_t plen,
                   struct kl_buf *out, struct kl_err *err);

/** {"stores":[{"name","keys","bytes"}]}. */
json_t *kl_reg_kv_stores_json(struct kl_registry *r, struct kl_err *err);

/** Secrets: the value is stored as given (already sealed, see secrets.h). */
int kl_reg_secret_put(struct kl_registry *r, const char *name, const char *sealed,
                      struct kl_err *err);
/** The sealed text of a secret (malloc'd), or -ENOENT. */
int kl_reg_secret_get(struct kl_registry *r, const char *name, char **sealed, struct kl_err *err);
/** -ENOENT when there is none. */
int kl_reg_secret_rm(struct kl_registry *r, const char *name, struct kl_err *err);
/** {"secrets":[{"name","updated"}]}: names only, never a value. */
json_t *kl_reg_secret_list_json(struct kl_registry *r, struct kl_err *err);

#endif
