/* paging_x86_64.c - host-side construction of x86-64 4-level page tables inside guest memory. */
#include "vm/kvm/paging_x86_64.h"

#include <errno.h>
#include <string.h>

#include "kernless/abi.h"

#define ADDR_MASK 0x000FFFFFFFFFF000ull
/* Non-leaf entries allow everything; each leaf decides. */
#define TABLE_FLAGS (KL_PTE_P | KL_PTE_W | KL_PTE_U)

static uint64_t *table_at(struct kl_pt *pt, uint64_t gpa)
{
    return (uint64_t *)(pt->low + gpa);
}

static int alloc_table(struct kl_pt *pt, uint64_t *gpa)
{
    if (pt->next + KL_PAGE_SIZE > KL_PT_END)
        return -ENOMEM;
    *gpa = pt->next;
    pt->next += KL_PAGE_SIZE;
    memset(table_at(pt, *gpa), 0, KL_PAGE_SIZE);
    return 0;
}

int kl_pt_init(struct kl_pt *pt, uint8_t *low)
{
    pt->low = low;
    pt->next = KL_PT_GPA;
    return alloc_table(pt, &pt->pml4);
}

/* The next-level table under entry e, created if absent. */
static int descend(struct kl_pt *pt, uint64_t *e, uint64_t **out)
{
    uint64_t gpa;
    int rc;

    if (*e & KL_PTE_P) {
        if (*e & KL_PTE_PS)
            return -EEXIST;   /* a large page is already there */
        *out = table_at(pt, *e & ADDR_MASK);
        return 0;
    }
    rc = alloc_table(pt, &gpa);
    if (rc < 0)
        return rc;
    *e = gpa | TABLE_FLAGS;
    *out = table_at(pt, gpa);
    return 0;
}

static inline unsigned idx(uint64_t va, int shift) { return (va >> shift) & 511; }

static int map_one(struct kl_pt *pt, uint64_t gva, uint64_t gpa, uint64_t flags, int huge)
{
    uint64_t *pdpt, *pd, *ptab, *e;
    int rc;

    if ((rc = descend(pt, &table_at(pt, pt->pml4)[idx(gva, 39)], &pdpt)) < 0 ||
        (rc = descend(pt, &pdpt[idx(gva, 30)], &pd)) < 0)
        return rc;
    e = &pd[idx(gva, 21)];
    if (huge) {
        if (*e & KL_PTE_P)
            return -EEXIST;
        *e = gpa | flags | KL_PTE_P | KL_PTE_PS;
        return 0;
    }
    if ((rc = descend(pt, e, &ptab)) < 0)
        return rc;
    e = &ptab[idx(gva, 12)];
    if (*e & KL_PTE_P) {
        /* Never rewrite a live entry: that would clear its dirty bit, which
         * PVM's shadow MMU would not notice (DESIGN-NOTES section 1). */
        return (*e & ADDR_MASK) == gpa ? 0 : -EEXIST;
    }
    *e = gpa | flags | KL_PTE_P;
    return 0;
}

int kl_pt_map(struct kl_pt *pt, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t flags)
{
    int small = (flags & KL_PT_SMALL) != 0;

    flags &= ~KL_PT_SMALL;
    while (size > 0) {
        int huge = !small && ((gva | gpa) & (KL_HUGE_SIZE - 1)) == 0 && size >= KL_HUGE_SIZE;
        uint64_t step = huge ? KL_HUGE_SIZE : KL_PAGE_SIZE;
        int rc = map_one(pt, gva, gpa, flags, huge);
        if (rc < 0)
            return rc;
        gva += step;
        gpa += step;
        size = size > step ? size - step : 0;
    }
    return 0;
}

/* Follow a present non-leaf entry; NULL at a hole or a large page. */
static uint64_t *next_table(struct kl_pt *pt, uint64_t e)
{
    if (!(e & KL_PTE_P) || (e & KL_PTE_PS))
        return NULL;
    return table_at(pt, e & ADDR_MASK);
}

/* The PDE covering gva, or NULL where no page directory does. */
static uint64_t *pde_of(struct kl_pt *pt, uint64_t gva)
{
    uint64_t *pdpt = next_table(pt, table_at(pt, pt->pml4)[idx(gva, 39)]);
    uint64_t *pd = pdpt ? next_table(pt, pdpt[idx(gva, 30)]) : NULL;

    return pd ? &pd[idx(gva, 21)] : NULL;
}

uint64_t *kl_pt_pte(struct kl_pt *pt, uint64_t gva, int *pde_accessed)
{
    uint64_t *pde = pde_of(pt, gva);
    uint64_t *ptab = pde ? next_table(pt, *pde) : NULL;

    if (!ptab)
        return NULL;
    if (pde_accessed)
        *pde_accessed = (*pde & KL_PTE_A) != 0;
    return &ptab[idx(gva, 12)];
}

uint64_t *kl_pt_promotable(struct kl_pt *pt, uint64_t gva, uint64_t gpa, uint64_t flags)
{
    uint64_t *pde = pde_of(pt, gva);
    uint64_t *ptab = pde ? next_table(pt, *pde) : NULL;

    if (!ptab || ((gva | gpa) & (KL_HUGE_SIZE - 1)))
        return NULL;
    uint64_t ad = KL_PTE_A | KL_PTE_D, want = (flags & ~ad) | KL_PTE_P;

    for (unsigned i = 0; i < 512; i++)   /* every page mapped, contiguously, with these rights */
        if ((ptab[i] & ADDR_MASK) != gpa + (uint64_t)i * KL_PAGE_SIZE ||
            (ptab[i] & ~(ADDR_MASK | ad)) != want)
            return NULL;
    return pde;
}

uint64_t kl_pt_gpa_of(const struct kl_pt *pt, const uint64_t *entry)
{
    return (uint64_t)((const uint8_t *)entry - pt->low);
}
