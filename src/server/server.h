/* server.h - the state of one `kernless serve` process, shared by the HTTP, API and WAGI layers; the function table is in table.h. */
#ifndef KL_SERVER_SERVER_H
#define KL_SERVER_SERVER_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>

#include "common/err.h"
#include "common/log.h"
#include "server/datadir.h"
#include "server/exec.h"
#include "server/fnconfig.h"
#include "server/logs.h"
#include "server/registry.h"
#include "server/router.h"

struct kl_table;
struct kl_http_route;

struct kl_cluster;
struct kl_server;

/**
 * Compile the stored module with this SHA-256 again into the image cache,
 * its path into `out`: how the table recovers a version whose image is gone
 * or stale. Returns 0 or -errno with `err` filled.
 */
typedef int (*kl_rebuild_fn)(struct kl_server *s, const char *sha256, char *out,
                             size_t out_len, struct kl_err *err);

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
    kl_rebuild_fn rebuild;        /* set at start-up (kl_deploy_rebuild) */
    struct kl_http_route *routes; /* http.c: what each module registered */
    size_t n_routes;
};

#endif
