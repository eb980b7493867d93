/* kvm_mem_x86_64.c - the KVM guest's layout: page tables, memory slots, dirty bits and the ring-0 reset stub. */
#include "vm/kvm/kvm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

extern const uint8_t kl_trapstubs_start[], kl_resetstub[];

/* User memory is mapped with 4 KiB pages so that the dirty bits the warm
 * reset relies on (kl_kvm_dirty_log) are per page, and an image segment's
 * permissions never spill into its neighbour's 2 MiB. */
#define USER_SMALL (KL_PTE_U | KL_PT_SMALL)

/* A run of page-table entries the ring-0 stub zeroes (abi: {addr, count}). */
struct reset_run {
    uint64_t addr, count;
};
#define MAX_RUNS ((KL_RESETLIST_END - KL_RESETLIST_GPA) / sizeof(struct reset_run))

/* Supervisor-only regions, invisible to CPL 3 so escaped code cannot reach
 * them, and the user-executable hostcall gate. */
static const struct { uint64_t gva, size, flags; } system_maps[] = {
    {KL_GDT_GPA, KL_PAGE_SIZE, KL_PTE_W | KL_PTE_NX},
    {KL_IDT_GPA, KL_PAGE_SIZE, KL_PTE_NX},
    {KL_TSS_GPA, 3 * KL_PAGE_SIZE, KL_PTE_W | KL_PTE_NX},
    {KL_STUBS_GPA, KL_PAGE_SIZE, 0},
    {KL_GATE_GVA, KL_PAGE_SIZE, KL_PTE_U},
    {KL_KSTACK_GPA, KL_KSTACK_TOP - KL_KSTACK_GPA, KL_PTE_W | KL_PTE_NX},
    /* For the ring-0 reset stub: its work list and the tables it edits. */
    {KL_RESETLIST_GPA, KL_RESETLIST_END - KL_RESETLIST_GPA, KL_PTE_W | KL_PTE_NX},
    {KL_PT_GPA, KL_PT_END - KL_PT_GPA, KL_PTE_W | KL_PTE_NX},
};

int kl_kvm_low_init(struct kl_vm *vm, uint8_t *low, struct kl_err *err)
{
    int rc;

    vm->low = low;
    vm->low_end = KL_IMAGE_GVA;
    kl_cpu_tables_write(low);
    if ((rc = kl_pt_init(&vm->pt, low)) < 0)
        return kl_errf(err, rc, "building the guest page tables failed");
    for (size_t i = 0; i < sizeof(system_maps) / sizeof(system_maps[0]); i++)
        if ((rc = kl_pt_map(&vm->pt, system_maps[i].gva, system_maps[i].gva, system_maps[i].size,
                            system_maps[i].flags)) < 0)
            return kl_errf(err, rc, "building the guest page tables failed");
    return 0;
}

/*
 * Leaf flags for a kl_vm_map. In a VM that runs once, user pages start
 * accessed and dirty: nobody reads those bits there, and the shadow MMU
 * then maps a faulting page's written-to neighbours along with it (it
 * prefetches only accessed entries, and maps a clean one read-only), where
 * each first touch costs a fault of about 36 us under PVM here; a program
 * that grew to 64 MiB as it went ran about 1.5x faster so. So do pages
 * mapped after the snapshot (only a request's growth is): the reset takes
 * them back and zeroes them whatever their bits say (zero_written).
 */
static uint64_t pte_flags(const struct kl_vm *vm, unsigned prot)
{
    uint64_t f = (vm->large || vm->saved) && (prot & KL_VM_USER) ? KL_PTE_A | KL_PTE_D : 0;

    if (prot & KL_VM_USER)
        f |= USER_SMALL;
    if (prot & KL_VM_W)
        f |= KL_PTE_W;
    if (!(prot & KL_VM_X))
        f |= KL_PTE_NX;
    return f;
}

/*
 * Register only the parts of the low area that are used: KVM's per-slot
 * bookkeeping costs time in proportion to slot size (a 3 GiB slot took 1.3 ms
 * to add here, and as long again to tear down). The heap and stack get their
 * own slots; slot 0 covers everything below, up to the image's end.
 */
static int map_low(struct kl_vm *vm, uint64_t gva, uint64_t size, unsigned prot,
                   struct kl_err *err)
{
    int rc;

    if (gva + size > KL_LOW_END || gva + size < gva)
        return kl_errf(err, -EINVAL, "0x%llx is outside the low area", (unsigned long long)gva);
    if (gva >= KL_HEAP_GVA && gva < KL_HEAP_GVA + KL_HEAP_SIZE && !vm->heap_slot) {
        if ((rc = kl_kvm_set_slot(vm, KL_SLOT_HEAP, KL_HEAP_GVA, KL_HEAP_SIZE,
                                  vm->low + KL_HEAP_GVA, err)) < 0)
            return rc;
        vm->heap_slot = 1;
    } else if (gva >= KL_STACK_GVA && !vm->stack_slot) {
        if ((rc = kl_kvm_set_slot(vm, KL_SLOT_STACK, KL_STACK_GVA, KL_STACK_SIZE,
                                  vm->low + KL_STACK_GVA, err)) < 0)
            return rc;
        vm->stack_slot = 1;
    } else if (gva < KL_HEAP_GVA) {
        uint64_t end = (gva + size + KL_HUGE_SIZE - 1) & ~(KL_HUGE_SIZE - 1);
        if (vm->low_registered && end > vm->low_end)
            return kl_errf(err, -EBUSY, "the low area's layout is fixed once the guest runs");
        if (end > vm->low_end)
            vm->low_end = end;
    }
    if ((rc = kl_pt_map(&vm->pt, gva, gva, size, pte_flags(vm, prot))) < 0)
        return kl_errf(err, rc, "building the guest page tables failed");
    return 0;
}

int kl_kvm_low_register(struct kl_vm *vm, struct kl_err *err)
{
    int rc;

    if (vm->low_registered)
        return 0;
    if ((rc = kl_kvm_set_slot(vm, KL_SLOT_LOW, 0, vm->low_end, vm->low, err)) < 0)
        return rc;
    vm->low_registered = 1;
    return 0;
}

/* Chunk k covers [start(k), start(k+1)): 0, 2 MiB, 4 MiB, 8 MiB, ... so the
 * slot cost (proportional to size) follows the memory actually used. */
static uint64_t chunk_start(unsigned k)
{
    return k == 0 ? 0 : KL_HUGE_SIZE << (k - 1);
}

/* Register memory idx's chunks with KVM until `bytes` are covered. */
static int register_chunks(struct kl_vm *vm, unsigned idx, uint64_t bytes)
{
    struct kvm_linmem *m = &vm->mems[idx];

    for (unsigned k = 0; k < KL_LINMEM_CHUNKS && m->registered < bytes; k++) {
        uint64_t lo = chunk_start(k), hi = chunk_start(k + 1);
        if (hi <= m->registered)
            continue;
        if (hi > m->reserved)
            hi = m->reserved;
        if (hi <= lo)
            break;
        int rc = kl_kvm_set_slot(vm, KL_SLOT_MEM(idx, k), KL_MEM_GPA(idx) + lo, hi - lo,
                                 m->host + lo, NULL);
        if (rc < 0)
            return rc;
        m->registered = hi;
    }
    return m->registered >= bytes ? 0 : -ENOMEM;
}

/* Which linear memory's window holds gva; -1 for none. */
static int mem_of(uint64_t gva)
{
    if (gva < KL_MEM_GVA(0) || gva >= KL_MEM_GVA(KL_MAX_MEMORIES))
        return -1;
    return (int)((gva - KL_MEM_GVA(0)) / KL_MEM_WINDOW);
}

/*
 * In a VM that runs once (kl_vm_large_pages), make every whole, aligned
 * 2 MiB of linear memory that [off, off+size) completed one 2 MiB page.
 * Under PVM's shadow MMU a 4 KiB guest page costs a TLB entry and a shadow
 * fault each: a program that walks 64 MiB ran 3-5x slower than in the
 * process sandbox. Memory past the current size stays unmapped, so an
 * out-of-bounds access still faults at the exact byte.
 */
static int map_large(struct kl_vm *vm, int i, uint64_t off, uint64_t size, uint64_t flags)
{
    struct reset_run *runs = (struct reset_run *)(vm->low + KL_RESETLIST_GPA);
    uint64_t c = off & ~(KL_HUGE_SIZE - 1), end = off + size;

    for (; c + KL_HUGE_SIZE <= end; c += KL_HUGE_SIZE) {
        uint64_t gpa = KL_MEM_GPA(i) + c;
        uint64_t *pde = kl_pt_promotable(&vm->pt, KL_MEM_GVA(i) + c, gpa, flags);

        if (!pde)
            continue;
        vm->large_count++;
        /* Before the first entry no shadow exists: write it. After, only
         * the guest's own write makes PVM's shadow MMU drop the 4 KiB
         * entries it built (the reset stub writes it, as for unmapping). */
        if (!vm->low_registered)
            *pde = gpa | flags | KL_PTE_P | KL_PTE_PS;
        else if (vm->nruns < MAX_RUNS)
            runs[vm->nruns++] = (struct reset_run){kl_pt_gpa_of(&vm->pt, pde) | KL_RESET_RUN_SET,
                                                   gpa | flags | KL_PTE_P | KL_PTE_PS};
        else
            vm->large_count--;
    }
    return vm->nruns ? kl_kvm_flush_now(vm) : 0;
}

int kl_kvm_map(struct kl_vm *vm, uint64_t gva, uint8_t *host, uint64_t size, unsigned prot,
               struct kl_err *err)
{
    int i = mem_of(gva), rc;
    uint64_t off;

    if (i < 0) {
        if (host != vm->low + gva)
            return kl_errf(err, -EINVAL, "the low area is identity-mapped");
        return map_low(vm, gva, size, prot, err);
    }
    off = gva - KL_MEM_GVA(i);
    if (!vm->mems[i].host || host != vm->mems[i].host + off || off + size > vm->mems[i].reserved)
        return -ENOMEM;
    if ((rc = register_chunks(vm, (unsigned)i, off + size)) < 0)
        return rc;
    rc = kl_pt_map(&vm->pt, gva, KL_MEM_GPA(i) + off, size, pte_flags(vm, prot));
    if (rc == 0 && vm->large)
        rc = map_large(vm, i, off, size, pte_flags(vm, prot) & ~KL_PT_SMALL);
    return rc == -ENOMEM ? -ENOSPC : rc;
}

/*
 * Note a reported page's entry for the ring-0 stub, which clears its dirty
 * bit at the next restore (kl_kvm_reset_flush), after the reset copied the
 * page back: the next scan then reports only what was written since. Only
 * the guest may edit its live page tables under PVM, hence the stub; the
 * stub reloads CR3, so no stale TLB entry keeps a page writable without
 * setting its bit again. A page left out stays dirty: copied back again.
 */
static void clear_later(struct kl_vm *vm, uint64_t pte_gpa)
{
    if (vm->nclear && vm->clear[vm->nclear - 1].addr + vm->clear[vm->nclear - 1].count * 8 == pte_gpa)
        vm->clear[vm->nclear - 1].count++;
    else if (vm->nclear < KL_KVM_MAX_CLEAR)
        vm->clear[vm->nclear++] = (typeof(vm->clear[0])){pte_gpa, 1};
    else
        return;
    vm->clear_pages++;
}

/*
 * Call fn for each page of [gva, end) whose entry is present and dirty. A
 * PDE whose accessed bit is clear covers nothing ever touched, so its 512
 * entries are skipped. The dirty log and the zeroing of written pages walk
 * the same way.
 */
static void each_written(struct kl_vm *vm, uint64_t gva, uint64_t end,
                         void (*fn)(struct kl_vm *vm, uint64_t gva, uint64_t *pte, void *ctx),
                         void *ctx)
{
    while (gva < end) {
        uint64_t next = (gva + KL_HUGE_SIZE) & ~(KL_HUGE_SIZE - 1);
        int accessed = 0;
        uint64_t *pte = kl_pt_pte(&vm->pt, gva, &accessed);

        if (next > end)
            next = end;
        for (; pte && accessed && gva < next; gva += KL_PAGE_SIZE, pte++)
            if ((*pte & KL_PTE_P) && (*pte & KL_PTE_D))
                fn(vm, gva, pte, ctx);
        gva = next;
    }
}

struct dirty_bits {
    uint64_t base;
    uint64_t *bitmap;
};

static void log_page(struct kl_vm *vm, uint64_t gva, uint64_t *pte, void *ctx)
{
    struct dirty_bits *d = ctx;
    uint64_t i = (gva - d->base) / KL_PAGE_SIZE;

    d->bitmap[i / 64] |= 1ull << (i % 64);
    clear_later(vm, kl_pt_gpa_of(&vm->pt, pte));
}

int kl_kvm_dirty_log(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap)
{
    struct dirty_bits d = {gva, bitmap};

    if (vm->large)
        return -EINVAL;   /* a 2 MiB page has one dirty bit: no per-page log */

    memset(bitmap, 0, ((len / KL_PAGE_SIZE + 63) / 64) * sizeof(*bitmap));
    each_written(vm, gva, gva + len, log_page, &d);
    return 0;
}

struct zero_ctx {
    int idx;
    uint64_t base;               /* gva of resident[0] */
    unsigned char resident[512]; /* mincore of one 2 MiB */
};

static void zero_page(struct kl_vm *vm, uint64_t gva, uint64_t *pte, void *ctx)
{
    struct zero_ctx *z = ctx;

    if (z->resident[(gva - z->base) / KL_PAGE_SIZE] & 1)
        memset(vm->mems[z->idx].host + (gva - KL_MEM_GVA(z->idx)), 0, KL_PAGE_SIZE);
}

/*
 * Zero the written pages of [gva, gva+size) (memory idx): they must read
 * as zero when the memory grows again. Memory grown during a request is
 * mapped dirty (kl_kvm_map), so all of it counts as written; a page the
 * host never backed already reads as zero, and writing it would only
 * allocate it, so only resident pages (mincore) are zeroed.
 */
static void zero_written(struct kl_vm *vm, int idx, uint64_t gva, uint64_t size)
{
    struct zero_ctx z = {.idx = idx};
    uint64_t end = gva + size;

    while (gva < end) {
        uint64_t next = (gva + KL_HUGE_SIZE) & ~(KL_HUGE_SIZE - 1);
        uint8_t *host = vm->mems[idx].host + (gva - KL_MEM_GVA(idx));

        if (next > end)
            next = end;
        z.base = gva;
        if (mincore(host, next - gva, z.resident) < 0)
            memset(z.resident, 1, sizeof(z.resident));   /* unknown: zero them all */
        each_written(vm, gva, next, zero_page, &z);
        gva = next;
    }
}

/* Zero the pages and list their page-table entries for the ring-0 reset
 * stub (kl_kvm_reset_flush): only guest writes unmap pages under PVM. */
int kl_kvm_unmap(struct kl_vm *vm, uint64_t gva, uint64_t size)
{
    struct reset_run *runs = (struct reset_run *)(vm->low + KL_RESETLIST_GPA);
    int i = mem_of(gva);
    uint64_t to = gva + size;

    if (i < 0 || vm->large)
        return -EINVAL;
    zero_written(vm, i, gva, size);
    while (gva < to) {   /* one run per page table touched */
        uint64_t next = (gva + KL_HUGE_SIZE) & ~(KL_HUGE_SIZE - 1);
        uint64_t *pte = kl_pt_pte(&vm->pt, gva, NULL);
        if (next > to)
            next = to;
        if (!pte || vm->nruns == MAX_RUNS)
            return -EFAULT;
        runs[vm->nruns++] = (struct reset_run){kl_pt_gpa_of(&vm->pt, pte),
                                               (next - gva) / KL_PAGE_SIZE};
        gva = next;
    }
    return 0;
}

int kl_kvm_reset_flush(struct kl_vm *vm)
{
    uint64_t stub = KL_STUBS_GPA + (uint64_t)(kl_resetstub - kl_trapstubs_start);
    struct reset_run *runs = (struct reset_run *)(vm->low + KL_RESETLIST_GPA);
    unsigned n = vm->nruns;
    struct kl_vm_exit x;
    int rc;

    /* The dirty bits to clear ride along after the runs to zero. */
    if ((n || vm->clear_pages >= KL_KVM_CLEAR_MIN) && kl_vm_write_tracking())
        for (unsigned i = 0; i < vm->nclear && n < MAX_RUNS; i++)
            runs[n++] = (struct reset_run){vm->clear[i].addr,
                                           vm->clear[i].count | KL_RESET_RUN_CLEAR_D};
    vm->nclear = 0;
    vm->clear_pages = 0;
    if (!n)
        return 0;
    vm->nruns = 0;
    if ((rc = kl_kvm_enter_ring0(vm, stub, KL_KSTACK_TOP, KL_RESETLIST_GPA, n)) < 0)
        return rc;
    for (int tries = 0; tries < 100; tries++) {
        if ((rc = kl_kvm_run(vm, &x)) < 0)
            return rc;
        if (x.kind == KL_VMX_INTR)
            continue;   /* a late timeout kick: run on */
        return x.kind == KL_VMX_IO_OUT && x.port == KL_RESET_PORT ? 0 : -EIO;
    }
    return -EIO;
}
