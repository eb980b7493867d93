/* svc.c - kernless.svc, the import by which a module calls a host service (KL_HC_SVC). */
#include <string.h>

#include "guest.h"
#include "wasi.h"

/* The instance wasm2c passes for the "kernless" import module (never read). */
struct Z_kernless_instance_t;

/* A linear-memory range as a guest address; 0 when it is out of bounds (the
 * host then refuses the call: no guest address 0 is ever accessible). */
static kl_gptr_t lin(wasm_rt_memory_t *m, u32 ptr, u32 len)
{
    if (!m || (u64)ptr + len > m->size)
        return 0;
    return (kl_gptr_t)(uintptr_t)(m->data + ptr);
}

static void to_buf(wasm_rt_memory_t *m, struct kl_svc_buf *b, u32 ptr, u32 len)
{
    b->ptr = len ? lin(m, ptr, len) : 0;
    b->len = len;
    if (len && !b->ptr)
        b->len = ~0ull;   /* out of bounds: the host's check names it */
}

/* Copy the host's reason into the module's reason buffer, NUL-terminated. */
static void put_reason(wasm_rt_memory_t *m, const struct kl_svc_wasm *a, const char *reason)
{
    size_t n = 0;
    uint8_t *dst;

    while (n < KL_SVC_REASON_MAX - 1 && reason[n])
        n++;

    if (!a->reason_cap || !(dst = (uint8_t *)(uintptr_t)lin(m, a->reason, a->reason_cap)))
        return;
    if (n >= a->reason_cap)
        n = a->reason_cap - 1;
    memcpy(dst, reason, n);
    dst[n] = 0;
}

/**
 * kernless.svc(arg): `arg` is the linear-memory address of a struct
 * kl_svc_wasm. Returns its kl_svc_err (also stored in arg->err). A struct
 * outside memory is KL_SVC_EINVAL, never a trap, so a wrapper can report it.
 */
u32 Z_kernlessZ_svc(struct Z_kernless_instance_t *inst, u32 arg)
{
    wasm_rt_memory_t *m = kl_module_memory();
    volatile struct kl_hc_svc *h = (volatile struct kl_hc_svc *)KL_HCALL;
    struct kl_svc_wasm a;
    struct kl_hc_svc s;
    uint8_t *p;

    (void)inst;
    if (!(p = (uint8_t *)(uintptr_t)lin(m, arg, sizeof(a))))
        return KL_SVC_EINVAL;
    memcpy(&a, p, sizeof(a));
    memset(&s, 0, sizeof(s));
    s.version = a.version;
    s.op = a.op;
    to_buf(m, &s.a, a.a, a.a_len);
    to_buf(m, &s.b, a.b, a.b_len);
    to_buf(m, &s.c, a.c, a.c_len);
    to_buf(m, &s.d, a.d, a.d_len);
    to_buf(m, &s.out, a.out, a.out_cap);
    s.offset = a.offset;
    memcpy((void *)h, &s, sizeof(s));
    kl_hostcall(KL_HC_SVC, (void *)h);
    memcpy(&s, (const void *)h, sizeof(s));
    s.reason[KL_SVC_REASON_MAX - 1] = 0;
    a.err = s.err;
    a.status = s.status;
    a.result_len = s.result_len > 0xFFFFFFFFull ? 0xFFFFFFFFu : (u32)s.result_len;
    a.copied = (u32)s.copied;
    a.hdr_len = (u32)s.hdr_len;
    put_reason(m, &a, s.err ? s.reason : "");
    memcpy(p, &a, sizeof(a));
    return a.err;
}
