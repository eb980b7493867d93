/* pool.c - warm VMs per function: snapshot reuse, per-function and global caps, bounded queue, idle reaper, a ready VM at zero. */
#include "server/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define MAX_DIRS 16
#define NLIMITS 8

struct kl_pool {
    char *key;
    const struct kl_image *img;              /* NULL once forgotten (kl_pools_forget) */
    struct kl_run_config cfg;                /* limits for every VM of the pool */
    struct kl_preopen dirs[MAX_DIRS];
    struct kl_warm **idle;
    unsigned nidle, cap, busy;
    uint64_t last_used_ns;
    uint64_t cold, warm, readies;            /* starts, for metrics */
    /* Scaled to zero, a pool keeps one VM built fresh from the image and
     * never used (a used one, even reset, is never kept): the next first
     * request costs a hand-off instead of a build. */
    struct kl_warm *ready;
    uint64_t ready_for;                      /* the last_used_ns it was last built for */
    int building;                            /* being built, outside the lock */
    struct kl_pool *next;
};

static struct kl_pool_opts opts;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static pthread_cond_t build_wanted = PTHREAD_COND_INITIALIZER;   /* reaper -> builder */
static struct kl_pool *pools;
static unsigned total, waiting;
static uint64_t queue_rejects, wait_timeouts;
static struct { char kind[24]; uint64_t n; } limits[NLIMITS];

/* Reset time histogram (seconds), filled by kl_pool_release. */
static const double reset_bounds[] = {10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3, 25e-3};
#define NRB (sizeof(reset_bounds) / sizeof(reset_bounds[0]))
static uint64_t reset_buckets[NRB + 1], reset_count;
static double reset_sum;

static void destroy_list(struct kl_warm **v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        kl_warm_destroy(v[i]);
}

static uint64_t idle_ns(void) { return (uint64_t)opts.idle_ms * 1000000ull; }
static uint64_t keep_ns(void) { return idle_ns() + (uint64_t)opts.ready_ms * 1000000ull; }

/* Scale to zero, under the lock: a pool unused for idle_ms gives back every
 * idle VM; its ready VM goes at idle_ms + ready_ms (or with its image). */
static unsigned reap(uint64_t now, struct kl_warm **doomed, unsigned max)
{
    unsigned n = 0;

    for (struct kl_pool *p = pools; p && n < max; p = p->next) {
        while (p->nidle && n < max && now - p->last_used_ns >= idle_ns()) {
            doomed[n++] = p->idle[--p->nidle];
            total--;
        }
        if (p->ready && n < max && (!p->img || now - p->last_used_ns >= keep_ns())) {
            doomed[n++] = p->ready;
            p->ready = NULL;
            total--;
        }
    }
    return n;
}

/* Under the lock: a pool that has just scaled to zero and gets a ready VM,
 * its slot counted; once per time it was used, so a module that cannot be
 * instantiated is not retried until a request comes again. */
static struct kl_pool *want_ready(uint64_t now)
{
    if (!opts.ready_ms)
        return NULL;
    for (struct kl_pool *p = pools; p; p = p->next)
        if (p->img && !p->ready && !p->building && !p->nidle && !p->busy &&
            p->ready_for != p->last_used_ns && now - p->last_used_ns >= idle_ns() &&
            now - p->last_used_ns < keep_ns() && total < opts.max_total) {
            p->building = 1;
            p->ready_for = p->last_used_ns;
            total++;
            return p;
        }
    return NULL;
}

struct ready_job {
    const struct kl_image *img;
    const struct kl_run_config *cfg;
    struct kl_warm *w;
    struct kl_err err;
};

/* Create and settle one ready VM (opts.on_vcpu's job). */
static int build_ready(void *arg)
{
    struct ready_job *j = arg;
    int rc = kl_warm_create(j->img, j->cfg, &j->w, &j->err);

    /* Kept idle, it is checked with kl_warm_usable before its first use. */
    if (rc == 0 && (rc = kl_warm_settle(j->w)) < 0) {
        kl_errf(&j->err, rc, "settling it failed: %s", strerror(-rc));
        kl_warm_destroy(j->w);
        j->w = NULL;
    }
    return rc;
}

/* Build the ready VM of every pool that wants one, one at a time, on a
 * vCPU thread confined like the pool's requests (instantiation runs guest
 * code). kl_pools_forget waits for `building`, so the image stays alive.
 * Its own thread: a start function that runs until its timeout delays the
 * next ready VM, never the reaper. */
static void *builder(void *arg)
{
    struct kl_pool *p;

    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!(p = want_ready(kl_now_ns())))
            pthread_cond_wait(&build_wanted, &lock);
        struct ready_job j = {p->img, &p->cfg, NULL, {0}};
        pthread_mutex_unlock(&lock);
        int rc = opts.on_vcpu ? opts.on_vcpu(build_ready, &j, &p->cfg) : build_ready(&j);
        if (rc < 0)   /* not retried until the function is used again */
            kl_log("%s: no ready VM at zero: %s", p->key,
                   j.err.msg[0] ? j.err.msg : strerror(-rc));
        pthread_mutex_lock(&lock);
        p->building = 0;
        if (rc == 0 && p->img && !p->ready) {
            p->ready = j.w;
            j.w = NULL;
        } else {
            total--;
        }
        pthread_cond_broadcast(&freed);
        pthread_mutex_unlock(&lock);
        kl_warm_destroy(j.w);   /* NULL when kept */
    }
    return NULL;
}

static void *reaper(void *arg)
{
    (void)arg;
    for (;;) {
        struct kl_warm *doomed[64];
        unsigned n;

        usleep(opts.idle_ms > 2000 ? 500000 : 100000);
        pthread_mutex_lock(&lock);
        n = reap(kl_now_ns(), doomed, 64);
        if (n)
            pthread_cond_broadcast(&freed);
        pthread_cond_signal(&build_wanted);   /* a pool may have just scaled to zero */
        pthread_mutex_unlock(&lock);
        destroy_list(doomed, n);   /* KVM teardown outside the lock */
    }
    return NULL;
}

void kl_pools_forget(const struct kl_image *img)
{
    pthread_mutex_lock(&lock);
    /* Pools are never freed and only pushed at the head: the walk holds. */
    for (struct kl_pool *p = pools; p; p = p->next) {
        if (p->img != img)
            continue;
        p->img = NULL;
        while (p->building)
            pthread_cond_wait(&freed, &lock);
        while (p->nidle || p->ready) {
            struct kl_warm *w = p->nidle ? p->idle[--p->nidle] : p->ready;
            if (w == p->ready)
                p->ready = NULL;
            total--;
            pthread_cond_broadcast(&freed);
            pthread_mutex_unlock(&lock);
            kl_warm_destroy(w);
            pthread_mutex_lock(&lock);
        }
    }
    pthread_mutex_unlock(&lock);
}

int kl_pools_init(const struct kl_pool_opts *o)
{
    pthread_t t;

    opts = *o;
    if (!opts.max_total)
        opts.max_total = 64;
    if (!opts.max_per_fn)
        opts.max_per_fn = opts.max_total;
    if (!opts.idle_ms)
        opts.idle_ms = 60000;
    if (pthread_create(&t, NULL, reaper, NULL) != 0)
        return -EAGAIN;
    pthread_detach(t);
    if (opts.ready_ms) {
        if (pthread_create(&t, NULL, builder, NULL) != 0)
            return -EAGAIN;
        pthread_detach(t);
    }
    return 0;
}

struct kl_pool *kl_pool_get(const char *key, const struct kl_image *img,
                            const struct kl_run_config *cfg)
{
    struct kl_pool *p;

    pthread_mutex_lock(&lock);
    for (p = pools; p; p = p->next)
        if (p->img == img && strcmp(p->key, key) == 0)
            goto out;
    if (!(p = calloc(1, sizeof(*p))) || !(p->key = strdup(key))) {
        free(p);
        p = NULL;
        goto out;
    }
    p->img = img;
    p->cfg = *cfg;
    p->cfg.argc = p->cfg.envc = 0;
    p->cfg.svc = NULL;   /* a request's own; never the pool's */
    p->cfg.npreopens = cfg->npreopens < MAX_DIRS ? cfg->npreopens : MAX_DIRS;
    for (int i = 0; i < p->cfg.npreopens; i++) {
        p->dirs[i].host_path = strdup(cfg->preopens[i].host_path);
        p->dirs[i].guest_path = strdup(cfg->preopens[i].guest_path);
        p->dirs[i].readonly = cfg->preopens[i].readonly;
    }
    p->cfg.preopens = p->dirs;
    p->last_used_ns = kl_now_ns();
    p->next = pools;
    pools = p;
out:
    pthread_mutex_unlock(&lock);
    return p;
}

/* At the global cap, evict an idle (else the ready) VM of the least
 * recently used pool. */
static struct kl_warm *evict_one(void)
{
    struct kl_pool *lru = NULL;
    struct kl_warm *w;

    for (struct kl_pool *q = pools; q; q = q->next)
        if ((q->nidle || q->ready) && (!lru || q->last_used_ns < lru->last_used_ns))
            lru = q;
    if (!lru)
        return NULL;
    total--;
    if (lru->nidle)
        return lru->idle[--lru->nidle];
    w = lru->ready;
    lru->ready = NULL;
    return w;
}

static void deadline_after(struct timespec *t, uint32_t ms)
{
    clock_gettime(CLOCK_REALTIME, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* Create a VM for p outside the lock; the slot was already counted. */
static int create(struct kl_pool *p, struct kl_warm **w, struct kl_err *err)
{
    int rc = kl_warm_create(p->img, &p->cfg, w, err);

    if (rc < 0) {
        pthread_mutex_lock(&lock);
        p->busy--;
        total--;
        pthread_cond_broadcast(&freed);
        pthread_mutex_unlock(&lock);
    }
    return rc;
}

/* One try of kl_pool_acquire: an idle VM, a new one, or a wait for either. */
static int acquire_once(struct kl_pool *p, uint32_t wait_ms, struct kl_warm **w, int *cold,
                        struct kl_err *err)
{
    struct timespec dl;
    int queued = 0;

    *cold = 0;
    deadline_after(&dl, wait_ms ? wait_ms : 1000);
    pthread_mutex_lock(&lock);
    for (;;) {
        if (p->nidle) {
            *w = p->idle[--p->nidle];
            p->busy++;
            p->warm++;
            break;
        }
        if (p->ready) {   /* its slot is already counted in total */
            *w = p->ready;
            p->ready = NULL;
            p->busy++;
            p->readies++;
            break;
        }
        if (p->busy < opts.max_per_fn) {
            struct kl_warm *victim = total >= opts.max_total ? evict_one() : NULL;
            if (total < opts.max_total) {
                p->busy++;
                p->cold++;
                total++;
                pthread_mutex_unlock(&lock);
                kl_warm_destroy(victim);
                *cold = 1;
                return create(p, w, err);
            }
        }
        if (!queued) {
            if (waiting >= opts.queue_max) {
                queue_rejects++;
                pthread_mutex_unlock(&lock);
                return kl_errf(err, -EAGAIN, "the wait queue is full (%u waiting)", opts.queue_max);
            }
            queued = 1;
            waiting++;
        }
        if (pthread_cond_timedwait(&freed, &lock, &dl) == ETIMEDOUT) {
            waiting--;
            wait_timeouts++;
            pthread_mutex_unlock(&lock);
            return kl_errf(err, -EBUSY, "no VM became free within %u ms", wait_ms);
        }
    }
    if (queued)
        waiting--;
    pthread_mutex_unlock(&lock);
    return 0;
}

int kl_pool_acquire(struct kl_pool *p, uint32_t wait_ms, struct kl_warm **w, int *cold,
                    struct kl_err *err)
{
    int rc;

    /* An idle VM whose sandbox died while it waited (killed by an operator
     * or the OOM killer) is replaced, not handed out: that request got 502.
     * Each such VM is destroyed, so this ends with the idle list. */
    while ((rc = acquire_once(p, wait_ms, w, cold, err)) == 0 && !*cold &&
           !kl_warm_usable(*w))
        kl_pool_release(p, *w, 0);
    return rc;
}

void kl_pool_release(struct kl_pool *p, struct kl_warm *w, int reusable)
{
    double s = kl_warm_last_reset_ns(w) / 1e9;
    unsigned b = 0;

    pthread_mutex_lock(&lock);
    p->busy--;
    p->last_used_ns = kl_now_ns();
    if (reusable) {
        while (b < NRB && s > reset_bounds[b])
            b++;
        reset_buckets[b]++;
        reset_count++;
        reset_sum += s;
    }
    if (reusable && p->nidle == p->cap) {
        unsigned cap = p->cap ? p->cap * 2 : 4;
        struct kl_warm **n = realloc(p->idle, cap * sizeof(*n));
        if (n) {
            p->idle = n;
            p->cap = cap;
        }
    }
    if (reusable && p->nidle < p->cap) {
        p->idle[p->nidle++] = w;
        w = NULL;
    } else {
        total--;
    }
    pthread_cond_broadcast(&freed);
    pthread_mutex_unlock(&lock);
    kl_warm_destroy(w);   /* NULL when it went back to the pool */
}

void kl_pool_count_limit(const char *kind)
{
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < NLIMITS; i++) {
        if (!limits[i].kind[0])
            snprintf(limits[i].kind, sizeof(limits[i].kind), "%s", kind);
        if (!strcmp(limits[i].kind, kind) || i == NLIMITS - 1) {
            limits[i].n++;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

int kl_pool_metrics_render(struct kl_buf *out)
{
    uint64_t cum = 0;
    int rc = 0;

    pthread_mutex_lock(&lock);
    rc |= kl_buf_printf(out, "# TYPE kernless_vm_starts_total counter\n"
                             "# TYPE kernless_pool_ready_vms gauge\n"
                             "# TYPE kernless_pool_vms gauge\n");
    for (struct kl_pool *p = pools; p; p = p->next) {
        /* A function whose optimised image was swapped in has two pools
         * under one key while the old one drains: one series, summed. */
        struct kl_pool *q = pools;
        uint64_t cold = 0, warm = 0, readies = 0;
        unsigned idle = 0, busy = 0, ready = 0;

        while (q != p && strcmp(q->key, p->key) != 0)
            q = q->next;
        if (q != p)
            continue;   /* printed with the first pool of its key */
        for (q = p; q; q = q->next)
            if (strcmp(q->key, p->key) == 0) {
                cold += q->cold;
                warm += q->warm;
                readies += q->readies;
                ready += q->ready != NULL;
                idle += q->nidle;
                busy += q->busy;
            }
        rc |= kl_buf_printf(out, "kernless_vm_starts_total{pool=\"%s\",kind=\"cold\"} %llu\n",
                            p->key, (unsigned long long)cold);
        rc |= kl_buf_printf(out, "kernless_vm_starts_total{pool=\"%s\",kind=\"warm\"} %llu\n",
                            p->key, (unsigned long long)warm);
        rc |= kl_buf_printf(out, "kernless_vm_starts_total{pool=\"%s\",kind=\"ready\"} %llu\n"
                                 "kernless_pool_ready_vms{pool=\"%s\"} %u\n",
                            p->key, (unsigned long long)readies, p->key, ready);
        rc |= kl_buf_printf(out, "kernless_pool_vms{pool=\"%s\",state=\"idle\"} %u\n"
                                 "kernless_pool_vms{pool=\"%s\",state=\"busy\"} %u\n",
                            p->key, idle, p->key, busy);
    }
    rc |= kl_buf_printf(out, "# TYPE kernless_vms_total gauge\nkernless_vms_total %u\n"
                             "# TYPE kernless_queue_length gauge\nkernless_queue_length %u\n"
                             "# TYPE kernless_queue_rejected_total counter\n"
                             "kernless_queue_rejected_total{reason=\"full\"} %llu\n"
                             "kernless_queue_rejected_total{reason=\"timeout\"} %llu\n",
                        total, waiting, (unsigned long long)queue_rejects,
                        (unsigned long long)wait_timeouts);
    rc |= kl_buf_printf(out, "# TYPE kernless_limits_hit_total counter\n");
    for (unsigned i = 0; i < NLIMITS && limits[i].kind[0]; i++)
        rc |= kl_buf_printf(out, "kernless_limits_hit_total{kind=\"%s\"} %llu\n", limits[i].kind,
                            (unsigned long long)limits[i].n);
    rc |= kl_buf_printf(out, "# TYPE kernless_reset_seconds histogram\n");
    for (unsigned b = 0; b < NRB; b++) {
        cum += reset_buckets[b];
        rc |= kl_buf_printf(out, "kernless_reset_seconds_bucket{le=\"%g\"} %llu\n", reset_bounds[b],
                            (unsigned long long)cum);
    }
    cum += reset_buckets[NRB];
    rc |= kl_buf_printf(out, "kernless_reset_seconds_bucket{le=\"+Inf\"} %llu\n"
                             "kernless_reset_seconds_sum %g\nkernless_reset_seconds_count %llu\n",
                        (unsigned long long)cum, reset_sum, (unsigned long long)reset_count);
    pthread_mutex_unlock(&lock);
    return rc ? -ENOMEM : 0;
}
