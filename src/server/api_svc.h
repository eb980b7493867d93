/* api_svc.h - the management API of host services: /v1/kv and /v1/secrets, registered as routes. */
#ifndef KL_SERVER_API_SVC_H
#define KL_SERVER_API_SVC_H

struct kl_server;

/** Register /v1/kv[/...] and /v1/secrets[/...] on the admin listener. Returns 0 or -errno. */
int kl_api_svc_register(struct kl_server *s);

#endif
