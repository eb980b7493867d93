/* wasi.h - shared pieces of the in-guest WASI preview 1 implementation. */
#ifndef KL_GUEST_WASI_H
#define KL_GUEST_WASI_H

#include <stdint.h>

#include "guest.h"
#include "wasm-rt.h"

typedef uint32_t u32;
typedef uint64_t u64;

/** The instance that wasm2c passes to every wasi_snapshot_preview1 import. */
struct Z_wasi_snapshot_preview1_instance_t {
    wasm_rt_memory_t *mem;
};
typedef struct Z_wasi_snapshot_preview1_instance_t wasi_t;

/* WASI errno values (preview 1). */
enum {
    WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EBADF = 8,
    WASI_EEXIST = 20, WASI_EFAULT = 21, WASI_EINVAL = 28, WASI_EIO = 29,
    WASI_EISDIR = 31, WASI_ENOENT = 44, WASI_ENOMEM = 48, WASI_ENOSYS = 52,
    WASI_ENOTDIR = 54, WASI_ENOTSUP = 58, WASI_EPERM = 63, WASI_ESPIPE = 70,
    WASI_ENOTCAPABLE = 76, WASI_ENOTSOCK = 57,
};

/** Host-visible address of [ptr, ptr+len) in linear memory, or NULL if out of bounds. */
static inline uint8_t *wasi_mem(wasi_t *w, u32 ptr, u64 len)
{
    if (!w || !w->mem || (u64)ptr + len > w->mem->size)
        return 0;
    return w->mem->data + ptr;
}

static inline void wasi_put32(uint8_t *p, u32 v) { __builtin_memcpy(p, &v, 4); }
static inline void wasi_put64(uint8_t *p, u64 v) { __builtin_memcpy(p, &v, 8); }
static inline u32 wasi_get32(const uint8_t *p) { u32 v; __builtin_memcpy(&v, p, 4); return v; }
static inline u64 wasi_get64(const uint8_t *p) { u64 v; __builtin_memcpy(&v, p, 8); return v; }

/**
 * EFAULT unless every one of the `n` iovecs at `v` lies in linear memory.
 * Calls check them all before moving a byte, so a call that fails with
 * EFAULT has done nothing.
 */
static inline u32 wasi_iovs_check(wasi_t *w, const uint8_t *v, u32 n)
{
    for (u32 i = 0; i < n; i++)
        if (!wasi_mem(w, wasi_get32(v + 8 * i), wasi_get32(v + 8 * i + 4)))
            return WASI_EFAULT;
    return WASI_ESUCCESS;
}

/** Store a u32 result at ptr; EFAULT if it does not fit in memory. */
u32 wasi_store32(wasi_t *w, u32 ptr, u32 v);
u32 wasi_store64(wasi_t *w, u32 ptr, u64 v);

/* wasi_fs.c: descriptors beyond stdio. */
void kl_wasi_fs_init(void);

#endif
