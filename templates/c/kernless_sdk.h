/* kernless_sdk.h - Kernless host services for C modules (a copy of include/kernless/sdk.h). */
#ifndef KERNLESS_SDK_H
#define KERNLESS_SDK_H

/*
 * One import, kernless.svc (abi.h: KL_HC_SVC, struct kl_svc_wasm), reaches
 * outbound HTTP, key-value stores and variables. A function may use only
 * what it declared (kernless.toml: allowed_outbound_hosts, key_value_stores,
 * variables; or deploy --allow-outbound, --kv, --var). Every call returns
 * a kl_svc_err (0: done) and leaves a reason in kl_svc_reason().
 *
 *   char body[4096];
 *   kl_http_resp r = {body, sizeof(body)};
 *   if (kl_http_request("GET", "http://127.0.0.1:8099/", "", NULL, 0, &r) == 0)
 *       printf("%d: %.*s\n", r.status, (int)r.body_len, r.body);
 *
 *   char v[64]; uint32_t n;
 *   kl_kv_get("default", "count", v, sizeof(v), &n);   // KL_SVC_ENOENT if unset
 *   kl_kv_set("default", "count", "1", 1);
 *
 *   char key[128];
 *   kl_var_get("api_key", key, sizeof(key), &n);       // NUL-terminated when it fits
 *
 * Rust: declare `#[link(wasm_import_module = "kernless")] extern "C" { fn svc(arg: *mut
 * KlSvcWasm) -> u32; }` with the struct below as #[repr(C)] (all u32 fields).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The parts of abi.h a module needs, repeated so that the SDK stands alone
 * (abi.h's own _Static_asserts check them when both are included). */
#ifndef KERNLESS_ABI_H
#define KL_SVC_VERSION 1u
enum kl_svc_op {
    KL_SVC_HTTP = 1, KL_SVC_KV_GET = 2, KL_SVC_KV_SET = 3, KL_SVC_KV_DELETE = 4,
    KL_SVC_KV_EXISTS = 5, KL_SVC_KV_KEYS = 6, KL_SVC_VAR_GET = 7, KL_SVC_RESULT = 8,
};
enum kl_svc_err {
    KL_SVC_OK = 0, KL_SVC_EDENIED = 1, KL_SVC_ENOENT = 2, KL_SVC_ELIMIT = 3,
    KL_SVC_EINVAL = 4, KL_SVC_EFAILED = 5, KL_SVC_ETIMEOUT = 6,
};
struct kl_svc_wasm {
    uint32_t version, op, err, status;
    uint32_t a, a_len, b, b_len, c, c_len, d, d_len;
    uint32_t out, out_cap;
    uint32_t offset, result_len, copied, hdr_len;
    uint32_t reason, reason_cap;
};
#endif

#define KL_SDK_REASON_CAP 256

__attribute__((import_module("kernless"), import_name("svc")))
uint32_t kl_svc_import(struct kl_svc_wasm *arg);

/** The reason of the last failed call (empty after a success). */
static char kl_sdk_reason[KL_SDK_REASON_CAP];
static inline const char *kl_svc_reason(void) { return kl_sdk_reason; }

/* Fill and make one call. a..d are (pointer, length) pairs. */
static inline uint32_t kl_svc_call(struct kl_svc_wasm *w, uint32_t op, const void *a, size_t an,
                                   const void *b, size_t bn, const void *c, size_t cn,
                                   const void *d, size_t dn, void *out, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->version = KL_SVC_VERSION;
    w->op = op;
    w->a = (uint32_t)(uintptr_t)a; w->a_len = (uint32_t)an;
    w->b = (uint32_t)(uintptr_t)b; w->b_len = (uint32_t)bn;
    w->c = (uint32_t)(uintptr_t)c; w->c_len = (uint32_t)cn;
    w->d = (uint32_t)(uintptr_t)d; w->d_len = (uint32_t)dn;
    w->out = (uint32_t)(uintptr_t)out; w->out_cap = (uint32_t)cap;
    w->reason = (uint32_t)(uintptr_t)kl_sdk_reason; w->reason_cap = KL_SDK_REASON_CAP;
    kl_sdk_reason[0] = 0;
    return kl_svc_import(w);
}

/** An HTTP response: the caller gives the body buffer; status, lengths come back. */
typedef struct {
    char *body;          /* IN: where the body goes (headers are skipped) */
    size_t cap;          /* IN */
    int status;          /* OUT */
    size_t body_len;     /* OUT: bytes in the body (may be more than cap: truncated) */
} kl_http_resp;

/**
 * Make an outbound request. `headers` is "Name: value\n" lines ("" for
 * none). Only the body is copied out; the headers stay with the host
 * (kl_svc_result can read them: the first hdr_len bytes of the result).
 */
static inline uint32_t kl_http_request(const char *method, const char *url, const char *headers,
                                       const void *body, size_t body_len, kl_http_resp *r)
{
    struct kl_svc_wasm w;
    uint32_t e = kl_svc_call(&w, KL_SVC_HTTP, method, strlen(method), url, strlen(url), headers,
                             strlen(headers), body, body_len, NULL, 0);

    r->status = (int)w.status;
    r->body_len = 0;
    if (e)
        return e;
    r->body_len = w.result_len - w.hdr_len;
    /* Fetch the body from the stored result, past the headers. */
    struct kl_svc_wasm x;
    memset(&x, 0, sizeof(x));
    x.version = KL_SVC_VERSION;
    x.op = KL_SVC_RESULT;
    x.offset = w.hdr_len;
    x.out = (uint32_t)(uintptr_t)r->body;
    x.out_cap = (uint32_t)r->cap;
    return kl_svc_import(&x);
}

/** Read a value into buf; *len gets its full length (truncated when over cap). KL_SVC_ENOENT: none. */
static inline uint32_t kl_kv_get(const char *store, const char *key, void *buf, size_t cap,
                                 uint32_t *len)
{
    struct kl_svc_wasm w;
    uint32_t e = kl_svc_call(&w, KL_SVC_KV_GET, store, strlen(store), key, strlen(key), NULL, 0,
                             NULL, 0, buf, cap);
    *len = e ? 0 : w.result_len;
    return e;
}

static inline uint32_t kl_kv_set(const char *store, const char *key, const void *val, size_t n)
{
    struct kl_svc_wasm w;
    return kl_svc_call(&w, KL_SVC_KV_SET, store, strlen(store), key, strlen(key), NULL, 0, val, n,
                       NULL, 0);
}

static inline uint32_t kl_kv_delete(const char *store, const char *key)
{
    struct kl_svc_wasm w;
    return kl_svc_call(&w, KL_SVC_KV_DELETE, store, strlen(store), key, strlen(key), NULL, 0,
                       NULL, 0, NULL, 0);
}

/** *exists is 1 or 0. */
static inline uint32_t kl_kv_exists(const char *store, const char *key, int *exists)
{
    struct kl_svc_wasm w;
    uint32_t e = kl_svc_call(&w, KL_SVC_KV_EXISTS, store, strlen(store), key, strlen(key), NULL, 0,
                             NULL, 0, NULL, 0);
    *exists = e ? 0 : (int)w.status;
    return e;
}

/** The keys starting with prefix, each followed by NUL, into buf; *len the full length. */
static inline uint32_t kl_kv_keys(const char *store, const char *prefix, char *buf, size_t cap,
                                  uint32_t *len)
{
    struct kl_svc_wasm w;
    uint32_t e = kl_svc_call(&w, KL_SVC_KV_KEYS, store, strlen(store), prefix, strlen(prefix),
                             NULL, 0, NULL, 0, buf, cap);
    *len = e ? 0 : w.result_len;
    return e;
}

/** A variable's value, NUL-terminated when it fits; *len its full length. */
static inline uint32_t kl_var_get(const char *name, char *buf, size_t cap, uint32_t *len)
{
    struct kl_svc_wasm w;
    uint32_t e = kl_svc_call(&w, KL_SVC_VAR_GET, name, strlen(name), NULL, 0, NULL, 0, NULL, 0,
                             buf, cap ? cap - 1 : 0);
    *len = e ? 0 : w.result_len;
    if (cap)
        buf[e ? 0 : (w.copied < cap ? w.copied : cap - 1)] = 0;
    return e;
}

#endif
