/* linmem.c - linear memories: a host reservation per memory, KVM slots added chunk by chunk, pages mapped on grow. */
#include <errno.h>
#include <sys/mman.h>

#include "common/util.h"
#include "vmm/instance.h"

/* 4 KiB pages: per-page dirty bits for warm-VM resets (warm.c). */
#define USER_RW (KL_PTE_W | KL_PTE_U | KL_PTE_NX | KL_PT_SMALL)

static const char *const mem_names[KL_MAX_MEMORIES] = {
    "memory 0", "memory 1", "memory 2", "memory 3", "memory 4", "memory 5",
    "memory 6", "memory 7", "memory 8", "memory 9", "memory 10", "memory 11",
    "memory 12", "memory 13", "memory 14", "memory 15"};

/* Chunk k covers [start(k), start(k+1)): 0, 2 MiB, 4 MiB, 8 MiB, ... so the
 * slot cost (proportional to size) follows the memory actually used. */
static uint64_t chunk_start(unsigned k)
{
    return k == 0 ? 0 : KL_HUGE_SIZE << (k - 1);
}

/* Register chunks with KVM until `bytes` are covered. */
static int register_chunks(struct kl_inst *in, uint32_t idx, uint64_t bytes)
{
    struct kl_linmem *m = &in->mems[idx];
    struct kl_err err;

    for (unsigned k = 0; k < KL_LINMEM_CHUNKS && m->registered < bytes; k++) {
        uint64_t lo = chunk_start(k), hi = chunk_start(k + 1);
        if (hi <= m->registered)
            continue;
        if (hi > m->reserved)
            hi = m->reserved;
        if (hi <= lo)
            break;
        int rc = kl_vm_set_memory(in->vm, KL_SLOT_MEM(idx, k), KL_MEM_GPA(idx) + lo, hi - lo,
                                  m->host + lo, &err);
        if (rc < 0)
            return rc;
        m->registered = hi;
    }
    return m->registered >= bytes ? 0 : -ENOMEM;
}

/* Reserve the whole effective maximum once, so growth never moves memory. */
static int reserve(struct kl_inst *in, uint32_t idx, uint32_t max_pages)
{
    struct kl_linmem *m = &in->mems[idx];
    uint64_t bytes = ((uint64_t)max_pages * KL_WASM_PAGE + KL_HUGE_SIZE - 1) & ~(KL_HUGE_SIZE - 1);
    int rc;

    if (bytes == 0)
        bytes = KL_HUGE_SIZE;
    if ((rc = kl_vm_map_ram(in->vm, (int)idx, bytes, &m->host, NULL)) < 0)
        return rc == -ENOMEM ? rc : -ENOMEM;
    m->reserved = bytes;
    return 0;
}

int kl_inst_mem_grow(struct kl_inst *in, uint32_t idx, uint32_t new_pages, uint32_t max_pages)
{
    struct kl_linmem *m = &in->mems[idx];
    uint64_t want = (uint64_t)new_pages * KL_WASM_PAGE;
    int rc;

    if (max_pages > in->max_pages)
        max_pages = in->max_pages;
    if (new_pages > max_pages)
        return -ENOMEM;
    if (!m->host && (rc = reserve(in, idx, max_pages)) < 0)
        return rc;
    if (want > m->reserved)
        return -ENOMEM;
    if ((rc = register_chunks(in, idx, want)) < 0)
        return rc;
    if (new_pages > m->pages) {
        uint64_t off = (uint64_t)m->pages * KL_WASM_PAGE;
        /* A backend that sizes memories itself (the process sandbox maps
         * each window whole) needs no guest page-table entries for them. */
        if (kl_vm_caps(in->vm) & KL_VM_CAP_RESIZE)
            rc = kl_vm_mem_resize(in->vm, idx, want);
        else if ((rc = kl_pt_map(&in->pt, KL_MEM_GVA(idx) + off, KL_MEM_GPA(idx) + off,
                                 want - off, USER_RW)) == -ENOMEM)
            rc = -ENOSPC;
        if (rc < 0)
            return rc;
        m->pages = new_pages;
    }
    return kl_gmem_set(&in->gm, mem_names[idx], KL_MEM_GVA(idx), want, m->host, 1);
}

void kl_linmem_release(struct kl_inst *in)
{
    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++)
        if (in->mems[i].host)
            kl_munmap(in->mems[i].host, in->mems[i].reserved);
}
