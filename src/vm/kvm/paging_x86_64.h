/* paging_x86_64.h - build the guest's 4-level page tables from the host side. */
#ifndef KL_VMM_PAGING_X86_64_H
#define KL_VMM_PAGING_X86_64_H

#include <stdint.h>

#define KL_PTE_P (1ull << 0)
#define KL_PTE_W (1ull << 1)
#define KL_PTE_U (1ull << 2)
#define KL_PTE_A (1ull << 5)
#define KL_PTE_D (1ull << 6)
#define KL_PTE_PS (1ull << 7)
#define KL_PTE_NX (1ull << 63)
/* Software-only flag for kl_pt_map (never written to an entry): use 4 KiB
 * pages even where 2 MiB would fit, so dirty bits are per 4 KiB page. */
#define KL_PT_SMALL (1ull << 9)

/** Page tables living in guest memory at [KL_PT_GPA, KL_PT_END). */
struct kl_pt {
    uint8_t *low;        /* host address of guest-physical 0 */
    uint64_t next;       /* next free table page (guest-physical) */
    uint64_t pml4;       /* guest-physical address of the PML4 */
};

/** Start empty tables; `low` maps guest-physical [0, KL_LOW_END). */
int kl_pt_init(struct kl_pt *pt, uint8_t *low);

/**
 * Map [gva, gva+size) to [gpa, gpa+size) with leaf flags `flags` (P is
 * implied). Uses 2 MiB pages where both addresses and the remaining size
 * allow it, 4 KiB pages elsewhere. Returns 0, -ENOMEM when the table pool
 * is exhausted, or -EEXIST on a conflicting existing mapping.
 */
int kl_pt_map(struct kl_pt *pt, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t flags);

/**
 * The 4 KiB leaf entry for gva, or NULL if no page table covers it. When
 * `pde_accessed` is non-NULL it receives whether the covering PDE's A bit is
 * set: a page table never walked holds no dirty page.
 */
uint64_t *kl_pt_pte(struct kl_pt *pt, uint64_t gva, int *pde_accessed);

/**
 * The PDE that can turn the 2 MiB-aligned [gva, gva+2 MiB), mapped whole to
 * [gpa, ...) with 4 KiB pages of leaf flags `flags`, into one 2 MiB page
 * (gpa | flags | P | PS): the same addresses and rights, one TLB entry.
 * NULL when those 512 pages are not all so mapped. The caller writes it
 * (through the guest, once the guest ran: kvm_mem); the page table is then
 * left unused, and the 4 KiB entries' dirty bits lost.
 */
uint64_t *kl_pt_promotable(struct kl_pt *pt, uint64_t gva, uint64_t gpa, uint64_t flags);

/** Guest-physical address of a host pointer into the table pool. */
uint64_t kl_pt_gpa_of(const struct kl_pt *pt, const uint64_t *entry);

#endif
