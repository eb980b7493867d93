/* mem_grow_limit: memory.grow by one page until it fails; it must fail exactly at the --max-memory-mb cap, and huge deltas must fail cleanly. */
#include <stdio.h>
#include <string.h>

int main(void)
{
    size_t start = __builtin_wasm_memory_size(0), pages;
    size_t huge[] = {0x10000, 0xffffffff, 0x7fffffff, 0x8000};
    unsigned char *p;

    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
        if (__builtin_wasm_memory_grow(0, huge[i]) != (size_t)-1)
            return 10 + (int)i;
    if (__builtin_wasm_memory_size(0) != start)
        return 20;
    while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1)
        ;
    pages = __builtin_wasm_memory_size(0);
    /* every grown page is there, zeroed, and writable */
    p = (unsigned char *)(start * 65536);
    for (size_t off = 0; off < (pages - start) * 65536; off += 4096) {
        if (p[off] != 0)
            return 21;
        p[off] = 0xa5;
    }
    p[(pages - start) * 65536 - 1] = 1;
    if (__builtin_wasm_memory_grow(0, 0) != pages)
        return 22;
    printf("Content-Type: text/plain\n\npages=%zu\n", pages);
    return 0;
}
