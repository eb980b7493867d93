/* serve.c - the server's start and stop: open the data folder, load the registry, serve HTTP until a signal, drain. */
#include "server/serve.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/pool.h"
#include "vm/vm.h"

#include "common/log.h"
#include "server/cluster.h"
#include "server/optimiser.h"
#include "server/deploy.h"
#include "server/api.h"
#include "server/api_svc.h"
#include "server/dashboard.h"
#include "server/healthz.h"
#include "server/http.h"
#include "server/table.h"
#include "server/svc_exec.h"
#include "server/wagi.h"

void kl_serve_config_default(struct kl_serve_config *cfg)
{
    *cfg = (struct kl_serve_config){.listen = KL_SERVE_DEFAULT_LISTEN,
                                    .admin_listen = KL_SERVE_DEFAULT_ADMIN_LISTEN,
                                    .max_body_mb = 8, .max_upload_mb = 64, .max_running = 64,
                                    .max_per_fn = 16, .queue = 256, .idle_ms = 60000,
                                    .ready_ms = 600000,
                                    .compile_timeout_s = 300,
                                    .isolation = KL_ISOLATION_AUTO, .drain_ms = 10000};
}

/* Data folder, token, registry and logs. */
static int open_state(struct kl_server *s, const struct kl_serve_config *o, struct kl_err *err)
{
    char dir[PATH_MAX], db[PATH_MAX + 32], *real;
    int rc, created;

    if (o->data != NULL)
        snprintf(dir, sizeof(dir), "%s", o->data);
    else if (kl_data_dir_default(dir, sizeof(dir)) < 0)
        return kl_errf(err, -ENOENT, "no --data and no $HOME for the default data folder");
    if ((rc = kl_data_dir_prepare(dir, err)) < 0)
        return rc;
    real = realpath(dir, NULL);
    snprintf(s->data, sizeof(s->data), "%s", real ? real : dir);
    free(real);
    snprintf(s->images, sizeof(s->images), "%s/images", s->data);
    snprintf(s->modules, sizeof(s->modules), "%s/modules", s->data);
    snprintf(s->build, sizeof(s->build), "%s/build", s->data);
    /* A server killed mid-deploy leaves compilers, temp files and a build
     * folder; none was published, so they go before anything reads the
     * folder. */
    if ((rc = kl_data_dir_sweep(s->data)) > 0)
        kl_log("cleared %d leftover(s) of an interrupted deploy", rc);
    if ((rc = kl_admin_token_ensure(s->data, s->token, &created, err)) < 0)
        return rc;
    printf("kernless: %s admin token in %s/admin.token\n", created ? "created an"
           : "using the", s->data);
    /* A cluster node keeps only its own log lines locally. */
    snprintf(db, sizeof(db), "%s/%s", s->data, o->registry ? "logs.db" : "registry.db");
    if (o->registry != NULL)
        rc = kl_cluster_open(s, o->registry, err);
    else
        rc = kl_reg_open(NULL, db, &s->reg, err);
    if (rc < 0)
        return rc;
    return kl_logs_open(db, &s->logs, err);
}

/* "HOST:PORT" of option `flag` into the host and port buffers of `s`. */
static int split_listen(const char *flag, const char *addr, char *host, char *port,
                        struct kl_err *err)
{
    const char *colon = strrchr(addr, ':');
    struct kl_server *s = NULL;

    if (colon == NULL || (size_t)(colon - addr) >= sizeof(s->listen_host) ||
        strlen(colon + 1) >= sizeof(s->listen_port))
        return kl_errf(err, -EINVAL, "%s wants HOST:PORT, got \"%s\"", flag, addr);
    snprintf(host, sizeof(s->listen_host), "%.*s", (int)(colon - addr), addr);
    snprintf(port, sizeof(s->listen_port), "%s", colon + 1);
    return 0;
}

int kl_serve_config_check(const struct kl_serve_config *cfg, struct kl_err *err)
{
    struct kl_server *s = NULL;
    char host[sizeof(s->listen_host)], port[sizeof(s->listen_port)];
    int rc;

    if ((rc = split_listen("--listen", cfg->listen, host, port, err)) < 0)
        return rc;
    return split_listen("--admin-listen", cfg->admin_listen, host, port, err);
}

/* "http://HOST:PORT", with brackets around an IPv6 host. */
static void url_of(const char *host, const char *port, char *out, size_t len)
{
    int v6 = strchr(host, ':') != NULL;

    snprintf(out, len, "http://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* Everything up to the listening daemons (d[0] functions, d[1] admin); the
 * caller waits and tears down. */
static int start(struct kl_server *s, const struct kl_serve_config *o, struct MHD_Daemon **d,
                 struct kl_err *err)
{
    char fn_url[300], admin_url[300];
    int rc;

    s->max_body = (size_t)o->max_body_mb << 20;
    s->max_upload = (size_t)o->max_upload_mb << 20;
    s->compile_timeout_s = (unsigned)o->compile_timeout_s;
    s->no_prefetch = o->no_prefetch;
    if ((rc = open_state(s, o, err)) < 0 ||
        (rc = kl_svc_server_start(s, o->secrets_key, err)) < 0)
        return rc;
    struct kl_pool_opts po = {(unsigned)o->max_running, (unsigned)o->max_per_fn,
                              (unsigned)o->queue, (unsigned)o->idle_ms,
                              (unsigned)o->ready_ms, NULL};
    if ((rc = kl_exec_init(&po)) < 0)
        return kl_errf(err, rc, "cannot start the VM pools");
    /* Empty VMs ready ahead of time make a function's cold start cheaper. */
    if ((rc = kl_vm_spares_start(4)) < 0)
        return kl_errf(err, rc, "cannot start the spare VM maker");
    pthread_mutex_lock(&s->control_lock);
    rc = kl_server_reload(s, err);
    pthread_mutex_unlock(&s->control_lock);
    if (rc < 0)
        return rc;
    /* Each module routes its own paths (http.c dispatches by this table). */
    if ((rc = kl_healthz_register(s)) < 0 || (rc = kl_wagi_register(s)) < 0 ||
        (rc = kl_api_register(s)) < 0 || (rc = kl_api_svc_register(s)) < 0 ||
        (rc = kl_dashboard_register(s)) < 0)
        return kl_errf(err, rc, "cannot register the HTTP routes");
    d[0] = kl_http_start(s, 0, err);
    if (d[0] == NULL)
        return err->code ? err->code : -EIO;
    d[1] = kl_http_start(s, 1, err);
    if (d[1] == NULL)
        return err->code ? err->code : -EIO;
    if ((rc = kl_cluster_start(s, o->node_name, o->advertise, o->admin_advertise, err)) < 0)
        return rc;
    url_of(s->listen_host, s->listen_port, fn_url, sizeof(fn_url));
    url_of(s->admin_host, s->admin_port, admin_url, sizeof(admin_url));
    printf("kernless: serving %zu function(s) on %s, admin API and dashboard on %s "
           "(data %s, isolation %s%s%s)\n", s->table ? s->table->n : 0, fn_url, admin_url,
           s->data, kl_isolation_name(),
           o->registry ? ", cluster node " : "", o->registry ? s->node.name : "");
    fflush(stdout);
    return 0;
}

/* A streamed deploy runs on a detached thread that uses the server state;
 * let it finish (its compile is bounded by the compiler's own timeouts). */
static void drain_deploys(struct kl_server *s)
{
    struct timespec tick = {0, 50 * 1000000};
    int waited = 0;

    while (__atomic_load_n(&s->deploys_running, __ATOMIC_ACQUIRE) > 0) {
        if (waited++ % 100 == 0)
            kl_log("waiting for a deploy in progress to finish");
        nanosleep(&tick, NULL);
    }
}

/* The bounded drain: MHD_stop_daemon waits for every connection thread, and
 * each may be running a function; past drain_ms (or at a second signal) the
 * process exits, which ends its KVM VMs, and its sandboxes with it (they die
 * with their parent). */
struct drain {
    sigset_t set;
    long ms;
};

static void *drain_watchdog(void *arg)
{
    struct drain *dr = arg;
    struct timespec ts = {dr->ms / 1000, (dr->ms % 1000) * 1000000L};
    int sig = sigtimedwait(&dr->set, NULL, &ts);

    if (sig > 0)
        kl_log("signal %d again: ending the requests still in flight and exiting", sig);
    else
        kl_log("drain time of %ld ms over: ending the requests still in flight and exiting",
               dr->ms);
    fflush(NULL);
    _exit(0);
    return NULL;
}

/* Start the watchdog; without it (no thread) the drain is only unbounded. */
static void drain_start(struct drain *dr)
{
    pthread_t t;

    if (pthread_create(&t, NULL, drain_watchdog, dr) != 0)
        kl_log("cannot start the drain watchdog: the drain is unbounded");
    else
        pthread_detach(t);
}

/* Guests' handles (src/host/wasi_handles.c) and VMs take descriptors from the server's
 * table: use the whole hard limit, not the customary soft 1024. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            kl_log("cannot raise the descriptor limit: %s", strerror(errno));
    }
}

/* The backend the CLI chose, before any VM and any vCPU thread's seccomp
 * filter; when auto fell back to the process sandbox the log says why.
 * -1 after one "kernless: ..." line when it cannot run here. */
static int select_isolation(const struct kl_serve_config *o)
{
    struct kl_err err = {0};

    if (kl_isolation_select(o->isolation, &err) < 0) {
        if (o->isolation_env)
            fprintf(stderr, "kernless: %s (from KERNLESS_ISOLATION=%s)\n", err.msg,
                    o->isolation_env);
        else
            fprintf(stderr, "kernless: %s\n", err.msg);
        return -1;
    }
    if (kl_isolation_note()[0])
        kl_log("isolation: %s (KVM not usable: %s)", kl_isolation_name(), kl_isolation_note());
    return 0;
}

int kl_server_run(const struct kl_serve_config *cfg)
{
    struct kl_server s;
    struct MHD_Daemon *d[2] = {NULL, NULL};
    struct kl_err err = {0};
    struct drain dr;
    sigset_t set;
    int rc, sig = 0;

    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.table_lock, NULL);
    pthread_mutex_init(&s.control_lock, NULL);
    pthread_mutex_init(&s.compile_lock, NULL);
    s.rebuild = kl_deploy_rebuild;   /* table.c's hook: no table -> deploy edge */
    {
        const struct kl_serve_config o = *cfg;
        /* Block the stop signals before any thread exists, so only
         * sigwait below ever receives them. */
        signal(SIGPIPE, SIG_IGN);
        /* glibc raises its mmap threshold after the first large free and
         * then keeps freed multi-MiB request and output buffers in its
         * arenas: RSS that only grows. A fixed threshold returns them at
         * free (measured in tests/hostile: +20 MB over a few rounds of
         * hostile requests without it, flat with it). */
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        mallopt(M_TRIM_THRESHOLD, 128 * 1024);
        /* Bad addresses are refused first, with one line: before the data
         * folder and before the backend's fallback note. */
        if ((rc = split_listen("--listen", o.listen, s.listen_host, s.listen_port, &err)) < 0 ||
            (rc = split_listen("--admin-listen", o.admin_listen, s.admin_host,
                               s.admin_port, &err)) < 0) {
            fprintf(stderr, "kernless: serve: %s\n", err.msg);
            return 1;
        }
        umask(077);   /* registry, images and modules are for this user only */
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        /* The backend, before any VM and any vCPU thread's seccomp filter. */
        if (select_isolation(&o) < 0)
            return 1;
        raise_fd_limit();
        dr.ms = o.drain_ms;
        rc = start(&s, &o, d, &err);
    }
    if (rc == 0) {
        sigwait(&set, &sig);
        kl_log("signal %d: stopping (draining for at most %ld ms)", sig, dr.ms);
        dr.set = set;
        drain_start(&dr);
        kl_logs_wake_all(s.logs);
        MHD_stop_daemon(d[0]);
        MHD_stop_daemon(d[1]);
        drain_deploys(&s);
    } else {
        fprintf(stderr, "kernless: serve: %s\n", err.msg);
    }
    /* The optimiser first (its job reloads tables and uses the registry),
     * then the registry: its watcher and reload threads republish tables. */
    kl_optimiser_stop();
    kl_cluster_close(&s);
    kl_table_put(s.table);
    kl_logs_close(s.logs);
    kl_http_routes_free(&s);
    return rc == 0 ? 0 : 1;
}
