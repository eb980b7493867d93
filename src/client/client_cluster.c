/* client_cluster.c - a function's logs gathered from every node of a cluster, merged by time. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/client_http.h"

/* GET /v1/nodes without printing anything: NULL from a server that has no
 * node list (or cannot answer), so callers can fall back to one node. */
static json_t *nodes_quiet(const struct kl_client *c)
{
    struct kl_client_req q = {.method = "GET", .path = "/v1/nodes", .timeout_s = 10,
                              .quiet = 1};
    struct kl_client_resp r;
    json_t *o, *arr;

    if (kl_client_call(c, &q, &r) < 0)
        return NULL;
    o = r.status == 200 ? kl_client_json(&r) : NULL;
    kl_client_resp_free(&r);
    arr = json_incref(json_object_get(o, "nodes"));
    json_decref(o);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* A client for one node: the same token, the node's admin address (its
 * function address for a node older than the admin listener, which served
 * both on one). */
static void node_client(const struct kl_client *c, json_t *node, struct kl_client *out)
{
    const char *a = json_string_value(json_object_get(node, "admin_address"));

    if (a == NULL || *a == 0)
        a = json_string_value(json_object_get(node, "address"));
    *out = *c;
    snprintf(out->url, sizeof(out->url), "http://%s", a ? a : "");
}

struct tagged {
    json_t *line;
    const char *node;
    json_int_t ts, seq;
};

static int by_time(const void *a, const void *b)
{
    const struct tagged *x = a, *y = b;

    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One round: new lines of every healthy node, merged oldest first.
 * Returns 0, or the exit status when the first node refuses. */
static int logs_round(const struct kl_client *c, json_t *nodes, long long *after,
                      const char *name)
{
    struct tagged *all = NULL, *na;
    size_t i, j, n = 0, cap = 0;
    struct kl_client nc;
    char path[200];
    json_t *node, *o, *l;
    int st, rc = 0;

    json_array_foreach(nodes, i, node) {
        if (!json_is_true(json_object_get(node, "healthy")))
            continue;
        node_client(c, node, &nc);
        snprintf(path, sizeof(path), "/v1/functions/%s/logs?after=%lld&limit=10000", name,
                 after[i]);
        if ((o = kl_client_call_json(&nc, "logs", "GET", path, NULL, &st)) == NULL) {
            if (n == 0 && i == 0) {
                rc = st;
                break;
            }
            continue;   /* a node that just went away: the others still count */
        }
        after[i] = (long long)json_integer_value(json_object_get(o, "next"));
        json_array_foreach(json_object_get(o, "lines"), j, l) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                if ((na = realloc(all, cap * sizeof(*all))) == NULL)
                    break;
                all = na;
            }
            all[n++] = (struct tagged){json_incref(l),
                json_string_value(json_object_get(node, "name")),
                json_integer_value(json_object_get(l, "ts")),
                json_integer_value(json_object_get(l, "seq"))};
        }
        json_decref(o);
    }
    if (n > 0)
        qsort(all, n, sizeof(*all), by_time);
    for (i = 0; i < n; i++) {
        kl_client_print_log(c, all[i].line, all[i].node);
        json_decref(all[i].line);
    }
    fflush(stdout);
    free(all);
    return rc;
}

/* Following one node: its own long-poll, lines printed as they come. */
struct follower {
    pthread_t thread;
    struct kl_client client;
    const struct kl_client *parent;
    const char *name;
    const char *node;
    long long after;
};

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void *follow_node(void *arg)
{
    struct follower *f = arg;
    struct kl_client_req q = {.method = "GET", .timeout_s = 40, .quiet = 1};
    struct kl_client_resp r;
    char path[200];
    json_t *o, *l;
    size_t i;

    q.path = path;
    for (;;) {
        snprintf(path, sizeof(path), "/v1/functions/%s/logs?after=%lld&wait=25", f->name,
                 f->after);
        /* A node that is down or restarting is asked again a second later. */
        if (kl_client_call(&f->client, &q, &r) < 0) {
            sleep(1);
            continue;
        }
        if (r.status == 404) {
            pthread_mutex_lock(&print_lock);
            kl_client_fail_resp("logs", &r, f->parent);
            pthread_mutex_unlock(&print_lock);
            kl_client_resp_free(&r);
            return NULL;
        }
        o = r.status == 200 ? kl_client_json(&r) : NULL;
        kl_client_resp_free(&r);
        if (o == NULL) {
            sleep(1);
            continue;
        }
        pthread_mutex_lock(&print_lock);
        json_array_foreach(json_object_get(o, "lines"), i, l)
            kl_client_print_log(f->parent, l, f->node);
        fflush(stdout);
        pthread_mutex_unlock(&print_lock);
        f->after = (long long)json_integer_value(json_object_get(o, "next"));
        json_decref(o);
    }
}

/* After the merged history, a thread per live node follows it; returns
 * when every node said the function is gone. */
static int follow_all(const struct kl_client *c, json_t *nodes, const long long *after,
                      const char *name)
{
    struct follower *f = calloc(json_array_size(nodes), sizeof(*f));
    size_t i, n = 0;
    json_t *node;

    if (f == NULL) {
        fprintf(stderr, "kernless: logs: out of memory\n");
        return 1;
    }
    json_array_foreach(nodes, i, node) {
        if (!json_is_true(json_object_get(node, "healthy")))
            continue;
        node_client(c, node, &f[n].client);
        f[n].parent = c;
        f[n].name = name;
        f[n].node = json_string_value(json_object_get(node, "name"));
        f[n].after = after[i];
        if (pthread_create(&f[n].thread, NULL, follow_node, &f[n]) == 0)
            n++;
    }
    for (i = 0; i < n; i++)
        pthread_join(f[i].thread, NULL);
    free(f);
    return 1;
}

int kl_client_logs_cluster(const struct kl_client *c, const char *name, int follow)
{
    json_t *nodes = nodes_quiet(c);
    long long *after;
    int rc;

    if (nodes == NULL || json_array_size(nodes) <= 1) {
        json_decref(nodes);
        return -1;
    }
    if ((after = calloc(json_array_size(nodes), sizeof(*after))) == NULL) {
        json_decref(nodes);
        fprintf(stderr, "kernless: logs: out of memory\n");
        return 1;
    }
    /* The history merged by time, then each node followed on its own. */
    if ((rc = logs_round(c, nodes, after, name)) == 0 && follow)
        rc = follow_all(c, nodes, after, name);
    free(after);
    json_decref(nodes);
    return rc;
}
