/* linmem.c - linear memories: a host reservation per memory, mapped into the guest as it grows. */
#include "inst/linmem.h"

#include <errno.h>
#include <sys/mman.h>

#include "common/util.h"
#include "inst/instance.h"

#define USER_RW (KL_VM_R | KL_VM_W | KL_VM_USER)

static const char *const mem_names[KL_MAX_MEMORIES] = {
    "memory 0", "memory 1", "memory 2", "memory 3", "memory 4", "memory 5",
    "memory 6", "memory 7", "memory 8", "memory 9", "memory 10", "memory 11",
    "memory 12", "memory 13", "memory 14", "memory 15"};

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
    if (new_pages > m->pages) {
        uint64_t off = (uint64_t)m->pages * KL_WASM_PAGE;
        if ((rc = kl_vm_map(in->vm, KL_MEM_GVA(idx) + off, m->host + off, want - off, USER_RW,
                            NULL)) < 0)
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
