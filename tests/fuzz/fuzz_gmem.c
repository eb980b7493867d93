/* fuzz_gmem.c - libFuzzer target: kl_gmem_at with arbitrary regions, addresses and lengths. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inst/gmem.h"

#define BACK_MAX 4096u   /* bytes of real memory behind each region */

static uint64_t take(const uint8_t **p, size_t *n)
{
    uint64_t v = 0;
    size_t k = *n < 8 ? *n : 8;

    memcpy(&v, *p, k);
    *p += k, *n -= k;
    return v;
}

/*
 * Input: one byte of region count, then per region gva and size (8 bytes
 * each; size is cut to at most BACK_MAX, so every region is backed by real
 * memory ASan watches; its low bit makes it writable); then (gva, len,
 * access byte) queries until
 * the input runs out. Every returned pointer must lie in a region whose
 * guest range holds the whole access, and the bytes must be touchable.
 */
/** libFuzzer entry. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kl_gmem gm;
    uint8_t *back[KL_GMEM_MAX_REGIONS] = {0};
    unsigned nreg;

    if (size < 1)
        return 0;
    memset(&gm, 0, sizeof(gm));
    nreg = data[0] % (KL_GMEM_MAX_REGIONS + 1);
    data++, size--;
    for (unsigned i = 0; i < nreg; i++) {
        kl_gptr_t gva = take(&data, &size);
        uint64_t sz = take(&data, &size) % (BACK_MAX + 1);
        int w = (int)(sz & 1);
        /* Keep gva + size representable, as for real guest ranges. */
        if (gva > UINT64_MAX - sz)
            gva = UINT64_MAX - sz;
        back[i] = malloc(sz ? sz : 1);
        if (kl_gmem_set(&gm, "region", gva, sz, back[i], w) < 0)
            abort();
    }
    while (size > 0) {
        kl_gptr_t gva = take(&data, &size);
        uint64_t len = take(&data, &size);
        int access = size ? (data[0] & 1) : 0;
        struct kl_err err = {0};
        uint8_t *p;

        if (size)
            data++, size--;
        /* Small lengths are the interesting ones; keep some huge ones too. */
        if (len & 1)
            len >>= 48;
        p = kl_gmem_at(&gm, gva, len, access, "fuzz", &err);
        if (!p)
            continue;
        int ok = 0;
        for (unsigned i = 0; i < gm.n && !ok; i++) {
            const struct kl_gregion *r = &gm.r[i];
            if (gva < r->gva || gva - r->gva >= r->size)
                continue;
            size_t off = (size_t)(gva - r->gva);
            ok = p == r->host + off && len <= r->size - off &&
                 (access != KL_GMEM_WRITE || r->writable);
        }
        if (!ok)
            abort();
        if (len)
            memset(p, 0xA5, (size_t)len);   /* ASan: the whole length is backed */
    }
    for (unsigned i = 0; i < nreg; i++)
        free(back[i]);
    return 0;
}
