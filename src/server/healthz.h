/* healthz.h - GET /healthz on both listeners: the server is up, and with which isolation. */
#ifndef KL_SERVER_HEALTHZ_H
#define KL_SERVER_HEALTHZ_H

struct kl_server;

/** Route /healthz of both listeners (no token needed: it says nothing secret). */
int kl_healthz_register(struct kl_server *s);

#endif
