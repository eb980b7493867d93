/* registry_pg_nodes.c - a PostgreSQL registry's nodes: the list, and each node's watcher (heartbeat, LISTEN, catch-up). */
#include "server/registry_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "server/server.h"

static int row_node(void *ctx, int n, const char *const *c)
{
    json_t *o;

    if (n < 7)
        return -EIO;
    o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "name", c[0] ? c[0] : "",
                  "address", c[1] ? c[1] : "", "isolation", c[2] ? c[2] : "",
                  "version", c[3] ? c[3] : "",
                  "last_seen_ms", (json_int_t)(c[4] ? strtoll(c[4], NULL, 10) : 0),
                  "healthy", c[5] != NULL && c[5][0] == 't',
                  "admin_address", c[6] ? c[6] : "");
    return json_array_append_new(ctx, o) == 0 ? 0 : -ENOMEM;
}

json_t *kl_pg_nodes_json(struct kl_registry *r, struct kl_err *err)
{
    json_t *arr = json_array();

    if (kl_pg_query(r, "SELECT name, address, isolation, version,"
                 " CAST(EXTRACT(EPOCH FROM last_seen) * 1000 AS BIGINT),"
                 " last_seen > now() - interval '" HEALTHY_S " seconds', admin_address"
                 " FROM nodes ORDER BY name", 0, NULL, row_node, arr, err) < 0) {
        json_decref(arr);
        return NULL;
    }
    return json_pack("{s:o}", "nodes", arr);
}

static int beat(PGconn *c, const struct kl_reg_node *n)
{
    static __thread unsigned beats;
    const char *vals[5] = {n->name, n->address, n->isolation, n->version,
                           n->admin_address};
    PGresult *res;

    /* Now and then, forget nodes gone for a day: a replaced machine's row
     * should not say "down" forever. Any node may do it; it is idempotent. */
    if (beats++ % 60 == 0)
        PQclear(PQexec(c, "DELETE FROM nodes WHERE last_seen < now() - interval '1 day'"));
    res = PQexecParams(c,
        "INSERT INTO nodes(name, address, isolation, version, admin_address, started,"
        " last_seen) VALUES($1, $2, $3, $4, $5, now(), now()) ON CONFLICT(name) DO UPDATE"
        " SET address = excluded.address, isolation = excluded.isolation,"
        " version = excluded.version, admin_address = excluded.admin_address,"
        " last_seen = now()", 5, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

/* A fresh watcher connection, listening; NULL while the database is down. */
static PGconn *watch_connect(struct reg_pg *p)
{
    PGconn *c = kl_pg_connect(p->url);
    PGresult *res;

    if (PQstatus(c) != CONNECTION_OK)
        goto err_finish;
    res = PQexec(c, "LISTEN " CHANNEL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        PQclear(res);
        goto err_finish;
    }
    PQclear(res);
    if (beat(c, &p->self) < 0)
        goto err_finish;
    return c;

err_finish:
    PQfinish(c);
    return NULL;
}

static long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

/* Wait for notifications or the stop pipe; 1 to stop. */
static int watch_wait(struct reg_pg *p, PGconn *c, int timeout_ms)
{
    struct pollfd fds[2] = {{p->stop_pipe[0], POLLIN, 0}, {c ? PQsocket(c) : -1, POLLIN, 0}};

    if (poll(fds, 2, timeout_ms) > 0 && (fds[0].revents & POLLIN))
        return 1;
    return 0;
}

/* Hand the pending notifications to the callback: a burst of changes
 * (a script deploying many functions) costs one reload, not one each. */
static void notify_all(struct reg_pg *p, PGconn *c)
{
    char name[256] = "";
    PGnotify *n;
    int count = 0;

    while ((n = PQnotifies(c)) != NULL) {
        if (count++ == 0)
            snprintf(name, sizeof(name), "%s", n->extra);
        else if (strcmp(name, n->extra) != 0)
            name[0] = 0;
        PQfreemem(n);
    }
    if (count > 0)
        p->fn(p->ctx, name[0] ? name : NULL);
}

static void *watch_thread(void *arg)
{
    struct reg_pg *p = arg;
    PGconn *c = NULL;
    long next_beat = 0;
    int was_down = 0;

    for (;;) {
        if (c == NULL) {
            if ((c = watch_connect(p)) == NULL) {
                if (!was_down)
                    kl_log("registry unreachable; serving what this node knows and "
                           "retrying every %d ms", HEARTBEAT_MS);
                was_down = 1;
                if (watch_wait(p, NULL, HEARTBEAT_MS))
                    break;
                continue;
            }
            if (was_down)
                kl_log("registry reachable again; catching up");
            was_down = 0;
            next_beat = now_ms() + HEARTBEAT_MS;
            /* Whatever changed while we were not listening. */
            p->fn(p->ctx, NULL);
        }
        if (watch_wait(p, c, (int)(next_beat - now_ms() > 0 ? next_beat - now_ms() : 0)))
            break;
        if (!PQconsumeInput(c)) {
            PQfinish(c);
            c = NULL;
            continue;
        }
        notify_all(p, c);
        if (now_ms() >= next_beat) {
            next_beat = now_ms() + HEARTBEAT_MS;
            if (beat(c, &p->self) < 0) {
                PQfinish(c);
                c = NULL;
            }
        }
    }
    if (c != NULL) {
        /* A clean stop leaves the cluster: no stale row to show as down. */
        const char *vals[1] = {p->self.name};
        PQclear(PQexecParams(c, "DELETE FROM nodes WHERE name = $1", 1, NULL, vals,
                             NULL, NULL, 0));
        PQfinish(c);
    }
    return NULL;
}

/* Two live nodes under one name would share one row and hide each other. */
static int name_free(struct kl_registry *r, const struct kl_reg_node *self,
                     struct kl_err *err)
{
    char other[280] = "";
    int rc;

    pthread_mutex_lock(&r->lock);
    rc = kl_pg_query(r, "SELECT address FROM nodes WHERE name = ?1 AND address <> ?2 AND"
                  " last_seen > now() - interval '" HEALTHY_S " seconds'", 2,
                  (const char *const[]){self->name, self->address}, kl_pg_row_first, other, err);
    pthread_mutex_unlock(&r->lock);
    if (rc == 0 && other[0] != 0)
        rc = kl_errf(err, -EADDRINUSE, "node name %s is taken by a live node at %s "
                     "(give this one another --node-name)", self->name, other);
    return rc;
}

int kl_pg_watch_start(struct kl_registry *r, const struct kl_reg_node *self,
                          kl_reg_change_fn fn, void *ctx, struct kl_err *err)
{
    struct reg_pg *p = pg_of(r);
    int rc;

    if (p->watching)
        return kl_errf(err, -EBUSY, "the registry watcher is already running");
    if ((rc = name_free(r, self, err)) < 0)
        return rc;
    if (pipe2(p->stop_pipe, O_CLOEXEC) < 0)
        return kl_errf(err, -errno, "pipe: %s", strerror(errno));
    p->self = *self;
    p->fn = fn;
    p->ctx = ctx;
    if ((rc = pthread_create(&p->thread, NULL, watch_thread, p)) != 0) {
        close(p->stop_pipe[0]);
        close(p->stop_pipe[1]);
        return kl_errf(err, -rc, "cannot start the registry watcher");
    }
    p->watching = 1;
    return 0;
}

void kl_pg_watch_stop(struct kl_registry *r)
{
    struct reg_pg *p = pg_of(r);

    if (!p->watching)
        return;
    if (write(p->stop_pipe[1], "x", 1) != 1)
        kl_log("cannot wake the registry watcher");
    pthread_join(p->thread, NULL);
    close(p->stop_pipe[0]);
    close(p->stop_pipe[1]);
    p->watching = 0;
}
