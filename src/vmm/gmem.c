/* gmem.c - overflow-safe translation of guest addresses to host pointers, region by region. */
#include "vmm/gmem.h"

#include <errno.h>
#include <inttypes.h>

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
        return r->host + (gva - r->gva);
    }
    kl_errf(err, -EFAULT, "%s: 0x%" PRIx64 "+%" PRIu64 " is outside guest memory",
            what, gva, len);
    return NULL;
}
