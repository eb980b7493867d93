/* heap.c - a bump allocator over the guest heap region; the whole VM is discarded after a run. */
#include <string.h>

#include "guest.h"

static uint64_t heap_next = KL_HEAP_GVA;

/*
 * Memory is never reused inside one run. That keeps the allocator trivially
 * correct; tables that grow repeatedly waste their old copy, which the 1 GiB
 * region (backed only where touched) absorbs.
 */
void *kl_alloc(size_t n)
{
    uint64_t p = (heap_next + 15) & ~15ull;

    if (n > KL_HEAP_SIZE || p + n > KL_HEAP_GVA + KL_HEAP_SIZE)
        return NULL;
    heap_next = p + n;
    /* Fresh heap pages are zero; nothing is reused, so no memset needed. */
    return (void *)(uintptr_t)p;
}
