/* client_cmd.h - what the client commands (deploy, ls, info, rm, logs, rollback, invoke, nodes, haproxy-config) share. */
#ifndef KL_CLI_CLIENT_CMD_H
#define KL_CLI_CLIENT_CMD_H

#include <jansson.h>

#include "client/client_http.h"

/** A client command's body: the client is set up, --json already taken out of argv. */
typedef int (*kl_client_cmd_fn)(const struct kl_client *c, int argc, char **argv);

/**
 * Run a client command: the server's address and token from the
 * environment (kl_client_init), a "--json" anywhere in argv taken out into
 * c->json, libcurl set up around the call. Returns fn's exit status.
 */
int kl_cli_client_main(int argc, char **argv, kl_client_cmd_fn fn);

/** Print "kernless: usage: USAGE" on stderr; returns 2 (bad usage). */
int kl_cli_usage_fail(const char *usage);

/** Check a function name from the command line before it goes in a URL: 0, or -1 after one error line. */
int kl_cli_fn_name(const char *name);

#endif
