/* registry_sqlite.c - the single-node registry backend: one SQLite file (WAL), one connection. */
#include "server/registry_impl.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>

struct reg_sqlite {
    struct kl_registry base;
    sqlite3 *db;
};

static const char pragmas[] =
    "PRAGMA journal_mode=WAL;"
    /* FULL: a deploy is acknowledged only once its row is on disk; deploys
     * are rare, so the extra fsync per commit costs nothing that matters. */
    "PRAGMA synchronous=FULL;";

static const char tables[] =
    "CREATE TABLE IF NOT EXISTS functions("
    " name TEXT PRIMARY KEY, active INTEGER NOT NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS versions("
    " name TEXT NOT NULL, version INTEGER NOT NULL, route TEXT NOT NULL,"
    " config TEXT NOT NULL, image TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " module_size INTEGER NOT NULL, created INTEGER NOT NULL,"
    " PRIMARY KEY(name, version));";

static sqlite3 *db_of(struct kl_registry *r)
{
    return ((struct reg_sqlite *)r)->db;
}

static int db_err(struct kl_registry *r, struct kl_err *err, const char *what)
{
    return kl_errf(err, -EIO, "registry: %s: %s", what, sqlite3_errmsg(db_of(r)));
}

static int sq_query(struct kl_registry *r, const char *sql, int nparams,
                    const char *const *params, kl_reg_row_fn row, void *ctx,
                    struct kl_err *err)
{
    const char *cols[16];
    sqlite3_stmt *st = NULL;
    int i, n, step, rc = 0;

    if (sqlite3_prepare_v2(db_of(r), sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(r, err, "prepare");
    for (i = 0; i < nparams; i++)
        sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
    n = sqlite3_column_count(st);
    if (n > 16)
        n = 16;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        for (i = 0; i < n; i++)
            cols[i] = (const char *)sqlite3_column_text(st, i);
        if (row != NULL && (rc = row(ctx, n, cols)) < 0)
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_err(r, err, "query");
    sqlite3_finalize(st);
    return rc;
}

static int sq_exec(struct kl_registry *r, const char *sql, struct kl_err *err)
{
    return sqlite3_exec(db_of(r), sql, NULL, NULL, NULL) == SQLITE_OK ? 0
           : db_err(r, err, sql);
}

static int sq_begin(struct kl_registry *r, struct kl_err *err)
{
    return sq_exec(r, "BEGIN IMMEDIATE", err);
}

static int sq_commit(struct kl_registry *r, struct kl_err *err)
{
    return sq_exec(r, "COMMIT", err);
}

static void sq_rollback(struct kl_registry *r)
{
    sqlite3_exec(db_of(r), "ROLLBACK", NULL, NULL, NULL);
}

static int sq_make_tables(struct kl_registry *r, struct kl_err *err)
{
    return sq_exec(r, tables, err);
}

static void sq_close(struct kl_registry *r)
{
    sqlite3_close(db_of(r));
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static const struct kl_reg_ops sqlite_ops = {
    .kind = "sqlite",
    .query = sq_query,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .close = sq_close,
    .make_tables = sq_make_tables,
};

int kl_reg_open_sqlite(const char *path, struct kl_registry **out,
                       struct kl_err *err)
{
    struct reg_sqlite *s = calloc(1, sizeof(*s));
    char *msg = NULL;
    int rc;

    if (s == NULL)
        return kl_errf(err, -ENOMEM, "out of memory");
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->base.lock, NULL);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        rc = kl_errf(err, -EIO, "registry: open %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto err_close;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        rc = kl_errf(err, -EIO, "registry: %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        goto err_close;
    }
    if ((rc = kl_reg_init_common(&s->base, err)) < 0)
        goto err_close;
    *out = &s->base;
    return 0;

err_close:
    sq_close(&s->base);
    return rc;
}
