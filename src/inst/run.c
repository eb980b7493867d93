/* run.c - one run of an image in a fresh micro-VM: build the address space, loop on exits, collect the result. */
#include "inst/run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "inst/core_calls.h"
#include "inst/inst_output.h"
#include "inst/linmem.h"
#include "inst/hostcall.h"
#include "inst/instance.h"
#include "inst/service.h"
#include "vm/seccomp.h"

/* The guest's read-write memory: request/IO area, runtime heap, stack. */
#define USER_RW (KL_VM_R | KL_VM_W | KL_VM_USER)

void kl_run_config_init(struct kl_run_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->stdin_fd = 0;
    cfg->stdout_fd = 1;
    cfg->stderr_fd = 2;
}

void kl_run_result_free(struct kl_run_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

/* Deliver what the guest had buffered when a fault or timeout ended it. */
static void take_pending_output(struct kl_inst *in)
{
    const struct kl_boot_info *b = (const void *)(in->low + KL_BOOT_GVA);
    uint32_t o = b->out_pending, e = b->err_pending;
    int was_done = in->done;

    if (o > KL_OUT_SIZE || e > KL_ERR_SIZE)
        return;   /* garbage from a broken guest: nothing trustworthy to show */
    in->done = 0;
    kl_inst_take_output(in, o, e);
    in->done = was_done;
}

/* ---- faults reported by the ring-0 stubs ---- */

static const char *vector_name(uint64_t v)
{
    static const char *const n[] = {
        "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
        "invalid opcode", "device not available", "double fault", "coprocessor overrun",
        "invalid TSS", "segment not present", "stack fault", "general protection fault",
        "page fault", "reserved", "x87 floating-point error", "alignment check",
        "machine check", "SIMD floating-point exception"};
    return v < sizeof(n) / sizeof(n[0]) ? n[v] : "CPU exception";
}

int kl_fault_handle(struct kl_inst *in)
{
    struct kl_vm_fault f;
    int rc = kl_vm_fault(in->vm, &f);

    if (rc == -EPROTO)
        return kl_inst_finish(in, KL_RES_ERROR, "malformed CPU fault report");
    if (rc < 0)
        return -EIO;
    take_pending_output(in);
    if ((f.cs & 3) != 3)
        return kl_inst_finish(in, KL_RES_ERROR, "%s in ring 0 at 0x%" PRIx64,
                              vector_name(f.vector), f.rip);
    if (f.vector == 14 && f.addr >= KL_MEM_GVA(0) && f.addr < KL_MEM_GVA(KL_MAX_MEMORIES))
        in->res->trap = KL_TRAP_OOB;
    else if (f.vector == 14 && f.addr >= KL_GUARD_GVA && f.addr < KL_STACK_GVA)
        in->res->trap = KL_TRAP_EXHAUSTION;
    else if (f.vector == 0)
        in->res->trap = KL_TRAP_DIV_BY_ZERO;
    else if (f.vector == 6)
        in->res->trap = KL_TRAP_UNREACHABLE;
    else if (f.vector == 14)
        return kl_inst_finish(in, KL_RES_ERROR, "page fault at 0x%" PRIx64 " (error 0x%" PRIx64
                              ", rip 0x%" PRIx64 ")", f.addr, f.code, f.rip);
    else
        return kl_inst_finish(in, KL_RES_ERROR, "%s (vector %" PRIu64 ", error 0x%" PRIx64
                              ") at rip 0x%" PRIx64, vector_name(f.vector), f.vector, f.code,
                              f.rip);
    return kl_inst_finish(in, KL_RES_TRAP, "%s", kl_trap_name(in->res->trap));
}

/* ---- address space ---- */

/* Copy the image segments in and map them with their own permissions. */
static int load_image(struct kl_inst *in, const struct kl_image *img, struct kl_err *err)
{
    for (unsigned i = 0; i < img->hdr->nseg; i++) {
        const struct kl_image_seg *s = &img->segs[i];
        uint64_t size = (s->memsz + KL_PAGE_SIZE - 1) & ~(KL_PAGE_SIZE - 1);
        unsigned prot = KL_VM_R | KL_VM_USER;
        int rc;

        memcpy(in->low + s->gva, img->data + s->offset, s->filesz);
        if (s->flags & KL_SEG_W)
            prot |= KL_VM_W;
        if (s->flags & KL_SEG_X)
            prot |= KL_VM_X;
        if ((rc = kl_vm_map(in->vm, s->gva, in->low + s->gva, size, prot, err)) < 0)
            return rc;
    }
    return 0;
}

/* The guest's writable low-area regions; the backend adds its own (KVM's
 * descriptor tables, page tables and ring-0 stubs) privately. */
static int map_system(struct kl_inst *in, struct kl_err *err)
{
    const struct { uint64_t gva, size; } maps[] = {
        {KL_BOOT_GVA, KL_IO_END - KL_BOOT_GVA},
        {KL_HEAP_GVA, KL_HEAP_SIZE},
        {KL_STACK_GVA, KL_STACK_SIZE},
    };
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        int rc = kl_vm_map(in->vm, maps[i].gva, in->low + maps[i].gva, maps[i].size, USER_RW,
                           err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Pack strings NUL-terminated at *pos in the request area. */
static int pack_strings(struct kl_inst *in, uint64_t *pos, int n, const char *const *v,
                        kl_gptr_t *start, uint32_t *len)
{
    *start = *pos;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(v[i]) + 1;
        if (l > KL_REQ_GVA + KL_REQ_SIZE - *pos)
            return -E2BIG;
        memcpy(in->low + *pos, v[i], l);
        *pos += l;
    }
    *len = (uint32_t)(*pos - *start);
    return 0;
}

/* Fill the boot block, request area and stdin window; *pos ends where the
 * request area's contents end. */
static int fill_boot(struct kl_inst *in, const struct kl_run_config *cfg, uint64_t *posp,
                     struct kl_err *err)
{
    struct kl_boot_info *b = (void *)(in->low + KL_BOOT_GVA);
    uint64_t pos = KL_REQ_GVA;
    struct timespec rt, mono;
    int rc;

    memset(b, 0, sizeof(*b));
    b->magic = KL_BOOT_MAGIC;
    b->abi_version = KL_ABI_VERSION;
    b->tsc_khz = kl_vm_tsc_khz(in->vm);
    if (getrandom(b->seed, sizeof(b->seed), 0) != sizeof(b->seed))
        return kl_errf(err, -EIO, "getrandom failed");
    *posp = KL_REQ_GVA + KL_REQ_SIZE;   /* until it is known how far the writes go */
    if (pack_strings(in, &pos, cfg->argc, cfg->argv, &b->argv_buf, &b->argv_len) < 0 ||
        pack_strings(in, &pos, cfg->envc, cfg->envp, &b->env_buf, &b->env_len) < 0)
        return kl_errf(err, -E2BIG, "arguments and environment exceed %llu bytes",
                       (unsigned long long)KL_REQ_SIZE);
    b->argc = (uint32_t)cfg->argc;
    b->envc = (uint32_t)cfg->envc;
    if ((rc = kl_services_boot(in, cfg, b, in->low + pos, &pos, KL_REQ_GVA + KL_REQ_SIZE - pos,
                               err)) < 0)
        return rc;
    if (cfg->stdin_fd >= 0) {
        b->flags |= KL_BOOT_STDIN_HOST;
    } else if (cfg->stdin_len > 0) {
        if (cfg->stdin_len > KL_STDIN_SIZE)
            return kl_errf(err, -E2BIG, "stdin of %zu bytes exceeds %llu", cfg->stdin_len,
                           (unsigned long long)KL_STDIN_SIZE);
        memcpy(in->low + KL_STDIN_GVA, cfg->stdin_buf, cfg->stdin_len);
    }
    b->stdin_buf = KL_STDIN_GVA;
    b->stdin_len = (uint32_t)cfg->stdin_len;
    *posp = pos;
    b->max_memory_pages = in->max_pages;
    b->out_cap = KL_OUT_SIZE;
    b->err_cap = KL_ERR_SIZE;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    b->realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    b->monotonic_ns = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
    return 0;
}

int kl_inst_write_boot(struct kl_inst *in, const struct kl_run_config *cfg, struct kl_err *err)
{
    uint64_t req_end = KL_REQ_GVA + KL_REQ_SIZE;
    size_t stdin_len = cfg->stdin_fd < 0 && cfg->stdin_len <= KL_STDIN_SIZE ? cfg->stdin_len : 0;
    int rc = fill_boot(in, cfg, &req_end, err);

    /* Host writes set no dirty bit: log them for the warm reset, a request
     * area given up half-way included. */
    if (kl_gwritten_mark(&in->written, KL_BOOT_GVA, sizeof(struct kl_boot_info)) < 0 ||
        kl_gwritten_mark(&in->written, KL_REQ_GVA, req_end - KL_REQ_GVA) < 0 ||
        kl_gwritten_mark(&in->written, KL_STDIN_GVA, stdin_len) < 0)
        return kl_errf(err, -ENOMEM, "out of memory");
    return rc;
}

int kl_inst_setup(struct kl_inst *in, const struct kl_image *img,
                  const struct kl_run_config *cfg, struct kl_err *err)
{
    int rc;

    in->max_pages = cfg->max_memory_pages && cfg->max_memory_pages < KL_MEM_MAX_PAGES
                        ? cfg->max_memory_pages : KL_MEM_MAX_PAGES;
    if ((rc = kl_core_calls_register()) < 0)
        return kl_errf(err, rc, "cannot register the core hostcalls");
    /* Services first (WASI preopens): a bad --dir is the user's error and
     * costs no VM. */
    if ((rc = kl_services_open(in, cfg, err)) < 0)
        return rc;
    if ((rc = kl_vm_create(&in->vm, err)) < 0)
        return rc;
    if (cfg->large_pages)
        kl_vm_large_pages(in->vm);
    if ((rc = kl_vm_map_ram(in->vm, KL_VM_RAM_LOW, KL_LOW_END, &in->low, err)) < 0)
        return rc;
    if ((rc = map_system(in, err)) < 0 || (rc = load_image(in, img, err)) < 0)
        return rc;
    in->gm.wr = in->hc_gm.wr = &in->written;
    kl_gmem_set(&in->hc_gm, "hostcall area", KL_HCALL_GVA, KL_HCALL_SIZE,
                in->low + KL_HCALL_GVA, 1);
    kl_gmem_set(&in->gm, "output buffers", KL_OUT_GVA, KL_IO_END - KL_OUT_GVA,
                in->low + KL_OUT_GVA, 0);
    if ((rc = kl_inst_write_boot(in, cfg, err)) < 0)
        return rc;
    return kl_vm_enter(in->vm, img->hdr->entry, KL_STACK_TOP, err);
}

void kl_inst_teardown(struct kl_inst *in)
{
    kl_vm_destroy(in->vm);
    kl_linmem_release(in);
    kl_services_close(in);   /* every host file the guest had open, say */
    if (in->low)
        kl_munmap(in->low, KL_LOW_END);
    kl_gwritten_free(&in->written);
}

/* ---- the exit loop ---- */

int kl_inst_handle_exit(struct kl_inst *in, const struct kl_vm_exit *x)
{
    switch (x->kind) {
    case KL_VMX_IO_OUT:
        if (x->port == KL_FAULT_PORT)
            return in->on_fault ? in->on_fault(in) : kl_fault_handle(in);
        if (x->size != 4)
            return kl_inst_finish(in, KL_RES_ERROR, "the guest wrote %u bytes to port 0x%x",
                                  x->size, x->port);
        return kl_hostcall_dispatch(in, x->port, x->value);
    case KL_VMX_INTR:
        if (in->deadline_ns && kl_now_ns() >= in->deadline_ns) {
            take_pending_output(in);
            return kl_inst_finish(in, KL_RES_TIMEOUT, "timeout after %u ms", in->cfg->timeout_ms);
        }
        return KL_HC_CONTINUE;
    case KL_VMX_HLT:
        return kl_inst_finish(in, KL_RES_ERROR, "the guest halted");
    case KL_VMX_SHUTDOWN:
        return kl_inst_finish(in, KL_RES_ERROR, "the guest triple-faulted");
    case KL_VMX_DIED: {
        char why[160];
        kl_wait_status_describe((int)x->raw_reason, why, sizeof(why));
        take_pending_output(in);
        return kl_inst_finish(in, KL_RES_ERROR, "the sandbox process died: %s", why);
    }
    default:
        return kl_inst_finish(in, KL_RES_ERROR, "unexpected VM exit (reason %u)", x->raw_reason);
    }
}

int kl_inst_run_loop(struct kl_inst *in, struct kl_err *err)
{
    struct kl_vm_exit x;
    int rc;

    /* Setup is done: a dedicated vCPU thread gets its allow-list now, once. */
    if ((rc = kl_seccomp_vcpu_enter(in->cfg)) < 0)
        return kl_errf(err, rc, "cannot install the seccomp filter: %s", strerror(-rc));
    in->paused = 0;
    while (!in->done && !in->paused) {
        if ((rc = kl_vm_run(in->vm, &x)) < 0)
            return kl_errf(err, rc, "running the guest (%s backend) failed: %s",
                           kl_vm_name(in->vm), strerror(-rc));
        in->res->exits++;
        if ((rc = kl_inst_handle_exit(in, &x)) < 0)
            return kl_errf(err, rc, "handling a VM exit failed: %s", strerror(-rc));
    }
    return 0;
}

int kl_run(const struct kl_image *img, const struct kl_run_config *cfg,
           struct kl_run_result *res, struct kl_err *err)
{
    struct kl_inst in;
    uint64_t t0 = kl_now_ns(), t1;
    int rc;

    memset(res, 0, sizeof(*res));
    memset(&in, 0, sizeof(in));
    in.cfg = cfg;
    in.res = res;
    in.out.limit = cfg->out_limit ? cfg->out_limit : KL_OUT_SIZE;
    in.err.limit = cfg->err_limit ? cfg->err_limit : KL_ERR_SIZE;
    if ((rc = kl_inst_setup(&in, img, cfg, err)) < 0)
        goto out;
    t1 = kl_now_ns();
    res->setup_ns = t1 - t0;
    if (cfg->timeout_ms) {
        in.deadline_ns = t1 + (uint64_t)cfg->timeout_ms * 1000000ull;
        if ((rc = kl_vm_arm_timeout(in.vm, cfg->timeout_ms)) < 0) {
            kl_errf(err, rc, "cannot arm the timeout timer");
            goto out;
        }
    }
    rc = kl_inst_run_loop(&in, err);
    res->run_ns = kl_now_ns() - t1;
    res->large_pages = kl_vm_large_count(in.vm);
out:
    kl_inst_teardown(&in);
    res->out = in.out.buf;
    res->out_len = in.out.len;
    res->err = in.err.buf;
    res->err_len = in.err.len;
    return rc;
}
