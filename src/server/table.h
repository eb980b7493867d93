/* table.h - the function table: a snapshot of the active versions and their routes, rebuilt from the registry and swapped in. */
#ifndef KL_SERVER_TABLE_H
#define KL_SERVER_TABLE_H

#include <stddef.h>

#include "common/err.h"
#include "server/exec.h"
#include "server/fnconfig.h"
#include "server/router.h"
#include "server/server.h"

struct kl_fn_lazy;

/**
 * One active function version as served; immutable once published, but
 * for `img` of a cluster node, filled by the first request (kl_fn_image).
 */
struct kl_fn {
    char *name;
    int version;
    struct kl_fn_config cfg;
    struct kl_img_ref *img;   /* NULL when the image could not be loaded (or not yet) */
    char img_error[512];
    struct kl_fn_lazy *lazy;  /* set when `img` is fetched on first need */
    char sha256[65];          /* the module's, hex: names its images of every tier */
    int tier;                 /* compile/tier.h: the tier of `img` (optimiser.c) */
};

/** A snapshot of every active function and the routes to them. */
struct kl_table {
    int refs;                 /* atomic */
    struct kl_router router;
    struct kl_fn *fns;
    size_t n;
};

/**
 * Rebuild the function table from the registry and publish it; requests in
 * flight keep the old table until they finish. Call with control_lock held.
 */
int kl_server_reload(struct kl_server *s, struct kl_err *err);

/** Take a reference to the current table (never NULL after start-up). */
struct kl_table *kl_server_table(struct kl_server *s);

/** Drop a table reference; the last one frees it. */
void kl_table_put(struct kl_table *t);

/**
 * The image `fn` runs, loading it first if it is fetched on first need (a
 * cluster node: from the registry); NULL with the reason in `why`.
 */
const struct kl_img_ref *kl_fn_image(const struct kl_fn *fn, char *why, size_t len);

/** The function called `name` in a table, or NULL. */
const struct kl_fn *kl_table_find(const struct kl_table *t, const char *name);

/** Full path of an image recorded in the registry (name under images/ or absolute). */
void kl_server_image_path(const struct kl_server *s, const char *image,
                          char *out, size_t len);

#endif
