/* gmem.c - overflow-safe translation of guest addresses to host pointers, region by region, and the log of pages the host wrote. */
#include "inst/gmem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int kl_gmem_set(struct kl_gmem *gm, const char *name, kl_gptr_t gva,
                uint64_t size, uint8_t *host, int writable)
{
    unsigned i;

    for (i = 0; i < gm->n; i++)
        if (gm->r[i].gva == gva)
            break;
    if (i == gm->n) {
        if (gm->n == KL_GMEM_MAX_REGIONS)
            return -ENOSPC;
        gm->n++;
    }
    gm->r[i] = (struct kl_gregion){name, gva, size, host, writable};
    return 0;
}

void *kl_gmem_at(const struct kl_gmem *gm, kl_gptr_t gva, uint64_t len,
                 int access, const char *what, struct kl_err *err)
{
    for (unsigned i = 0; i < gm->n; i++) {
        const struct kl_gregion *r = &gm->r[i];
        /* gva - r->gva cannot wrap once gva >= r->gva; compare against the
         * remaining room instead of computing gva + len. */
        if (gva < r->gva || gva - r->gva >= r->size)
            continue;
        if (len > r->size - (gva - r->gva)) {
            kl_errf(err, -EFAULT, "%s: 0x%" PRIx64 "+%" PRIu64 " runs past the end of %s",
                    what, gva, len, r->name);
            return NULL;
        }
        if (access == KL_GMEM_WRITE && !r->writable) {
            kl_errf(err, -EFAULT, "%s: 0x%" PRIx64 " is in read-only %s", what, gva, r->name);
            return NULL;
        }
        if (access == KL_GMEM_WRITE && gm->wr) {
            int rc = kl_gwritten_mark(gm->wr, gva, len);
            if (rc < 0) {
                kl_errf(err, rc, "%s: logging a write to %s failed: %s", what, r->name,
                        strerror(-rc));
                return NULL;
            }
        }
        return r->host + (gva - r->gva);
    }
    kl_errf(err, -EFAULT, "%s: 0x%" PRIx64 "+%" PRIu64 " is outside guest memory",
            what, gva, len);
    return NULL;
}

/* ---- the written-pages log ---- */

static uint64_t zone_pages(unsigned z)
{
    return (z == 0 ? KL_LOW_END : (uint64_t)KL_MEM_MAX_PAGES * KL_WASM_PAGE) / KL_PAGE_SIZE;
}

static kl_gptr_t zone_base(unsigned z)
{
    return z == 0 ? 0 : KL_MEM_GVA(z - 1);
}

/* The zone holding [gva, gva+len), or -1. */
static int zone_of(kl_gptr_t gva, uint64_t len)
{
    unsigned z;

    if (gva < KL_LOW_END)
        z = 0;
    else if (gva >= KL_MEM_GVA(0) && (gva - KL_MEM_GVA(0)) / KL_MEM_WINDOW < KL_MAX_MEMORIES)
        z = 1 + (unsigned)((gva - KL_MEM_GVA(0)) / KL_MEM_WINDOW);
    else
        return -1;
    uint64_t off = gva - zone_base(z), size = zone_pages(z) * KL_PAGE_SIZE;
    if (off >= size || len > size - off)   /* no wrap for any gva, len */
        return -1;
    return (int)z;
}

int kl_gwritten_mark(struct kl_gwritten *wr, kl_gptr_t gva, uint64_t len)
{
    int z = zone_of(gva, len);
    uint64_t first, end;

    if (z < 0)
        return -EFAULT;
    if (len == 0)
        return 0;
    if (!wr->bits[z] && !(wr->bits[z] = calloc((zone_pages((unsigned)z) + 63) / 64, sizeof(uint64_t))))
        return -ENOMEM;
    first = (gva - zone_base((unsigned)z)) / KL_PAGE_SIZE;
    end = (gva - zone_base((unsigned)z) + len - 1) / KL_PAGE_SIZE + 1;
    for (uint64_t p = first; p < end; p++)
        wr->bits[z][p / 64] |= 1ull << (p % 64);
    if (wr->lo[z] == wr->hi[z]) {
        wr->lo[z] = first;
        wr->hi[z] = end;
    } else {
        wr->lo[z] = first < wr->lo[z] ? first : wr->lo[z];
        wr->hi[z] = end > wr->hi[z] ? end : wr->hi[z];
    }
    return 0;
}

int kl_gwritten_take(struct kl_gwritten *wr, int (*fn)(void *ctx, kl_gptr_t gva), void *ctx)
{
    int rc = 0;

    for (unsigned z = 0; z < KL_GW_ZONES; z++) {
        for (uint64_t word = wr->lo[z] / 64; word < (wr->hi[z] + 63) / 64; word++) {
            uint64_t b = wr->bits[z][word];
            wr->bits[z][word] = 0;
            for (; b && rc >= 0; b &= b - 1)   /* set bits only */
                rc = fn(ctx, zone_base(z) + (word * 64 + (uint64_t)__builtin_ctzll(b)) * KL_PAGE_SIZE);
        }
        wr->lo[z] = wr->hi[z] = 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

void kl_gwritten_free(struct kl_gwritten *wr)
{
    for (unsigned z = 0; z < KL_GW_ZONES; z++)
        free(wr->bits[z]);
    memset(wr, 0, sizeof(*wr));
}
