/* cmd_run.c - `kernless run`: run a WASI command module (or a .py/.js script) like `wasmtime run`. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/engine_tier.h"
#include "cli/opts.h"
#include "common/util.h"
#include "compile/compile.h"
#include "inst/run.h"
#include "inst/warm.h"
#include "lang/engine.h"
#include "vm/seccomp.h"
#include "vm/vm.h"

#define MAX_ENV 4096

struct run_args {
    uint32_t timeout_ms, max_memory_mb, opt, repeat;
    int verbose, no_cache;
    int engine;            /* the module is a Python/JS engine (cli/engine_tier.c) */
    const char *env[MAX_ENV];
    int envc;
    struct kl_preopen dirs[64];
    int ndirs;
    const char *isolation;  /* --isolation, NULL if not given */
    const char *module;
    int argc;          /* module argv, module path first */
    char **argv;
};

static const char run_usage[] =
    "usage: kernless run [--env K=V]... [--timeout-ms N] [--max-memory-mb N]\n"
    "                    [--dir HOST[::GUEST]]... [--dir-ro HOST[::GUEST]]...\n"
    "                    [--opt 0|1|2] [--no-cache] [--repeat N]\n"
    "                    [--isolation auto|kvm|process] [-v]\n"
    "                    module.wasm|module.kimg [args...]\n"
    "  --repeat N  run N requests in one warm VM, each from the same snapshot\n"
    "              (stdin is empty); -v prints per-request p50/p99\n"
    "  --isolation KVM micro-VM (kvm), seccomp-confined process (process), or\n"
    "              kvm where it works, else process (auto, the default;\n"
    "              $KERNLESS_ISOLATION when not given); -v names the one used";

/* "HOST::GUEST" or "HOST" (guest path = host path). */
static int parse_dir(struct run_args *a, char *spec, int ro)
{
    char *sep = strstr(spec, "::");

    if (a->ndirs == (int)(sizeof(a->dirs) / sizeof(a->dirs[0])))
        return kl_cli_fail("too many --dir options");
    if (sep)
        *sep = 0;
    a->dirs[a->ndirs++] = (struct kl_preopen){spec, sep ? sep + 2 : spec, ro};
    return 0;
}

static int parse_run_args(int argc, char **argv, struct run_args *a)
{
    int i;

    memset(a, 0, sizeof(*a));
    a->opt = 2;
    if (getenv("KERNLESS_OPT"))
        kl_cli_u32("KERNLESS_OPT", getenv("KERNLESS_OPT"), 0, 3, &a->opt);
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--")) {
            i++;
            break;
        } else if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) {
            a->verbose = 1;
        } else if (!strcmp(o, "--no-cache")) {
            a->no_cache = 1;
        } else if (!strcmp(o, "--env") && v) {
            if (!strchr(v, '=') || a->envc == MAX_ENV)
                return kl_cli_fail("--env needs K=V, got '%s'", v);
            a->env[a->envc++] = v;
            i++;
        } else if (!strcmp(o, "--timeout-ms") && v) {
            if (kl_cli_u32(o, v, 1, 86400000, &a->timeout_ms) < 0)
                return 1;
            i++;
        } else if (!strcmp(o, "--max-memory-mb") && v) {
            if (kl_cli_u32(o, v, 1, 4096, &a->max_memory_mb) < 0)
                return 1;
            i++;
        } else if (!strcmp(o, "--repeat") && v) {
            if (kl_cli_u32(o, v, 1, 10000000, &a->repeat) < 0)
                return 1;
            i++;
        } else if (!strcmp(o, "--opt") && v) {
            if (kl_cli_u32(o, v, 0, 3, &a->opt) < 0)
                return 1;
            i++;
        } else if (!strcmp(o, "--isolation") && v) {
            a->isolation = v;
            i++;
        } else if ((!strcmp(o, "--dir") || !strcmp(o, "--dir-ro")) && v) {
            if (parse_dir(a, argv[++i], !strcmp(o, "--dir-ro")))
                return 1;
        } else {
            return kl_cli_fail("unknown or incomplete option '%s'\n%s", o, run_usage);
        }
    }
    if (i >= argc)
        return kl_cli_fail("no module given\n%s", run_usage);
    a->module = argv[i];
    a->argc = argc - i;
    a->argv = argv + i;
    return 0;
}

static void show_stage(void *ctx, const char *stage)
{
    if (*(int *)ctx)
        fprintf(stderr, "kernless: compile: %s\n", stage);
}

/* Load a .kimg directly, or compile (or find in the cache) a .wasm. */
static int load_module(const struct run_args *a, struct kl_image **img)
{
    uint8_t *data = NULL;
    size_t len = 0;
    struct kl_err err = {0};
    struct kl_compile_opts o;
    char path[PATH_MAX];
    int cached = 0, verbose = a->verbose, rc;
    uint64_t t0 = kl_now_ns();

    if (kl_read_file(a->module, 64u << 20, &data, &len, &err) < 0)
        return kl_cli_fail("%s", err.msg);
    if (len >= 8 && memcmp(data, "KLIMG", 5) == 0) {
        if (kl_image_from_buf(data, len, img, &err) < 0) {
            free(data);
            return kl_cli_fail("%s: %s", a->module, err.msg);
        }
        return 0;
    }
    kl_compile_opts_init(&o);
    o.opt_level = (int)a->opt;
    o.no_cache = a->no_cache;
    o.progress = show_stage;
    o.progress_ctx = &verbose;
    if (a->engine)
        o.tier = kl_engine_tier(data, len, NULL);
    kl_cli_stop_signals(1);
    rc = kl_compile_image(data, len, &o, img, path, sizeof(path), &cached, &err);
    kl_cli_stop_signals(0);
    free(data);
    if (rc < 0)
        return kl_cli_fail("%s: %s", a->module, err.msg);
    if (a->verbose)
        fprintf(stderr, "kernless: %s %s (%.1f ms)\n", cached ? "cache hit" : "compiled", path,
                (kl_now_ns() - t0) / 1e6);
    return 0;
}

/* Map a result to wasmtime-like output and exit status. */
static int report(const struct run_args *a, const struct kl_run_result *res, uint64_t t_start,
                  uint64_t t_loaded)
{
    if (a->verbose && !a->repeat)
        fprintf(stderr, "kernless: load %.3f ms, setup %.3f ms, run %.3f ms, %u exits, "
                "%u large pages; first guest instruction %.3f ms after start\n",
                (t_loaded - t_start) / 1e6, res->setup_ns / 1e6, res->run_ns / 1e6, res->exits,
                res->large_pages,
                (t_loaded - t_start + res->setup_ns) / 1e6);
    switch (res->kind) {
    case KL_RES_EXIT:
        return res->exit_code & 0xFF;
    case KL_RES_TRAP:
        fprintf(stderr, "kernless: trap: %s\n", res->reason);
        return 134;
    case KL_RES_TIMEOUT:
        fprintf(stderr, "kernless: %s\n", res->reason);
        return 124;
    default:
        fprintf(stderr, "kernless: %s\n", res->reason);
        return 1;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, uint32_t n, double p)
{
    return v[(size_t)((n - 1) * p)] / 1e3;
}

/* One request's output goes where a plain run's would. */
static void flush_result(const struct kl_run_result *res)
{
    if (res->out_len)
        fwrite(res->out, 1, res->out_len, stdout);
    if (res->err_len)
        fwrite(res->err, 1, res->err_len, stderr);
    fflush(stdout);
}

/* The server's first request after scale to zero: a ready VM, built and
 * settled ahead (as its pool keeps one), checked and handed the request. */
static void first_of_ready(struct kl_warm *w, struct kl_run_config *cfg)
{
    struct kl_run_result res;
    struct kl_err err = {0};
    uint64_t t0;

    if (kl_warm_settle(w) < 0)
        return;
    usleep(100000);
    t0 = kl_now_ns();
    if (kl_warm_usable(w) && kl_warm_request(w, cfg, &res, &err) == 0) {
        fprintf(stderr, "kernless: first request of a ready VM: %.3f ms\n",
                (kl_now_ns() - t0) / 1e6);
        kl_run_result_free(&res);
    }
}

/* --repeat: N fresh instances from one snapshot, as the server serves them. */
static int run_repeat(const struct run_args *a, struct kl_image *img, struct kl_run_config *cfg)
{
    struct kl_warm *w = NULL;
    struct kl_run_result res;
    struct kl_err err = {0};
    uint64_t *lat = calloc(a->repeat, sizeof(*lat)), *rst = calloc(a->repeat, sizeof(*rst));
    uint64_t t0 = kl_now_ns();
    int rc = 1;

    if (!lat || !rst) {
        rc = kl_cli_fail("out of memory");
        goto out;
    }
    if (kl_warm_create(img, cfg, &w, &err) < 0) {
        rc = kl_cli_fail("%s", err.msg);
        goto out;
    }
    if (a->verbose)
        fprintf(stderr, "kernless: warm VM ready in %.3f ms (cold start)\n", (kl_now_ns() - t0) / 1e6);
    cfg->stdin_fd = cfg->stdout_fd = cfg->stderr_fd = -1;
    for (uint32_t i = 0; i < a->repeat; i++) {
        uint64_t t = kl_now_ns();
        if (kl_warm_request(w, cfg, &res, &err) < 0) {
            rc = kl_cli_fail("request %u: %s", i, err.msg);
            goto out;
        }
        lat[i] = kl_now_ns() - t;
        rst[i] = kl_warm_last_reset_ns(w);
        flush_result(&res);
        rc = report(a, &res, 0, 0);
        kl_run_result_free(&res);
    }
    if (a->verbose) {
        qsort(lat, a->repeat, sizeof(*lat), cmp_u64);
        qsort(rst, a->repeat, sizeof(*rst), cmp_u64);
        fprintf(stderr, "kernless: %u requests: p50 %.1f us, p99 %.1f us (reset p50 %.1f us, "
                "p99 %.1f us, %u pages)\n", a->repeat, pct(lat, a->repeat, 0.5),
                pct(lat, a->repeat, 0.99), pct(rst, a->repeat, 0.5), pct(rst, a->repeat, 0.99),
                kl_warm_last_reset_pages(w));
        /* Cold start as the server sees it: a spare empty VM is ready. */
        struct kl_warm *w2 = NULL;
        kl_vm_spares_start(1);
        usleep(100000);
        t0 = kl_now_ns();
        if (kl_warm_create(img, cfg, &w2, &err) == 0) {
            fprintf(stderr, "kernless: cold start with a pre-created VM: %.3f ms\n",
                    (kl_now_ns() - t0) / 1e6);
            first_of_ready(w2, cfg);
        }
        kl_warm_destroy(w2);
    }
out:
    kl_warm_destroy(w);
    free(lat);
    free(rst);
    return rc;
}

/* What the vCPU thread of `kernless run` needs, and its exit status. */
struct run_job {
    struct run_args *a;
    struct kl_image *img;
    struct kl_run_config *cfg;
    uint64_t t_start, t_loaded;
    int rc;
};

/*
 * The guest runs on its own thread: kl_inst_run_loop gives that thread the
 * seccomp allow-list (src/vm/seccomp.c), and the main thread stays
 * unfiltered for what happens after the run, such as LeakSanitizer's exit
 * check in the sanitizer build (it needs ptrace and clone).
 */
static void *run_thread(void *arg)
{
    struct run_job *j = arg;
    struct kl_run_result res;
    struct kl_err err = {0};

    kl_seccomp_vcpu_thread();
    if (j->a->repeat) {
        j->rc = run_repeat(j->a, j->img, j->cfg);
        return NULL;
    }
    if (kl_run(j->img, j->cfg, &res, &err) < 0) {
        j->rc = kl_cli_fail("%s", err.msg);
        return NULL;
    }
    fflush(stdout);
    j->rc = report(j->a, &res, j->t_start, j->t_loaded);
    kl_run_result_free(&res);
    return NULL;
}

static int cmd_run(int argc, char **argv)
{
    struct run_args a;
    struct kl_image *img = NULL;
    struct kl_run_config cfg;
    struct run_job j;
    pthread_t t;
    uint64_t t_start = kl_now_ns(), t_loaded;
    int rc;

    if ((rc = parse_run_args(argc, argv, &a)) != 0)
        return rc;
    /* app.py / script.js: run the source in its engine (lang_run.c). */
    a.engine = kl_lang_of(a.module) != NULL;
    if (kl_lang_run_prepare(&a.module, &a.argc, &a.argv, a.dirs, &a.ndirs,
                            (int)(sizeof(a.dirs) / sizeof(a.dirs[0]))) < 0)
        return 1;
    /* The backend, before any VM and before the vCPU thread's seccomp filter. */
    if (kl_cli_isolation(a.isolation) != 0)
        return 1;
    if (a.verbose) {
        char desc[700];
        fprintf(stderr, "kernless: isolation: %s\n", kl_cli_isolation_desc(desc, sizeof(desc)));
    }
    if ((rc = load_module(&a, &img)) != 0)
        return rc;
    t_loaded = kl_now_ns();
    kl_run_config_init(&cfg);
    cfg.timeout_ms = a.timeout_ms;
    cfg.large_pages = !a.repeat;   /* one run, no reset */
    cfg.max_memory_pages = a.max_memory_mb ? a.max_memory_mb * 16 : 0;
    cfg.argc = a.argc;
    cfg.argv = (const char *const *)a.argv;
    cfg.envc = a.envc;
    cfg.envp = a.env;
    cfg.npreopens = a.ndirs;
    cfg.preopens = a.dirs;
    j = (struct run_job){&a, img, &cfg, t_start, t_loaded, 1};
    if ((rc = pthread_create(&t, NULL, run_thread, &j)) != 0) {
        kl_image_free(img);
        return kl_cli_fail("cannot start the vCPU thread: %s", strerror(rc));
    }
    pthread_join(t, NULL);
    kl_image_free(img);
    return j.rc;
}

const struct kl_cmd kl_cmd_run = {
    .name = "run",
    .summary = "run a wasm32-wasi command module in a micro-VM",
    .usage = run_usage,
    .run = cmd_run,
};
