/* optimiser.c - the background optimiser: one gcc -O2 build at a time, bounded, then a table swap; tier state for info and /metrics. */
#include "server/optimiser.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "compile/compile.h"
#include "compile/subproc.h"
#include "compile/tier.h"
#include "common/log.h"
#include "server/server.h"
#include "server/table.h"

#define DEFAULT_TIMEOUT_S 900u
#define DEFAULT_MEM_MB 4096u
#define MAX_MODULE_BYTES (64u << 20)
/* A node waiting for another's build looks again this often: it may have
 * published (a notification can be missed) or died. */
#define RECHECK_S 30u

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED };

/* One module's optimisation, kept after it ends for info. */
struct job {
    char sha[65];
    char cache_dir[PATH_MAX];   /* "" = the per-user cache */
    unsigned timeout_s;
    enum job_state state;
    time_t not_before;          /* a queued job waits for another node's claim */
    int fetched;                /* another node built it: fetched from the registry */
    time_t swapped_at;          /* when the table took the optimised image */
    double seconds;             /* the -O2 compile's wall time */
    char error[300];
    struct job *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct job *jobs;        /* newest first */
static struct kl_server *srv;
static int started;
/* Shutdown (kl_optimiser_stop): no job starts, none swaps or publishes, and
 * the server waits for `running` to drop before it closes the registry. */
static int stopping, running;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
/* <data>/optimiser: its own build folder, so a deploy's compile and the
 * optimiser's are told apart; swept at start like build/ (datadir.c). */
static char build_dir[PATH_MAX + 16];
static unsigned long long swaps, fails, fetches;
static double compile_s[2];     /* by tier: [KL_TIER_OPTIMISED], [KL_TIER_BASELINE] */
/* Resolved once: every table reload names each function's optimised image,
 * and resolving reads and hashes the guest runtime. */
static struct kl_toolchain tc;
static int tc_ok;

static unsigned env_uint(const char *name, unsigned def)
{
    const char *v = getenv(name);
    char *end;
    unsigned long n;

    if (v == NULL || *v == 0)
        return def;
    n = strtoul(v, &end, 10);
    return *end == 0 && n > 0 && n < UINT_MAX ? (unsigned)n : def;
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int unhex(const char *hex, uint8_t out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -EINVAL;
        out[i] = (uint8_t)v;
    }
    return hex[64] == 0 ? 0 : -EINVAL;
}

/* Callers hold `lock`. */
static struct job *find(const char *sha)
{
    for (struct job *j = jobs; j != NULL; j = j->next)
        if (strcmp(j->sha, sha) == 0)
            return j;
    return NULL;
}

/* The oldest queued job that is due; *next gets the earliest time a
 * waiting one is due (0: none waits). */
static struct job *next_queued(time_t *next)
{
    struct job *pick = NULL;
    time_t now = time(NULL);

    *next = 0;
    for (struct job *j = jobs; j != NULL; j = j->next) {
        if (j->state != JOB_QUEUED)
            continue;
        if (j->not_before <= now)
            pick = j;   /* the oldest: the list is newest first */
        else if (*next == 0 || j->not_before < *next)
            *next = j->not_before;
    }
    return pick;
}

/* Tiering is on unless KERNLESS_TIER names one tier for everything. */
static int tiered(void)
{
    const char *t = getenv("KERNLESS_TIER");

    return t == NULL || *t == 0;
}

/* An optimiser job's time limit (kl_optimiser_enqueue). */
static unsigned job_timeout(unsigned timeout_s)
{
    return env_uint("KERNLESS_OPTIMISE_TIMEOUT_S", timeout_s ? timeout_s : DEFAULT_TIMEOUT_S);
}

int kl_optimiser_shared(struct kl_server *s)
{
    const char *v = getenv("KERNLESS_SHARE_OPTIMISED");

    return tiered() && s->reg != NULL && kl_reg_is_shared(s->reg) &&
           (v == NULL || strcmp(v, "0") != 0);
}

/* The cache path of module `sha` under the optimised tier in `dir`. */
static int optimised_path(const uint8_t sha[32], const char *dir, char *out, size_t len)
{
    struct kl_compile_opts o;
    int rc = 0;

    pthread_mutex_lock(&lock);
    if (!tc_ok && (rc = kl_toolchain_get(&tc, NULL)) == 0)
        tc_ok = 1;
    pthread_mutex_unlock(&lock);
    if (rc < 0)
        return rc;
    kl_compile_opts_init(&o);
    o.tier = KL_TIER_OPTIMISED;
    o.cache_dir = dir;
    return kl_compile_cache_path(&tc, sha, &o, out, len, NULL);
}

int kl_optimiser_deploy_tier(const unsigned char *wasm, size_t len, const char *cache_dir)
{
    char path[PATH_MAX + 80];
    uint8_t sha[32];

    if (!tiered())
        return kl_tier_default();   /* KERNLESS_TIER fixes one tier */
    kl_sha256(wasm, len, sha);
    if (optimised_path(sha, cache_dir, path, sizeof(path)) == 0 && access(path, R_OK) == 0)
        return KL_TIER_OPTIMISED;
    return KL_TIER_BASELINE;
}

void kl_optimiser_deploy_fetch(struct kl_server *s, const unsigned char *wasm, size_t len)
{
    char path[PATH_MAX + 80], hex[65];
    uint8_t sha[32];

    if (!kl_optimiser_shared(s))
        return;
    kl_sha256(wasm, len, sha);
    kl_hex(sha, sizeof(sha), hex);
    if (optimised_path(sha, s->images, path, sizeof(path)) == 0 && access(path, R_OK) != 0 &&
        kl_optimiser_fetch_published(s, hex, path) == 0)
        kl_log("fetched optimised image %s from the registry instead of compiling it",
               strrchr(path, '/') + 1);
}

void kl_optimiser_deploy_claim(struct kl_server *s, const unsigned char *wasm, size_t len,
                               unsigned timeout_s)
{
    char path[PATH_MAX + 80], hex[65];
    struct kl_err err = {0};
    unsigned wait_s;
    uint8_t sha[32];

    if (!kl_optimiser_shared(s))
        return;
    kl_sha256(wasm, len, sha);
    kl_hex(sha, sizeof(sha), hex);
    if (optimised_path(sha, s->images, path, sizeof(path)) == 0 &&
        kl_reg_optimise_claim(s->reg, hex, strrchr(path, '/') + 1, s->node.name,
                              job_timeout(timeout_s) + 60, 0, &wait_s, &err) < 0)
        kl_log("optimiser: module %.12s: not claimed in the registry: %s", hex, err.msg);
}

int kl_optimiser_image_path(const char *sha256, const char *image_path, char *out, size_t len)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(image_path, '/');
    uint8_t sha[32];

    if (unhex(sha256, sha) < 0 || slash == NULL || (size_t)(slash - image_path) >= sizeof(dir))
        return -EINVAL;
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - image_path), image_path);
    return optimised_path(sha, dir, out, len);
}

void kl_optimiser_count_compile(int tier, double seconds)
{
    pthread_mutex_lock(&lock);
    compile_s[tier == KL_TIER_BASELINE] += seconds;
    pthread_mutex_unlock(&lock);
}

int kl_optimiser_fetch_published(struct kl_server *s, const char *sha256, const char *opt)
{
    const char *base = strrchr(opt, '/') ? strrchr(opt, '/') + 1 : opt;
    char key[PATH_MAX + 16];
    struct kl_err err = {0};

    if (!kl_optimiser_shared(s))
        return -ENOTSUP;
    if (kl_reg_optimised_fetch(s->reg, sha256, base, opt, &err) == 0)
        return 0;
    if (err.code != -ENOENT)
        goto err_log;
    /* A version deployed straight on the optimised tier (it was cached
     * where it was deployed) stored the image as its own blob. */
    snprintf(key, sizeof(key), "image/%s", base);
    memset(&err, 0, sizeof(err));
    if (kl_reg_blob_fetch(s->reg, key, opt, (size_t)1 << 30, &err) == 0)
        return 0;
    if (err.code == -ENOENT)
        return -ENOENT;
err_log:
    kl_log("optimised image %s: not fetched from the registry: %s", base, err.msg);
    return err.code < 0 ? err.code : -EIO;
}

/* The -O2 build of one stored module, bounded in time and memory. */
static int build(const struct job *j, char *out, size_t out_len, struct kl_err *err)
{
    struct kl_compile_opts o;
    char path[PATH_MAX + 96], key[96];
    uint8_t *wasm = NULL;
    size_t len = 0;
    int cached, rc;

    snprintf(path, sizeof(path), "%s/%s.wasm", srv->modules, j->sha);
    /* A cluster node may serve a module it never received: the registry has it. */
    snprintf(key, sizeof(key), "module/%s.wasm", j->sha);
    if (access(path, F_OK) != 0 && kl_reg_is_shared(srv->reg) &&
        (rc = kl_reg_blob_fetch(srv->reg, key, path, MAX_MODULE_BYTES, err)) < 0)
        return rc;
    if ((rc = kl_read_file(path, MAX_MODULE_BYTES, &wasm, &len, err)) < 0)
        return rc;
    kl_compile_opts_init(&o);
    o.tier = KL_TIER_OPTIMISED;
    o.cache_dir = j->cache_dir[0] ? j->cache_dir : NULL;
    o.build_dir = build_dir;
    o.timeout_s = j->timeout_s;
    o.max_as_bytes = (uint64_t)env_uint("KERNLESS_OPTIMISE_MEM_MB", DEFAULT_MEM_MB) << 20;
    rc = kl_compile(wasm, len, &o, out, out_len, &cached, err);
    free(wasm);
    return rc;
}

/* Republish: new requests take the optimised image, requests in flight
 * keep the table (and image) they hold. */
static int swap_in(struct kl_err *err)
{
    int rc;

    pthread_mutex_lock(&srv->control_lock);
    rc = kl_server_reload(srv, err);
    pthread_mutex_unlock(&srv->control_lock);
    return rc;
}

/* The job's image is shared through the registry: a cluster, and a
 * function's image under images/ (an engine's lives in the per-user cache,
 * which every node builds for itself). */
static int shares(const struct job *j)
{
    return kl_optimiser_shared(srv) && strcmp(j->cache_dir, srv->images) == 0;
}

static void finish(struct job *j, int rc, double dt, int fetched, const struct kl_err *err)
{
    pthread_mutex_lock(&lock);
    j->seconds = dt;
    if (!fetched)
        compile_s[0] += dt;
    if (rc == 0) {
        j->state = JOB_DONE;
        j->swapped_at = time(NULL);
        j->fetched = fetched;
        swaps++;
        fetches += fetched != 0;
    } else {
        j->state = JOB_FAILED;
        snprintf(j->error, sizeof(j->error), "%s", err->msg);
        fails++;
    }
    pthread_mutex_unlock(&lock);
}

/* Wait `wait_s` (at most RECHECK_S: the claimer may publish, or die) for
 * another node's build of the module before looking again. */
static void defer(struct job *j, unsigned wait_s, const char *node_claim)
{
    pthread_mutex_lock(&lock);
    j->state = JOB_QUEUED;
    j->not_before = time(NULL) + (wait_s < RECHECK_S ? wait_s : RECHECK_S);
    pthread_mutex_unlock(&lock);
    kl_log("optimiser: module %.12s is being optimised by %s; waiting for its image",
           j->sha, node_claim);
}

/* In a cluster, before compiling: take the image if it is here already
 * (the table fetched it while this job waited) or another node published
 * it (1), or leave the module to the node that claimed it, or end the job
 * of a module removed meanwhile (2), else claim it (0). A registry that
 * cannot be reached leaves this node to compile. */
static int cluster_first(struct job *j, const char *opt)
{
    const char *base = strrchr(opt, '/') ? strrchr(opt, '/') + 1 : opt;
    struct kl_err err = {0};
    unsigned wait_s = 0;
    int rc;

    if (access(opt, R_OK) == 0)
        return 1;
    if (kl_optimiser_fetch_published(srv, j->sha, opt) == 0) {
        kl_log("optimiser: module %.12s: fetched the optimised image another node "
               "published", j->sha);
        return 1;
    }
    rc = kl_reg_optimise_claim(srv->reg, j->sha, base, srv->node.name, j->timeout_s + 60,
                               1, &wait_s, &err);
    if (rc == 0) {
        defer(j, wait_s, "another node");
        return 2;
    }
    if (rc == -ENOENT) {
        /* Removed meanwhile: nothing to build. */
        finish(j, rc, 0, 0, &err);
        return 2;
    }
    if (rc < 0)
        kl_log("optimiser: module %.12s: cannot claim it in the registry (%s); "
               "compiling it here", j->sha, err.msg);
    return 0;
}

/* Publish what this node built, so the other nodes fetch it instead. */
static void publish(struct job *j, const char *out)
{
    const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
    struct kl_err err = {0};

    if (kl_reg_optimised_publish(srv->reg, j->sha, base, out, &err) == 0)
        kl_log("optimiser: module %.12s: published the optimised image to the registry",
               j->sha);
    else
        kl_log("optimiser: module %.12s: not published (%s); other nodes build their own",
               j->sha, err.msg);
}

static int stopping_now(void)
{
    int v;

    pthread_mutex_lock(&lock);
    v = stopping;
    pthread_mutex_unlock(&lock);
    return v;
}

static void run_one(struct job *j)
{
    struct kl_err err = {0};
    char out[PATH_MAX + 80] = "";
    uint8_t sha[32];
    double t0 = now_s(), dt;
    int rc, first = 0;

    if (shares(j) && unhex(j->sha, sha) == 0 &&
        optimised_path(sha, j->cache_dir, out, sizeof(out)) == 0 &&
        (first = cluster_first(j, out)) == 2)
        return;
    if (first == 1) {
        rc = swap_in(&err);
        finish(j, rc, now_s() - t0, 1, &err);
        return;
    }
    kl_log("optimiser: compiling module %.12s at -O2 (limits %u s, %u MiB)", j->sha,
           j->timeout_s, env_uint("KERNLESS_OPTIMISE_MEM_MB", DEFAULT_MEM_MB));
    rc = build(j, out, sizeof(out), &err);
    dt = now_s() - t0;
    /* Stopping killed the compiler, or came after it: either way the
     * registry may be closing, so no swap and no publish. */
    if (stopping_now())
        rc = kl_errf(&err, -ECANCELED, "the server is stopping");
    if (rc == 0)
        rc = swap_in(&err);
    finish(j, rc, dt, 0, &err);
    if (rc == 0)
        kl_log("optimiser: module %.12s optimised in %.1f s; swapped in", j->sha, dt);
    else
        kl_log("optimiser: module %.12s not optimised after %.1f s (%s); the baseline tier "
               "keeps serving", j->sha, dt, err.msg);
    if (rc == 0 && shares(j))
        publish(j, out);
}

static void *thread_main(void *arg)
{
    struct timespec until = {0};
    time_t next;

    (void)arg;
    /* Below requests and baseline deploys: the nice value of this thread
     * is what its compilers inherit. */
    setpriority(PRIO_PROCESS, 0, 10);
    pthread_mutex_lock(&lock);
    for (;;) {
        struct job *j;
        while (!stopping && (j = next_queued(&next)) == NULL) {
            until.tv_sec = next;
            if (next == 0)
                pthread_cond_wait(&wake, &lock);
            else
                pthread_cond_timedwait(&wake, &lock, &until);
        }
        if (stopping)
            break;
        j->state = JOB_RUNNING;
        running = 1;
        pthread_mutex_unlock(&lock);
        run_one(j);
        pthread_mutex_lock(&lock);
        running = 0;
        pthread_cond_broadcast(&idle);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* The worker starts with the first job and lives as long as the process:
 * its compiler dies with the server (subproc.c: PDEATHSIG). Call with lock. */
static int start(struct kl_server *s)
{
    pthread_attr_t a;
    pthread_t t;
    int rc;

    if (started)
        return 0;
    srv = s;
    snprintf(build_dir, sizeof(build_dir), "%s/optimiser", s->data);
    if ((rc = kl_mkdir_p(build_dir, 0700)) < 0)
        return rc;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&t, &a, thread_main, NULL);
    pthread_attr_destroy(&a);
    if (rc == 0)
        started = 1;
    return -rc;
}

void kl_optimiser_enqueue(struct kl_server *s, const char *sha256, const char *cache_dir,
                          unsigned timeout_s)
{
    struct job *j;
    int rc;

    if (!tiered())
        return;
    pthread_mutex_lock(&lock);
    /* Once per module and process: a failed build would fail again under
     * the same limits (a restart, or new limits, tries again). */
    if (find(sha256) != NULL) {
        pthread_mutex_unlock(&lock);
        return;
    }
    if ((j = calloc(1, sizeof(*j))) == NULL) {
        pthread_mutex_unlock(&lock);
        kl_log("optimiser: out of memory; module %.12s stays on the baseline tier", sha256);
        return;
    }
    snprintf(j->sha, sizeof(j->sha), "%s", sha256);
    snprintf(j->cache_dir, sizeof(j->cache_dir), "%s", cache_dir ? cache_dir : "");
    j->timeout_s = job_timeout(timeout_s);
    j->state = JOB_QUEUED;
    j->next = jobs;
    jobs = j;
    if ((rc = start(s)) < 0) {
        j->state = JOB_FAILED;
        snprintf(j->error, sizeof(j->error), "the optimiser could not start: %s", strerror(-rc));
        fails++;
    }
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    if (rc < 0)
        kl_log("optimiser: cannot start (%s); module %.12s stays on the baseline tier",
               strerror(-rc), sha256);
}

void kl_optimiser_stop(void)
{
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_broadcast(&wake);
    /* A job's -O2 compile may have minutes left: its compilers are killed
     * (again each time, as a build starts its next step) rather than waited
     * for, and the job then fails before it reaches the registry. */
    while (running) {
        struct timespec t;

        pthread_mutex_unlock(&lock);
        kl_subproc_kill_live();
        pthread_mutex_lock(&lock);
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 100 * 1000 * 1000;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&idle, &lock, &t);
    }
    pthread_mutex_unlock(&lock);
}

void kl_optimiser_note_fetched(const char *sha256)
{
    struct job *j;

    pthread_mutex_lock(&lock);
    if ((j = find(sha256)) == NULL && (j = calloc(1, sizeof(*j))) != NULL) {
        snprintf(j->sha, sizeof(j->sha), "%s", sha256);
        j->next = jobs;
        jobs = j;
    }
    /* A running job finds the image there and does not compile. */
    if (j != NULL && j->state != JOB_RUNNING) {
        j->state = JOB_DONE;
        j->fetched = 1;
        j->swapped_at = time(NULL);
        swaps++;
        fetches++;
    }
    pthread_mutex_unlock(&lock);
}

void kl_optimiser_describe(struct kl_server *s, json_t *o)
{
    const char *name = json_string_value(json_object_get(o, "name"));
    struct kl_table *t = kl_server_table(s);
    const struct kl_fn *fn = t && name ? kl_table_find(t, name) : NULL;
    const char *tier = "baseline";
    struct job *j;

    if (fn == NULL || fn->sha256[0] == 0) {
        kl_table_put(t);
        return;
    }
    pthread_mutex_lock(&lock);
    j = find(fn->sha256);
    if (fn->tier == KL_TIER_OPTIMISED)
        tier = "optimised";
    else if (j != NULL && j->state != JOB_FAILED)
        tier = "optimising";   /* queued, compiling, or done and being swapped in */
    json_object_set_new(o, "tier", json_string(tier));
    if (j != NULL && j->state == JOB_DONE) {
        json_object_set_new(o, "tier_swapped_at", json_integer((json_int_t)j->swapped_at));
        /* Built here, or by another node of the cluster (fetched). */
        json_object_set_new(o, "tier_source", json_string(j->fetched ? "registry" : "local"));
        if (!j->fetched)
            json_object_set_new(o, "optimise_seconds", json_real(j->seconds));
    }
    if (j != NULL && j->state == JOB_FAILED && fn->tier != KL_TIER_OPTIMISED)
        json_object_set_new(o, "optimise_error", json_string(j->error));
    pthread_mutex_unlock(&lock);
    kl_table_put(t);
}

void kl_optimiser_describe_all(struct kl_server *s, json_t *o)
{
    size_t i;
    json_t *f;

    if (!json_is_array(o)) {
        kl_optimiser_describe(s, o);
        return;
    }
    json_array_foreach(o, i, f)
        kl_optimiser_describe(s, f);
}

void kl_optimiser_metrics(struct kl_buf *out)
{
    pthread_mutex_lock(&lock);
    kl_buf_printf(out, "# HELP kernless_tier_swaps_total Optimised images swapped in behind "
                  "live traffic.\n# TYPE kernless_tier_swaps_total counter\n"
                  "kernless_tier_swaps_total %llu\n", swaps);
    kl_buf_printf(out, "# HELP kernless_tier_optimise_failures_total Optimised builds that "
                  "failed or hit their limits (the baseline kept serving).\n"
                  "# TYPE kernless_tier_optimise_failures_total counter\n"
                  "kernless_tier_optimise_failures_total %llu\n", fails);
    kl_buf_printf(out, "# HELP kernless_tier_fetched_total Optimised images another node "
                  "published, fetched instead of compiled.\n"
                  "# TYPE kernless_tier_fetched_total counter\n"
                  "kernless_tier_fetched_total %llu\n", fetches);
    kl_buf_printf(out, "# HELP kernless_compile_seconds_total Compile time by tier.\n"
                  "# TYPE kernless_compile_seconds_total counter\n"
                  "kernless_compile_seconds_total{tier=\"baseline\"} %.3f\n"
                  "kernless_compile_seconds_total{tier=\"optimised\"} %.3f\n",
                  compile_s[KL_TIER_BASELINE], compile_s[KL_TIER_OPTIMISED]);
    pthread_mutex_unlock(&lock);
}
