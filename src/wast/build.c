/* build.c - every object, front-end verdict and image the scripts need, built by a small pool of threads. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "compile/tier.h"
#include "wast/internal.h"

#define TOOL_TIMEOUT_S 120

enum job_kind { JOB_OBJECT, JOB_FRONT_END, JOB_LINK };

struct job {
    enum job_kind kind;
    struct wscript *s;
    struct wmod *m;
    struct job *same;            /* JOB_OBJECT: the job that builds the same object */
};

struct pool {
    struct job *jobs;
    size_t n, next;
    const struct kl_toolchain *tc;
    struct kl_modobj_opts opts;
};

static void run_object(struct pool *p, struct job *j)
{
    struct kl_err e = {0};
    int rc = kl_modobj_build(&j->m->obj, p->tc, j->m->wasm, j->m->len, &j->m->m, &p->opts, &e);

    if (rc == -ENOTSUP)
        snprintf(j->m->skip, sizeof(j->m->skip), "%s", e.msg);
    else if (rc < 0)
        snprintf(j->m->error, sizeof(j->m->error), "%s", e.msg);
}

static void run_front_end(struct pool *p, struct job *j)
{
    struct kl_err e = {0};
    int rc = kl_modobj_front_end(p->tc, j->m->wasm, j->m->len, &p->opts, &j->m->rejected, &e);

    snprintf(rc < 0 ? j->m->error : j->m->verdict, sizeof(j->m->verdict), "%s", e.msg);
}

/* The script's image: each distinct object once, in first-use order. */
static void run_link(struct pool *p, struct job *j)
{
    struct wscript *s = j->s;
    struct kl_modobj *objs = calloc(s->nmods + 1, sizeof(*objs));
    struct kl_err e = {0};
    size_t n = 0;
    int cached;

    if (!objs) {
        snprintf(s->img_error, sizeof(s->img_error), "out of memory");
        return;
    }
    for (uint32_t i = 0; i < s->nmods; i++) {
        struct wmod *m = &s->mods[i];
        size_t k;
        if (!m->build || m->skip[0] || m->error[0])
            continue;
        for (k = 0; k < n && memcmp(objs[k].key, m->obj.key, 32); k++)
            ;
        if (k == n)
            objs[n++] = m->obj;
        m->image_index = (uint32_t)k;
    }
    if (n && kl_modobj_link(p->tc, objs, n, &p->opts, s->img_path, sizeof(s->img_path), &cached,
                            &e) < 0)
        snprintf(s->img_error, sizeof(s->img_error), "%s", e.msg);
    free(objs);
}

static void *worker(void *arg)
{
    struct pool *p = arg;
    size_t i;

    while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_SEQ_CST)) < p->n) {
        struct job *j = &p->jobs[i];
        if (j->kind == JOB_OBJECT && !j->same)
            run_object(p, j);
        else if (j->kind == JOB_FRONT_END)
            run_front_end(p, j);
        else if (j->kind == JOB_LINK)
            run_link(p, j);
    }
    return NULL;
}

static int run_pool(struct pool *p, int jobs)
{
    pthread_t th[64];
    int n = jobs < 1 ? 1 : jobs > 64 ? 64 : jobs, started = 0;

    p->next = 0;
    for (int i = 1; i < n; i++)
        if (pthread_create(&th[i], NULL, worker, p) == 0)
            started = i;
        else
            break;
    worker(p);
    for (int i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    const struct job *x = a, *y = b;
    int c = memcmp(x->m->obj.key, y->m->obj.key, 32);

    return c ? c : (x < y ? -1 : x > y);
}

/* Object jobs: one builder per distinct object; the others copy its result. */
static size_t object_jobs(struct wscript *sc, size_t ns, const struct kl_toolchain *tc,
                          const struct kl_modobj_opts *o, struct job *jobs)
{
    size_t n = 0;

    for (size_t k = 0; k < ns; k++)
        for (uint32_t i = 0; i < sc[k].nmods; i++) {
            struct wmod *m = &sc[k].mods[i];
            struct kl_err e;
            if (!m->build)
                continue;
            if (kl_modobj_init(&m->obj, tc, m->wasm, m->len, o, &e) < 0) {
                snprintf(m->error, sizeof(m->error), "%s", e.msg);
                continue;
            }
            if (!m->obj.cached)
                jobs[n++] = (struct job){JOB_OBJECT, &sc[k], m, NULL};
        }
    qsort(jobs, n, sizeof(*jobs), cmp_key);
    for (size_t i = 1; i < n; i++)
        if (!memcmp(jobs[i].m->obj.key, jobs[i - 1].m->obj.key, 32))
            jobs[i].same = jobs[i - 1].same ? jobs[i - 1].same : &jobs[i - 1];
    return n;
}

static void copy_same(struct job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (jobs[i].same) {
            struct wmod *m = jobs[i].m, *b = jobs[i].same->m;
            memcpy(m->skip, b->skip, sizeof(m->skip));
            memcpy(m->error, b->error, sizeof(m->error));
            m->obj.cached = b->obj.cached;
        }
}

int w_build_all(struct wscript *sc, size_t ns, const struct kl_wast_opts *wo, struct kl_err *err)
{
    struct kl_toolchain tc;
    struct pool p = {0};
    size_t total = 0, n = 0;
    int rc;

    for (size_t k = 0; k < ns; k++)
        total += sc[k].nmods + 1;
    if ((rc = kl_toolchain_get(&tc, err)) < 0)
        return rc;
    if (!(p.jobs = calloc(total + 1, sizeof(*p.jobs))))
        return kl_errf(err, -ENOMEM, "out of memory");
    p.tc = &tc;
    /* Spec modules are small: a tool that takes minutes is hung. */
    p.opts = (struct kl_modobj_opts){wo->opt_level, wo->cache_dir, TOOL_TIMEOUT_S,
                                     kl_tier_default()};
    n = object_jobs(sc, ns, &tc, &p.opts, p.jobs);
    for (size_t k = 0; k < ns; k++)
        for (uint32_t i = 0; i < sc[k].nmods; i++) {
            enum wcmd_kind kind = sc[k].cmds[sc[k].mods[i].cmd].kind;
            if ((kind == W_INVALID || kind == W_MALFORMED) && !sc[k].mods[i].text)
                p.jobs[n++] = (struct job){JOB_FRONT_END, &sc[k], &sc[k].mods[i], NULL};
        }
    /* Object builds and uncached links run cc with its own include folder. */
    if ((rc = kl_toolchain_cc_include(&tc, err)) < 0 ||
        (p.opts.tier == KL_TIER_BASELINE && (rc = kl_tier_tcc_include(&tc, err)) < 0))
        goto out;
    p.n = n;
    if (wo->verbose)
        fprintf(wo->out, "kernless wast: %zu compile jobs\n", n);
    run_pool(&p, wo->jobs);
    copy_same(p.jobs, n);
    for (size_t k = 0; k < ns; k++)
        p.jobs[k] = (struct job){JOB_LINK, &sc[k], NULL, NULL};
    p.n = ns;
    run_pool(&p, wo->jobs);
out:
    free(p.jobs);
    return rc;
}
