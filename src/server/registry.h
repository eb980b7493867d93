/* registry.h - the SQLite registry of functions and their versions (the source of truth across restarts). */
#ifndef KL_SERVER_REGISTRY_H
#define KL_SERVER_REGISTRY_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "server/buf.h"

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

/** Open (creating if needed) the registry database in WAL mode. */
int kl_reg_open(const char *path, struct kl_registry **out, struct kl_err *err);

/** Close the database. */
void kl_reg_close(struct kl_registry *r);

/**
 * Add a new version of `v->name` and make it the active one, in one
 * transaction; v->version is set. -EEXIST (reason in err) when another
 * function's active version already serves the same route.
 */
int kl_reg_commit(struct kl_registry *r, struct kl_reg_version *v,
                  struct kl_err *err);

/**
 * Make `version` active again (0: the highest version below the active
 * one). *version is set to the one activated. -ENOENT, -EEXIST (route taken).
 */
int kl_reg_activate(struct kl_registry *r, const char *name, int *version,
                    struct kl_err *err);

/** Delete a function and its versions; `orphans` gets image names no longer used. -ENOENT. */
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

/** Free a version's strings. */
void kl_reg_version_free(struct kl_reg_version *v);

#endif
