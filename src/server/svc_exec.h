/* svc_exec.h - host services for the server's requests: start-up, and a context per request. */
#ifndef KL_SERVER_SVC_EXEC_H
#define KL_SERVER_SVC_EXEC_H

#include "common/err.h"
#include "host/svc.h"
#include "server/server.h"

struct kl_secret_key;

/**
 * Make the kv and secrets tables, load (or, for the default
 * <data>/secrets.key, create) the secrets key, and start the worker
 * threads that run calls outside the vCPU threads' sandbox. Call once,
 * after the registry is open and before any request.
 */
int kl_svc_server_start(struct kl_server *s, const char *key_path, struct kl_err *err);

/** The key secrets are sealed with (after kl_svc_server_start). */
const struct kl_secret_key *kl_svc_secret_key(void);

/**
 * The services of one request of `fn`: *out is NULL when it declared none
 * (every call is then denied). Secrets are opened here and wiped at close.
 * Returns 0 or -ENOMEM.
 */
int kl_svc_request_open(const struct kl_fn *fn, const char *request_id, struct kl_svc_ctx **out);

/** Wipe and free a request's context (NULL is fine). */
void kl_svc_request_close(struct kl_svc_ctx *c);

#endif
