/* exec.c - run one request of a function in a fresh instance: a warm VM from its pool, reset to the snapshot. */
#include "server/exec.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "server/server.h"
#include "server/pool.h"
#include "server/svc_exec.h"
#include "server/table.h"
#include "inst/image.h"
#include "vm/landlock.h"
#include "vm/seccomp.h"

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kl_img_ref *cache;

static int on_helper(int (*fn)(void *), void *arg, const struct kl_run_config *cfg);

int kl_exec_init(const struct kl_pool_opts *o)
{
    struct kl_pool_opts po = *o;

    po.on_vcpu = on_helper;   /* ready VMs are instantiated as confined as requests */
    return kl_pools_init(&po);
}

int kl_exec_image_get(const char *path, struct kl_img_ref **out,
                      struct kl_err *err)
{
    struct kl_img_ref *r;
    int rc = 0;

    pthread_mutex_lock(&cache_lock);
    for (r = cache; r != NULL; r = r->next)
        if (strcmp(r->path, path) == 0)
            break;
    if (r != NULL) {
        r->refs++;
        goto out;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL || (r->path = strdup(path)) == NULL) {
        rc = kl_errf(err, -ENOMEM, "out of memory");
        goto err_free;
    }
    /* Loading under the lock is fine: it happens at deploy and start-up only. */
    if ((rc = kl_image_load(path, &r->img, err)) < 0)
        goto err_free;
    r->refs = 1;
    r->next = cache;
    cache = r;
out:
    *out = r;
    pthread_mutex_unlock(&cache_lock);
    return 0;

err_free:
    if (r != NULL)
        free(r->path);
    free(r);
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

void kl_exec_image_put(struct kl_img_ref *ref)
{
    struct kl_img_ref **pp;

    if (ref == NULL)
        return;
    pthread_mutex_lock(&cache_lock);
    if (--ref->refs > 0) {
        pthread_mutex_unlock(&cache_lock);
        return;
    }
    for (pp = &cache; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == ref) {
            *pp = ref->next;
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    kl_pools_forget(ref->img);   /* its VMs, a ready one included, go with it */
    kl_image_free(ref->img);
    free(ref->path);
    free(ref);
}

/* A body too big for the guest's stdin buffer goes through a memfd the
 * guest reads with hostcalls instead. Returns the fd or -errno. */
static int body_memfd(const uint8_t *body, size_t len)
{
    size_t off = 0;
    ssize_t n;
    int fd = memfd_create("kl-stdin", MFD_CLOEXEC);

    if (fd < 0)
        return -errno;
    while (off < len) {
        n = write(fd, body + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -EIO;
        }
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        return -errno;
    }
    return fd;
}

/* Count the limit a result hit, for /metrics. */
static void count_limit(const struct kl_run_result *res)
{
    static const char *const kinds[] = {
        [KL_RES_TIMEOUT] = "timeout", [KL_RES_TRAP] = "trap",
        [KL_RES_LIMIT] = "output", [KL_RES_ERROR] = "guest_error"};
    if (res->kind != KL_RES_EXIT && (unsigned)res->kind < sizeof(kinds) / sizeof(kinds[0]))
        kl_pool_count_limit(kinds[res->kind]);
}

/* Take a warm VM of this function version, serve, give it back reset. */
static int run_pooled(const struct kl_fn *fn, const struct kl_run_config *cfg,
                      struct kl_run_result *res, struct kl_err *err)
{
    char key[320];
    struct kl_pool *pool;
    struct kl_warm *w;
    int cold, rc;

    snprintf(key, sizeof(key), "%s@v%d", fn->name, fn->version);
    if (!(pool = kl_pool_get(key, fn->img->img, cfg)))
        return kl_errf(err, -ENOMEM, "out of memory");
    uint64_t t0 = kl_now_ns(), spent_ms;
    struct kl_run_config rcfg = *cfg;

    rc = kl_pool_acquire(pool, fn->cfg.timeout_ms, &w, &cold, err);
    if (rc == -EAGAIN || rc == -EBUSY) {
        kl_pool_count_limit(rc == -EAGAIN ? "queue_full" : "queue_timeout");
        return rc;
    }
    if (rc < 0) {
        /* The module could not be instantiated: the guest's fault, answered
         * like a request that ended the same way (a looping start function
         * is a timeout, a trapping one a trap). */
        res->kind = rc == -ETIMEDOUT ? KL_RES_TIMEOUT : rc == -EFAULT ? KL_RES_TRAP : KL_RES_ERROR;
        snprintf(res->reason, sizeof(res->reason), "%s", err->msg);
        count_limit(res);
        return 0;
    }
    /* One deadline per request: the wait for a VM and its cold start come
     * out of the request's time, so it ends by timeout_ms after it arrived
     * (plus at most one cold start that itself ran out of time). */
    spent_ms = (kl_now_ns() - t0) / 1000000ull;
    if (rcfg.timeout_ms && spent_ms >= rcfg.timeout_ms) {
        kl_pool_release(pool, w, 1);
        res->kind = KL_RES_TIMEOUT;
        snprintf(res->reason, sizeof(res->reason), "timeout after %u ms (waiting for a VM)",
                 rcfg.timeout_ms);
        count_limit(res);
        return 0;
    }
    if (rcfg.timeout_ms)
        rcfg.timeout_ms -= (uint32_t)spent_ms;
    rc = kl_warm_request(w, &rcfg, res, err);
    kl_pool_release(pool, w, rc == 0 && !kl_warm_broken(w));
    if (rc == 0)
        count_limit(res);
    return rc;
}

/*
 * vCPU helpers. A thread that runs a guest gets the seccomp allow-list for
 * the rest of its life (src/vm/seccomp.c), and a libmicrohttpd connection
 * thread later serves whatever else comes on its keep-alive connection,
 * including a deploy that starts a thread and forks the compiler. So guests
 * never run on connection threads: a request borrows an idle helper thread
 * (one is started when none is idle, so there are at most as many as
 * requests ever ran at once), hands it the pooled run and waits. A handoff
 * costs two wake-ups; warm VMs already moved between threads before, so
 * KVM sees nothing new. Helpers live as long as the process. A helper's
 * file access is confined to the preopens of its first run (landlock.h),
 * so it is lent only to runs with the same preopens (its key).
 */
struct vcpu_helper {
    pthread_t t;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int busy;                      /* a job is posted and not finished */
    int (*call)(void *);           /* the job: call(arg), or with call NULL a pooled run */
    void *call_arg;
    const struct kl_fn *fn;
    const struct kl_run_config *cfg;
    struct kl_run_result *res;
    struct kl_err *err;
    int rc;
    char key[KL_LANDLOCK_KEY_LEN]; /* the preopens it is confined to; "": none yet */
    struct vcpu_helper *next;      /* in the idle list */
};

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vcpu_helper *idle_helpers;

static void *helper_main(void *arg)
{
    struct vcpu_helper *h = arg;

    kl_seccomp_vcpu_thread();
    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (!h->busy)
            pthread_cond_wait(&h->cv, &h->lock);
        pthread_mutex_unlock(&h->lock);
        int rc = h->call ? h->call(h->call_arg) : run_pooled(h->fn, h->cfg, h->res, h->err);
        pthread_mutex_lock(&h->lock);
        h->rc = rc;
        snprintf(h->key, sizeof(h->key), "%s", kl_landlock_thread_key());
        h->busy = 0;
        pthread_cond_broadcast(&h->cv);
    }
    return NULL;
}

/* Take the first idle helper confined to `key` (or, with `key` NULL, to
 * nothing yet) off the idle list. */
static struct vcpu_helper *idle_take(const char *key)
{
    for (struct vcpu_helper **p = &idle_helpers; *p; p = &(*p)->next)
        if (key ? strcmp((*p)->key, key) == 0 : (*p)->key[0] == 0) {
            struct vcpu_helper *h = *p;
            *p = h->next;
            return h;
        }
    return NULL;
}

/* An idle helper that may open `key`'s preopens, or a new one; NULL when
 * none can be started. */
static struct vcpu_helper *helper_get(const char *key)
{
    struct vcpu_helper *h;
    pthread_attr_t a;
    int rc;

    pthread_mutex_lock(&idle_lock);
    if (!(h = idle_take(key)))
        h = idle_take(NULL);
    pthread_mutex_unlock(&idle_lock);
    if (h)
        return h;
    if (!(h = calloc(1, sizeof(*h))))
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cv, NULL);
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&h->t, &a, helper_main, h);
    pthread_attr_destroy(&a);
    if (rc != 0) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    return h;
}

/* Post a job (h->call or a pooled run) to helper h, wait for it, put h back. */
static int helper_do(struct vcpu_helper *h, int (*call)(void *), void *call_arg,
                     const struct kl_fn *fn, const struct kl_run_config *cfg,
                     struct kl_run_result *res, struct kl_err *err)
{
    int rc;

    pthread_mutex_lock(&h->lock);
    h->call = call;
    h->call_arg = call_arg;
    h->fn = fn;
    h->cfg = cfg;
    h->res = res;
    h->err = err;
    h->busy = 1;
    pthread_cond_broadcast(&h->cv);
    while (h->busy)
        pthread_cond_wait(&h->cv, &h->lock);
    rc = h->rc;
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_lock(&idle_lock);
    h->next = idle_helpers;
    idle_helpers = h;
    pthread_mutex_unlock(&idle_lock);
    return rc;
}

/* run_pooled on a helper thread, waiting for it. */
static int run_on_helper(const struct kl_fn *fn, const struct kl_run_config *cfg,
                         struct kl_run_result *res, struct kl_err *err)
{
    char key[KL_LANDLOCK_KEY_LEN];
    struct vcpu_helper *h;

    kl_landlock_key(cfg, key);
    if (!(h = helper_get(key)))
        return kl_errf(err, -EAGAIN, "cannot start a vCPU thread");
    return helper_do(h, NULL, NULL, fn, cfg, res, err);
}

/* kl_pool_opts.on_vcpu: fn(arg) on a helper confined to cfg's preopens. */
static int on_helper(int (*fn)(void *), void *arg, const struct kl_run_config *cfg)
{
    char key[KL_LANDLOCK_KEY_LEN];
    struct vcpu_helper *h;

    kl_landlock_key(cfg, key);
    if (!(h = helper_get(key)))
        return -EAGAIN;
    return helper_do(h, fn, arg, NULL, cfg, NULL, NULL);
}

int kl_exec_run(const struct kl_fn *fn, const struct kl_exec_in *in,
                struct kl_run_result *res, struct kl_err *err)
{
    struct kl_preopen pre[KL_FN_MAX_DIRS];
    struct kl_run_config cfg;
    size_t i;
    int rc, fd = -1;

    memset(res, 0, sizeof(*res));
    kl_run_config_init(&cfg);
    cfg.timeout_ms = fn->cfg.timeout_ms;
    cfg.max_memory_pages = fn->cfg.max_memory_mb * 16u;
    cfg.max_open_files = fn->cfg.max_open_files;
    if (cfg.max_memory_pages > KL_MEM_MAX_PAGES)
        cfg.max_memory_pages = KL_MEM_MAX_PAGES;
    cfg.argc = in->argc;
    cfg.argv = in->argv;
    cfg.envc = in->envc;
    cfg.envp = in->envp;
    for (i = 0; i < fn->cfg.ndirs && i < KL_FN_MAX_DIRS; i++) {
        pre[i].host_path = fn->cfg.dirs[i].host;
        pre[i].guest_path = fn->cfg.dirs[i].guest;
        pre[i].readonly = 1;
    }
    cfg.npreopens = (int)i;
    cfg.preopens = pre;
    cfg.stdin_fd = -1;
    cfg.stdin_buf = in->body;
    cfg.stdin_len = in->body_len;
    if (in->body_len > KL_STDIN_SIZE) {
        if ((fd = body_memfd(in->body, in->body_len)) < 0)
            return kl_errf(err, fd, "cannot stage the request body: %s", strerror(-fd));
        cfg.stdin_fd = fd;
        cfg.stdin_buf = NULL;
        cfg.stdin_len = 0;
    }
    cfg.stdout_fd = -1;
    cfg.stderr_fd = -1;
    cfg.out_limit = (size_t)fn->cfg.max_response_kb << 10;
    if ((rc = kl_svc_request_open(fn, in->request_id, &cfg.svc)) < 0) {
        if (fd >= 0)
            close(fd);
        return kl_errf(err, rc, "cannot prepare the function's services");
    }
    rc = run_on_helper(fn, &cfg, res, err);
    kl_svc_request_close(cfg.svc);
    if (fd >= 0)
        close(fd);
    return rc;
}
