/* client_cluster.c - the CLI's cluster commands: nodes, haproxy-config, and logs gathered from every node. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client_http.h"

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

int kl_client_cmd_nodes(const struct kl_client *c, int argc, char **argv)
{
    json_t *o, *n;
    size_t i;
    const char *a;
    char when[32];
    time_t t;
    struct tm tm;
    int st;

    if (argc != 1) {
        fprintf(stderr, "kernless: usage: kernless nodes [--json]\n");
        return 2;
    }
    if ((o = kl_client_call_json(c, "nodes", "GET", "/v1/nodes", NULL, &st)) == NULL)
        return st;
    if (c->json) {
        char *s = json_dumps(o, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
        return 0;
    }
    printf("%-24s %-22s %-22s %-10s %-8s %-20s %s\n", "NAME", "ADDRESS", "ADMIN", "ISOLATION",
           "VERSION", "LAST SEEN", "HEALTH");
    json_array_foreach(json_object_get(o, "nodes"), i, n) {
        t = (time_t)(json_integer_value(json_object_get(n, "last_seen_ms")) / 1000);
        localtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        a = json_string_value(json_object_get(n, "admin_address"));
        printf("%-24s %-22s %-22s %-10s %-8s %-20s %s\n",
               json_string_value(json_object_get(n, "name")),
               json_string_value(json_object_get(n, "address")), a && *a ? a : "-",
               json_string_value(json_object_get(n, "isolation")),
               json_string_value(json_object_get(n, "version")), when,
               json_is_true(json_object_get(n, "healthy")) ? "healthy" : "down");
    }
    json_decref(o);
    return 0;
}

/* HAProxy names allow letters, digits and "-_.:"; anything else becomes '_'. */
static void hap_name(const char *in, char *out, size_t len)
{
    size_t i;

    for (i = 0; in[i] && i + 1 < len; i++)
        out[i] = isalnum((unsigned char)in[i]) || strchr("-_.:", in[i]) ? in[i] : '_';
    out[i] = 0;
}

static const char hap_head[] =
    "# HAProxy in front of a Kernless cluster; made by `kernless haproxy-config`.\n"
    "# Run: haproxy -f THIS_FILE. Make it again when nodes join or leave.\n"
    "# It fronts the nodes' function listeners (serve --listen). Their management\n"
    "# API and dashboard (serve --admin-listen) are another origin: proxied only\n"
    "# by the kernless_admin frontend that `haproxy-config --admin-listen ADDR`\n"
    "# adds; bind that one to an internal address.\n"
    "global\n"
    "    maxconn 4096\n"
    "\n"
    "defaults\n"
    "    mode http\n"
    "    timeout connect 2s\n"
    "    timeout client 60s\n"
    "    # A deploy's compile may take minutes (serve --compile-timeout-s).\n"
    "    timeout server 15m\n"
    "    timeout http-request 10s\n"
    "    # A node that is gone (refused, reset, no answer): try another one.\n"
    "    retries 3\n"
    "    option redispatch 1\n"
    "    retry-on conn-failure empty-response response-timeout\n"
    "\n"
    "frontend kernless\n"
    "    bind %s\n"
    "    default_backend kernless_nodes\n"
    "\n"
    "backend kernless_nodes\n"
    "    # Consistent hashing on the first path segment, where a function's route\n"
    "    # starts: one function's requests land on one node and find its VMs warm,\n"
    "    # and a node joining or leaving moves only its own share of functions.\n"
    "    balance uri depth 1\n"
    "    hash-type consistent\n"
    "    # Only idempotent requests are ever sent twice.\n"
    "    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }\n"
    "    option httpchk GET /healthz\n"
    "    http-check expect status 200\n"
    "    default-server check inter 1s fall 2 rise 2\n";

/* The admin side: any node answers for the shared registry (logs are
 * gathered from each node by the CLI); never retried unless idempotent. */
static const char hap_admin[] =
    "\n"
    "frontend kernless_admin\n"
    "    bind %s\n"
    "    default_backend kernless_admin_nodes\n"
    "\n"
    "backend kernless_admin_nodes\n"
    "    balance roundrobin\n"
    "    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }\n"
    "    option httpchk GET /healthz\n"
    "    http-check expect status 200\n"
    "    default-server check inter 1s fall 2 rise 2\n";

/* One "server" line per healthy node, at its address under `key`. */
static void hap_servers(json_t *nodes, const char *key)
{
    char name[128];
    const char *a;
    json_t *n;
    size_t i;

    json_array_foreach(nodes, i, n) {
        if (!json_is_true(json_object_get(n, "healthy")))
            continue;
        a = json_string_value(json_object_get(n, key));
        if (a == NULL || *a == 0)   /* a node older than the admin listener */
            a = json_string_value(json_object_get(n, "address"));
        hap_name(json_string_value(json_object_get(n, "name")), name, sizeof(name));
        printf("    server %s %s\n", name, a ? a : "");
    }
}

int kl_client_cmd_haproxy(const struct kl_client *c, int argc, char **argv)
{
    const char *listen = ":8000", *admin = NULL;
    json_t *o, *n;
    size_t i, live = 0;
    int st, a;

    for (a = 1; a < argc; a += 2) {
        if (a + 1 < argc && strcmp(argv[a], "--listen") == 0) {
            listen = argv[a + 1];
        } else if (a + 1 < argc && strcmp(argv[a], "--admin-listen") == 0) {
            admin = argv[a + 1];
        } else {
            fprintf(stderr, "kernless: usage: kernless haproxy-config [--listen ADDR] "
                    "[--admin-listen ADDR]\n");
            return 2;
        }
    }
    if ((o = kl_client_call_json(c, "haproxy-config", "GET", "/v1/nodes", NULL, &st)) == NULL)
        return st;
    json_array_foreach(json_object_get(o, "nodes"), i, n)
        live += json_is_true(json_object_get(n, "healthy"));
    if (live == 0) {
        fprintf(stderr, "kernless: haproxy-config: no live node in the cluster\n");
        json_decref(o);
        return 1;
    }
    printf(hap_head, listen);
    hap_servers(json_object_get(o, "nodes"), "address");
    if (admin != NULL) {
        printf(hap_admin, admin);
        hap_servers(json_object_get(o, "nodes"), "admin_address");
    }
    json_decref(o);
    return 0;
}
