/* serve.h - run the server: what `kernless serve` chose, and the one call that serves until a signal. */
#ifndef KL_SERVER_SERVE_H
#define KL_SERVER_SERVE_H

#include "common/err.h"
#include "vm/vm.h"

#define KL_SERVE_DEFAULT_LISTEN "127.0.0.1:8080"
#define KL_SERVE_DEFAULT_ADMIN_LISTEN "127.0.0.1:8081"

/**
 * Everything the server is told at start-up; the CLI (cli/cmd_serve.c)
 * fills it from the command line. Strings are borrowed for the whole run.
 */
struct kl_serve_config {
    const char *listen;           /* HOST:PORT of the functions */
    const char *admin_listen;     /* HOST:PORT of the API and the dashboard */
    const char *data;             /* NULL: the default data folder */
    long max_body_mb;
    long max_upload_mb;
    long max_running;
    long max_per_fn;
    long queue;
    long idle_ms;
    long ready_ms;          /* a function at zero keeps one never-used VM this long (0: none) */
    long compile_timeout_s;
    enum kl_isolation isolation;  /* the backend asked for */
    const char *isolation_env;    /* the $KERNLESS_ISOLATION it came from, or NULL */
    const char *registry;         /* NULL: SQLite in the data folder */
    const char *node_name;
    const char *advertise;
    const char *admin_advertise;
    int no_prefetch;
    long drain_ms;
    const char *secrets_key;      /* NULL: <data>/secrets.key (made on first start) */
};

/** The defaults of every field (the listen addresses above, auto isolation...). */
void kl_serve_config_default(struct kl_serve_config *cfg);

/**
 * Check what can be checked before anything starts (the listen addresses'
 * HOST:PORT form), so a bad one is refused first. Returns 0 or -EINVAL with
 * one line in `err`.
 */
int kl_serve_config_check(const struct kl_serve_config *cfg, struct kl_err *err);

/**
 * Serve with `cfg` until SIGINT or SIGTERM, then drain and stop. Errors
 * print one "kernless: ..." line. Returns the process exit status (0, or 1
 * when the server could not start).
 */
int kl_server_run(const struct kl_serve_config *cfg);

#endif
