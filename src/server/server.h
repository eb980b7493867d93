/* server.h - the state of one `kernless serve` process, shared by the HTTP, API and WAGI layers. */
#ifndef KL_SERVER_SERVER_H
#define KL_SERVER_SERVER_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>

#include "common/err.h"
#include "server/datadir.h"
#include "server/exec.h"
#include "server/fnconfig.h"
#include "server/logs.h"
#include "server/registry.h"
#include "server/router.h"

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
};

/** A snapshot of every active function and the routes to them. */
struct kl_table {
    int refs;                 /* atomic */
    struct kl_router router;
    struct kl_fn *fns;
    size_t n;
};

struct kl_cluster;
struct kl_server;

/**
 * One HTTP listener's context: functions (`--listen`) and the management
 * API with the dashboard (`--admin-listen`) are separate origins, so no
 * function's response can act on the dashboard's origin.
 */
struct kl_listener {
    struct kl_server *srv;
    int admin;                /* 1: /v1, /metrics, /_/; 0: functions */
};

struct kl_server {
    char data[PATH_MAX];
    char images[PATH_MAX + 16];
    char modules[PATH_MAX + 16];
    char build[PATH_MAX + 16];   /* compile folders; swept at start */
    char token[KL_TOKEN_HEX + 1];
    char listen_host[256];        /* functions */
    char listen_port[16];
    char admin_host[256];         /* management API and dashboard */
    char admin_port[16];
    struct kl_listener listeners[2];   /* [0] functions, [1] admin */
    size_t max_body;          /* function request bodies */
    size_t max_upload;        /* module uploads */
    unsigned compile_timeout_s;   /* a deploy's whole compile */
    struct kl_registry *reg;
    struct kl_reg_node node;      /* this node: name, address (cluster or not) */
    int node_named;               /* atomic: `node` is filled (after the HTTP start) */
    struct kl_cluster *cluster;   /* a cluster node's reload thread (cluster.c) */
    int no_prefetch;              /* fetch images only on a request's first need */
    struct kl_logs *logs;
    pthread_mutex_t table_lock;   /* guards `table` (the pointer swap only) */
    struct kl_table *table;
    pthread_mutex_t control_lock; /* serialises registry changes + republish */
    pthread_mutex_t compile_lock; /* one compile at a time: it uses every core */
    int deploys_running;          /* atomic: detached deploy threads alive */
};

/** Print one timestamped line on the server's stderr. */
void kl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
