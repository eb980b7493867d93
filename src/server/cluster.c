/* cluster.c - a node of a cluster: the shared registry, its admin token, the change watcher, the node list. */
#include "server/cluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "kernless/abi.h"
#include "server/metrics.h"
#include "server/exec.h"
#include "server/server.h"
#include "server/table.h"
#include "vm/vm.h"

int kl_cluster_open(struct kl_server *s, const char *url, struct kl_err *err)
{
    char path[PATH_MAX + 32], line[KL_TOKEN_HEX + 2], mine[KL_TOKEN_HEX + 1];
    int rc;

    if ((rc = kl_reg_open(url, NULL, &s->reg, err)) < 0)
        return rc;
    snprintf(mine, sizeof(mine), "%s", s->token);
    if ((rc = kl_reg_token_share(s->reg, s->token, sizeof(s->token), err)) < 0)
        return rc;
    if (strcmp(mine, s->token) == 0)
        return 0;
    snprintf(path, sizeof(path), "%s/admin.token", s->data);
    snprintf(line, sizeof(line), "%s\n", s->token);
    if ((rc = kl_write_file_atomic(path, line, strlen(line), 0600, err)) < 0)
        return rc;
    printf("kernless: adopted the cluster's admin token into %s\n", path);
    return 0;
}

static int in_table(struct kl_server *s, const char *name)
{
    struct kl_table *t = kl_server_table(s);
    int found = t != NULL && kl_table_find(t, name) != NULL;

    kl_table_put(t);
    return found;
}

/* The image file function `name` is served from now ("" if none). */
static void image_of(struct kl_server *s, const char *name, char *out, size_t len)
{
    struct kl_table *t = kl_server_table(s);
    const struct kl_fn *fn = t != NULL ? kl_table_find(t, name) : NULL;
    const struct kl_img_ref *img = fn ? __atomic_load_n(&fn->img, __ATOMIC_ACQUIRE) : NULL;

    snprintf(out, len, "%s", img != NULL ? img->path : "");
    kl_table_put(t);
}

static int image_used(struct kl_server *s, const char *path)
{
    struct kl_table *t = kl_server_table(s);
    size_t i;
    int used = 0;

    const struct kl_img_ref *img;

    for (i = 0; t != NULL && i < t->n && !used; i++) {
        img = __atomic_load_n(&t->fns[i].img, __ATOMIC_ACQUIRE);
        used = img != NULL && strcmp(img->path, path) == 0;
    }
    kl_table_put(t);
    return used;
}

/* A function removed through another node: its log lines, counters and
 * cached image here go too, as they do on the node that removed it. The
 * image is only a cache (the registry keeps what any version still uses),
 * so removing one some other version needs again costs a fetch, no more. */
static void forget(struct kl_server *s, const char *name, const char *image)
{
    size_t n = strlen(s->images);

    kl_logs_remove(s->logs, name);
    kl_metrics_forget(name);
    if (image[0] != 0 && strncmp(image, s->images, n) == 0 && image[n] == '/' &&
        !image_used(s, image))
        unlink(image);
}

/* Fetch what the new table may need, in the background of the reload
 * thread: a request that comes first fetches for itself (kl_fn_image), but
 * a node should hold the images before the registry can go away, so it
 * can serve every function while it is gone (and take over another node's
 * share meanwhile). */
static void prefetch(struct kl_server *s)
{
    struct kl_table *t = kl_server_table(s);
    char why[512];
    size_t i;

    for (i = 0; t != NULL && i < t->n; i++)
        kl_fn_image(&t->fns[i], why, sizeof(why));
    kl_table_put(t);
}

/* Republish after a change of `name` (NULL: anything may have changed). */
static void reload_changed(struct kl_server *s, const char *name)
{
    struct kl_err err = {0};
    char image[PATH_MAX + 64] = "";
    int rc;

    pthread_mutex_lock(&s->control_lock);
    if (name != NULL)
        image_of(s, name, image, sizeof(image));
    rc = kl_server_reload(s, &err);
    if (rc == 0 && name != NULL && !in_table(s, name))
        forget(s, name, image);
    pthread_mutex_unlock(&s->control_lock);
    if (rc < 0)
        kl_log("registry change%s%s: reload failed, still serving the previous "
               "table: %s", name ? " of " : "", name ? name : "", err.msg);
    else if (!s->no_prefetch)
        prefetch(s);
}

/* Reloads run on a thread of their own, so the watcher keeps its
 * heartbeat while a reload fetches images or even rebuilds one (minutes):
 * the node never looks dead because it is busy. Changes that arrive
 * meanwhile merge into one pending reload. */
struct kl_cluster {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int running, stop, pending;
    char name[128];             /* "" with pending: everything */
};

static void *reload_thread(void *arg)
{
    struct kl_server *s = arg;
    struct kl_cluster *c = s->cluster;
    char name[128];
    int all;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->pending && !c->stop)
            pthread_cond_wait(&c->cond, &c->lock);
        if (c->stop)
            break;
        snprintf(name, sizeof(name), "%s", c->name);
        all = name[0] == 0;
        c->pending = 0;
        pthread_mutex_unlock(&c->lock);
        reload_changed(s, all ? NULL : name);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* The watcher's callback: another node (or this one) changed `name`, or,
 * with NULL, anything may have changed while the registry was away. */
static void on_change(void *ctx, const char *name)
{
    struct kl_cluster *c = ((struct kl_server *)ctx)->cluster;

    pthread_mutex_lock(&c->lock);
    if (c->pending && (name == NULL || strcmp(c->name, name) != 0))
        c->name[0] = 0;
    else if (!c->pending)
        snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
    c->pending = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static int reloader_start(struct kl_server *s, struct kl_err *err)
{
    struct kl_cluster *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL)
        return kl_errf(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    s->cluster = c;
    if ((rc = pthread_create(&c->thread, NULL, reload_thread, s)) != 0)
        return kl_errf(err, -rc, "cannot start the reload thread");
    c->running = 1;
    return 0;
}

void kl_cluster_close(struct kl_server *s)
{
    struct kl_cluster *c = s->cluster;

    if (c != NULL && c->running) {
        pthread_mutex_lock(&c->lock);
        c->stop = 1;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
        c->running = 0;
    }
    /* The watcher may still queue a change until it stops here: `c` lives on. */
    kl_reg_close(s->reg);
    s->reg = NULL;
    if (c != NULL) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        s->cluster = NULL;
    }
}

/* The HOST:PORT others reach a listener at: `given`, else where it listens
 * (by `self`, this machine's name, when it listens everywhere). */
static void advertised(const char *given, const char *host, const char *port,
                       const char *self, char *out, size_t len)
{
    int v6 = strchr(host, ':') != NULL;

    if (given != NULL)
        snprintf(out, len, "%s", given);
    else if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || host[0] == 0)
        /* Listening everywhere: others reach us by our name, not by 0.0.0.0. */
        snprintf(out, len, "%s:%s", self, port);
    else
        snprintf(out, len, "%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

int kl_cluster_start(struct kl_server *s, const char *name, const char *advertise,
                     const char *admin_advertise, struct kl_err *err)
{
    struct kl_reg_node *n = &s->node;
    char host[200];
    int rc;

    if (gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "kernless");
    host[sizeof(host) - 1] = 0;
    /* HAProxy fronts the function listeners; the CLI gathers logs from
     * each node's admin listener. */
    advertised(advertise, s->listen_host, s->listen_port, host, n->address,
               sizeof(n->address));
    advertised(admin_advertise, s->admin_host, s->admin_port, host, n->admin_address,
               sizeof(n->admin_address));
    if (name != NULL)
        snprintf(n->name, sizeof(n->name), "%s", name);
    else
        snprintf(n->name, sizeof(n->name), "%s:%s", host, s->listen_port);
    snprintf(n->isolation, sizeof(n->isolation), "%s", kl_isolation_name());
    /* The ABI says which images a node can run: nodes that differ in it
     * compile their own (see compile.h's cache key). */
    snprintf(n->version, sizeof(n->version), "%s+abi%u", KL_NODE_VERSION, KL_ABI_VERSION);
    /* Request threads already run: they read `node` only once this is set. */
    __atomic_store_n(&s->node_named, 1, __ATOMIC_RELEASE);
    if (!kl_reg_is_shared(s->reg))
        return 0;
    if ((rc = reloader_start(s, err)) < 0)
        return rc;
    return kl_reg_watch_start(s->reg, n, on_change, s, err);
}

json_t *kl_cluster_nodes_json(struct kl_server *s, struct kl_err *err)
{
    struct timespec now;

    if (kl_reg_is_shared(s->reg))
        return kl_reg_nodes_json(s->reg, err);
    clock_gettime(CLOCK_REALTIME, &now);
    return json_pack("{s:[{s:s,s:s,s:s,s:s,s:I,s:b,s:s}]}", "nodes", "name", s->node.name,
                     "address", s->node.address, "isolation", s->node.isolation,
                     "version", s->node.version, "last_seen_ms",
                     (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, "healthy", 1,
                     "admin_address", s->node.admin_address);
}
