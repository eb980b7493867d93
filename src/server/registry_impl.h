/* registry_impl.h - what a registry backend (SQLite, PostgreSQL) provides to the shared logic in registry.c. */
#ifndef KL_SERVER_REGISTRY_IMPL_H
#define KL_SERVER_REGISTRY_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "server/registry.h"

/** Called once per result row with its columns as text (NULL for SQL NULL). */
typedef int (*kl_reg_row_fn)(void *ctx, int ncols, const char *const *cols);

/**
 * A backend: SQL execution and the few things SQL cannot say portably.
 * Every function returns 0 or -errno with a reason in err; -ENOTCONN means
 * the database cannot be reached (the caller answers 503, not 500).
 */
struct kl_reg_ops {
    const char *kind;   /* "sqlite" or "postgresql" */
    /* Run one statement; placeholders are ?1..?N, every parameter is text. */
    int (*query)(struct kl_registry *r, const char *sql, int nparams,
                 const char *const *params, kl_reg_row_fn row, void *ctx,
                 struct kl_err *err);
    /* A write transaction that serialises every writer of the registry. */
    int (*begin)(struct kl_registry *r, struct kl_err *err);
    int (*commit)(struct kl_registry *r, struct kl_err *err);
    void (*rollback)(struct kl_registry *r);
    void (*close)(struct kl_registry *r);
    /* Create the tables (but meta) if missing; kl_reg_init_common calls it
     * once the schema version is known to be one we understand. */
    int (*make_tables)(struct kl_registry *r, struct kl_err *err);
    /* Cluster backends only (NULL otherwise). Tell every node, at commit,
     * that function `name` changed. */
    int (*notify)(struct kl_registry *r, const char *name, struct kl_err *err);
    /* Content-addressed blobs (images, modules) shared by every node. */
    int (*blob_put)(struct kl_registry *r, const char *key, const void *p,
                    size_t n, const char *sha256, struct kl_err *err);
    int (*blob_get)(struct kl_registry *r, const char *key, size_t max,
                    uint8_t **p, size_t *n, char sha256[65], struct kl_err *err);
    /* Within a removal: drop the blobs of `orphans` (image names) and of
     * modules no version uses any more. */
    int (*blob_gc)(struct kl_registry *r, const struct kl_strv *orphans,
                   struct kl_err *err);
    /* Nodes: heartbeat, listing, and the change watcher. */
    json_t *(*nodes_json)(struct kl_registry *r, struct kl_err *err);
    int (*watch_start)(struct kl_registry *r, const struct kl_reg_node *self,
                       kl_reg_change_fn fn, void *ctx, struct kl_err *err);
    void (*watch_stop)(struct kl_registry *r);
};

/** The part every backend's registry struct starts with. */
struct kl_registry {
    const struct kl_reg_ops *ops;
    pthread_mutex_t lock;   /* one connection, used by one thread at a time */
};

/**
 * Shared set-up once a backend opened its database: refuse a newer schema
 * (-EPROTO), then make the tables and record the schema version.
 */
int kl_reg_init_common(struct kl_registry *r, struct kl_err *err);

/** Store the file at `path` as blob `key`, unless there; the caller holds the lock, in a write transaction. */
int kl_reg_put_file(struct kl_registry *r, const char *key, const char *path,
                    struct kl_err *err);

/** Open the PostgreSQL registry at `url` (see kl_reg_open). */
int kl_reg_open_pg(const char *url, struct kl_registry **out, struct kl_err *err);

/** Open the SQLite registry file at `path`. */
int kl_reg_open_sqlite(const char *path, struct kl_registry **out,
                       struct kl_err *err);

#endif
