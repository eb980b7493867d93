/* cmd_serve.c - `kernless serve`: parse its options into a kl_serve_config and run the server. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "server/serve.h"

#define USAGE \
    "usage: kernless serve [--listen HOST:PORT] [--admin-listen HOST:PORT]\n" \
    "                      [--data DIR] [--max-body-mb N]\n" \
    "                      [--max-upload-mb N] [--max-running N] [--max-per-fn N]\n" \
    "                      [--queue N] [--idle-ms N] [--ready-ms N]\n" \
    "                      [--compile-timeout-s N]\n" \
    "                      [--isolation auto|kvm|process]\n" \
    "                      [--registry URL] [--node-name NAME] [--advertise HOST:PORT]\n" \
    "                      [--admin-advertise HOST:PORT]\n" \
    "                      [--no-prefetch] [--drain-ms N] [--secrets-key FILE]\n" \
    "  --listen      address functions are served on (default " KL_SERVE_DEFAULT_LISTEN ";\n" \
    "                port 0 picks one)\n" \
    "  --admin-listen address of the management API (/v1), /metrics and the\n" \
    "                dashboard (/_/), a separate origin that serves no function\n" \
    "                (default " KL_SERVE_DEFAULT_ADMIN_LISTEN "; port 0 picks one)\n" \
    "  --data        state folder: registry, images, admin token (default\n" \
    "                $KERNLESS_DATA, else $XDG_DATA_HOME/kernless, else\n" \
    "                ~/.local/share/kernless)\n" \
    "  --max-body-mb largest function request body (default 8)\n" \
    "  --max-upload-mb largest module upload (default 64)\n" \
    "  --max-running VMs alive at once, warm or busy, over all functions (default 64)\n" \
    "  --max-per-fn  VMs of one function at once (default 16)\n" \
    "  --queue       requests that may wait for a VM at once; past it 503 (default 256)\n" \
    "  --idle-ms     a function idle this long gives its VMs back (default 60000)\n" \
    "  --ready-ms    then it keeps one VM built fresh from its image, never used,\n" \
    "                this much longer, so its next first request starts at once\n" \
    "                (default 600000; 0: none; counted in --max-running)\n" \
    "  --compile-timeout-s a deploy's whole compile, past it 422 (default 300)\n" \
    "  --isolation   what confines each VM: kvm (a KVM micro-VM), process (a\n" \
    "                seccomp-confined process) or auto (kvm where it works, else\n" \
    "                process; the default, or $KERNLESS_ISOLATION)\n" \
    "  --registry    a PostgreSQL registry shared by a cluster of nodes\n" \
    "                (postgresql://... or a libpq conninfo string); default: the\n" \
    "                SQLite file in the data folder (one node)\n" \
    "  --node-name   this node's name in the cluster (default HOSTNAME:PORT)\n" \
    "  --advertise   the address other nodes and HAProxy reach this node at\n" \
    "                (default the --listen address)\n" \
    "  --admin-advertise the address the CLI reaches this node's admin API at\n" \
    "                (default the --admin-listen address)\n" \
    "  --no-prefetch a cluster node fetches each image only when a request first\n" \
    "                needs it, not all of them after each change (less disk; but\n" \
    "                while the registry is down it serves only what it fetched)\n" \
    "  --drain-ms    on SIGTERM/SIGINT, how long requests in flight may finish;\n" \
    "                then the server ends them (and their VMs) and exits, as it\n" \
    "                does at a second signal (default 10000)\n" \
    "  --secrets-key the key that seals secrets (64 hex digits; default\n" \
    "                <data>/secrets.key, made on first start); every node of a\n" \
    "                cluster needs the same file\n"

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

/* The options that take a number, with their bounds. */
static int number_opt(int c, const char *arg, struct kl_serve_config *o)
{
    switch (c) {
    case 'b': return number(arg, 1, 1024, &o->max_body_mb);
    case 'u': return number(arg, 1, 1024, &o->max_upload_mb);
    case 'r': return number(arg, 1, 4096, &o->max_running);
    case 'p': return number(arg, 1, 4096, &o->max_per_fn);
    case 'q': return number(arg, 0, 100000, &o->queue);
    case 'i': return number(arg, 1, 86400000, &o->idle_ms);
    case 'Z': return number(arg, 0, 86400000, &o->ready_ms);
    case 'c': return number(arg, 1, 900, &o->compile_timeout_s);
    case 'W': return number(arg, 0, 3600000, &o->drain_ms);
    default: return -1;
    }
}

/* The options that take a string. 1 when `c` is not one of them. */
static int string_opt(int c, const char *arg, struct kl_serve_config *o,
                      const char **isolation)
{
    switch (c) {
    case 'l': o->listen = arg; return 0;
    case 'a': o->admin_listen = arg; return 0;
    case 'I': *isolation = arg; return 0;
    case 'R': o->registry = arg; return 0;
    case 'N': o->node_name = arg; return 0;
    case 'A': o->advertise = arg; return 0;
    case 'D': o->admin_advertise = arg; return 0;
    case 'd': o->data = arg; return 0;
    case 'K': o->secrets_key = arg; return 0;
    case 'P': o->no_prefetch = 1; return 0;
    default: return 1;
    }
}

/* Returns 0, 1 for --help (answered), -1 after a usage error. */
static int parse_opts(int argc, char **argv, struct kl_serve_config *o,
                      const char **isolation)
{
    static const struct option lo[] = {
        {"listen", required_argument, 0, 'l'}, {"data", required_argument, 0, 'd'},
        {"admin-listen", required_argument, 0, 'a'},
        {"max-body-mb", required_argument, 0, 'b'},
        {"max-upload-mb", required_argument, 0, 'u'},
        {"max-running", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'},
        {"max-per-fn", required_argument, 0, 'p'}, {"queue", required_argument, 0, 'q'},
        {"idle-ms", required_argument, 0, 'i'}, {"ready-ms", required_argument, 0, 'Z'},
        {"compile-timeout-s", required_argument, 0, 'c'},
        {"isolation", required_argument, 0, 'I'},
        {"registry", required_argument, 0, 'R'},
        {"node-name", required_argument, 0, 'N'},
        {"advertise", required_argument, 0, 'A'},
        {"admin-advertise", required_argument, 0, 'D'},
        {"no-prefetch", no_argument, 0, 'P'},
        {"drain-ms", required_argument, 0, 'W'},
        {"secrets-key", required_argument, 0, 'K'},
        {0, 0, 0, 0},
    };
    int c;

    kl_serve_config_default(o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (string_opt(c, optarg, o, isolation) == 0 || number_opt(c, optarg, o) == 0)
            continue;
        if (c == 'h') {
            fputs(USAGE, stdout);
            return 1;
        }
        if (c != '?')
            fprintf(stderr, "kernless: serve: bad number \"%s\"\n", optarg);
        fputs(USAGE, stderr);
        return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "kernless: serve: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* --isolation, else $KERNLESS_ISOLATION (set but empty: as if unset), else
 * auto, into the config; the server selects it once its listen addresses
 * are checked. 0, or 2 after one "kernless: ..." line. */
static int isolation_opt(const char *value, struct kl_serve_config *o)
{
    const char *env = value ? NULL : getenv("KERNLESS_ISOLATION");

    if (env && env[0])
        value = env;
    else
        env = NULL;
    o->isolation_env = env;
    if (value && kl_isolation_parse(value, &o->isolation) < 0) {
        kl_cli_fail("%s must be auto, kvm or process, got '%s'",
                    env ? "KERNLESS_ISOLATION" : "--isolation", value);
        return 2;
    }
    return 0;
}

static int serve_run(int argc, char **argv)
{
    struct kl_serve_config cfg;
    struct kl_err err = {0};
    const char *isolation = NULL;
    int rc;

    if ((rc = parse_opts(argc, argv, &cfg, &isolation)) != 0)
        return rc > 0 ? 0 : 2;
    /* Bad addresses are refused first, with one line: before the isolation. */
    if (kl_serve_config_check(&cfg, &err) < 0) {
        fprintf(stderr, "kernless: serve: %s\n", err.msg);
        return 1;
    }
    if ((rc = isolation_opt(isolation, &cfg)) != 0)
        return rc;
    return kl_server_run(&cfg);
}

const struct kl_cmd kl_cmd_serve = {
    .name = "serve",
    .summary = "start the HTTP gateway and management API",
    .usage = USAGE,
    .run = serve_run,
};
