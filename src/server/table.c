/* table.c - build the function table from the registry and swap it in without blocking requests. */
#include "server/table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "compile/tier.h"
#include "server/optimiser.h"

struct build {
    struct kl_server *srv;
    struct kl_table *t;
    size_t alloc;
};

void kl_server_image_path(const struct kl_server *s, const char *image,
                          char *out, size_t len)
{
    if (image[0] == '/')
        snprintf(out, len, "%s", image);
    else
        snprintf(out, len, "%s/%s", s->images, image);
}

/* A cluster node serves images other nodes compiled: fetched from the
 * registry (SHA-256 checked there) into the local cache on first need. */
static void fetch_image(struct kl_server *s, const char *image, const char *path)
{
    char key[PATH_MAX + 16];
    struct kl_err err = {0};
    struct timespec t0, t1;

    snprintf(key, sizeof(key), "image/%s", image);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (kl_reg_blob_fetch(s->reg, key, path, (size_t)1 << 30, &err) < 0) {
        kl_log("image %s: not fetched from the registry: %s", image, err.msg);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kl_log("fetched image %s from the registry in %ld ms", image,
           (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
}

/* An image name the registry may hand us to fetch: a plain name under images/. */
static int fetchable(const struct kl_server *s, const char *image)
{
    return kl_reg_is_shared(s->reg) && strchr(image, '/') == NULL &&
           strcmp(image, "..") != 0 && image[0] != 0;
}

/* In a cluster, the optimised image another node built and published
 * (registry_tier.c), fetched into the local cache; 0 when it now is there. */
static int fetch_published(struct kl_server *s, const struct kl_reg_version *v,
                           const char *opt)
{
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!fetchable(s, v->image) || kl_optimiser_fetch_published(s, v->sha256, opt) < 0)
        return -ENOENT;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kl_log("%s v%d: fetched the optimised image %s another node built, in %ld ms", v->name,
           v->version, strrchr(opt, '/') ? strrchr(opt, '/') + 1 : opt,
           (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    kl_optimiser_note_fetched(v->sha256);
    return 0;
}

/* The module's optimised image, if one is cached beside the recorded one
 * (the background optimiser (optimiser.c) put it there, or an earlier run
 * or deploy of the same module did), or another node of the cluster
 * published it. */
static int load_optimised(struct kl_server *s, const char *path,
                          const struct kl_reg_version *v, struct kl_img_ref **img, int *tier)
{
    char opt[PATH_MAX + 80];

    if (kl_optimiser_image_path(v->sha256, path, opt, sizeof(opt)) < 0 ||
        (access(opt, R_OK) != 0 && fetch_published(s, v, opt) < 0) ||
        kl_exec_image_get(opt, img, NULL) < 0)
        return -ENOENT;
    *tier = KL_TIER_OPTIMISED;
    return 0;
}

/* The optimiser's job for a module served from `path` (optimiser.h). */
static void queue_optimiser(struct kl_server *s, const char *sha256, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = strlen(s->images);
    int ours = strncmp(path, s->images, n) == 0 && path[n] == '/';

    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
    /* An engine (the per-user cache) may take the compiler's overall cap. */
    kl_optimiser_enqueue(s, sha256, dir, ours ? s->compile_timeout_s : 0);
}

/* Load the version's image now, its optimised tier where there is one; if
 * it is gone or stale (e.g. a runtime upgrade), compile the stored module
 * again rather than lose the function. On failure `why` says why. */
static int load_now(struct kl_server *s, const struct kl_reg_version *v,
                    struct kl_img_ref **img, int *tier, char *why, size_t len)
{
    char path[PATH_MAX + 64], opt[PATH_MAX + 80] = "";
    struct kl_err err = {0};

    kl_server_image_path(s, v->image, path, sizeof(path));
    if (load_optimised(s, path, v, img, tier) == 0)
        return 0;
    /* The recorded image: baseline, unless it is the optimised one itself;
     * a baseline one is (again) queued for the optimiser: after a restart
     * its job is gone. */
    *tier = kl_optimiser_image_path(v->sha256, path, opt, sizeof(opt)) == 0 &&
            strcmp(opt, path) == 0 ? KL_TIER_OPTIMISED : KL_TIER_BASELINE;
    if (*tier == KL_TIER_BASELINE && opt[0])
        queue_optimiser(s, v->sha256, path);
    if (fetchable(s, v->image) && access(path, F_OK) != 0)
        fetch_image(s, v->image, path);
    if (kl_exec_image_get(path, img, &err) == 0)
        return 0;
    kl_log("%s v%d: image %s: %s; compiling the stored module again", v->name,
           v->version, v->image, err.msg);
    /* The rebuild hook (serve.c sets kl_deploy_rebuild): the table does not
     * know the compiler, only that a stored module can be made an image. */
    if (s->rebuild == NULL)
        kl_errf(&err, -ENOSYS, "no compiler to rebuild the image with");
    else if (s->rebuild(s, v->sha256, path, sizeof(path), &err) == 0 &&
             kl_exec_image_get(path, img, &err) == 0) {
        *tier = strcmp(opt, path) == 0 ? KL_TIER_OPTIMISED : KL_TIER_BASELINE;
        return 0;
    }
    snprintf(why, len, "%s", err.msg);
    kl_log("%s v%d: unavailable: %s", v->name, v->version, err.msg);
    return -1;
}

/* A cluster node fetches an image the first time a request needs it:
 * behind consistent hashing each node serves only its share of the
 * functions, so it need not hold every image. */
struct kl_fn_lazy {
    pthread_mutex_t lock;
    struct kl_server *srv;
    struct kl_reg_version v;    /* name, version, image, sha256 */
    struct timespec last_try;   /* a failed fetch is retried at most once a second */
    char why[256];
};

static void lazy_free(struct kl_fn_lazy *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->lock);
    kl_reg_version_free(&l->v);
    free(l);
}

static struct kl_fn_lazy *lazy_new(struct kl_server *s, const struct kl_reg_version *v)
{
    struct kl_fn_lazy *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    pthread_mutex_init(&l->lock, NULL);
    l->srv = s;
    l->v.version = v->version;
    l->v.name = strdup(v->name);
    l->v.image = strdup(v->image);
    l->v.sha256 = strdup(v->sha256);
    if (l->v.name == NULL || l->v.image == NULL || l->v.sha256 == NULL) {
        lazy_free(l);
        return NULL;
    }
    return l;
}

static void load_image(struct kl_server *s, const struct kl_reg_version *v,
                       struct kl_fn *fn)
{
    char path[PATH_MAX + 64];

    kl_server_image_path(s, v->image, path, sizeof(path));
    if (fetchable(s, v->image) && access(path, F_OK) != 0 &&
        (fn->lazy = lazy_new(s, v)) != NULL)
        return;
    load_now(s, v, &fn->img, &fn->tier, fn->img_error, sizeof(fn->img_error));
}

const struct kl_img_ref *kl_fn_image(const struct kl_fn *cfn, char *why, size_t len)
{
    /* The one mutable slot of a published fn: filled once, under its lock. */
    struct kl_fn *fn = (struct kl_fn *)cfn;
    struct kl_img_ref *img = __atomic_load_n(&fn->img, __ATOMIC_ACQUIRE);
    struct kl_fn_lazy *l = fn->lazy;
    struct timespec now;

    if (img != NULL || l == NULL) {
        if (img == NULL)
            snprintf(why, len, "%s", fn->img_error);
        return img;
    }
    pthread_mutex_lock(&l->lock);
    img = fn->img;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (img == NULL && (l->why[0] == 0 || now.tv_sec != l->last_try.tv_sec)) {
        l->last_try = now;
        l->why[0] = 0;
        if (load_now(l->srv, &l->v, &img, &fn->tier, l->why, sizeof(l->why)) == 0)
            __atomic_store_n(&fn->img, img, __ATOMIC_RELEASE);
    }
    if (img == NULL)
        snprintf(why, len, "%s", l->why);
    pthread_mutex_unlock(&l->lock);
    return img;
}

static int add_fn(void *ctx, const struct kl_reg_version *v)
{
    struct build *b = ctx;
    struct kl_table *t = b->t;
    struct kl_fn *fn;
    char why[256];

    if (t->n == b->alloc) {
        size_t na = b->alloc ? b->alloc * 2 : 16;
        fn = realloc(t->fns, na * sizeof(*fn));
        if (fn == NULL)
            return -ENOMEM;
        t->fns = fn;
        b->alloc = na;
    }
    fn = &t->fns[t->n];
    memset(fn, 0, sizeof(*fn));
    if (kl_fn_config_parse(v->config, strlen(v->config), 0, &fn->cfg, why,
                           sizeof(why)) < 0) {
        kl_log("%s v%d: bad stored config (%s); not served", v->name, v->version, why);
        return 0;
    }
    fn->name = strdup(v->name);
    if (fn->name == NULL) {
        kl_fn_config_free(&fn->cfg);
        return -ENOMEM;
    }
    fn->version = v->version;
    snprintf(fn->sha256, sizeof(fn->sha256), "%s", v->sha256);
    load_image(b->srv, v, fn);
    t->n++;
    return 0;
}

/* Free a table nobody references any more. */
static void table_free(struct kl_table *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->fns[i].name);
        kl_fn_config_free(&t->fns[i].cfg);
        kl_exec_image_put(t->fns[i].img);
        lazy_free(t->fns[i].lazy);
    }
    free(t->fns);
    kl_router_free(&t->router);
    free(t);
}

int kl_server_reload(struct kl_server *s, struct kl_err *err)
{
    struct build b = {.srv = s};
    struct kl_table *old;
    size_t i;
    int rc;

    b.t = calloc(1, sizeof(*b.t));
    if (b.t == NULL)
        return kl_errf(err, -ENOMEM, "out of memory");
    b.t->refs = 1;
    if ((rc = kl_reg_each_active(s->reg, add_fn, &b, err)) < 0)
        goto err_free;
    /* Routes index into fns only after fns stops moving. */
    for (i = 0; i < b.t->n; i++) {
        rc = kl_router_add(&b.t->router, b.t->fns[i].cfg.route, &b.t->fns[i]);
        if (rc == -EEXIST)
            kl_log("%s: route %s taken twice; first one wins", b.t->fns[i].name,
                   b.t->fns[i].cfg.route);
        else if (rc < 0)
            goto err_free;
    }
    pthread_mutex_lock(&s->table_lock);
    old = s->table;
    s->table = b.t;
    pthread_mutex_unlock(&s->table_lock);
    kl_table_put(old);
    return 0;

err_free:
    table_free(b.t);
    return rc == -ENOMEM ? kl_errf(err, rc, "out of memory") : rc;
}

struct kl_table *kl_server_table(struct kl_server *s)
{
    struct kl_table *t;

    pthread_mutex_lock(&s->table_lock);
    t = s->table;
    if (t != NULL)
        __atomic_add_fetch(&t->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&s->table_lock);
    return t;
}

void kl_table_put(struct kl_table *t)
{
    if (t != NULL && __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
        table_free(t);
}

const struct kl_fn *kl_table_find(const struct kl_table *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (strcmp(t->fns[i].name, name) == 0)
            return &t->fns[i];
    return NULL;
}
