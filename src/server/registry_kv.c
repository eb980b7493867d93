/* registry_kv.c - key-value stores and secrets in the registry database, one SQL for SQLite and PostgreSQL. */
#include "server/registry_kv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "server/registry_impl.h"

/*
 * Keys and values are stored as lower-case hex text: every parameter of the
 * backend interface is text, PostgreSQL refuses text that is not UTF-8, and
 * a hex prefix of a key is the hex of a byte prefix, so keys(prefix) and
 * the key order work on the hex as on the bytes.
 */

int kl_reg_kv_init(struct kl_registry *r, struct kl_err *err)
{
    int rc;

    pthread_mutex_lock(&r->lock);
    rc = r->ops->query(r, "CREATE TABLE IF NOT EXISTS kv (store TEXT NOT NULL, key TEXT NOT NULL,"
                       " value TEXT NOT NULL, PRIMARY KEY (store, key))", 0, NULL, NULL, NULL, err);
    if (rc == 0)
        rc = r->ops->query(r, "CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY,"
                           " sealed TEXT NOT NULL, updated BIGINT NOT NULL)", 0, NULL, NULL, NULL,
                           err);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

static char *hex_of(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);

    if (s)
        kl_hex(p, n, s);
    return s;
}

static int unhex(const char *s, uint8_t **out, size_t *n)
{
    size_t len = strlen(s);
    uint8_t *p = malloc(len / 2 + 1);

    if (!p)
        return -ENOMEM;
    for (size_t i = 0; i + 1 < len; i += 2) {
        char b[3] = {s[i], s[i + 1], 0};
        p[i / 2] = (uint8_t)strtoul(b, NULL, 16);
    }
    *out = p;
    *n = len / 2;
    return 0;
}

/* Row callback: keep the first column of the first row (strdup'd). */
static int row_first(void *ctx, int n, const char *const *c)
{
    char **v = ctx;

    if (*v == NULL && n > 0 && c[0] != NULL && !(*v = strdup(c[0])))
        return -ENOMEM;
    return 0;
}

/* Run one statement under the registry's lock. */
static int q1(struct kl_registry *r, const char *sql, int n, const char *const *p,
              kl_reg_row_fn row, void *ctx, struct kl_err *err)
{
    int rc;

    pthread_mutex_lock(&r->lock);
    rc = r->ops->query(r, sql, n, p, row, ctx, err);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int kl_reg_kv_get(struct kl_registry *r, const char *store, const uint8_t *key, size_t klen,
                  uint8_t **val, size_t *vlen, struct kl_err *err)
{
    char *hk = hex_of(key, klen), *v = NULL;
    const char *p[2] = {store, hk};
    int rc;

    if (!hk)
        return -ENOMEM;
    rc = q1(r, "SELECT value FROM kv WHERE store = ?1 AND key = ?2", 2, p, row_first, &v, err);
    free(hk);
    if (rc == 0)
        rc = v ? unhex(v, val, vlen) : -ENOENT;
    free(v);
    return rc;
}

/* Bytes the store would hold with key `hk` set to a value of `vlen` bytes. */
static int store_bytes_after(struct kl_registry *r, const char *store, const char *hk,
                             size_t vlen, uint64_t *total, struct kl_err *err)
{
    const char *p[2] = {store, hk};
    char *v = NULL;
    int rc = r->ops->query(r, "SELECT COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) / 2 FROM kv"
                           " WHERE store = ?1 AND key <> ?2", 2, p, row_first, &v, err);

    *total = (v ? strtoull(v, NULL, 10) : 0) + strlen(hk) / 2 + vlen;
    free(v);
    return rc;
}

int kl_reg_kv_set(struct kl_registry *r, const char *store, const uint8_t *key, size_t klen,
                  const uint8_t *val, size_t vlen, uint64_t quota, struct kl_err *err)
{
    char *hk = hex_of(key, klen), *hv = hex_of(val ? val : (const uint8_t *)"", vlen);
    const char *p[3] = {store, hk, hv};
    uint64_t total = 0;
    int rc;

    if (!hk || !hv) {
        rc = -ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&r->lock);
    /* One transaction: the quota check and the write see the same store. */
    if ((rc = r->ops->begin(r, err)) == 0) {
        rc = store_bytes_after(r, store, hk, vlen, &total, err);
        if (rc == 0 && total > quota)
            rc = kl_errf(err, -EDQUOT, "store %s would hold %llu bytes, over its quota of %llu",
                         store, (unsigned long long)total, (unsigned long long)quota);
        if (rc == 0)
            rc = r->ops->query(r, "INSERT INTO kv (store, key, value) VALUES (?1, ?2, ?3)"
                               " ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                               3, p, NULL, NULL, err);
        if (rc == 0)
            rc = r->ops->commit(r, err);
        else
            r->ops->rollback(r);
    }
    pthread_mutex_unlock(&r->lock);
out:
    free(hk);
    free(hv);
    return rc;
}

int kl_reg_kv_delete(struct kl_registry *r, const char *store, const uint8_t *key, size_t klen,
                     struct kl_err *err)
{
    char *hk = hex_of(key, klen);
    const char *p[2] = {store, hk};
    int rc;

    if (!hk)
        return -ENOMEM;
    rc = q1(r, "DELETE FROM kv WHERE store = ?1 AND key = ?2", 2, p, NULL, NULL, err);
    free(hk);
    return rc;
}

int kl_reg_kv_exists(struct kl_registry *r, const char *store, const uint8_t *key, size_t klen,
                     struct kl_err *err)
{
    char *hk = hex_of(key, klen), *v = NULL;
    const char *p[2] = {store, hk};
    int rc;

    if (!hk)
        return -ENOMEM;
    rc = q1(r, "SELECT 1 FROM kv WHERE store = ?1 AND key = ?2", 2, p, row_first, &v, err);
    free(hk);
    free(v);
    return rc < 0 ? rc : v != NULL;
}

/* Row callback: append one key's bytes and a NUL. */
static int row_key(void *ctx, int n, const char *const *c)
{
    uint8_t *k;
    size_t kn;
    int rc;

    if (n < 1 || !c[0])
        return 0;
    if ((rc = unhex(c[0], &k, &kn)) < 0)
        return rc;
    rc = kl_buf_append(ctx, k, kn);
    if (rc == 0)
        rc = kl_buf_append(ctx, "", 1);
    free(k);
    return rc;
}

int kl_reg_kv_keys(struct kl_registry *r, const char *store, const uint8_t *prefix, size_t plen,
                   struct kl_buf *out, struct kl_err *err)
{
    char *hp = hex_of(prefix ? prefix : (const uint8_t *)"", plen);
    const char *p[2] = {store, hp};
    int rc;

    if (!hp)
        return -ENOMEM;
    rc = q1(r, "SELECT key FROM kv WHERE store = ?1 AND SUBSTR(key, 1, LENGTH(?2)) = ?2"
            " ORDER BY key", 2, p, row_key, out, err);
    free(hp);
    return rc;
}

static int row_store(void *ctx, int n, const char *const *c)
{
    if (n < 3 || !c[0])
        return 0;
    return json_array_append_new(ctx, json_pack("{s:s,s:I,s:I}", "name", c[0],
                                                "keys", (json_int_t)strtoll(c[1], NULL, 10),
                                                "bytes", (json_int_t)strtoll(c[2], NULL, 10)));
}

json_t *kl_reg_kv_stores_json(struct kl_registry *r, struct kl_err *err)
{
    json_t *a = json_array();

    if (!a || q1(r, "SELECT store, COUNT(*), SUM(LENGTH(key) + LENGTH(value)) / 2 FROM kv"
                 " GROUP BY store ORDER BY store", 0, NULL, row_store, a, err) < 0) {
        json_decref(a);
        return NULL;
    }
    return json_pack("{s:o}", "stores", a);
}

int kl_reg_secret_put(struct kl_registry *r, const char *name, const char *sealed,
                      struct kl_err *err)
{
    char now[32];
    const char *p[3] = {name, sealed, now};

    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    return q1(r, "INSERT INTO secrets (name, sealed, updated) VALUES (?1, ?2, ?3) ON CONFLICT"
              " (name) DO UPDATE SET sealed = excluded.sealed, updated = excluded.updated",
              3, p, NULL, NULL, err);
}

int kl_reg_secret_get(struct kl_registry *r, const char *name, char **sealed, struct kl_err *err)
{
    const char *p[1] = {name};
    char *v = NULL;
    int rc = q1(r, "SELECT sealed FROM secrets WHERE name = ?1", 1, p, row_first, &v, err);

    if (rc == 0 && !v)
        rc = -ENOENT;
    *sealed = v;
    return rc;
}

int kl_reg_secret_rm(struct kl_registry *r, const char *name, struct kl_err *err)
{
    const char *p[1] = {name};
    char *v = NULL;
    int rc = q1(r, "SELECT 1 FROM secrets WHERE name = ?1", 1, p, row_first, &v, err);

    if (rc == 0 && !v)
        return -ENOENT;
    free(v);
    return rc < 0 ? rc : q1(r, "DELETE FROM secrets WHERE name = ?1", 1, p, NULL, NULL, err);
}

static int row_secret(void *ctx, int n, const char *const *c)
{
    if (n < 2 || !c[0])
        return 0;
    return json_array_append_new(ctx, json_pack("{s:s,s:I}", "name", c[0], "updated",
                                                (json_int_t)strtoll(c[1], NULL, 10)));
}

json_t *kl_reg_secret_list_json(struct kl_registry *r, struct kl_err *err)
{
    json_t *a = json_array();

    if (!a || q1(r, "SELECT name, updated FROM secrets ORDER BY name", 0, NULL, row_secret, a,
                 err) < 0) {
        json_decref(a);
        return NULL;
    }
    return json_pack("{s:o}", "secrets", a);
}
