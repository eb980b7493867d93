/* registry.h - the registry of functions and their versions (the source of truth across restarts and nodes). */
#ifndef KL_SERVER_REGISTRY_H
#define KL_SERVER_REGISTRY_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "common/buf.h"

struct kl_registry;

/** One version as stored. Strings are owned; see kl_reg_version_free. */
struct kl_reg_version {
    char *name;
    int version;
    char *route;
    char *config;     /* JSON text, see fnconfig.h */
    char *image;      /* image file name under <data>/images, or absolute path */
    char *sha256;     /* of the module, names <data>/modules/<sha256>.wasm */
    int64_t module_size;
    int64_t created;  /* unix seconds */
};

/** The registry's schema version; a database newer than this is refused. */
#define KL_REG_SCHEMA_VERSION 1

/** One node of a cluster, as it registers itself. */
struct kl_reg_node {
    char name[128];
    char address[280];     /* HOST:PORT its functions are reached at (HAProxy) */
    char admin_address[280];   /* HOST:PORT of its management API (the CLI) */
    char isolation[16];
    char version[32];
};

/**
 * Called by the watcher when function `name` changed through any node, or
 * with NULL when anything may have changed (after a reconnect).
 */
typedef void (*kl_reg_change_fn)(void *ctx, const char *name);

/**
 * Open the registry, the one entry for every backend: with `url` (a
 * postgresql:// URI or a libpq conninfo string) the PostgreSQL registry a
 * cluster shares, else the SQLite file of a single node at `path` (WAL
 * mode), created if needed. Creates the tables if needed; refuses a schema
 * newer than KL_REG_SCHEMA_VERSION (-EPROTO) and an unreachable database
 * (-ENOTCONN), each with one line in err.
 */
int kl_reg_open(const char *url, const char *path, struct kl_registry **out,
                struct kl_err *err);

/** Close the database (stopping the watcher first). */
void kl_reg_close(struct kl_registry *r);

/** Is this registry shared by several nodes (PostgreSQL)? */
int kl_reg_is_shared(const struct kl_registry *r);

/** A file to store in a shared registry as blob `key` (see kl_reg_commit). */
struct kl_reg_blob {
    const char *key;
    const char *path;
};

/**
 * Add a new version of `v->name` and make it the active one, in one
 * transaction; v->version is set. -EEXIST (reason in err) when another
 * function's active version already serves the same route. With a shared
 * registry the `n` blobs (the image and module the version needs) are
 * stored in the same transaction, unless there already (their keys are
 * content addresses), so no node ever sees a version whose image is not
 * there; without one they are ignored.
 */
int kl_reg_commit(struct kl_registry *r, struct kl_reg_version *v,
                  const struct kl_reg_blob *blobs, size_t n, struct kl_err *err);

/**
 * Make `version` active again (0: the highest version below the active
 * one). *version is set to the one activated. -ENOENT, -EEXIST (route taken).
 */
int kl_reg_activate(struct kl_registry *r, const char *name, int *version,
                    struct kl_err *err);

/**
 * Delete a function and its versions; `orphans` gets image names no longer
 * used. A shared registry drops their blobs (and modules no version uses)
 * in the same transaction. -ENOENT.
 */
int kl_reg_remove(struct kl_registry *r, const char *name,
                  struct kl_strv *orphans, struct kl_err *err);

/** Call `fn` for the active version of every function. */
int kl_reg_each_active(struct kl_registry *r,
                       int (*fn)(void *ctx, const struct kl_reg_version *v),
                       void *ctx, struct kl_err *err);

/** JSON array of functions with their active version. */
json_t *kl_reg_list_json(struct kl_registry *r, struct kl_err *err);

/** JSON object of one function with all its versions; -ENOENT in err->code. */
json_t *kl_reg_info_json(struct kl_registry *r, const char *name,
                         struct kl_err *err);

/**
 * Share one admin token across the cluster: the first node's token is
 * stored; `tok` (KL_TOKEN_HEX + 1 bytes) is replaced by the stored one.
 */
int kl_reg_token_share(struct kl_registry *r, char *tok, size_t len,
                       struct kl_err *err);

/**
 * Fetch blob `key` into `path` (write-then-rename), after checking its
 * SHA-256 against the one recorded with it. -ENOENT when the registry has
 * no such blob, -ENOTSUP without a shared registry.
 */
int kl_reg_blob_fetch(struct kl_registry *r, const char *key, const char *path,
                      size_t max, struct kl_err *err);

/*
 * Optimised images in a cluster (registry_tier.c). The node that optimises
 * a module first claims it (so the others wait instead of compiling the
 * same module), then publishes the image as blob "optimised/<module
 * sha256>/<image file name>": the file name carries the toolchain's cache
 * key, so only nodes that would build the same image take it.
 */

/**
 * Claim the optimised build `image` (its file name) of module `sha256` for
 * node `node`: 1 when claimed (no claim, an expired one, or ours), 0 when
 * another node's claim younger than `ttl_s` holds it (*wait_s: until it
 * expires), -errno. With `must_exist`, -ENOENT when no version uses the
 * module (any more); without, a deploy claims a module before its commit.
 * Always 1 without a shared registry.
 */
int kl_reg_optimise_claim(struct kl_registry *r, const char *sha256, const char *image,
                          const char *node, unsigned ttl_s, int must_exist,
                          unsigned *wait_s, struct kl_err *err);

/**
 * Publish the optimised image at `path` (file name `image`) of module
 * `sha256`, drop its claim and tell every node that serves the module, in
 * one transaction. -ENOENT when no version uses the module any more (it
 * was removed meanwhile), -ENOTSUP without a shared registry.
 */
int kl_reg_optimised_publish(struct kl_registry *r, const char *sha256, const char *image,
                             const char *path, struct kl_err *err);

/**
 * Fetch the published optimised image `image` of module `sha256` into
 * `path` (SHA-256 checked, as kl_reg_blob_fetch). -ENOENT when none is
 * published, -ENOTSUP without a shared registry.
 */
int kl_reg_optimised_fetch(struct kl_registry *r, const char *sha256, const char *image,
                           const char *path, struct kl_err *err);

/** Start the change watcher and heartbeat of node `self` (-ENOTSUP without a shared registry). */
int kl_reg_watch_start(struct kl_registry *r, const struct kl_reg_node *self,
                       kl_reg_change_fn fn, void *ctx, struct kl_err *err);

/**
 * {"nodes":[{"name","address","isolation","version","last_seen_ms",
 * "healthy"}]} of a shared registry; NULL with -ENOTSUP in err otherwise.
 */
json_t *kl_reg_nodes_json(struct kl_registry *r, struct kl_err *err);

/** Free a version's strings. */
void kl_reg_version_free(struct kl_reg_version *v);

#endif
