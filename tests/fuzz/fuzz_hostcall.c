/* fuzz_hostcall.c - libFuzzer target: the hostcall dispatch table and every handler, fed arbitrary ports, struct addresses and guest memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inst/core_calls.h"
#include "inst/hostcall.h"
#include "inst/instance.h"
#include "inst/linmem.h"
#include "inst/service.h"
#include "host/wasi_service.h"
#include "wast/invoke.h"

/*
 * The real kl_hostcall_dispatch, the real handlers (core_calls.c, the WASI
 * filesystem in wasi_host*.c, invoke.c) and the real output delivery with
 * its limits (inst_output.c) run against an instance with no VM: its guest
 * memory is a few exactly sized heap buffers, so ASan sees any access a
 * handler makes outside what kl_gmem_at granted. What a VM would do is
 * faked: growing memory only answers (below), and the VM calls invoke.c
 * links abort (novm_stubs.c): a hostcall must never reach them.
 */

#define OUT_BACK 8192u    /* bytes behind the stdout region */
#define ERR_BACK 8192u
#define MEM_BACK 65536u   /* memory 0: one wasm page */
#define MAX_CALLS 8u

int kl_inst_mem_grow(struct kl_inst *in, uint32_t idx, uint32_t new_pages, uint32_t max_pages)
{
    (void)in;
    if (idx >= KL_MAX_MEMORIES)
        abort();   /* the handler must have refused it */
    return new_pages > max_pages || new_pages > 4 ? -ENOMEM : 0;
}

static uint32_t u32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

/* Copy as much of the input as there is into a region; the rest stays 0. */
static const uint8_t *fill(uint8_t *dst, size_t n, const uint8_t *p, const uint8_t *end)
{
    size_t k = (size_t)(end - p) < n ? (size_t)(end - p) : n;

    memcpy(dst, p, k);
    return p + k;
}

/*
 * Input: 3 bytes of setup (stdout limit, stderr limit, flags), then
 * MAX_CALLS calls of 5 bytes (port byte, u32 value), then the hostcall
 * page, stdout, stderr and memory 0 contents. A port byte's low 4 bits
 * pick a port from KL_HC_PORT_BASE - 4 on (so unknown ports below and
 * above the table come up); with bit 4 set the value is an offset into
 * the hostcall page (most real calls), else a raw guest address.
 */
/** libFuzzer entry. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    struct kl_run_config cfg;
    struct kl_run_result res;
    struct kl_inst in;
    struct kl_err err;
    uint8_t *hc, *out, *errb, *mem;
    int devnull, rc;

    if (size < 3 + 5 * MAX_CALLS)
        return 0;
    memset(&cfg, 0, sizeof(cfg));
    memset(&res, 0, sizeof(res));
    memset(&in, 0, sizeof(in));
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    cfg.stdin_fd = p[2] & 1 ? devnull : -1;
    cfg.stdout_fd = p[2] & 2 ? devnull : -1;   /* else captured, with a limit */
    cfg.stderr_fd = p[2] & 4 ? devnull : -1;
    cfg.timeout_ms = 1;
    in.cfg = &cfg;
    in.res = &res;
    in.out.limit = (size_t)p[0] * 64;
    in.err.limit = (size_t)p[1] * 64;
    in.deadline_ns = 1;   /* long past: a sleep or a stdin wait times out at once */
    in.mode = KL_MODE_COMMAND;
    if (kl_core_calls_register() < 0 || kl_wasi_host_register() < 0 || kl_invoke_register() < 0)
        abort();
    if (kl_services_open(&in, &cfg, &err) < 0)
        abort();
    hc = calloc(1, KL_HCALL_SIZE), out = calloc(1, OUT_BACK);
    errb = calloc(1, ERR_BACK), mem = calloc(1, MEM_BACK);
    p = fill(hc, KL_HCALL_SIZE, data + 3 + 5 * MAX_CALLS, end);
    p = fill(out, OUT_BACK, p, end);
    p = fill(errb, ERR_BACK, p, end);
    fill(mem, MEM_BACK, p, end);
    kl_gmem_set(&in.hc_gm, "hostcall area", KL_HCALL_GVA, KL_HCALL_SIZE, hc, 1);
    kl_gmem_set(&in.gm, "stdout buffer", KL_OUT_GVA, OUT_BACK, out, 0);
    kl_gmem_set(&in.gm, "stderr buffer", KL_ERR_GVA, ERR_BACK, errb, 0);
    kl_gmem_set(&in.gm, "memory 0", KL_MEM_GVA(0), MEM_BACK, mem, 1);

    for (unsigned i = 0; i < MAX_CALLS && !in.done; i++) {
        const uint8_t *c = data + 3 + 5 * i;
        uint16_t port = (uint16_t)(KL_HC_PORT_BASE - 4 + (c[0] & 15));
        uint32_t value = c[0] & 16 ? (uint32_t)KL_HCALL_GVA + u32(c + 1) % KL_HCALL_SIZE
                                   : u32(c + 1);

        rc = kl_hostcall_dispatch(&in, port, value);
        /* Guest input is never a host failure: go on, or end the run. */
        if (rc != KL_HC_CONTINUE && rc != KL_HC_DONE)
            abort();
        if (rc == KL_HC_DONE && (!in.done || res.reason[0] == 0))
            abort();   /* an ended run says why */
        if (in.out.len > in.out.limit || in.err.len > in.err.limit)
            abort();   /* a capture never passes its limit */
    }
    kl_services_close(&in);
    free(in.out.buf), free(in.err.buf);
    free(hc), free(out), free(errb), free(mem);
    close(devnull);
    return 0;
}
