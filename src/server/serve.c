/* serve.c - `kernless serve`: open the data folder, load the registry, serve HTTP until a signal. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/pool.h"
#include "vmm/vm.h"

#include "cli/commands.h"
#include "cli/opts.h"
#include "server/cluster.h"
#include "server/http.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_ADMIN_LISTEN "127.0.0.1:8081"

void kl_log(const char *fmt, ...)
{
    char line[1200], ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One write per line so lines from different threads never interleave. */
    fprintf(stderr, "%s kernless: %s\n", ts, line);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: kernless serve [--listen HOST:PORT] [--admin-listen HOST:PORT]\n"
        "                      [--data DIR] [--max-body-mb N]\n"
        "                      [--max-upload-mb N] [--max-running N] [--max-per-fn N]\n"
        "                      [--queue N] [--idle-ms N] [--compile-timeout-s N]\n"
        "                      [--isolation auto|kvm|process]\n"
        "                      [--registry URL] [--node-name NAME] [--advertise HOST:PORT]\n"
        "                      [--admin-advertise HOST:PORT]\n"
        "                      [--no-prefetch] [--drain-ms N]\n"
        "  --listen      address functions are served on (default " DEFAULT_LISTEN ";\n"
        "                port 0 picks one)\n"
        "  --admin-listen address of the management API (/v1), /metrics and the\n"
        "                dashboard (/_/), a separate origin that serves no function\n"
        "                (default " DEFAULT_ADMIN_LISTEN "; port 0 picks one)\n"
        "  --data        state folder: registry, images, admin token (default\n"
        "                $KERNLESS_DATA, else $XDG_DATA_HOME/kernless, else\n"
        "                ~/.local/share/kernless)\n"
        "  --max-body-mb largest function request body (default 8)\n"
        "  --max-upload-mb largest module upload (default 64)\n"
        "  --max-running VMs alive at once, warm or busy, over all functions (default 64)\n"
        "  --max-per-fn  VMs of one function at once (default 16)\n"
        "  --queue       requests that may wait for a VM at once; past it 503 (default 256)\n"
        "  --idle-ms     a function idle this long gives its VMs back (default 60000)\n"
        "  --compile-timeout-s a deploy's whole compile, past it 422 (default 300)\n"
        "  --isolation   what confines each VM: kvm (a KVM micro-VM), process (a\n"
        "                seccomp-confined process) or auto (kvm where it works, else\n"
        "                process; the default, or $KERNLESS_ISOLATION)\n"
        "  --registry    a PostgreSQL registry shared by a cluster of nodes\n"
        "                (postgresql://... or a libpq conninfo string); default: the\n"
        "                SQLite file in the data folder (one node)\n"
        "  --node-name   this node's name in the cluster (default HOSTNAME:PORT)\n"
        "  --advertise   the address other nodes and HAProxy reach this node at\n"
        "                (default the --listen address)\n"
        "  --admin-advertise the address the CLI reaches this node's admin API at\n"
        "                (default the --admin-listen address)\n"
        "  --no-prefetch a cluster node fetches each image only when a request first\n"
        "                needs it, not all of them after each change (less disk; but\n"
        "                while the registry is down it serves only what it fetched)\n"
        "  --drain-ms    on SIGTERM/SIGINT, how long requests in flight may finish;\n"
        "                then the server ends them (and their VMs) and exits, as it\n"
        "                does at a second signal (default 10000)\n");
}

struct opts {
    const char *listen;
    const char *admin_listen;
    const char *data;
    long max_body_mb;
    long max_upload_mb;
    long max_running;
    long max_per_fn;
    long queue;
    long idle_ms;
    long compile_timeout_s;
    const char *isolation;   /* NULL: $KERNLESS_ISOLATION, else auto */
    const char *registry;    /* NULL: SQLite in the data folder */
    const char *node_name;
    const char *advertise;
    const char *admin_advertise;
    int no_prefetch;
    long drain_ms;
};

static int number(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"listen", required_argument, 0, 'l'}, {"data", required_argument, 0, 'd'},
        {"admin-listen", required_argument, 0, 'a'},
        {"max-body-mb", required_argument, 0, 'b'},
        {"max-upload-mb", required_argument, 0, 'u'},
        {"max-running", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'},
        {"max-per-fn", required_argument, 0, 'p'}, {"queue", required_argument, 0, 'q'},
        {"idle-ms", required_argument, 0, 'i'},
        {"compile-timeout-s", required_argument, 0, 'c'},
        {"isolation", required_argument, 0, 'I'},
        {"registry", required_argument, 0, 'R'},
        {"node-name", required_argument, 0, 'N'},
        {"advertise", required_argument, 0, 'A'},
        {"admin-advertise", required_argument, 0, 'D'},
        {"no-prefetch", no_argument, 0, 'P'},
        {"drain-ms", required_argument, 0, 'W'},
        {0, 0, 0, 0},
    };
    int c;

    *o = (struct opts){.listen = DEFAULT_LISTEN, .admin_listen = DEFAULT_ADMIN_LISTEN,
                       .max_body_mb = 8, .max_upload_mb = 64, .max_running = 64,
                       .max_per_fn = 16, .queue = 256, .idle_ms = 60000,
                       .compile_timeout_s = 300, .drain_ms = 10000};
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (c == 'l') o->listen = optarg;
        else if (c == 'a') o->admin_listen = optarg;
        else if (c == 'I') o->isolation = optarg;
        else if (c == 'R') o->registry = optarg;
        else if (c == 'N') o->node_name = optarg;
        else if (c == 'A') o->advertise = optarg;
        else if (c == 'D') o->admin_advertise = optarg;
        else if (c == 'P') o->no_prefetch = 1;
        else if (c == 'd') o->data = optarg;
        else if (c == 'b' && number(optarg, 1, 1024, &o->max_body_mb) == 0) continue;
        else if (c == 'u' && number(optarg, 1, 1024, &o->max_upload_mb) == 0) continue;
        else if (c == 'r' && number(optarg, 1, 4096, &o->max_running) == 0) continue;
        else if (c == 'p' && number(optarg, 1, 4096, &o->max_per_fn) == 0) continue;
        else if (c == 'q' && number(optarg, 0, 100000, &o->queue) == 0) continue;
        else if (c == 'i' && number(optarg, 1, 86400000, &o->idle_ms) == 0) continue;
        else if (c == 'c' && number(optarg, 1, 900, &o->compile_timeout_s) == 0) continue;
        else if (c == 'W' && number(optarg, 0, 3600000, &o->drain_ms) == 0) continue;
        else if (c == 'h') { usage(stdout); return 1; }
        else {
            if (c != '?')
                fprintf(stderr, "kernless: serve: bad number \"%s\"\n", optarg);
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kernless: serve: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Data folder, token, registry and logs. */
static int open_state(struct kl_server *s, const struct opts *o, struct kl_err *err)
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
        rc = kl_reg_open(db, &s->reg, err);
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

/* "http://HOST:PORT", with brackets around an IPv6 host. */
static void url_of(const char *host, const char *port, char *out, size_t len)
{
    int v6 = strchr(host, ':') != NULL;

    snprintf(out, len, "http://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* Everything up to the listening daemons (d[0] functions, d[1] admin); the
 * caller waits and tears down. */
static int start(struct kl_server *s, const struct opts *o, struct MHD_Daemon **d,
                 struct kl_err *err)
{
    char fn_url[300], admin_url[300];
    int rc;

    s->max_body = (size_t)o->max_body_mb << 20;
    s->max_upload = (size_t)o->max_upload_mb << 20;
    s->compile_timeout_s = (unsigned)o->compile_timeout_s;
    s->no_prefetch = o->no_prefetch;
    if ((rc = open_state(s, o, err)) < 0)
        return rc;
    struct kl_pool_opts po = {(unsigned)o->max_running, (unsigned)o->max_per_fn,
                              (unsigned)o->queue, (unsigned)o->idle_ms};
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

/* Guests' handles (wasi_host.c) and VMs take descriptors from the server's
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

int kl_cmd_serve(int argc, char **argv)
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
    {
        struct opts o;
        if ((rc = parse_opts(argc, argv, &o)) != 0)
            return rc > 0 ? 0 : 2;
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
        if ((rc = kl_cli_isolation(o.isolation)) != 0)
            return rc;
        if (kl_isolation_note()[0]) {
            char desc[700];
            kl_log("isolation: %s", kl_cli_isolation_desc(desc, sizeof(desc)));
        }
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
    /* The registry first: its watcher and reload threads republish tables. */
    kl_cluster_close(&s);
    kl_table_put(s.table);
    kl_logs_close(s.logs);
    return rc == 0 ? 0 : 1;
}
