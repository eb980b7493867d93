/* registry_pg.h - what the PostgreSQL backend's files share (registry_pg.c, registry_pg_conn.c, registry_pg_nodes.c). */
#ifndef KL_SERVER_REGISTRY_PG_H
#define KL_SERVER_REGISTRY_PG_H

#include <jansson.h>
#include <libpq-fe.h>

#include "server/registry_impl.h"

#define CHANNEL "kernless_changes"
/* Writers serialise on this advisory lock (any fixed number): version
 * numbers and route checks then see every earlier commit of every node. */
#define WRITE_LOCK "74151"
#define INIT_LOCK "74152"
#define HEARTBEAT_MS 1000
#define HEALTHY_S "5"

struct reg_pg {
    struct kl_registry base;
    PGconn *conn;
    char *url;
    int in_txn;
    /* the watcher */
    int watching;
    pthread_t thread;
    int stop_pipe[2];
    struct kl_reg_node self;
    kl_reg_change_fn fn;
    void *ctx;
};

static inline struct reg_pg *pg_of(struct kl_registry *r)
{
    return (struct reg_pg *)r;
}

/** libpq's multi-line message `in` as one line of single spaces into `out`. */
void kl_pg_one_line(const char *in, char *out, size_t len);

/** An error of `c` into `err`: -ENOTCONN (503 upstream) when the connection is gone, else -EIO. */
int kl_pg_conn_err(PGconn *c, struct kl_err *err, const char *what);

/** Outside a transaction, connect again if the connection was lost. */
int kl_pg_ensure_conn(struct reg_pg *p, struct kl_err *err);

/**
 * Run a statement (PQexec without parameters, else PQexecParams); outside
 * a transaction a connection found dead is made again and the statement
 * retried once.
 */
PGresult *kl_pg_exec_retry(struct reg_pg *p, const char *sql, int nparams,
                           const char *const *params, const int *lens,
                           const int *fmts, int binary);

/** Connect to `url` (URI or conninfo), with a short default timeout and notices silenced. */
PGconn *kl_pg_connect(const char *url);

/** The backend's query op (?N placeholders, text parameters); see registry_impl.h. */
int kl_pg_query(struct kl_registry *r, const char *sql, int nparams,
                const char *const *params, kl_reg_row_fn row, void *ctx,
                struct kl_err *err);

/** Row callback: the first column of the first row, into a 280-byte buffer. */
int kl_pg_row_first(void *ctx, int n, const char *const *c);

/** The nodes_json op: {"nodes":[...]} with health from the heartbeats. */
json_t *kl_pg_nodes_json(struct kl_registry *r, struct kl_err *err);

/** The watch_start op: heartbeat, LISTEN and catch-up on a thread and connection of their own. */
int kl_pg_watch_start(struct kl_registry *r, const struct kl_reg_node *self,
                      kl_reg_change_fn fn, void *ctx, struct kl_err *err);

/** The watch_stop op: stop the watcher; a clean stop removes this node's row. */
void kl_pg_watch_stop(struct kl_registry *r);

#endif
