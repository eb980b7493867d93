/* gmem.h - the one checked path from a guest address to host memory. */
#ifndef KL_VMM_GMEM_H
#define KL_VMM_GMEM_H

#include <stdint.h>

#include "common/err.h"
#include "kernless/abi.h"

#define KL_GMEM_MAX_REGIONS (4 + KL_MAX_MEMORIES)

/** A guest-virtual range the host may touch on the guest's behalf. */
struct kl_gregion {
    const char *name;    /* for error messages: "io area", "memory 0" */
    kl_gptr_t gva;
    uint64_t size;       /* bytes currently accessible */
    uint8_t *host;       /* host address of gva */
    int writable;
};

/** The guest's accessible regions. Hostcall arguments must fall inside one. */
struct kl_gmem {
    struct kl_gregion r[KL_GMEM_MAX_REGIONS];
    unsigned n;
};

enum { KL_GMEM_READ = 0, KL_GMEM_WRITE = 1 };

/** Add or replace (by gva) a region. Returns 0 or -ENOSPC. */
int kl_gmem_set(struct kl_gmem *gm, const char *name, kl_gptr_t gva,
                uint64_t size, uint8_t *host, int writable);

/**
 * Translate [gva, gva+len) to a host pointer, or return NULL and describe
 * exactly which access was bad in *err ("hostcall read: buffer
 * 0x10000fff0+32 is outside guest memory"). Overflow-safe for any gva, len.
 * `what` names the access for the message.
 */
void *kl_gmem_at(const struct kl_gmem *gm, kl_gptr_t gva, uint64_t len,
                 int access, const char *what, struct kl_err *err);

#endif
