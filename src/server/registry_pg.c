/* registry_pg.c - the cluster registry backend: PostgreSQL through libpq (transactions, blobs, the open); the connection in registry_pg_conn.c, nodes in registry_pg_nodes.c. */
#include "server/registry_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS functions("
    " name TEXT PRIMARY KEY, active INTEGER NOT NULL,"
    " created BIGINT NOT NULL, updated BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS versions("
    " name TEXT NOT NULL, version INTEGER NOT NULL, route TEXT NOT NULL,"
    " config TEXT NOT NULL, image TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " module_size BIGINT NOT NULL, created BIGINT NOT NULL,"
    " PRIMARY KEY(name, version));"
    "CREATE TABLE IF NOT EXISTS blobs(key TEXT PRIMARY KEY, sha256 TEXT NOT NULL,"
    " size BIGINT NOT NULL, data BYTEA NOT NULL);"
    "CREATE TABLE IF NOT EXISTS nodes(name TEXT PRIMARY KEY, address TEXT NOT NULL,"
    " isolation TEXT NOT NULL, version TEXT NOT NULL, started TIMESTAMPTZ NOT NULL,"
    " last_seen TIMESTAMPTZ NOT NULL);"
    /* Added with the admin listener; '' from a node older than it. */
    "ALTER TABLE nodes ADD COLUMN IF NOT EXISTS admin_address TEXT NOT NULL DEFAULT '';";

static int pg_exec(struct reg_pg *p, const char *sql, struct kl_err *err)
{
    PGresult *res = kl_pg_exec_retry(p, sql, 0, NULL, NULL, NULL, 0);
    int st = PQresultStatus(res), rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = kl_pg_conn_err(p->conn, err, sql);
    PQclear(res);
    return rc;
}

static int pg_begin(struct kl_registry *r, struct kl_err *err)
{
    struct reg_pg *p = pg_of(r);
    int rc;

    if ((rc = kl_pg_ensure_conn(p, err)) < 0)
        return rc;
    if ((rc = pg_exec(p, "BEGIN", err)) < 0)
        return rc;
    p->in_txn = 1;
    if ((rc = pg_exec(p, "SELECT pg_advisory_xact_lock(" WRITE_LOCK ")", err)) < 0) {
        pg_exec(p, "ROLLBACK", NULL);
        p->in_txn = 0;
    }
    return rc;
}

static int pg_commit(struct kl_registry *r, struct kl_err *err)
{
    struct reg_pg *p = pg_of(r);
    int rc = pg_exec(p, "COMMIT", err);

    p->in_txn = 0;
    return rc;
}

static void pg_rollback(struct kl_registry *r)
{
    struct reg_pg *p = pg_of(r);

    if (PQstatus(p->conn) == CONNECTION_OK)
        pg_exec(p, "ROLLBACK", NULL);
    p->in_txn = 0;
}

static int pg_notify(struct kl_registry *r, const char *name, struct kl_err *err)
{
    return kl_pg_query(r, "SELECT pg_notify('" CHANNEL "', ?1)", 1,
                    (const char *const[]){name}, NULL, NULL, err);
}

static int row_exists(void *ctx, int n, const char *const *c)
{
    *(int *)ctx = 1;
    return 0;
}

static int pg_blob_put(struct kl_registry *r, const char *key, const void *data,
                       size_t n, const char *sha256, struct kl_err *err)
{
    struct reg_pg *p = pg_of(r);
    char size[24];
    const char *vals[4] = {key, sha256, size, data};
    int lens[4] = {0, 0, 0, (int)n}, fmts[4] = {0, 0, 0, 1};
    int exists = 0, rc;
    PGresult *res;

    if (n > (size_t)1 << 30)
        return kl_errf(err, -EFBIG, "blob %s is over 1 GiB", key);
    if ((rc = kl_pg_query(r, "SELECT 1 FROM blobs WHERE key = ?1", 1,
                       (const char *const[]){key}, row_exists, &exists, err)) < 0 || exists)
        return rc;
    snprintf(size, sizeof(size), "%zu", n);
    res = kl_pg_exec_retry(p, "INSERT INTO blobs(key, sha256, size, data) VALUES"
                     "($1, $2, $3, $4) ON CONFLICT(key) DO NOTHING", 4, vals, lens, fmts, 0);
    rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : kl_pg_conn_err(p->conn, err, "store blob");
    PQclear(res);
    return rc;
}

static int pg_blob_get(struct kl_registry *r, const char *key, size_t max,
                       uint8_t **out, size_t *n, char sha256[65], struct kl_err *err)
{
    struct reg_pg *p = pg_of(r);
    const char *vals[1] = {key};
    PGresult *res;
    size_t len;
    int rc;

    if ((rc = kl_pg_ensure_conn(p, err)) < 0)
        return rc;
    /* Binary results: the bytes as they are, no hex text to decode. */
    res = kl_pg_exec_retry(p, "SELECT sha256, data FROM blobs WHERE key = $1", 1, vals,
                     NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = kl_pg_conn_err(p->conn, err, "fetch blob");
        goto out;
    }
    if (PQntuples(res) != 1) {
        rc = kl_errf(err, -ENOENT, "the registry has no blob %s", key);
        goto out;
    }
    len = (size_t)PQgetlength(res, 0, 1);
    if (len > max || PQgetlength(res, 0, 0) != 64) {
        rc = kl_errf(err, -EFBIG, "registry blob %s: %zu bytes, over %zu or malformed",
                     key, len, max);
        goto out;
    }
    memcpy(sha256, PQgetvalue(res, 0, 0), 64);
    sha256[64] = 0;
    if ((*out = malloc(len ? len : 1)) == NULL) {
        rc = kl_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*out, PQgetvalue(res, 0, 1), len);
    *n = len;
out:
    PQclear(res);
    return rc;
}

static int pg_blob_gc(struct kl_registry *r, const struct kl_strv *orphans,
                      struct kl_err *err)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < orphans->n; i++)
        rc = kl_pg_query(r, "DELETE FROM blobs WHERE key = 'image/' || ?1", 1,
                      (const char *const[]){orphans->v[i]}, NULL, NULL, err);
    if (rc == 0)
        rc = kl_pg_query(r, "DELETE FROM blobs b WHERE b.key LIKE 'module/%' AND NOT EXISTS"
                      " (SELECT 1 FROM versions v WHERE b.key = 'module/' || v.sha256 || '.wasm')",
                      0, NULL, NULL, NULL, err);
    /* Optimised images and their claims (registry_tier.c) go with their module. */
    if (rc == 0)
        rc = kl_pg_query(r, "DELETE FROM blobs b WHERE b.key LIKE 'optimised/%' AND NOT EXISTS"
                      " (SELECT 1 FROM versions v WHERE b.key LIKE 'optimised/' || v.sha256 || '/%')",
                      0, NULL, NULL, NULL, err);
    if (rc == 0)
        rc = kl_pg_query(r, "DELETE FROM meta m WHERE m.key LIKE 'optimising/%' AND NOT EXISTS"
                      " (SELECT 1 FROM versions v WHERE m.key LIKE 'optimising/' || v.sha256 || '/%')",
                      0, NULL, NULL, NULL, err);
    return rc;
}

static int pg_make_tables(struct kl_registry *r, struct kl_err *err)
{
    return pg_exec(pg_of(r), schema, err);
}

static void pg_close(struct kl_registry *r)
{
    struct reg_pg *p = pg_of(r);

    PQfinish(p->conn);
    free(p->url);
    pthread_mutex_destroy(&r->lock);
    free(p);
}

static const struct kl_reg_ops pg_ops = {
    .kind = "postgresql",
    .query = kl_pg_query,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .close = pg_close,
    .make_tables = pg_make_tables,
    .notify = pg_notify,
    .blob_put = pg_blob_put,
    .blob_get = pg_blob_get,
    .blob_gc = pg_blob_gc,
    .nodes_json = kl_pg_nodes_json,
    .watch_start = kl_pg_watch_start,
    .watch_stop = kl_pg_watch_stop,
};

int kl_reg_open_pg(const char *url, struct kl_registry **out, struct kl_err *err)
{
    struct reg_pg *p = calloc(1, sizeof(*p));
    char msg[400];
    int rc;

    if (p == NULL || (p->url = strdup(url)) == NULL) {
        free(p);
        return kl_errf(err, -ENOMEM, "out of memory");
    }
    p->base.ops = &pg_ops;
    pthread_mutex_init(&p->base.lock, NULL);
    p->conn = kl_pg_connect(url);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        kl_pg_one_line(p->conn ? PQerrorMessage(p->conn) : "out of memory", msg, sizeof(msg));
        rc = kl_errf(err, -ENOTCONN, "cannot open the registry (PostgreSQL): %s", msg);
        goto err_close;
    }
    /* Quiet "relation already exists, skipping" notices on every start. */
    PQclear(PQexec(p->conn, "SET client_min_messages = warning"));
    /* Nodes starting at once would race to create the same tables. */
    if ((rc = pg_exec(p, "SELECT pg_advisory_lock(" INIT_LOCK ")", err)) < 0)
        goto err_close;
    rc = kl_reg_init_common(&p->base, err);
    pg_exec(p, "SELECT pg_advisory_unlock(" INIT_LOCK ")", NULL);
    if (rc < 0)
        goto err_close;
    *out = &p->base;
    return 0;

err_close:
    pg_close(&p->base);
    return rc;
}
