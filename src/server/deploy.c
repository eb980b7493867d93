/* deploy.c - the deploy pipeline: store module, compile with progress, load, commit, republish. */
#include "server/deploy.h"

#include "common/log.h"
#include "lang/bundle.h"
#include "lang/deploy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "compile/compile.h"
#include "compile/tier.h"
#include "server/optimiser.h"
#include "server/server.h"
#include "server/table.h"

struct kl_deploy {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    struct kl_server *srv;
    char name[KL_FN_NAME_MAX + 1];
    char reqid[32];
    struct kl_buf config;
    struct kl_buf module;
    int lang;                /* a Python/JavaScript source upload (lang/deploy.h) */
    struct kl_buf events;    /* NDJSON progress lines */
    size_t sent;
    int done;
    int status;
    json_t *result;
    struct timespec t0;
    int tier;                /* the tier the deploy compiled (optimiser.h) */
};

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Append one progress event line and wake the streaming reader. */
static void event(struct kl_deploy *d, json_t *o)
{
    char *s;

    json_object_set_new(o, "ms", json_integer(elapsed_ms(&d->t0)));
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    kl_buf_append(&d->events, s, strlen(s));
    kl_buf_append(&d->events, "\n", 1);
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    free(s);
}

static void stage(struct kl_deploy *d, const char *name)
{
    event(d, json_pack("{s:s,s:s}", "event", "progress", "stage", name));
}

static void on_progress(void *ctx, const char *name)
{
    stage(ctx, name);
}

struct kl_deploy *kl_deploy_new(struct kl_server *s, const char *name,
                                const char *request_id, struct kl_buf *config,
                                struct kl_buf *module)
{
    struct kl_deploy *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    d->refs = 1;
    d->srv = s;
    snprintf(d->name, sizeof(d->name), "%s", name);
    snprintf(d->reqid, sizeof(d->reqid), "%s", request_id);
    d->config = *config;
    d->module = *module;
    kl_buf_init(config, config->cap);
    kl_buf_init(module, module->cap);
    kl_buf_init(&d->events, 1 << 20);
    clock_gettime(CLOCK_MONOTONIC, &d->t0);
    return d;
}

void kl_deploy_put(struct kl_deploy *d)
{
    int last;

    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    last = --d->refs == 0;
    pthread_mutex_unlock(&d->lock);
    if (!last)
        return;
    kl_buf_free(&d->config);
    kl_buf_free(&d->module);
    kl_buf_free(&d->events);
    json_decref(d->result);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* Record the outcome, emit it as the last event and end the stream. */
static int finish(struct kl_deploy *d, int status, json_t *result)
{
    json_t *ev = json_deep_copy(result);

    json_object_set_new(ev, "event", json_string("done"));
    json_object_set_new(ev, "status", json_integer(status));
    event(d, ev);
    pthread_mutex_lock(&d->lock);
    d->status = status;
    d->result = result;
    d->done = 1;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    return status;
}

static int fail(struct kl_deploy *d, int status, const char *msg)
{
    kl_log("deploy %s [%s]: %d %s", d->name, d->reqid, status, msg);
    return finish(d, status, json_pack("{s:b,s:s,s:s}", "ok", 0, "name", d->name,
                                       "error", msg));
}

static void sha256_hex(const uint8_t *p, size_t n, char out[65])
{
    uint8_t md[32];

    kl_sha256(p, n, md);
    kl_hex(md, sizeof(md), out);
}

/* Keep the module so the image can be rebuilt later; write-then-rename so
 * a crash never leaves a torn file under the final name. */
static int store_module(struct kl_server *s, const struct kl_buf *m,
                        const char *sha, struct kl_err *err)
{
    char path[PATH_MAX + 96];

    snprintf(path, sizeof(path), "%s/%s.wasm", s->modules, sha);
    if (access(path, F_OK) == 0)
        return 0;
    return kl_write_file_atomic(path, m->data, m->len, 0600, err);
}

/* A cluster compiles a module once: an image another node compiled under
 * the same cache key is fetched instead (compile.h: fetch). */
static void fetch_cached(void *ctx, const char *path)
{
    struct kl_server *s = ctx;
    const char *base = strrchr(path, '/');
    char key[PATH_MAX + 16];
    struct kl_err err = {0};

    snprintf(key, sizeof(key), "image/%s", base ? base + 1 : path);
    if (kl_reg_blob_fetch(s->reg, key, path, (size_t)1 << 30, &err) == 0)
        kl_log("fetched image %s from the registry instead of compiling it", key + 6);
    else if (err.code != -ENOENT)
        kl_log("image %s: not fetched from the registry: %s", key + 6, err.msg);
}

/* Compile with the server-wide compile lock held (a compile uses all cores),
 * on the baseline tier unless the optimised image is cached (optimiser.h);
 * the table queues the optimised build of what it serves on the baseline. */
static int compile(struct kl_server *s, const uint8_t *wasm, size_t len,
                   struct kl_deploy *d, char *out, size_t out_len, int *cached,
                   struct kl_err *err)
{
    struct kl_compile_opts o;
    struct timespec t0;
    int rc;

    kl_compile_opts_init(&o);
    /* An engine's image lives in the per-user cache that `kernless run` and
     * every server on the machine share: it is compiled once, not per
     * function or per data folder. */
    o.cache_dir = d != NULL && d->lang ? NULL : s->images;
    o.build_dir = s->build;
    /* An engine is our own build, not an upload: its one compile (minutes
     * for CPython) may take up to the compiler's overall cap. */
    o.timeout_s = d != NULL && d->lang ? 0 : s->compile_timeout_s;
    if (d != NULL) {
        o.progress = on_progress;
        o.progress_ctx = d;
    }
    if (kl_reg_is_shared(s->reg)) {
        o.fetch = fetch_cached;
        o.fetch_ctx = s;
    }
    if (o.cache_dir != NULL)
        kl_optimiser_deploy_fetch(s, wasm, len);
    o.tier = kl_optimiser_deploy_tier(wasm, len, o.cache_dir);
    if (o.cache_dir != NULL && o.tier == KL_TIER_BASELINE)
        kl_optimiser_deploy_claim(s, wasm, len, s->compile_timeout_s);
    if (d != NULL)
        d->tier = o.tier;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&s->compile_lock);
    rc = kl_compile(wasm, len, &o, out, out_len, cached, err);
    pthread_mutex_unlock(&s->compile_lock);
    if (rc == 0 && !*cached)
        kl_optimiser_count_compile(o.tier, elapsed_ms(&t0) / 1000.0);
    return rc;
}

/* The HTTP status for a failed compile: the module's fault (over a limit:
 * 413; invalid, unsupported or too slow to compile: 422) or ours (500). */
static int compile_status(int rc)
{
    switch (rc) {
    case -EFBIG:
        return 413;
    case -EINVAL:
    case -ENOTSUP:
    case -ETIMEDOUT:
        return 422;
    default:
        return 500;
    }
}

/* Image name to record: relative to images/ when it lives there. */
static const char *image_name(const struct kl_server *s, const char *path)
{
    size_t n = strlen(s->images);

    if (strncmp(path, s->images, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

/* Commit the compiled version and publish the new table, atomically with
 * respect to other deploys, rollbacks and removals. Returns the version, or
 * -1 after recording the failure. */
static int commit(struct kl_deploy *d, const struct kl_fn_config *cfg,
                  const char *image, const char *sha)
{
    struct kl_server *s = d->srv;
    struct kl_reg_version v = {0};
    struct kl_err err = {0};
    char *config = kl_fn_config_dump(cfg);
    char ikey[PATH_MAX + 16], mkey[96], mpath[PATH_MAX + 96];
    /* A cluster compiles once: the other nodes fetch these from the registry. */
    struct kl_reg_blob blobs[2] = {{ikey, image}, {mkey, mpath}};
    int rc;

    if (config == NULL) {
        fail(d, 500, "out of memory");
        return -1;
    }
    v.name = d->name;
    v.route = (char *)cfg->route;
    v.config = config;
    v.image = (char *)image_name(s, image);
    v.sha256 = (char *)sha;
    v.module_size = (int64_t)d->module.len;
    snprintf(ikey, sizeof(ikey), "image/%s", v.image);
    snprintf(mkey, sizeof(mkey), "module/%s.wasm", sha);
    snprintf(mpath, sizeof(mpath), "%s/%s.wasm", s->modules, sha);
    pthread_mutex_lock(&s->control_lock);
    /* An image outside images/ (absolute) is this node's own: not shared. */
    rc = kl_reg_commit(s->reg, &v, blobs, v.image[0] == '/' ? 0 : 2, &err);
    if (rc == 0 && kl_server_reload(s, &err) < 0)
        kl_log("deploy %s: republish failed: %s", d->name, err.msg);
    pthread_mutex_unlock(&s->control_lock);
    free(config);
    if (rc < 0) {
        fail(d, rc == -EEXIST ? 409 : rc == -ENOTCONN ? 503 : 500, err.msg);
        return -1;
    }
    kl_log("deployed %s v%d at %s [%s]", d->name, v.version, cfg->route, d->reqid);
    return v.version;
}

/* Early route-conflict check against the served table, so a conflict
 * fails before a compile; the registry re-checks at commit. */
static int route_taken(struct kl_server *s, const char *name, const char *route,
                       char *msg, size_t len)
{
    struct kl_table *t = kl_server_table(s);
    size_t i;
    int taken = 0;

    for (i = 0; t != NULL && i < t->n && !taken; i++) {
        if (strcmp(t->fns[i].cfg.route, route) == 0 && strcmp(t->fns[i].name, name) != 0) {
            snprintf(msg, len, "route %s is already served by function %s", route,
                     t->fns[i].name);
            taken = 1;
        }
    }
    kl_table_put(t);
    return taken;
}

/* Check config and module before spending a compile on them. */
static int precheck(struct kl_deploy *d, struct kl_fn_config *cfg)
{
    char why[300], msg[360];

    if (!kl_fn_name_ok(d->name))
        return fail(d, 400, "function names are 1-63 of a-z 0-9 _ - (not starting with _ or -)");
    if (kl_fn_config_parse((const char *)d->config.data, d->config.len, 1, cfg,
                           why, sizeof(why)) < 0) {
        snprintf(msg, sizeof(msg), "bad config: %s", why);
        return fail(d, 400, msg);
    }
    if (route_taken(d->srv, d->name, cfg->route, msg, sizeof(msg))) {
        kl_fn_config_free(cfg);
        return fail(d, 409, msg);
    }
    /* Python or JavaScript sources: the engine's module from here on. */
    if (kl_bundle_is(d->module.data, d->module.len)) {
        int rc = kl_lang_deploy_prepare(d->srv->data, &d->module, cfg, why, sizeof(why));
        if (rc < 0) {
            kl_fn_config_free(cfg);
            return fail(d, rc == -EINVAL ? 422 : 500, why);
        }
    }
    if (d->module.len < 8 || memcmp(d->module.data, "\0asm", 4) != 0) {
        kl_fn_config_free(cfg);
        return fail(d, 422, "not a WebAssembly module (missing \\0asm header)");
    }
    return 0;
}

int kl_deploy_run(struct kl_deploy *d)
{
    struct kl_server *s = d->srv;
    struct kl_fn_config cfg;
    struct kl_err err = {0};
    struct kl_img_ref *img = NULL;
    char sha[65], image[PATH_MAX + 64];
    int rc, cached = 0, version, is_lang;
    char why[512];

    event(d, json_pack("{s:s,s:s,s:I}", "event", "progress", "stage", "upload",
                       "bytes", (json_int_t)d->module.len));
    is_lang = d->lang = kl_bundle_is(d->module.data, d->module.len);
    if ((rc = precheck(d, &cfg)) != 0)
        return rc;
    sha256_hex(d->module.data, d->module.len, sha);
    stage(d, "compile");
    rc = compile(s, d->module.data, d->module.len, d, image, sizeof(image), &cached, &err);
    if (rc < 0) {
        rc = fail(d, compile_status(rc), err.msg);
        goto out;
    }
    /* Stored only once it compiled, so a refused module leaves nothing. */
    if (store_module(s, &d->module, sha, &err) < 0) {
        rc = fail(d, 500, err.msg);
        goto out;
    }
    stage(d, "load");
    if (kl_exec_image_get(image, &img, &err) < 0) {
        rc = fail(d, 500, err.msg);
        goto out;
    }
    /* A source function's start-up (imports, top level) runs now once, so
     * a syntax error or a failing import is refused while the old version
     * keeps serving. */
    if (is_lang) {
        stage(d, "start-up");
        if ((rc = kl_lang_deploy_check(img->img, &cfg, why, sizeof(why))) < 0) {
            kl_exec_image_put(img);
            rc = fail(d, rc == -EINVAL ? 422 : 500, why);
            goto out;
        }
    }
    stage(d, "commit");
    version = commit(d, &cfg, image, sha);
    kl_exec_image_put(img);
    if (version < 0)
        rc = d->status;
    else
        rc = finish(d, 201, json_pack("{s:b,s:s,s:i,s:s,s:b,s:s,s:i,s:s}", "ok", 1,
                    "name", d->name, "version", version, "route", cfg.route,
                    "cached", cached, "sha256", sha,
                    "compile_ms", (int)elapsed_ms(&d->t0), "tier", kl_tier_name(d->tier)));
out:
    kl_fn_config_free(&cfg);
    return rc;
}

static void *deploy_thread(void *arg)
{
    struct kl_deploy *d = arg;
    struct kl_server *s = d->srv;

    kl_deploy_run(d);
    kl_deploy_put(d);
    /* Last touch of the server: shutdown waits for this count to drain. */
    __atomic_sub_fetch(&s->deploys_running, 1, __ATOMIC_ACQ_REL);
    return NULL;
}

int kl_deploy_spawn(struct kl_deploy *d)
{
    pthread_attr_t a;
    pthread_t t;
    int rc;

    pthread_mutex_lock(&d->lock);
    d->refs++;
    pthread_mutex_unlock(&d->lock);
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    __atomic_add_fetch(&d->srv->deploys_running, 1, __ATOMIC_ACQ_REL);
    rc = pthread_create(&t, &a, deploy_thread, d);
    pthread_attr_destroy(&a);
    if (rc != 0) {
        __atomic_sub_fetch(&d->srv->deploys_running, 1, __ATOMIC_ACQ_REL);
        kl_deploy_put(d);
        return -rc;
    }
    return 0;
}

json_t *kl_deploy_result(struct kl_deploy *d)
{
    return d->result;
}

/* Silence longer than this on a deploy's stream gets an "alive" event: the
 * HTTP layer drops a connection idle for 120 s, and one compile stage (cc of
 * a language engine on a fresh machine) can take minutes without an event. */
#define KL_DEPLOY_ALIVE_S 15

long kl_deploy_read(struct kl_deploy *d, char *buf, size_t max)
{
    struct timespec until;
    size_t n;

    pthread_mutex_lock(&d->lock);
    while (d->sent == d->events.len && !d->done) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += KL_DEPLOY_ALIVE_S;
        if (pthread_cond_timedwait(&d->cond, &d->lock, &until) == ETIMEDOUT &&
            d->sent == d->events.len && !d->done) {
            pthread_mutex_unlock(&d->lock);
            event(d, json_pack("{s:s}", "event", "alive"));
            pthread_mutex_lock(&d->lock);
        }
    }
    n = d->events.len - d->sent;
    if (n > max)
        n = max;
    memcpy(buf, d->events.data + d->sent, n);
    d->sent += n;
    pthread_mutex_unlock(&d->lock);
    return n == 0 ? -1 : (long)n;
}

int kl_deploy_rebuild(struct kl_server *s, const char *sha256, char *out,
                      size_t out_len, struct kl_err *err)
{
    char path[PATH_MAX + 96];
    uint8_t *wasm = NULL;
    size_t len = 0;
    int cached, rc;

    snprintf(path, sizeof(path), "%s/%s.wasm", s->modules, sha256);
    /* A cluster node may never have seen the upload: the registry has it. */
    if (access(path, F_OK) != 0 && kl_reg_is_shared(s->reg)) {
        char key[96];

        snprintf(key, sizeof(key), "module/%s.wasm", sha256);
        if ((rc = kl_reg_blob_fetch(s->reg, key, path, s->max_upload, err)) < 0)
            return rc;
    }
    if ((rc = kl_read_file(path, s->max_upload, &wasm, &len, err)) < 0)
        return rc;
    rc = compile(s, wasm, len, NULL, out, out_len, &cached, err);
    free(wasm);
    return rc;
}
