/*
 * grow.c - soak function: grows linear memory by GROW_MB MiB (default 32) and
 * touches every 4 KiB page of the new memory.
 *
 * Freshly grown memory must read as zero, even when the VM served a request
 * that grew and wrote the same addresses before (the host resets a warm VM to
 * its snapshot and unmaps what the request grew). A page that is not zero
 * answers 500 "stale", which the load counts as unexpected. Answers 200
 * "grew N MiB: P pages, all zero" on success, and 507 "memory.grow refused"
 * when the grow is over the function's --max-memory-mb.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    const char *s = getenv("GROW_MB");
    unsigned long mb = s ? strtoul(s, NULL, 10) : 32;
    unsigned long pages = mb * 16;   /* 64 KiB wasm pages */
    unsigned long bytes = pages << 16, off, stale = 0;
    long old = __builtin_wasm_memory_grow(0, pages);
    volatile uint8_t *base;

    if (old < 0) {
        printf("Status: 507 Insufficient Storage\nContent-Type: text/plain\n\n"
               "memory.grow refused: %lu MiB\n", mb);
        return 0;
    }
    base = (volatile uint8_t *)(uintptr_t)((unsigned long)old << 16);
    for (off = 0; off < bytes; off += 4096) {
        if (base[off] != 0 || base[off + 4095] != 0)
            stale++;
        base[off] = 0xA5;
        base[off + 4095] = 0x5A;
    }
    if (stale) {
        printf("Status: 500 Internal Server Error\nContent-Type: text/plain\n\n"
               "stale: %lu of %lu pages were not zero\n", stale, bytes / 4096);
        return 0;
    }
    printf("Content-Type: text/plain\n\ngrew %lu MiB: %lu pages, all zero\n", mb, bytes / 4096);
    return 0;
}
