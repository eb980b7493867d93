/* svc_http.h - outbound HTTP with libcurl: allow-listed on every hop, resolved once and pinned, within limits. */
#ifndef KL_HOST_SVC_HTTP_H
#define KL_HOST_SVC_HTTP_H

#include "host/svc.h"

#define KL_SVC_REDIRECTS_MAX 5

/** What the embedder forbids beyond the allow-list. */
struct kl_svc_http_opts {
    /* Ports that are never reached on any address of this host (its own
     * management API): a function may not act on its server's admin origin
     * even when the allow-list would let it (http://localhost:*). */
    unsigned deny_ports[4];
    unsigned ndeny;
};

/** Call once per process, before threads (curl_global_init). */
int kl_svc_http_global_init(void);

/**
 * Make the call (KL_SVC_HTTP): follow redirects only to allowed hosts,
 * resolve each host once and connect to exactly that address, stop at
 * call->max_bytes of response and at call->deadline_ns. Fills call->err,
 * status, reason, result (headers then body) and hdr_len. Returns 0, or
 * -ENOMEM.
 */
int kl_svc_http_exec(struct kl_svc_call *call, const struct kl_svc_http_opts *o);

/**
 * Refuse or fail `c`: set its error code and a formatted reason for the
 * guest (the HTTP executor and the server's other services share it).
 */
void kl_svc_call_fail(struct kl_svc_call *c, uint32_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
