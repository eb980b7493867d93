/* warm.c - snapshot a VM at READY, serve a request, copy back what it wrote, unmap what it grew. */
#include "inst/warm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/util.h"
#include "inst/run.h"
#include "inst/instance.h"
#include "inst/service.h"

/* A page's contents at READY. Pages not listed were zero at READY. */
struct saved_page {
    uint64_t gva;
    uint8_t *copy;
};

struct kl_warm {
    struct kl_inst in;
    struct kl_run_config cfg0;        /* limits and preopens for every request */
    struct kl_run_result boot_res;
    struct kl_vm_state *ready;        /* vCPU state just past the READY `out` */
    uint32_t snap_pages[KL_MAX_MEMORIES];
    struct saved_page *saved;
    size_t nsaved, saved_cap;
    struct { uint64_t gva, len; } img_rw[KL_IMAGE_MAX_SEGS];
    unsigned nimg_rw;
    uint64_t reset_ns;
    uint32_t reset_pages;
    int broken;
    int verify;                       /* KERNLESS_VERIFY_RESET=1: check every page after a reset */
    int skip_host_restore;            /* test control of the check (see kl_warm_create) */
};

/* ---- walking the user-writable pages ---- */

typedef int (*page_fn)(struct kl_warm *w, uint64_t gva, uint8_t *host);

/* Call fn for every page in [gva, gva+len) the guest may have written since
 * the last walk: the backend knows (KVM from its page tables' dirty bits, a
 * process sandbox from the kernel's page tables). Each range is walked once
 * per snapshot or reset, as kl_vm_dirty_log's "since the last call" needs. */
static int walk(struct kl_warm *w, uint64_t gva, uint64_t len, uint8_t *host, page_fn fn)
{
    enum { CHUNK = 16384 };   /* pages per query: 64 MiB */
    uint64_t bits[CHUNK / 64];

    while (len > 0) {
        uint64_t n = len / KL_PAGE_SIZE < CHUNK ? len / KL_PAGE_SIZE : CHUNK;
        int rc = kl_vm_dirty_log(w->in.vm, gva, n * KL_PAGE_SIZE, bits);
        if (rc < 0)
            return rc;
        for (uint64_t word = 0; word < (n + 63) / 64; word++)
            for (uint64_t b = bits[word]; b; b &= b - 1) {   /* set bits only */
                uint64_t i = word * 64 + (uint64_t)__builtin_ctzll(b);
                if ((rc = fn(w, gva + i * KL_PAGE_SIZE, host + i * KL_PAGE_SIZE)) < 0)
                    return rc;
            }
        gva += n * KL_PAGE_SIZE;
        host += n * KL_PAGE_SIZE;
        len -= n * KL_PAGE_SIZE;
    }
    return 0;
}

/* The guest-writable ranges of the low area (boot block to I/O area, heap,
 * stack): the reset and its check walk the same ones. */
static const struct { uint64_t gva, len; } low[] = {
    {KL_BOOT_GVA, KL_IO_END - KL_BOOT_GVA},
    {KL_HEAP_GVA, KL_HEAP_SIZE},
    {KL_STACK_GVA, KL_STACK_SIZE},
};

/* Every user-writable range of the guest, with its host address. */
static int walk_writable(struct kl_warm *w, int mems_to_snapshot, page_fn fn)
{
    struct kl_inst *in = &w->in;
    int rc;

    for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++)
        if ((rc = walk(w, low[i].gva, low[i].len, in->low + low[i].gva, fn)) < 0)
            return rc;
    for (unsigned i = 0; i < w->nimg_rw; i++)
        if ((rc = walk(w, w->img_rw[i].gva, w->img_rw[i].len, in->low + w->img_rw[i].gva, fn)) < 0)
            return rc;
    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++) {
        uint32_t pages = mems_to_snapshot ? w->snap_pages[i] : in->mems[i].pages;
        if (in->mems[i].host && pages &&
            (rc = walk(w, KL_MEM_GVA(i), (uint64_t)pages * KL_WASM_PAGE, in->mems[i].host, fn)) < 0)
            return rc;
    }
    return 0;
}

/* ---- the snapshot ---- */

static int save_page(struct kl_warm *w, uint64_t gva, uint8_t *host)
{
    for (size_t i = 0; i < w->nsaved; i++)   /* image pages were added first */
        if (w->saved[i].gva == gva)
            return 0;
    if (w->nsaved == w->saved_cap) {
        size_t cap = w->saved_cap ? w->saved_cap * 2 : 256;
        struct saved_page *n = realloc(w->saved, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        w->saved = n;
        w->saved_cap = cap;
    }
    uint8_t *copy = malloc(KL_PAGE_SIZE);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, host, KL_PAGE_SIZE);
    w->saved[w->nsaved++] = (struct saved_page){gva, copy};
    return 0;
}

/* Host address of a guest page the host logged writing (inst/gmem.h zones). */
static uint8_t *written_host(struct kl_warm *w, uint64_t gva)
{
    if (gva < KL_LOW_END)
        return w->in.low + gva;
    unsigned i = (unsigned)((gva - KL_MEM_GVA(0)) / KL_MEM_WINDOW);
    return w->in.mems[i].host + (gva - KL_MEM_GVA(i));
}

static int save_written(void *ctx, kl_gptr_t gva)
{
    struct kl_warm *w = ctx;
    return save_page(w, gva, written_host(w, gva));
}

static int cmp_saved(const void *a, const void *b)
{
    const struct saved_page *x = a, *y = b;
    return x->gva < y->gva ? -1 : x->gva > y->gva;
}

/* The image's writable segments were filled by the host, which sets no
 * dirty bit, so they are saved whole; everything else by its dirty bit. */
static int take_snapshot(struct kl_warm *w, const struct kl_image *img)
{
    int rc;

    for (unsigned i = 0; i < img->hdr->nseg; i++) {
        const struct kl_image_seg *s = &img->segs[i];
        if (!(s->flags & KL_SEG_W))
            continue;
        w->img_rw[w->nimg_rw].gva = s->gva;
        w->img_rw[w->nimg_rw].len = (s->memsz + KL_PAGE_SIZE - 1) & ~(KL_PAGE_SIZE - 1);
        for (uint64_t off = 0; off < w->img_rw[w->nimg_rw].len; off += KL_PAGE_SIZE)
            if ((rc = save_page(w, s->gva + off, w->in.low + s->gva + off)) < 0)
                return rc;
        w->nimg_rw++;
    }
    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++)
        w->snap_pages[i] = w->in.mems[i].pages;
    if ((rc = walk_writable(w, 1, save_page)) < 0)
        return rc;
    /* What the host wrote during instantiation (boot block, request area,
     * hostcall structs) set no dirty bit but is part of the snapshot. */
    if ((rc = kl_gwritten_take(&w->in.written, save_written, w)) < 0)
        return rc;
    qsort(w->saved, w->nsaved, sizeof(*w->saved), cmp_saved);
    return 0;
}

/* ---- the reset ---- */

static int restore_page(struct kl_warm *w, uint64_t gva, uint8_t *host)
{
    struct saved_page key = {gva, NULL};
    const struct saved_page *s = bsearch(&key, w->saved, w->nsaved, sizeof(key), cmp_saved);

    if (s)
        memcpy(host, s->copy, KL_PAGE_SIZE);
    else
        memset(host, 0, KL_PAGE_SIZE);
    w->reset_pages++;
    return 0;
}

/* A page the host wrote during the request: back to the snapshot, or to
 * zero in memory grown since (before grown_unmap takes that memory back:
 * the host's writes are invisible to the backend's dirty log). */
static int restore_written(void *ctx, kl_gptr_t gva)
{
    struct kl_warm *w = ctx;

    if (gva >= KL_MEM_GVA(0)) {
        unsigned i = (unsigned)((gva - KL_MEM_GVA(0)) / KL_MEM_WINDOW);
        if (gva - KL_MEM_GVA(i) >= (uint64_t)w->snap_pages[i] * KL_WASM_PAGE) {
            memset(written_host(w, gva), 0, KL_PAGE_SIZE);
            return 0;
        }
    }
    return restore_page(w, gva, written_host(w, gva));
}

/* Take back memory grown past the snapshot: the backend unmaps it, and it
 * reads as zero if the memory grows again. */
static int grown_unmap(struct kl_warm *w)
{
    struct kl_inst *in = &w->in;

    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++) {
        uint64_t from = KL_MEM_GVA(i) + (uint64_t)w->snap_pages[i] * KL_WASM_PAGE;
        uint64_t to = KL_MEM_GVA(i) + (uint64_t)in->mems[i].pages * KL_WASM_PAGE;
        int rc;

        if (to <= from)
            continue;
        if ((rc = kl_vm_unmap(in->vm, from, to - from)) < 0)
            return rc;
        in->mems[i].pages = w->snap_pages[i];
        kl_gmem_set(&in->gm, "memory", KL_MEM_GVA(i), (uint64_t)w->snap_pages[i] * KL_WASM_PAGE,
                    in->mems[i].host, 1);
    }
    return 0;
}

/* KERNLESS_VERIFY_RESET_BREAK=host-writes: forget the host's writes instead
 * of restoring them, so the suite can show the reset check catching that. */
static int skip_page(void *ctx, kl_gptr_t gva)
{
    (void)ctx, (void)gva;
    return 0;
}

static int reset(struct kl_warm *w)
{
    struct kl_inst *in = &w->in;
    uint64_t t0 = kl_now_ns();
    int rc;

    w->reset_pages = 0;
    /* First: nothing of the guest may run while its memory is reset. */
    if ((rc = kl_vm_quiesce(in->vm)) < 0)
        return rc;
    /* The host's own writes set no dirty bit: every one was logged by the
     * accessor it went through (inst/gmem.h), so none is missed here. */
    if (w->skip_host_restore)
        kl_gwritten_take(&in->written, skip_page, w);
    else if ((rc = kl_gwritten_take(&in->written, restore_written, w)) < 0)
        return rc;
    if ((rc = grown_unmap(w)) < 0 || (rc = walk_writable(w, 1, restore_page)) < 0)
        return rc;
    /* The backend finishes the unmapping (KVM: its ring-0 stub) first. */
    if ((rc = kl_vm_restore(in->vm, w->ready)) < 0)
        return rc;
    if ((rc = kl_services_reset(in, &w->cfg0)) < 0)   /* e.g. close the files it opened */
        return rc;
    w->reset_ns = kl_now_ns() - t0;
    return 0;
}

/* ---- the reset check (KERNLESS_VERIFY_RESET=1) ---- */

static const uint8_t zero_4k[KL_PAGE_SIZE];

/*
 * Compare every page of [gva, gva+len) (host address `host`) with the
 * snapshot: its saved copy, else zero; pages at or past `snap_len` bytes
 * (memory grown since) must read as zero. Pages the host holds no memory
 * for (mincore) read as zero without being touched, which keeps the check
 * from faulting in the whole 128 MiB heap of every VM; a test host has no
 * swap, where such a page could hide contents.
 */
static int check_range(struct kl_warm *w, uint64_t gva, uint64_t len, uint8_t *host,
                       uint64_t snap_len, struct kl_err *err)
{
    enum { CHUNK = 4096 };   /* pages per mincore call */
    unsigned char vec[CHUNK];

    for (uint64_t off = 0; off < len; off += CHUNK * KL_PAGE_SIZE) {
        uint64_t n = (len - off) / KL_PAGE_SIZE < CHUNK ? (len - off) / KL_PAGE_SIZE : CHUNK;
        if (mincore(host + off, n * KL_PAGE_SIZE, vec) < 0)
            return kl_errf(err, -errno, "reset check: mincore: %s", strerror(errno));
        for (uint64_t i = 0; i < n; i++) {
            uint64_t at = off + i * KL_PAGE_SIZE;
            struct saved_page key = {gva + at, NULL};
            const struct saved_page *sp =
                at < snap_len ? bsearch(&key, w->saved, w->nsaved, sizeof(key), cmp_saved) : NULL;
            if (!(vec[i] & 1) && !sp)
                continue;
            if (memcmp(host + at, sp ? sp->copy : zero_4k, KL_PAGE_SIZE) != 0)
                return kl_errf(err, -EIO, "reset check: guest page 0x%" PRIx64 " differs from "
                               "the snapshot after the reset", gva + at);
        }
    }
    return 0;
}

/* Every page the guest can write, and every page of its memories up to the
 * host's reservation, equals the snapshot. */
static int check_reset(struct kl_warm *w, struct kl_err *err)
{
    struct kl_inst *in = &w->in;
    int rc;

    for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++)
        if ((rc = check_range(w, low[i].gva, low[i].len, in->low + low[i].gva, low[i].len, err)) < 0)
            return rc;
    for (unsigned i = 0; i < w->nimg_rw; i++)
        if ((rc = check_range(w, w->img_rw[i].gva, w->img_rw[i].len, in->low + w->img_rw[i].gva,
                              w->img_rw[i].len, err)) < 0)
            return rc;
    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++)
        if (in->mems[i].host &&
            (rc = check_range(w, KL_MEM_GVA(i), in->mems[i].reserved, in->mems[i].host,
                              (uint64_t)w->snap_pages[i] * KL_WASM_PAGE, err)) < 0)
            return rc;
    return 0;
}

/* ---- life cycle ---- */

static void reset_capture(struct kl_capture *c, size_t limit)
{
    c->buf = NULL;
    c->len = c->cap = 0;
    c->limit = limit ? limit : KL_OUT_SIZE;
}

/*
 * Why instantiation ended before READY, as kl_warm_create reports it. The
 * runtime explains its own failures on stderr (kl_fatal), which would
 * otherwise be lost with the VM, so its last line becomes the reason.
 */
static int instantiation_failed(const struct kl_run_result *r, struct kl_err *err)
{
    const char *line = "";
    size_t n = r->err_len;

    while (n > 0 && r->err[n - 1] == '\n')
        n--;
    if (n > 0) {
        line = memrchr(r->err, '\n', n);
        line = line ? line + 1 : (const char *)r->err;
        n -= (size_t)(line - (const char *)r->err);
    }
    switch (r->kind) {
    case KL_RES_TIMEOUT:
        return kl_errf(err, -ETIMEDOUT, "instantiation failed: %s", r->reason);
    case KL_RES_TRAP:
        return kl_errf(err, -EFAULT, "%s (during instantiation)", r->reason);
    default:
        if (n > 0)
            return kl_errf(err, -EINVAL, "instantiation failed: %.*s", (int)(n > 300 ? 300 : n),
                           line);
        return kl_errf(err, -EINVAL, "instantiation failed: %s", r->reason);
    }
}

int kl_warm_create(const struct kl_image *img, const struct kl_run_config *cfg,
                   struct kl_warm **out, struct kl_err *err)
{
    struct kl_warm *w = calloc(1, sizeof(*w));
    struct kl_inst *in;
    const char *env;
    int rc;

    if (!w || !(w->ready = kl_vm_state_alloc())) {
        free(w);
        return kl_errf(err, -ENOMEM, "out of memory");
    }
    in = &w->in;
    w->cfg0 = *cfg;
    w->cfg0.argc = w->cfg0.envc = 0;
    w->cfg0.large_pages = 0;   /* a warm VM is saved and reset */
    w->cfg0.stdin_fd = -1;
    w->cfg0.stdin_len = 0;
    w->cfg0.svc = NULL;   /* start-up serves no request: no services, nothing of one in the snapshot */
    in->cfg = &w->cfg0;
    in->res = &w->boot_res;
    in->mode = KL_MODE_COMMAND;
    in->pause_at_ready = 1;
    reset_capture(&in->out, 0);
    reset_capture(&in->err, 0);
    if ((rc = kl_inst_setup(in, img, &w->cfg0, err)) < 0)
        goto err_destroy;
    if (cfg->timeout_ms) {
        in->deadline_ns = kl_now_ns() + (uint64_t)cfg->timeout_ms * 1000000ull;
        kl_vm_arm_timeout(in->vm, cfg->timeout_ms);
    }
    rc = kl_inst_run_loop(in, err);
    kl_vm_disarm_timeout(in->vm);
    /* Whatever instantiation printed belongs to its result and is freed with
     * it; requests start their own captures. */
    w->boot_res.out = in->out.buf, w->boot_res.out_len = in->out.len;
    w->boot_res.err = in->err.buf, w->boot_res.err_len = in->err.len;
    reset_capture(&in->out, 0);
    reset_capture(&in->err, 0);
    if (rc < 0)
        goto err_destroy;
    if (!in->paused) {
        rc = instantiation_failed(&w->boot_res, err);
        goto err_destroy;
    }
    /* The saved state resumes after the READY hostcall. */
    if ((rc = kl_vm_save(in->vm, w->ready)) < 0 ||
        (rc = take_snapshot(w, img)) < 0) {
        kl_errf(err, rc, "taking the snapshot failed: %s", strerror(-rc));
        goto err_destroy;
    }
    kl_run_result_free(&w->boot_res);
    env = getenv("KERNLESS_VERIFY_RESET");
    w->verify = env && strcmp(env, "1") == 0;
    env = getenv("KERNLESS_VERIFY_RESET_BREAK");
    w->skip_host_restore = w->verify && env && strcmp(env, "host-writes") == 0;
    *out = w;
    return 0;

err_destroy:
    kl_warm_destroy(w);
    return rc;
}

int kl_warm_request(struct kl_warm *w, const struct kl_run_config *cfg,
                    struct kl_run_result *res, struct kl_err *err)
{
    struct kl_inst *in = &w->in;
    uint64_t t0 = kl_now_ns(), t1;
    int rc;

    if (w->broken)
        return kl_errf(err, -EIO, "this VM could not be reset and must be destroyed");
    memset(res, 0, sizeof(*res));
    in->cfg = cfg;
    in->res = res;
    in->done = 0;
    in->deadline_ns = 0;
    reset_capture(&in->out, cfg->out_limit);
    reset_capture(&in->err, cfg->err_limit);
    rc = kl_inst_write_boot(in, cfg, err);
    t1 = kl_now_ns();
    res->setup_ns = t1 - t0;
    if (rc == 0 && cfg->timeout_ms) {
        in->deadline_ns = t1 + (uint64_t)cfg->timeout_ms * 1000000ull;
        rc = kl_vm_arm_timeout(in->vm, cfg->timeout_ms);
    }
    if (rc == 0)
        rc = kl_inst_run_loop(in, err);
    kl_vm_disarm_timeout(in->vm);
    res->run_ns = kl_now_ns() - t1;
    res->out = in->out.buf;
    res->out_len = in->out.len;
    res->err = in->err.buf;
    res->err_len = in->err.len;
    in->cfg = &w->cfg0;
    if (rc == 0 && !in->done)
        rc = kl_errf(err, -EIO, "the guest paused without a result");
    /* A VM that cannot be reset (its sandbox was killed at a timeout, say)
     * still gave this request its result; kl_warm_broken tells the owner to
     * replace it. */
    if (reset(w) < 0) {
        w->broken = 1;
    } else if (w->verify) {
        struct kl_err cerr;
        if (check_reset(w, &cerr) < 0) {
            w->broken = 1;   /* never serve from a VM that kept something */
            if (rc == 0)
                rc = kl_errf(err, -EIO, "%s", cerr.msg);
        }
    }
    return rc;
}

int kl_warm_settle(struct kl_warm *w)
{
    int rc = kl_vm_restore(w->in.vm, w->ready);

    if (rc < 0)
        w->broken = 1;
    return rc;
}

uint64_t kl_warm_last_reset_ns(const struct kl_warm *w) { return w->reset_ns; }
int kl_warm_broken(const struct kl_warm *w) { return w->broken; }

int kl_warm_usable(struct kl_warm *w)
{
    if (!w->broken && kl_vm_quiesce(w->in.vm) < 0)
        w->broken = 1;   /* e.g. its sandbox was killed while idle */
    return !w->broken;
}
uint32_t kl_warm_last_reset_pages(const struct kl_warm *w) { return w->reset_pages; }

void kl_warm_destroy(struct kl_warm *w)
{
    if (!w)
        return;
    kl_inst_teardown(&w->in);
    kl_run_result_free(&w->boot_res);
    for (size_t i = 0; i < w->nsaved; i++)
        free(w->saved[i].copy);
    free(w->saved);
    free(w->ready);
    free(w);
}
