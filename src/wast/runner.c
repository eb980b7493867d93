/* runner.c - kl_wast_run: load and plan every script, build everything in parallel, then run the scripts in order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "wast/internal.h"

static void add(struct kl_wast_totals *t, const struct kl_wast_totals *a)
{
    t->passed += a->passed;
    t->failed += a->failed;
    t->skipped += a->skipped;
}

int kl_wast_run(const char *const *files, size_t n, const struct kl_wast_opts *o,
                struct kl_wast_totals *t, struct kl_err *err)
{
    struct wscript *sc = calloc(n + 1, sizeof(*sc));
    uint64_t t0 = kl_now_ns();
    int rc = 0;

    if (!sc)
        return kl_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct kl_err e = {0};
        if (w_script_load(&sc[i], files[i], &e) < 0) {
            snprintf(sc[i].load_error, sizeof(sc[i].load_error), "%s", e.msg);
            if (!sc[i].path)
                sc[i].path = strdup(files[i]);
            sc[i].base = sc[i].path ? sc[i].path : files[i];
            continue;
        }
        w_plan(&sc[i]);
    }
    if (o->verbose)
        fprintf(o->out, "kernless wast: %zu scripts loaded in %.1f s\n", n, (kl_now_ns() - t0) / 1e9);
    if ((rc = w_build_all(sc, n, o, err)) < 0)
        goto out;
    if (o->verbose)
        fprintf(o->out, "kernless wast: built in %.1f s\n", (kl_now_ns() - t0) / 1e9);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct wscript *s = &sc[i];
        if (s->load_error[0]) {
            fprintf(o->out, "%s: cannot run the script: %s\n", s->base, s->load_error);
            s->t.failed++;
        } else {
            rc = w_exec(s, o, err);
        }
        if (o->verbose)
            fprintf(o->out, "%s: %llu passed, %llu failed, %llu skipped\n", s->base,
                    (unsigned long long)s->t.passed, (unsigned long long)s->t.failed,
                    (unsigned long long)s->t.skipped);
        add(t, &s->t);
        w_script_free(s);
        fflush(o->out);
    }
out:
    for (size_t i = 0; i < n; i++)
        w_script_free(&sc[i]);
    free(sc);
    return rc;
}
