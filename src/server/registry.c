/* registry.c - function and version rows in SQLite; every change is one transaction. */
#include "server/registry.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kl_registry {
    sqlite3 *db;
    pthread_mutex_t lock;   /* one connection, used by one thread at a time */
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    /* FULL: a deploy is acknowledged only once its row is on disk; deploys
     * are rare, so the extra fsync per commit costs nothing that matters. */
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS functions("
    " name TEXT PRIMARY KEY, active INTEGER NOT NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS versions("
    " name TEXT NOT NULL, version INTEGER NOT NULL, route TEXT NOT NULL,"
    " config TEXT NOT NULL, image TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " module_size INTEGER NOT NULL, created INTEGER NOT NULL,"
    " PRIMARY KEY(name, version));";

static int db_err(struct kl_registry *r, struct kl_err *err, const char *what)
{
    return kl_errf(err, -EIO, "registry: %s: %s", what, sqlite3_errmsg(r->db));
}

int kl_reg_open(const char *path, struct kl_registry **out, struct kl_err *err)
{
    struct kl_registry *r = calloc(1, sizeof(*r));
    char *msg = NULL;
    int rc;

    if (r == NULL)
        return kl_errf(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&r->lock, NULL);
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        rc = kl_errf(err, -EIO, "registry: open %s: %s", path,
                     r->db ? sqlite3_errmsg(r->db) : "out of memory");
        goto err_close;
    }
    sqlite3_busy_timeout(r->db, 5000);
    if (sqlite3_exec(r->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        rc = kl_errf(err, -EIO, "registry: schema: %s", msg ? msg : "?");
        sqlite3_free(msg);
        goto err_close;
    }
    *out = r;
    return 0;

err_close:
    sqlite3_close(r->db);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return rc;
}

void kl_reg_close(struct kl_registry *r)
{
    if (r == NULL)
        return;
    sqlite3_close(r->db);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static int exec(struct kl_registry *r, const char *sql, struct kl_err *err)
{
    return sqlite3_exec(r->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
           : db_err(r, err, sql);
}

/* Name of another function whose active version serves `route`, if any. */
static int route_owner(struct kl_registry *r, const char *route, const char *name,
                       char *owner, size_t len, struct kl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(r->db,
            "SELECT f.name FROM functions f JOIN versions v"
            " ON v.name = f.name AND v.version = f.active"
            " WHERE v.route = ?1 AND f.name <> ?2", -1, &st, NULL) != SQLITE_OK)
        return db_err(r, err, "prepare route check");
    sqlite3_bind_text(st, 1, route, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(owner, len, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : db_err(r, err, "route check");
    }
    sqlite3_finalize(st);
    return rc;
}

/* A single-integer query with up to two text parameters; -1 when no row. */
static int64_t query_int(struct kl_registry *r, const char *sql, const char *a,
                         const char *b)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (a)
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int insert_version(struct kl_registry *r, struct kl_reg_version *v,
                          struct kl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(r->db,
            "INSERT INTO versions(name, version, route, config, image, sha256,"
            " module_size, created) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)", -1, &st,
            NULL) != SQLITE_OK)
        return db_err(r, err, "prepare insert");
    sqlite3_bind_text(st, 1, v->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, v->version);
    sqlite3_bind_text(st, 3, v->route, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, v->config, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, v->image, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, v->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, v->module_size);
    sqlite3_bind_int64(st, 8, v->created);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(r, err, "insert version");
    sqlite3_finalize(st);
    return rc;
}

/* Point functions.active at `version`, creating the function row if new. */
static int set_active(struct kl_registry *r, const char *name, int version,
                      struct kl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(r->db,
            "INSERT INTO functions(name, active, created, updated)"
            " VALUES(?1, ?2, ?3, ?3) ON CONFLICT(name) DO UPDATE SET"
            " active = excluded.active, updated = excluded.updated", -1, &st,
            NULL) != SQLITE_OK)
        return db_err(r, err, "prepare activate");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(r, err, "activate");
    sqlite3_finalize(st);
    return rc;
}

int kl_reg_commit(struct kl_registry *r, struct kl_reg_version *v,
                  struct kl_err *err)
{
    char owner[128];
    int64_t last;
    int rc;

    pthread_mutex_lock(&r->lock);
    if ((rc = exec(r, "BEGIN IMMEDIATE", err)) < 0)
        goto out;
    rc = route_owner(r, v->route, v->name, owner, sizeof(owner), err);
    if (rc == 1)
        rc = kl_errf(err, -EEXIST, "route %s is already served by function %s",
                     v->route, owner);
    if (rc < 0)
        goto rollback;
    last = query_int(r, "SELECT MAX(version) FROM versions WHERE name = ?1", v->name, NULL);
    v->version = last < 1 ? 1 : (int)last + 1;
    v->created = (int64_t)time(NULL);
    if ((rc = insert_version(r, v, err)) < 0 ||
        (rc = set_active(r, v->name, v->version, err)) < 0)
        goto rollback;
    rc = exec(r, "COMMIT", err);
    if (rc == 0)
        goto out;
rollback:
    sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* Resolve `*version` (0 = the one before the active) and check it exists. */
static int pick_version(struct kl_registry *r, const char *name, int *version,
                        struct kl_err *err)
{
    char buf[24];
    int64_t active = query_int(r, "SELECT active FROM functions WHERE name = ?1", name, NULL);

    if (active < 0)
        return kl_errf(err, -ENOENT, "no function named %s", name);
    if (*version == 0) {
        snprintf(buf, sizeof(buf), "%lld", (long long)active);
        active = query_int(r, "SELECT MAX(version) FROM versions WHERE name = ?1"
                           " AND version < CAST(?2 AS INTEGER)", name, buf);
        if (active < 1)
            return kl_errf(err, -ENOENT, "%s has no version before the active one", name);
        *version = (int)active;
        return 0;
    }
    snprintf(buf, sizeof(buf), "%d", *version);
    if (query_int(r, "SELECT version FROM versions WHERE name = ?1 AND"
                  " version = CAST(?2 AS INTEGER)", name, buf) < 0)
        return kl_errf(err, -ENOENT, "%s has no version %d", name, *version);
    return 0;
}

int kl_reg_activate(struct kl_registry *r, const char *name, int *version,
                    struct kl_err *err)
{
    char owner[128], buf[24];
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&r->lock);
    if ((rc = exec(r, "BEGIN IMMEDIATE", err)) < 0)
        goto out;
    if ((rc = pick_version(r, name, version, err)) < 0)
        goto rollback;
    snprintf(buf, sizeof(buf), "%d", *version);
    rc = sqlite3_prepare_v2(r->db, "SELECT route FROM versions WHERE name = ?1"
                            " AND version = CAST(?2 AS INTEGER)", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = db_err(r, err, "prepare route");
        goto rollback;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, buf, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_ROW
         ? route_owner(r, (const char *)sqlite3_column_text(st, 0), name, owner,
                       sizeof(owner), err)
         : db_err(r, err, "route");
    if (rc == 1)
        rc = kl_errf(err, -EEXIST, "route %s of %s version %d is now served by "
                     "function %s", (const char *)sqlite3_column_text(st, 0),
                     name, *version, owner);
    sqlite3_finalize(st);
    if (rc < 0 || (rc = set_active(r, name, *version, err)) < 0)
        goto rollback;
    if ((rc = exec(r, "COMMIT", err)) == 0)
        goto out;
rollback:
    sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* Collect the images of `name` that no other function's version uses. */
static int collect_orphans(struct kl_registry *r, const char *name,
                           struct kl_strv *orphans, struct kl_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *img;
    int rc;

    if (sqlite3_prepare_v2(r->db,
            "SELECT DISTINCT image FROM versions WHERE name = ?1 AND image NOT IN"
            " (SELECT image FROM versions WHERE name <> ?1)", -1, &st, NULL) != SQLITE_OK)
        return db_err(r, err, "prepare orphans");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        img = (const char *)sqlite3_column_text(st, 0);
        if (img != NULL && kl_strv_addn(orphans, img, strlen(img)) < 0) {
            sqlite3_finalize(st);
            return kl_errf(err, -ENOMEM, "out of memory");
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(r, err, "orphans");
}

/* DELETE ... WHERE name = ?1. */
static int delete_rows(struct kl_registry *r, const char *sql, const char *name,
                       struct kl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(r, err, "prepare delete");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(r, err, "delete");
    sqlite3_finalize(st);
    return rc;
}

int kl_reg_remove(struct kl_registry *r, const char *name,
                  struct kl_strv *orphans, struct kl_err *err)
{
    int rc;

    pthread_mutex_lock(&r->lock);
    if ((rc = exec(r, "BEGIN IMMEDIATE", err)) < 0)
        goto out;
    if (query_int(r, "SELECT active FROM functions WHERE name = ?1", name, NULL) < 0) {
        rc = kl_errf(err, -ENOENT, "no function named %s", name);
        goto rollback;
    }
    if ((rc = collect_orphans(r, name, orphans, err)) < 0 ||
        (rc = delete_rows(r, "DELETE FROM versions WHERE name = ?1", name, err)) < 0 ||
        (rc = delete_rows(r, "DELETE FROM functions WHERE name = ?1", name, err)) < 0)
        goto rollback;
    if ((rc = exec(r, "COMMIT", err)) == 0)
        goto out;
rollback:
    sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

#define VERSION_COLS "v.name, v.version, v.route, v.config, v.image, v.sha256," \
                     " v.module_size, v.created"

/* Read the VERSION_COLS of the current row (strings point into sqlite). */
static void row_version(sqlite3_stmt *st, struct kl_reg_version *v)
{
    v->name = (char *)sqlite3_column_text(st, 0);
    v->version = sqlite3_column_int(st, 1);
    v->route = (char *)sqlite3_column_text(st, 2);
    v->config = (char *)sqlite3_column_text(st, 3);
    v->image = (char *)sqlite3_column_text(st, 4);
    v->sha256 = (char *)sqlite3_column_text(st, 5);
    v->module_size = sqlite3_column_int64(st, 6);
    v->created = sqlite3_column_int64(st, 7);
}

int kl_reg_each_active(struct kl_registry *r,
                       int (*fn)(void *ctx, const struct kl_reg_version *v),
                       void *ctx, struct kl_err *err)
{
    struct kl_reg_version v;
    sqlite3_stmt *st = NULL;
    int rc = 0, step;

    pthread_mutex_lock(&r->lock);
    if (sqlite3_prepare_v2(r->db, "SELECT " VERSION_COLS " FROM functions f JOIN"
            " versions v ON v.name = f.name AND v.version = f.active ORDER BY f.name",
            -1, &st, NULL) != SQLITE_OK) {
        rc = db_err(r, err, "prepare list");
        goto out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        row_version(st, &v);
        if ((rc = fn(ctx, &v)) < 0)
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_err(r, err, "list");
    sqlite3_finalize(st);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* The JSON form of a version row; the config is embedded as an object. */
static json_t *version_json(const struct kl_reg_version *v)
{
    json_t *cfg = json_loads(v->config, 0, NULL);

    return json_pack("{s:s,s:i,s:s,s:o,s:s,s:I,s:I}", "name", v->name,
                     "version", v->version, "route", v->route,
                     "config", cfg ? cfg : json_object(), "sha256", v->sha256,
                     "module_size", (json_int_t)v->module_size,
                     "created", (json_int_t)v->created);
}

json_t *kl_reg_list_json(struct kl_registry *r, struct kl_err *err)
{
    struct kl_reg_version v;
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array(), *o;
    int step;

    pthread_mutex_lock(&r->lock);
    if (sqlite3_prepare_v2(r->db, "SELECT " VERSION_COLS ", (SELECT COUNT(*) FROM"
            " versions w WHERE w.name = f.name), f.updated FROM functions f JOIN"
            " versions v ON v.name = f.name AND v.version = f.active ORDER BY f.name",
            -1, &st, NULL) != SQLITE_OK) {
        db_err(r, err, "prepare list");
        goto err_out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        row_version(st, &v);
        o = version_json(&v);
        json_object_set_new(o, "versions", json_integer(sqlite3_column_int(st, 8)));
        json_object_set_new(o, "updated", json_integer(sqlite3_column_int64(st, 9)));
        json_array_append_new(arr, o);
    }
    if (step != SQLITE_DONE) {
        db_err(r, err, "list");
        goto err_out;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&r->lock);
    return arr;

err_out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&r->lock);
    json_decref(arr);
    return NULL;
}

json_t *kl_reg_info_json(struct kl_registry *r, const char *name,
                         struct kl_err *err)
{
    struct kl_reg_version v;
    sqlite3_stmt *st = NULL;
    json_t *vers = json_array(), *o = NULL;
    int64_t active;
    int step;

    pthread_mutex_lock(&r->lock);
    active = query_int(r, "SELECT active FROM functions WHERE name = ?1", name, NULL);
    if (active < 0) {
        kl_errf(err, -ENOENT, "no function named %s", name);
        goto out;
    }
    if (sqlite3_prepare_v2(r->db, "SELECT " VERSION_COLS " FROM versions v WHERE"
            " v.name = ?1 ORDER BY v.version", -1, &st, NULL) != SQLITE_OK) {
        db_err(r, err, "prepare info");
        goto out;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        row_version(st, &v);
        json_array_append_new(vers, version_json(&v));
        if (v.version == active)
            o = version_json(&v);
    }
    if (step != SQLITE_DONE || o == NULL) {
        json_decref(o);
        o = NULL;
        db_err(r, err, "info");
        goto out;
    }
    json_object_set_new(o, "active", json_integer(active));
    json_object_set(o, "history", vers);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&r->lock);
    json_decref(vers);
    return o;
}

void kl_reg_version_free(struct kl_reg_version *v)
{
    free(v->name);
    free(v->route);
    free(v->config);
    free(v->image);
    free(v->sha256);
    memset(v, 0, sizeof(*v));
}
