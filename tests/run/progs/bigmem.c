/* bigmem.c - grows linear memory past 64 MiB through malloc, fills every byte, then verifies it all. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHUNK (1u << 20)
#define NCHUNK 80 /* 80 MiB: well past 64 MiB and 1024 pages */

int main(void) {
    static unsigned char *p[NCHUNK];
    for (unsigned i = 0; i < NCHUNK; i++) {
        p[i] = malloc(CHUNK);
        if (!p[i]) { printf("malloc failed at chunk %u\n", i); return 1; }
        /* A pattern that depends on chunk and offset catches aliased or remapped pages. */
        for (unsigned j = 0; j < CHUNK; j++) p[i][j] = (unsigned char)(j * 7 + i * 13 + (j >> 12));
    }
    unsigned long bad = 0;
    uint32_t sum = 2166136261u;
    for (unsigned i = 0; i < NCHUNK; i++)
        for (unsigned j = 0; j < CHUNK; j++) {
            unsigned char want = (unsigned char)(j * 7 + i * 13 + (j >> 12));
            if (p[i][j] != want) bad++;
            sum = (sum ^ p[i][j]) * 16777619u; /* FNV-1a: order sensitive */
        }
    unsigned long pages = __builtin_wasm_memory_size(0);
    printf("pages > 1024: %s\n", pages > 1024 ? "yes" : "no");
    printf("bad bytes: %lu\n", bad);
    printf("sum: %08x\n", (unsigned)sum);
    return bad != 0;
}
