/* cmd_up.c - `kernless up`: build a manifest's functions, start `kernless serve` on them, redeploy on change. */
#include "cli/up.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "client/client.h"
#include "client/manifest.h"
#include "client/mfdeploy.h"
#include "server/datadir.h"

#define UP_LISTEN "127.0.0.1:3000"
/* Deploys go here, never to the function listener; any free port, printed. */
#define UP_ADMIN_LISTEN "127.0.0.1:0"
#define UP_START_S 120        /* a server under ASan starts slowly */
#define UP_TICK_MS 250

struct up {
    const char *file;
    const char *listen;
    const char *admin_listen;
    const char *isolation;
    int watch;
    struct kl_manifest m;
    char data[PATH_MAX];      /* <manifest folder>/.kernless/data */
    pid_t server;
    int out_fd;               /* the server's stdout; -1 once closed */
    char line[2048];          /* a partial line of it */
    size_t line_len;
    char url[256];            /* the functions' listener */
    char admin_url[256];      /* the management API's listener */
    struct kl_client c;
    uint64_t *prints;         /* per function, for --watch */
    uint64_t manifest_print;
};

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
    stop_sig = sig;
}

static const char up_usage[] =
    "usage: kernless up [-f kernless.toml] [--listen HOST:PORT]\n"
    "                   [--admin-listen HOST:PORT] [--watch]\n"
    "                   [--isolation auto|kvm|process]\n"
    "  -f          the manifest (default kernless.toml)\n"
    "  --listen    where to serve functions (default " UP_LISTEN "; port 0\n"
    "              picks one)\n"
    "  --admin-listen where the management API and dashboard listen (default\n"
    "              " UP_ADMIN_LISTEN ": a free port, printed)\n"
    "  --watch     rebuild and redeploy a function when its files change\n"
    "  --isolation as kernless serve\n"
    "Builds every function, serves them with kernless serve (data in\n"
    ".kernless/data beside the manifest) and prints each route's URL.\n";

static int usage(void)
{
    fprintf(stderr, "kernless: usage: kernless up [-f kernless.toml] [--listen HOST:PORT] "
            "[--admin-listen HOST:PORT] [--watch] [--isolation auto|kvm|process]\n");
    return 2;
}

/* Returns 0, 1 for --help, -1 for bad usage. */
static int parse_args(struct up *u, int argc, char **argv)
{
    int i;

    u->file = KL_MANIFEST_DEFAULT;
    u->listen = UP_LISTEN;
    u->admin_listen = UP_ADMIN_LISTEN;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return 1;
        if (strcmp(a, "--watch") == 0 || strcmp(a, "-w") == 0) {
            u->watch = 1;
            continue;
        }
        if (v == NULL)
            return -1;
        if (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0)
            u->file = v;
        else if (strcmp(a, "--listen") == 0)
            u->listen = v;
        else if (strcmp(a, "--admin-listen") == 0)
            u->admin_listen = v;
        else if (strcmp(a, "--isolation") == 0)
            u->isolation = v;
        else
            return -1;
        i++;
    }
    return 0;
}

/* ---- the server: `kernless serve` as a child, so serving is the same code ---- */

/* The URL that starts at `p`, up to a space or comma, into `out`. */
static void url_at(const char *p, char *out, size_t len)
{
    size_t n = strcspn(p, " ,");

    snprintf(out, len, "%.*s", (int)n, p);
}

/* "kernless: serving N function(s) on http://H:P, admin API and dashboard on
 * http://H:P (data ...)" -> the two URLs. */
static int take_url(struct up *u, const char *line)
{
    const char *p = strstr(line, " serving "), *a;

    if (p == NULL || strncmp(line, "kernless:", 9) != 0 || (p = strstr(p, " on http")) == NULL)
        return 0;
    if ((a = strstr(p, " dashboard on http")) == NULL)
        return 0;
    url_at(p + 4, u->url, sizeof(u->url));
    url_at(a + 14, u->admin_url, sizeof(u->admin_url));
    return 1;
}

/* Read what the server printed; hand back complete lines one at a time.
 * Returns 1 with a line, 0 when nothing more is there now, -1 at EOF. */
static int server_line(struct up *u, char *out, size_t len)
{
    char *nl;
    ssize_t n;

    for (;;) {
        nl = memchr(u->line, '\n', u->line_len);
        if (nl != NULL || u->line_len == sizeof(u->line)) {
            size_t k = nl ? (size_t)(nl - u->line) : u->line_len;
            snprintf(out, len, "%.*s", (int)k, u->line);
            k += nl != NULL;
            memmove(u->line, u->line + k, u->line_len - k);
            u->line_len -= k;
            return 1;
        }
        n = read(u->out_fd, u->line + u->line_len, sizeof(u->line) - u->line_len);
        if (n > 0) {
            u->line_len += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        close(u->out_fd);
        u->out_fd = -1;
        return -1;
    }
}

/* Pass the server's later stdout lines on (its log lines go to stderr as they are). */
static void forward_output(struct up *u)
{
    char line[2048];

    while (u->out_fd >= 0 && server_line(u, line, sizeof(line)) > 0)
        printf("%s\n", line);
    fflush(stdout);
}

static void exec_server(struct up *u, int out, pid_t parent)
{
    char *argv[12];
    int n = 0;

    /* The server must not outlive `up`, however `up` ends (also if it
     * ended before the prctl). */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent || dup2(out, 1) < 0)
        _exit(127);
    argv[n++] = "kernless";
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = (char *)u->listen;
    argv[n++] = "--admin-listen";
    argv[n++] = (char *)u->admin_listen;
    argv[n++] = "--data";
    argv[n++] = u->data;
    if (u->isolation != NULL) {
        argv[n++] = "--isolation";
        argv[n++] = (char *)u->isolation;
    }
    argv[n] = NULL;
    execv("/proc/self/exe", argv);
    _exit(127);
}

/* Start the server and wait for its listening line. */
static int start_server(struct up *u)
{
    char line[2048], dir[PATH_MAX + 16];
    struct pollfd pfd;
    time_t deadline = time(NULL) + UP_START_S;
    pid_t parent;
    int p[2], rc;

    snprintf(dir, sizeof(dir), "%s/.kernless", u->m.dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return kl_cli_fail("up: cannot create %s: %s", dir, strerror(errno));
    snprintf(u->data, sizeof(u->data), "%s/data", dir);
    if (pipe2(p, O_CLOEXEC) < 0)
        return kl_cli_fail("up: pipe: %s", strerror(errno));
    fflush(NULL);
    parent = getpid();
    if ((u->server = fork()) < 0)
        return kl_cli_fail("up: fork: %s", strerror(errno));
    if (u->server == 0)
        exec_server(u, p[1], parent);
    close(p[1]);
    u->out_fd = p[0];
    fcntl(u->out_fd, F_SETFL, O_NONBLOCK);
    while (time(NULL) < deadline && !stop_sig) {
        while ((rc = server_line(u, line, sizeof(line))) > 0)
            if (take_url(u, line))
                return 0;
        if (rc < 0)
            break;
        pfd = (struct pollfd){u->out_fd, POLLIN, 0};
        poll(&pfd, 1, UP_TICK_MS);
    }
    return kl_cli_fail("up: the server did not start on %s (its reason is above)", u->listen);
}

static void stop_server(struct up *u)
{
    int i, status;

    if (u->server <= 0)
        return;
    kill(u->server, SIGTERM);
    for (i = 0; i < 200; i++) {
        if (waitpid(u->server, &status, WNOHANG) != 0)
            break;
        usleep(50000);
    }
    if (i == 200) {
        kill(u->server, SIGKILL);
        waitpid(u->server, &status, 0);
    }
    u->server = 0;
}

/* ---- functions ---------------------------------------------------------- */

/* Build and deploy one function; returns 0 or 1. */
static int up_fn(struct up *u, const struct kl_mf_fn *f)
{
    if (kl_manifest_build(&u->m, f) < 0)
        return 1;
    return kl_mf_deploy_fn(&u->c, &u->m, f, NULL);
}

/* A function the manifest no longer has must not keep serving. */
static void remove_stale(struct up *u)
{
    json_t *names = kl_client_names(&u->c), *v;
    size_t i;

    json_array_foreach(names, i, v) {
        if (kl_manifest_find(&u->m, json_string_value(v)) != NULL)
            continue;
        if (kl_client_remove(&u->c, json_string_value(v)) == 0)
            printf("removed %s (not in %s)\n", json_string_value(v), u->file);
    }
    json_decref(names);
}

static void print_routes(struct up *u)
{
    size_t i;

    printf("Serving %s (admin API and dashboard on %s, data in %s)\nAvailable routes:\n",
           u->url, u->admin_url, u->data);
    for (i = 0; i < u->m.n; i++)
        printf("  %s: %s%s\n", u->m.fns[i].name, u->url, u->m.fns[i].route);
    if (u->watch)
        printf("Watching for changes; press Ctrl-C to stop.\n");
    fflush(stdout);
}

/* ---- --watch ------------------------------------------------------------ */

/* The functions' prints, taken after their builds so that what a build
 * writes starts no new round. The manifest's print is not taken here: no
 * build writes it, and an edit made while a build ran must not be lost. */
static void take_prints(struct up *u)
{
    size_t i;

    free(u->prints);
    u->prints = calloc(u->m.n ? u->m.n : 1, sizeof(*u->prints));
    for (i = 0; u->prints && i < u->m.n; i++)
        u->prints[i] = kl_up_fingerprint(u->m.fns[i].watch, u->m.fns[i].nwatch);
}

/* Whether function `f` of a reloaded manifest is as the old one deployed
 * it: same source, build, watch list and config, and no watched file
 * changed since. */
static int unchanged(const struct up *u, const struct kl_mf_fn *f)
{
    const struct kl_mf_fn *old = kl_manifest_find(&u->m, f->name);
    size_t i = old ? (size_t)(old - u->m.fns) : 0;

    return old != NULL && u->prints != NULL && strcmp(old->source, f->source) == 0 &&
           (old->build == NULL) == (f->build == NULL) &&
           (f->build == NULL || strcmp(old->build, f->build) == 0) &&
           json_equal(old->config, f->config) &&
           kl_up_fingerprint(f->watch, f->nwatch) == u->prints[i] &&
           kl_up_fingerprint(old->watch, old->nwatch) == u->prints[i];
}

/* The manifest changed: load it again and deploy what differs; a bad one
 * leaves the old in place. */
static void reload(struct up *u)
{
    struct kl_manifest m;
    char *same;
    size_t i;

    fprintf(stderr, "kernless: %s changed: loading it again\n", u->file);
    /* Before reading it: a later edit is then noticed next time. */
    u->manifest_print = kl_up_fingerprint(&u->m.path, 1);
    if (kl_manifest_load(u->file, &m) < 0) {
        fprintf(stderr, "kernless: up: keeping the functions as they were\n");
        return;
    }
    same = calloc(m.n, 1);
    for (i = 0; same && i < m.n; i++)
        same[i] = (char)unchanged(u, &m.fns[i]);
    kl_manifest_free(&u->m);
    u->m = m;
    for (i = 0; i < u->m.n; i++)
        if (same == NULL || !same[i])
            up_fn(u, &u->m.fns[i]);
    free(same);
    remove_stale(u);
    take_prints(u);
    print_routes(u);
}

/* Rebuild and redeploy each function whose watched files changed. Every
 * print is taken again afterwards, so what the builds wrote (one
 * function's output may sit in another's watched folder) starts no
 * further round. */
static void check_changes(struct up *u)
{
    struct timespec settle = {0, 150 * 1000000};
    size_t i;
    int any = 0;

    if (kl_up_fingerprint(&u->m.path, 1) != u->manifest_print) {
        nanosleep(&settle, NULL);
        reload(u);
        return;
    }
    if (u->prints == NULL)
        return;
    for (i = 0; i < u->m.n; i++)
        any |= kl_up_fingerprint(u->m.fns[i].watch, u->m.fns[i].nwatch) != u->prints[i];
    if (!any)
        return;
    /* Editors save in steps: let the files settle before building. */
    nanosleep(&settle, NULL);
    for (i = 0; i < u->m.n; i++) {
        const struct kl_mf_fn *f = &u->m.fns[i];
        if (kl_up_fingerprint(f->watch, f->nwatch) == u->prints[i])
            continue;
        fprintf(stderr, "kernless: %s changed: rebuilding and redeploying\n", f->name);
        if (up_fn(u, f) != 0)
            fprintf(stderr, "kernless: %s: the previous version keeps serving\n", f->name);
        fflush(stdout);
    }
    take_prints(u);
    /* Said only now: an edit from here on starts the next round. */
    printf("Watching for changes.\n");
    fflush(stdout);
}

/* ---- the command -------------------------------------------------------- */

/* Serve until a signal or the server's end; returns the exit status. */
static int run_loop(struct up *u)
{
    struct pollfd pfd;
    int status;

    while (!stop_sig) {
        pfd = (struct pollfd){u->out_fd, POLLIN, 0};
        poll(&pfd, u->out_fd >= 0 ? 1 : 0, UP_TICK_MS);
        forward_output(u);
        if (waitpid(u->server, &status, WNOHANG) == u->server) {
            u->server = 0;
            return kl_cli_fail("up: the server stopped (%s %d)",
                               WIFSIGNALED(status) ? "signal" : "exit",
                               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
        if (u->watch && !stop_sig)
            check_changes(u);
    }
    return 0;
}

static int up_start(struct up *u)
{
    char why[600];
    size_t i;

    for (i = 0; i < u->m.n; i++)
        if (kl_manifest_build(&u->m, &u->m.fns[i]) < 0 && !u->watch)
            return 1;
    if (start_server(u) != 0)
        return 1;
    kl_client_init(&u->c);
    snprintf(u->c.url, sizeof(u->c.url), "%s", u->admin_url);
    if (kl_admin_token_read(u->data, u->c.token, sizeof(u->c.token), NULL) < 0) {
        snprintf(why, sizeof(why), "up: cannot read the server's token in %s", u->data);
        return kl_cli_fail("%s", why);
    }
    /* Sources were built above; deploy only (a failed build in --watch mode
     * is retried when its files change). */
    for (i = 0; i < u->m.n; i++) {
        if (kl_manifest_check_source(&u->m, &u->m.fns[i]) < 0 ||
            kl_mf_deploy_fn(&u->c, &u->m, &u->m.fns[i], NULL) != 0) {
            if (!u->watch)
                return 1;
        }
    }
    remove_stale(u);
    if (u->watch)
        take_prints(u);
    print_routes(u);
    return 0;
}

static int cmd_up(int argc, char **argv)
{
    struct up u = {.out_fd = -1};
    struct sigaction sa = {.sa_handler = on_stop};
    int rc;

    if ((rc = parse_args(&u, argc, argv)) != 0) {
        if (rc < 0)
            return usage();
        fputs(up_usage, stdout);
        return 0;
    }
    /* The manifest's print as read: an edit from here on is a change. */
    {
        char *path = (char *)u.file;   /* kl_manifest_load keeps this same string in m.path */
        u.manifest_print = kl_up_fingerprint(&path, 1);
    }
    if (kl_manifest_load(u.file, &u.m) < 0)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* No SA_RESTART: a signal ends the poll at once. */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = up_start(&u);
    if (rc == 0)
        rc = run_loop(&u);
    stop_server(&u);
    if (u.out_fd >= 0)
        close(u.out_fd);
    curl_global_cleanup();
    free(u.prints);
    kl_manifest_free(&u.m);
    return rc;
}

const struct kl_cmd kl_cmd_up = {
    .name = "up",
    .summary = "build and serve the functions of kernless.toml locally (--watch)",
    .usage = up_usage,
    .run = cmd_up,
};
