/* inst_output.c - how a run ends and where the guest's stdout/stderr go: to an fd, or into a capped capture. */
#include "inst/inst_output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inst/hostcall.h"
#include "inst/instance.h"

/*
 * Apart from run.c so the hostcall fuzz target (tests/fuzz/fuzz_hostcall.c)
 * drives the real delivery and limit code without a VM.
 */

int kl_inst_finish(struct kl_inst *in, enum kl_result_kind kind, const char *fmt, ...)
{
    va_list ap;

    if (in->done)
        return KL_HC_DONE;
    in->done = 1;
    in->res->kind = kind;
    va_start(ap, fmt);
    vsnprintf(in->res->reason, sizeof(in->res->reason), fmt, ap);
    va_end(ap);
    return KL_HC_DONE;
}

/* ---- output ---- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Append to a capture; returns -EFBIG past its limit (keeping what fits). */
static int capture(struct kl_capture *c, const uint8_t *p, size_t n)
{
    size_t room = c->limit - c->len, k = n < room ? n : room;

    if (c->len + k > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + k)
            cap *= 2;
        uint8_t *b = realloc(c->buf, cap);
        if (!b)
            return -ENOMEM;
        c->buf = b;
        c->cap = cap;
    }
    if (k > 0) {
        memcpy(c->buf + c->len, p, k);
        c->len += k;
    }
    return k < n ? -EFBIG : 0;
}

static int deliver(struct kl_inst *in, int fd, struct kl_capture *c, const uint8_t *p, size_t n)
{
    if (fd >= 0) {
        write_all(fd, p, n);   /* a closed pipe downstream is not the guest's fault */
        return 0;
    }
    return capture(c, p, n);
}

int kl_inst_take_output(struct kl_inst *in, uint32_t out_len, uint32_t err_len)
{
    struct kl_err err;
    const uint8_t *o = kl_gmem_at(&in->gm, KL_OUT_GVA, out_len, KL_GMEM_READ, "stdout buffer", &err);
    const uint8_t *e = o ? kl_gmem_at(&in->gm, KL_ERR_GVA, err_len, KL_GMEM_READ,
                                      "stderr buffer", &err) : NULL;
    int r1, r2;

    if (!o || !e)
        return kl_inst_finish(in, KL_RES_ERROR, "%s", err.msg);
    r1 = deliver(in, in->cfg->stdout_fd, &in->out, o, out_len);
    r2 = deliver(in, in->cfg->stderr_fd, &in->err, e, err_len);
    if (r1 == -EFBIG || r2 == -EFBIG)
        return kl_inst_finish(in, KL_RES_LIMIT, "output limit: %s exceeded %zu bytes",
                              r1 == -EFBIG ? "stdout" : "stderr",
                              r1 == -EFBIG ? in->out.limit : in->err.limit);
    if (r1 < 0 || r2 < 0)
        return r1 < 0 ? r1 : r2;
    return 0;
}
