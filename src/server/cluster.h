/* cluster.h - a node of a cluster: the shared registry, its admin token, the change watcher, the node list. */
#ifndef KL_SERVER_CLUSTER_H
#define KL_SERVER_CLUSTER_H

#include <jansson.h>

#include "common/err.h"

struct kl_server;

/** What a node reports as its version (nodes list), followed by "+abi<KL_ABI_VERSION>". */
#define KL_NODE_VERSION "1"

/**
 * Open the shared PostgreSQL registry at `url` as s->reg and adopt the
 * cluster's admin token (the first node's), writing it to the data folder
 * like a single node does, so the CLI works against any node.
 */
int kl_cluster_open(struct kl_server *s, const char *url, struct kl_err *err);

/**
 * Fill this node's identity (name: `name` or HOST:PORT of this machine;
 * address: `advertise` or the function listen address; admin address:
 * `admin_advertise` or the admin listen address) once the ports are known,
 * and, with a shared registry, start heartbeats and the watcher that
 * republishes the table when any node changes a function.
 */
int kl_cluster_start(struct kl_server *s, const char *name, const char *advertise,
                     const char *admin_advertise,
                     struct kl_err *err);

/**
 * Stop the reload thread and close the registry (its watcher first); for
 * a single node just the registry. Call before the table goes.
 */
void kl_cluster_close(struct kl_server *s);

/**
 * {"nodes":[...]} (see kl_reg_nodes_json); without a shared registry just
 * this node, healthy.
 */
json_t *kl_cluster_nodes_json(struct kl_server *s, struct kl_err *err);

#endif
