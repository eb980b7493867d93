/* gmem.h - the one checked path from a guest address to host memory. */
#ifndef KL_VMM_GMEM_H
#define KL_VMM_GMEM_H

#include <stdint.h>

#include "common/err.h"
#include "kernless/abi.h"

#define KL_GMEM_MAX_REGIONS (4 + KL_MAX_MEMORIES)

/* Zones of the written-pages log: 0 is the low area [0, KL_LOW_END), 1 + i
 * is linear memory i (its window at KL_MEM_GVA(i)). */
#define KL_GW_ZONES (1u + KL_MAX_MEMORIES)

/**
 * The guest pages the host wrote since the log was last taken. Host writes
 * set no dirty bit in the guest's page tables (KVM) and leave no trace in a
 * sandbox's own page tables (process backend), so the warm reset (warm.c)
 * restores these pages as well as the ones the guest dirtied. One bit per
 * 4 KiB page, a bitmap per zone allocated on its first write (calloc'd, so
 * the kernel backs only the words touched), and per zone the page range
 * [lo, hi) outside which no bit is set: taking an empty log costs nothing.
 */
struct kl_gwritten {
    uint64_t *bits[KL_GW_ZONES];
    uint64_t lo[KL_GW_ZONES], hi[KL_GW_ZONES];
};

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
    struct kl_gwritten *wr;   /* where KL_GMEM_WRITE accesses are logged; NULL: nowhere */
};

enum { KL_GMEM_READ = 0, KL_GMEM_WRITE = 1 };

/** Add or replace (by gva) a region. Returns 0 or -ENOSPC. */
int kl_gmem_set(struct kl_gmem *gm, const char *name, kl_gptr_t gva,
                uint64_t size, uint8_t *host, int writable);

/**
 * Translate [gva, gva+len) to a host pointer, or return NULL and describe
 * exactly which access was bad in *err ("hostcall read: buffer
 * 0x10000fff0+32 is outside guest memory"). Overflow-safe for any gva, len.
 * `what` names the access for the message. A KL_GMEM_WRITE access is logged
 * in gm->wr before the pointer is handed out: this is the one way the host
 * writes guest memory on the guest's behalf.
 */
void *kl_gmem_at(const struct kl_gmem *gm, kl_gptr_t gva, uint64_t len,
                 int access, const char *what, struct kl_err *err);

/**
 * Log that the host writes [gva, gva+len) (within one zone). For host writes
 * that no guest pointer names (the boot block, request area, stdin window);
 * kl_gmem_at logs the rest. Returns 0, -EFAULT (not a zone's range) or
 * -ENOMEM.
 */
int kl_gwritten_mark(struct kl_gwritten *wr, kl_gptr_t gva, uint64_t len);

/**
 * Call fn(ctx, gva) for each logged page, clearing the log as it goes.
 * Stops at and returns the first negative fn result, else 0.
 */
int kl_gwritten_take(struct kl_gwritten *wr, int (*fn)(void *ctx, kl_gptr_t gva), void *ctx);

/** Free the bitmaps. */
void kl_gwritten_free(struct kl_gwritten *wr);

#endif
