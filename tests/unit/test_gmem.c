/* test_gmem.c - unit tests for the log of guest pages the host writes (inst/gmem.h), which the warm reset restores. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "inst/gmem.h"
#include "unit.h"

/* Collects what kl_gwritten_take hands out. */
struct seen {
    uint64_t gva[64];
    unsigned n;
};

static int collect(void *ctx, kl_gptr_t gva)
{
    struct seen *s = ctx;
    if (s->n < 64)
        s->gva[s->n] = gva;
    s->n++;
    return 0;
}

static int stop(void *ctx, kl_gptr_t gva)
{
    (void)ctx, (void)gva;
    return -EIO;
}

/* Every KL_GMEM_WRITE through the accessor is logged, reads are not, and
 * taking the log empties it. */
static void test_accessor_logs_writes(void)
{
    static uint8_t mem[4 * KL_PAGE_SIZE];
    struct kl_gwritten wr = {0};
    struct kl_gmem gm = {.wr = &wr};
    struct kl_err err;
    struct seen s = {0};

    kl_gmem_set(&gm, "memory 0", KL_MEM_GVA(0), sizeof(mem), mem, 1);
    CHECK(kl_gmem_at(&gm, KL_MEM_GVA(0) + 10, 8, KL_GMEM_READ, "r", &err) != NULL);
    CHECK(kl_gwritten_take(&wr, collect, &s) == 0 && s.n == 0);
    /* Straddling a page boundary logs both pages. */
    CHECK(kl_gmem_at(&gm, KL_MEM_GVA(0) + KL_PAGE_SIZE - 4, 8, KL_GMEM_WRITE, "w", &err) != NULL);
    CHECK(kl_gwritten_take(&wr, collect, &s) == 0);
    CHECK(s.n == 2 && s.gva[0] == KL_MEM_GVA(0) && s.gva[1] == KL_MEM_GVA(0) + KL_PAGE_SIZE);
    s.n = 0;
    CHECK(kl_gwritten_take(&wr, collect, &s) == 0 && s.n == 0);
    /* A refused write logs nothing. */
    CHECK(kl_gmem_at(&gm, KL_MEM_GVA(0) + sizeof(mem), 8, KL_GMEM_WRITE, "w", &err) == NULL);
    CHECK(kl_gwritten_take(&wr, collect, &s) == 0 && s.n == 0);
    kl_gwritten_free(&wr);
}

/* Zones: the low area and each memory's window to its largest size, and
 * nothing else; the last page of the last memory fits its bitmap (ASan). */
static void test_zones(void)
{
    struct kl_gwritten wr = {0};
    struct seen s = {0};
    uint64_t max = (uint64_t)KL_MEM_MAX_PAGES * KL_WASM_PAGE;
    kl_gptr_t last = KL_MEM_GVA(KL_MAX_MEMORIES - 1) + max - KL_PAGE_SIZE;

    CHECK(kl_gwritten_mark(&wr, KL_BOOT_GVA, 1) == 0);
    CHECK(kl_gwritten_mark(&wr, last, KL_PAGE_SIZE) == 0);
    CHECK(kl_gwritten_mark(&wr, last, KL_PAGE_SIZE + 1) == -EFAULT);
    CHECK(kl_gwritten_mark(&wr, KL_MEM_GVA(0) + max, 1) == -EFAULT);   /* past a memory's window */
    CHECK(kl_gwritten_mark(&wr, KL_LOW_END, 1) == -EFAULT);
    CHECK(kl_gwritten_mark(&wr, KL_LOW_END - 1, 2) == -EFAULT);
    CHECK(kl_gwritten_mark(&wr, UINT64_MAX - 1, 8) == -EFAULT);
    CHECK(kl_gwritten_mark(&wr, KL_MEM_GVA(3) + 5, UINT64_MAX) == -EFAULT);
    CHECK(kl_gwritten_take(&wr, collect, &s) == 0);
    CHECK(s.n == 2 && s.gva[0] == KL_BOOT_GVA && s.gva[1] == last);
    /* A failing callback is reported, and the log is still emptied. */
    CHECK(kl_gwritten_mark(&wr, KL_BOOT_GVA, 3 * KL_PAGE_SIZE) == 0);
    CHECK(kl_gwritten_take(&wr, stop, NULL) == -EIO);
    s.n = 0;
    CHECK(kl_gwritten_take(&wr, collect, &s) == 0 && s.n == 0);
    kl_gwritten_free(&wr);
}

int main(void)
{
    test_accessor_logs_writes();
    test_zones();
    UNIT_DONE();
}
