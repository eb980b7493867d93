/* registry.c - function and version rows, backend-neutral: every change is one transaction of portable SQL. */
#include "server/registry_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "server/datadir.h"
#include "server/router.h"

/* The SQL below is the one dialect SQLite and PostgreSQL share: ?N
 * placeholders (the PostgreSQL backend turns them into $N), every parameter
 * passed as text and converted by the column it meets, and upserts. */

void kl_reg_close(struct kl_registry *r)
{
    if (r == NULL)
        return;
    if (r->ops->watch_stop != NULL)
        r->ops->watch_stop(r);
    r->ops->close(r);
}

int kl_reg_is_shared(const struct kl_registry *r)
{
    return r->ops->notify != NULL;
}

static int q(struct kl_registry *r, const char *sql, int n, const char *const *p,
             kl_reg_row_fn row, void *ctx, struct kl_err *err)
{
    return r->ops->query(r, sql, n, p, row, ctx, err);
}

/* Row callback: keep the first column of the first row as an integer. */
static int row_int(void *ctx, int n, const char *const *c)
{
    int64_t *v = ctx;

    if (*v == -1 && n > 0 && c[0] != NULL)
        *v = strtoll(c[0], NULL, 10);
    return 0;
}

/* Row callback: keep the first column of the first row as text. */
struct text_out {
    char *buf;
    size_t len;
    int found;
};

static int row_text(void *ctx, int n, const char *const *c)
{
    struct text_out *t = ctx;

    if (!t->found && n > 0 && c[0] != NULL) {
        snprintf(t->buf, t->len, "%s", c[0]);
        t->found = 1;
    }
    return 0;
}

/* A single-integer query with up to two text parameters; -1 when no row
 * (or NULL); an error is returned as a negative errno below -1. */
static int64_t query_int(struct kl_registry *r, const char *sql, const char *a,
                         const char *b, struct kl_err *err)
{
    const char *p[2] = {a, b};
    int64_t v = -1;
    int rc = q(r, sql, b ? 2 : a ? 1 : 0, p, row_int, &v, err);

    return rc < 0 ? rc - 1 : v;
}

int kl_reg_init_common(struct kl_registry *r, struct kl_err *err)
{
    char ver[24];
    int64_t v;
    int rc;

    /* The version is checked before anything else is created, so a newer
     * registry is refused untouched. */
    if ((rc = q(r, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY,"
                " value TEXT NOT NULL)", 0, NULL, NULL, NULL, err)) < 0)
        return rc;
    v = query_int(r, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'",
                  NULL, NULL, err);
    if (v < -1)
        return (int)(v + 1);
    if (v > KL_REG_SCHEMA_VERSION)
        return kl_errf(err, -EPROTO, "registry schema version %lld is newer than this "
                       "kernless understands (%d): upgrade kernless", (long long)v,
                       KL_REG_SCHEMA_VERSION);
    if ((rc = r->ops->make_tables(r, err)) < 0)
        return rc;
    snprintf(ver, sizeof(ver), "%d", KL_REG_SCHEMA_VERSION);
    return q(r, "INSERT INTO meta(key, value) VALUES('schema_version', ?1)"
             " ON CONFLICT(key) DO NOTHING", 1, (const char *const[]){ver}, NULL, NULL, err);
}

/* Name of another function whose active version serves `route`: 1 when
 * there is one (in owner), 0 when none, or -errno. */
static int route_owner(struct kl_registry *r, const char *route, const char *name,
                       char *owner, size_t len, struct kl_err *err)
{
    struct text_out t = {owner, len, 0};
    int rc = q(r, "SELECT f.name FROM functions f JOIN versions v"
               " ON v.name = f.name AND v.version = f.active"
               " WHERE v.route = ?1 AND f.name <> ?2", 2,
               (const char *const[]){route, name}, row_text, &t, err);

    return rc < 0 ? rc : t.found;
}

static int insert_version(struct kl_registry *r, const struct kl_reg_version *v,
                          struct kl_err *err)
{
    char ver[24], size[24], created[24];

    snprintf(ver, sizeof(ver), "%d", v->version);
    snprintf(size, sizeof(size), "%lld", (long long)v->module_size);
    snprintf(created, sizeof(created), "%lld", (long long)v->created);
    return q(r, "INSERT INTO versions(name, version, route, config, image, sha256,"
             " module_size, created) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)", 8,
             (const char *const[]){v->name, ver, v->route, v->config, v->image,
                                   v->sha256, size, created}, NULL, NULL, err);
}

/* Point functions.active at `version`, creating the function row if new. */
static int set_active(struct kl_registry *r, const char *name, int version,
                      struct kl_err *err)
{
    char ver[24], now[24];

    snprintf(ver, sizeof(ver), "%d", version);
    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    return q(r, "INSERT INTO functions(name, active, created, updated)"
             " VALUES(?1, ?2, ?3, ?3) ON CONFLICT(name) DO UPDATE SET"
             " active = excluded.active, updated = excluded.updated", 3,
             (const char *const[]){name, ver, now}, NULL, NULL, err);
}

/* Commit the write transaction, telling the other nodes about `name`
 * first (a notification is delivered only if the commit succeeds). */
static int finish_write(struct kl_registry *r, const char *name, struct kl_err *err)
{
    int rc = 0;

    if (r->ops->notify != NULL)
        rc = r->ops->notify(r, name, err);
    return rc < 0 ? rc : r->ops->commit(r, err);
}

int kl_reg_put_file(struct kl_registry *r, const char *key, const char *path,
                    struct kl_err *err)
{
    uint8_t *data = NULL, md[32];
    char sha[65];
    size_t n = 0;
    int rc;

    if ((rc = kl_read_file(path, (size_t)1 << 30, &data, &n, err)) < 0)
        return rc;
    kl_sha256(data, n, md);
    kl_hex(md, sizeof(md), sha);
    rc = r->ops->blob_put(r, key, data, n, sha, err);
    free(data);
    return rc;
}

int kl_reg_commit(struct kl_registry *r, struct kl_reg_version *v,
                  const struct kl_reg_blob *blobs, size_t n, struct kl_err *err)
{
    char owner[128];
    int64_t last;
    size_t i;
    int rc;

    pthread_mutex_lock(&r->lock);
    if ((rc = r->ops->begin(r, err)) < 0)
        goto out;
    for (i = 0; r->ops->blob_put != NULL && i < n; i++)
        if ((rc = kl_reg_put_file(r, blobs[i].key, blobs[i].path, err)) < 0)
            goto rollback;
    rc = route_owner(r, v->route, v->name, owner, sizeof(owner), err);
    if (rc == 1)
        rc = kl_errf(err, -EEXIST, "route %s is already served by function %s",
                     v->route, owner);
    if (rc < 0)
        goto rollback;
    last = query_int(r, "SELECT MAX(version) FROM versions WHERE name = ?1", v->name,
                     NULL, err);
    if (last < -1) {
        rc = (int)(last + 1);
        goto rollback;
    }
    v->version = last < 1 ? 1 : (int)last + 1;
    v->created = (int64_t)time(NULL);
    if ((rc = insert_version(r, v, err)) < 0 ||
        (rc = set_active(r, v->name, v->version, err)) < 0)
        goto rollback;
    if ((rc = finish_write(r, v->name, err)) == 0)
        goto out;
rollback:
    r->ops->rollback(r);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* Resolve `*version` (0 = the one before the active) and check it exists. */
static int pick_version(struct kl_registry *r, const char *name, int *version,
                        struct kl_err *err)
{
    char buf[24];
    int64_t active = query_int(r, "SELECT active FROM functions WHERE name = ?1", name,
                               NULL, err);

    if (active < -1)
        return (int)(active + 1);
    if (active < 0)
        return kl_errf(err, -ENOENT, "no function named %s", name);
    if (*version == 0) {
        snprintf(buf, sizeof(buf), "%lld", (long long)active);
        active = query_int(r, "SELECT MAX(version) FROM versions WHERE name = ?1"
                           " AND version < CAST(?2 AS INTEGER)", name, buf, err);
        if (active < -1)
            return (int)(active + 1);
        if (active < 1)
            return kl_errf(err, -ENOENT, "%s has no version before the active one", name);
        *version = (int)active;
        return 0;
    }
    snprintf(buf, sizeof(buf), "%d", *version);
    active = query_int(r, "SELECT version FROM versions WHERE name = ?1 AND"
                       " version = CAST(?2 AS INTEGER)", name, buf, err);
    if (active < -1)
        return (int)(active + 1);
    if (active < 0)
        return kl_errf(err, -ENOENT, "%s has no version %d", name, *version);
    return 0;
}

int kl_reg_activate(struct kl_registry *r, const char *name, int *version,
                    struct kl_err *err)
{
    char owner[128], buf[24], route[KL_ROUTE_MAX + 1];
    struct text_out t = {route, sizeof(route), 0};
    int rc;

    pthread_mutex_lock(&r->lock);
    if ((rc = r->ops->begin(r, err)) < 0)
        goto out;
    if ((rc = pick_version(r, name, version, err)) < 0)
        goto rollback;
    snprintf(buf, sizeof(buf), "%d", *version);
    if ((rc = q(r, "SELECT route FROM versions WHERE name = ?1 AND version ="
                " CAST(?2 AS INTEGER)", 2, (const char *const[]){name, buf},
                row_text, &t, err)) < 0)
        goto rollback;
    rc = route_owner(r, route, name, owner, sizeof(owner), err);
    if (rc == 1)
        rc = kl_errf(err, -EEXIST, "route %s of %s version %d is now served by "
                     "function %s", route, name, *version, owner);
    if (rc < 0 || (rc = set_active(r, name, *version, err)) < 0)
        goto rollback;
    if ((rc = finish_write(r, name, err)) == 0)
        goto out;
rollback:
    r->ops->rollback(r);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

static int row_orphan(void *ctx, int n, const char *const *c)
{
    struct kl_strv *orphans = ctx;

    if (n > 0 && c[0] != NULL && kl_strv_addn(orphans, c[0], strlen(c[0])) < 0)
        return -ENOMEM;
    return 0;
}

int kl_reg_remove(struct kl_registry *r, const char *name,
                  struct kl_strv *orphans, struct kl_err *err)
{
    const char *p[1] = {name};
    int64_t active;
    int rc;

    pthread_mutex_lock(&r->lock);
    if ((rc = r->ops->begin(r, err)) < 0)
        goto out;
    active = query_int(r, "SELECT active FROM functions WHERE name = ?1", name, NULL, err);
    if (active < -1) {
        rc = (int)(active + 1);
        goto rollback;
    }
    if (active < 0) {
        rc = kl_errf(err, -ENOENT, "no function named %s", name);
        goto rollback;
    }
    /* The images of `name` that no other function's version uses. */
    if ((rc = q(r, "SELECT DISTINCT image FROM versions WHERE name = ?1 AND image NOT IN"
                " (SELECT image FROM versions WHERE name <> ?1)", 1, p, row_orphan,
                orphans, err)) < 0 ||
        (rc = q(r, "DELETE FROM versions WHERE name = ?1", 1, p, NULL, NULL, err)) < 0 ||
        (rc = q(r, "DELETE FROM functions WHERE name = ?1", 1, p, NULL, NULL, err)) < 0 ||
        (r->ops->blob_gc != NULL && (rc = r->ops->blob_gc(r, orphans, err)) < 0))
        goto rollback;
    if ((rc = finish_write(r, name, err)) == 0)
        goto out;
rollback:
    r->ops->rollback(r);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

#define VERSION_COLS "v.name, v.version, v.route, v.config, v.image, v.sha256," \
                     " v.module_size, v.created"

/* Read the VERSION_COLS of a row (strings point into the row). */
static void row_version(const char *const *c, struct kl_reg_version *v)
{
    v->name = (char *)(c[0] ? c[0] : "");
    v->version = c[1] ? atoi(c[1]) : 0;
    v->route = (char *)(c[2] ? c[2] : "");
    v->config = (char *)(c[3] ? c[3] : "{}");
    v->image = (char *)(c[4] ? c[4] : "");
    v->sha256 = (char *)(c[5] ? c[5] : "");
    v->module_size = c[6] ? strtoll(c[6], NULL, 10) : 0;
    v->created = c[7] ? strtoll(c[7], NULL, 10) : 0;
}

/* Copies of the active versions, so callbacks run without the lock held
 * (loading an image may fetch it from the registry). */
struct version_list {
    struct kl_reg_version *v;
    size_t n, alloc;
};

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static int row_copy(void *ctx, int n, const char *const *c)
{
    struct version_list *l = ctx;
    struct kl_reg_version v, *nv;

    if (n < 8)
        return -EIO;
    if (l->n == l->alloc) {
        size_t na = l->alloc ? l->alloc * 2 : 16;
        if ((nv = realloc(l->v, na * sizeof(*nv))) == NULL)
            return -ENOMEM;
        l->v = nv;
        l->alloc = na;
    }
    row_version(c, &v);
    nv = &l->v[l->n];
    *nv = v;
    nv->name = dup_or_empty(v.name);
    nv->route = dup_or_empty(v.route);
    nv->config = dup_or_empty(v.config);
    nv->image = dup_or_empty(v.image);
    nv->sha256 = dup_or_empty(v.sha256);
    l->n++;
    if (!nv->name || !nv->route || !nv->config || !nv->image || !nv->sha256)
        return -ENOMEM;
    return 0;
}

int kl_reg_each_active(struct kl_registry *r,
                       int (*fn)(void *ctx, const struct kl_reg_version *v),
                       void *ctx, struct kl_err *err)
{
    struct version_list l = {0};
    size_t i;
    int rc;

    pthread_mutex_lock(&r->lock);
    rc = q(r, "SELECT " VERSION_COLS " FROM functions f JOIN versions v ON"
           " v.name = f.name AND v.version = f.active ORDER BY f.name", 0, NULL,
           row_copy, &l, err);
    pthread_mutex_unlock(&r->lock);
    if (rc < 0 && err != NULL && err->msg[0] == 0)
        kl_errf(err, rc, "registry: cannot read the active versions");
    for (i = 0; rc == 0 && i < l.n; i++)
        rc = fn(ctx, &l.v[i]);
    for (i = 0; i < l.n; i++)
        kl_reg_version_free(&l.v[i]);
    free(l.v);
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

static int row_list(void *ctx, int n, const char *const *c)
{
    struct kl_reg_version v;
    json_t *o;

    if (n < 10)
        return -EIO;
    row_version(c, &v);
    o = version_json(&v);
    json_object_set_new(o, "versions", json_integer(c[8] ? strtoll(c[8], NULL, 10) : 0));
    json_object_set_new(o, "updated", json_integer(c[9] ? strtoll(c[9], NULL, 10) : 0));
    return json_array_append_new(ctx, o) == 0 ? 0 : -ENOMEM;
}

json_t *kl_reg_list_json(struct kl_registry *r, struct kl_err *err)
{
    json_t *arr = json_array();
    int rc;

    pthread_mutex_lock(&r->lock);
    rc = q(r, "SELECT " VERSION_COLS ", (SELECT COUNT(*) FROM versions w WHERE"
           " w.name = f.name), f.updated FROM functions f JOIN versions v ON"
           " v.name = f.name AND v.version = f.active ORDER BY f.name", 0, NULL,
           row_list, arr, err);
    pthread_mutex_unlock(&r->lock);
    if (rc < 0) {
        /* A row callback's failure carries no message of its own. */
        if (err != NULL && err->msg[0] == 0)
            kl_errf(err, rc, "registry: cannot list the functions");
        json_decref(arr);
        return NULL;
    }
    return arr;
}

struct info {
    json_t *history;
    json_t *active_o;
    int64_t active;
};

static int row_info(void *ctx, int n, const char *const *c)
{
    struct info *in = ctx;
    struct kl_reg_version v;

    if (n < 8)
        return -EIO;
    row_version(c, &v);
    json_array_append_new(in->history, version_json(&v));
    if (v.version == in->active && in->active_o == NULL)
        in->active_o = version_json(&v);
    return 0;
}

json_t *kl_reg_info_json(struct kl_registry *r, const char *name,
                         struct kl_err *err)
{
    struct info in = {json_array(), NULL, -1};
    int rc;

    pthread_mutex_lock(&r->lock);
    in.active = query_int(r, "SELECT active FROM functions WHERE name = ?1", name, NULL, err);
    if (in.active == -1) {
        kl_errf(err, -ENOENT, "no function named %s", name);
        goto out;
    }
    if (in.active < -1)
        goto out;
    rc = q(r, "SELECT " VERSION_COLS " FROM versions v WHERE v.name = ?1 ORDER BY"
           " v.version", 1, (const char *const[]){name}, row_info, &in, err);
    if (rc == 0 && in.active_o == NULL)
        kl_errf(err, -EIO, "registry: %s has no active version row", name);
    else if (rc < 0 && err != NULL && err->msg[0] == 0)
        kl_errf(err, rc, "registry: cannot read %s", name);
    if (rc < 0 || in.active_o == NULL) {
        json_decref(in.active_o);
        in.active_o = NULL;
        goto out;
    }
    json_object_set_new(in.active_o, "active", json_integer(in.active));
    json_object_set(in.active_o, "history", in.history);
out:
    pthread_mutex_unlock(&r->lock);
    json_decref(in.history);
    return in.active_o;
}

int kl_reg_token_share(struct kl_registry *r, char *tok, size_t len,
                       struct kl_err *err)
{
    struct text_out t = {tok, len, 0};
    int rc;

    pthread_mutex_lock(&r->lock);
    rc = q(r, "INSERT INTO meta(key, value) VALUES('admin_token', ?1)"
           " ON CONFLICT(key) DO NOTHING", 1, (const char *const[]){tok}, NULL, NULL, err);
    if (rc == 0)
        rc = q(r, "SELECT value FROM meta WHERE key = 'admin_token'", 0, NULL,
               row_text, &t, err);
    pthread_mutex_unlock(&r->lock);
    if (rc == 0 && (!t.found || strlen(tok) != KL_TOKEN_HEX))
        rc = kl_errf(err, -EIO, "registry: the stored admin token is malformed");
    return rc;
}

int kl_reg_blob_fetch(struct kl_registry *r, const char *key, const char *path,
                      size_t max, struct kl_err *err)
{
    uint8_t *data = NULL, md[32];
    char want[65] = "", got[65];
    size_t n = 0;
    int rc;

    if (r->ops->blob_get == NULL)
        return kl_errf(err, -ENOTSUP, "no shared registry to fetch %s from", key);
    pthread_mutex_lock(&r->lock);
    rc = r->ops->blob_get(r, key, max, &data, &n, want, err);
    pthread_mutex_unlock(&r->lock);
    if (rc < 0)
        return rc;
    kl_sha256(data, n, md);
    kl_hex(md, sizeof(md), got);
    if (strcmp(want, got) != 0)
        rc = kl_errf(err, -EBADMSG, "registry blob %s: SHA-256 %s, recorded %s", key,
                     got, want);
    else
        rc = kl_write_file_atomic(path, data, n, 0600, err);
    free(data);
    return rc;
}

int kl_reg_watch_start(struct kl_registry *r, const struct kl_reg_node *self,
                       kl_reg_change_fn fn, void *ctx, struct kl_err *err)
{
    if (r->ops->watch_start == NULL)
        return kl_errf(err, -ENOTSUP, "no shared registry to watch");
    return r->ops->watch_start(r, self, fn, ctx, err);
}

json_t *kl_reg_nodes_json(struct kl_registry *r, struct kl_err *err)
{
    json_t *o;

    if (r->ops->nodes_json == NULL) {
        kl_errf(err, -ENOTSUP, "no shared registry");
        return NULL;
    }
    pthread_mutex_lock(&r->lock);
    o = r->ops->nodes_json(r, err);
    pthread_mutex_unlock(&r->lock);
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
