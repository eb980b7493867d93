/* svc.h - host services of KL_HC_SVC: what a function declared, one call's host copy, and the backend that serves it. */
#ifndef KL_HOST_SVC_H
#define KL_HOST_SVC_H

#include <stddef.h>
#include <stdint.h>

#include "kernless/abi.h"

#define KL_SVC_CALLS_DEFAULT 16u               /* outbound calls per request */
#define KL_SVC_RESP_DEFAULT (8ull << 20)       /* response bytes per request */
#define KL_SVC_URL_MAX 4096u
#define KL_SVC_HDRS_MAX (64u << 10)
#define KL_SVC_BODY_MAX (8u << 20)             /* an outbound request body */

/** One variable a function reads: its value is resolved (a secret decrypted) by the embedder. */
struct kl_svc_var {
    const char *name;
    const char *value;
};

/** One call of a service, as the host copied it out of guest memory. */
struct kl_svc_call {
    uint32_t op;                 /* enum kl_svc_op */
    const char *store;           /* KV: the store name (NUL-terminated copy) */
    const uint8_t *key;          /* KV: key or prefix; HTTP: the URL */
    size_t key_len;
    const char *method;          /* HTTP */
    const char *headers;         /* HTTP: "Name: value\n" lines, NUL-terminated */
    const uint8_t *val;          /* KV set: value; HTTP: body */
    size_t val_len;
    uint64_t deadline_ns;        /* CLOCK_MONOTONIC; 0: none */
    uint64_t max_bytes;          /* HTTP: the response bytes left to this request */
    const char *const *allow;    /* HTTP: the allow-list, for every redirect hop */
    size_t nallow;
    /* OUT, filled by the backend. */
    uint32_t err;                /* enum kl_svc_err */
    uint32_t status;
    char reason[KL_SVC_REASON_MAX];
    uint8_t *result;             /* malloc'd; the host frees it */
    size_t result_len;
    size_t hdr_len;
};

/**
 * What serves the calls the host has checked. It may block (a network
 * round trip, a database): the embedder runs it on a thread of its own,
 * outside the vCPU thread's sandbox. Returns 0 with call->err set (a
 * service's refusal is the guest's to handle), or -errno when it could not
 * run at all (then the call fails with KL_SVC_EFAILED).
 */
typedef int (*kl_svc_backend_fn)(void *ctx, struct kl_svc_call *call);

/**
 * The services of one request: what the function declared, its limits and
 * its per-request counters. Nothing is allowed unless listed here; a run
 * without one (kl_run_config.svc NULL) is denied every call.
 */
struct kl_svc_ctx {
    const char *const *outbound;  /* allow-list entries "scheme://host[:port|:*]" */
    size_t noutbound;
    const char *const *stores;    /* key-value store names */
    size_t nstores;
    const struct kl_svc_var *vars;
    size_t nvars;
    const char *request_id;       /* for log lines */
    const char *fn_name;
    uint32_t max_calls;           /* 0: KL_SVC_CALLS_DEFAULT */
    uint64_t max_resp_bytes;      /* 0: KL_SVC_RESP_DEFAULT */
    kl_svc_backend_fn backend;
    void *backend_ctx;
    /** One line about a denied or failed call (never a variable's value). */
    void (*log)(const struct kl_svc_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
    /* Per request, kept by the host. */
    uint32_t calls;               /* outbound calls made */
    uint64_t resp_bytes;          /* response bytes received */
    uint8_t *result;              /* the last call's result (KL_SVC_RESULT reads it) */
    size_t result_len;
    size_t hdr_len;
};

/** Free the per-request state (the last result) and zero the counters. */
void kl_svc_ctx_reset(struct kl_svc_ctx *c);

struct kl_inst;

/**
 * Register KL_HC_SVC (idempotent). Call at start-up next to
 * kl_wasi_host_register(); without it the hostcall ends the run as an
 * unknown port. Returns 0 or -errno.
 */
int kl_svc_register(void);

/** KL_HC_SVC: check and serve one call (see abi.h). Never ends the run for a refused call. */
int kl_hc_svc(struct kl_inst *in, void *arg);

#endif
