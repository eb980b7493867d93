/* api.h - the management API (/v1/..., /metrics) on the admin listener. */
#ifndef KL_SERVER_API_H
#define KL_SERVER_API_H

struct kl_server;

/** Route /v1, /v1/... and /metrics of the admin listener to the API (bearer token required). */
int kl_api_register(struct kl_server *s);

#endif
