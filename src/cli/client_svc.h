/* client_svc.h - the CLI's side of host services: deploy flags, `kernless kv` and `kernless secret`. */
#ifndef KL_CLI_CLIENT_SVC_H
#define KL_CLI_CLIENT_SVC_H

#include <jansson.h>
#include <stddef.h>

/**
 * Apply deploy flag `opt` with value `val` to the config object:
 * --allow-outbound URL, --kv STORE, --var NAME=VALUE or NAME=secret:SECRET.
 * Returns 1 when it was one of them, 0 when not, -1 (message printed) when
 * its value is malformed.
 */
int kl_client_svc_flag(json_t *config, const char *opt, const char *val);

/** `info` lines of the declared services (a secret by its name only: the API never has a value). */
void kl_client_svc_print(json_t *config);

struct kl_client;
struct kl_client_resp;

/** One call with a raw body; prints the failure and returns 1, else 0 with *resp filled. */
int kl_client_svc_call(const struct kl_client *c, const char *what, const char *method,
                       const char *path, const void *body, size_t len, struct kl_client_resp *resp);

/** All of stdin, at most `max` bytes (NULL when over, or out of memory); *n its length. */
char *kl_client_read_stdin(size_t max, size_t *n);

#endif
