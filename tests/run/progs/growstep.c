/* growstep.c - grows linear memory one 64 KiB page at a time past several 2 MiB boundaries, marks and checks every page, then reads one byte past the end, which must trap. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WASM_PAGE 65536u

int main(int argc, char **argv) {
    unsigned want = argc > 1 ? (unsigned)atoi(argv[1]) : 170; /* pages: 10.6 MiB */
    int oob = argc > 2 && strcmp(argv[2], "oob") == 0;
    unsigned first = (unsigned)__builtin_wasm_memory_size(0);
    unsigned long bad = 0;

    /* Each grow maps one page; the page just mapped is written at once, so
     * a 2 MiB run completed later has been touched through small pages. */
    for (unsigned p = first; p < want; p++) {
        if (__builtin_wasm_memory_grow(0, 1) != (long)p) { printf("grow failed at page %u\n", p); return 1; }
        volatile uint32_t *w = (volatile uint32_t *)(uintptr_t)((uintptr_t)p * WASM_PAGE);
        for (unsigned i = 0; i < WASM_PAGE / 4; i += 1024) w[i] = p * 2654435761u + i;
    }
    for (unsigned p = first; p < want; p++) {
        volatile uint32_t *w = (volatile uint32_t *)(uintptr_t)((uintptr_t)p * WASM_PAGE);
        for (unsigned i = 0; i < WASM_PAGE / 4; i += 1024) bad += w[i] != p * 2654435761u + i;
    }
    unsigned size = (unsigned)__builtin_wasm_memory_size(0);
    volatile uint8_t *last = (volatile uint8_t *)(uintptr_t)((uintptr_t)size * WASM_PAGE - 1);
    printf("pages %u, bad %lu, last byte %u\n", size, bad, (unsigned)*last);
    fflush(stdout);
    if (oob) {
        volatile uint8_t *past = last + 1;
        printf("read past the end: %u\n", (unsigned)*past);   /* must trap instead */
    }
    return bad != 0;
}
