/* grow.c - WAGI: "?grow" grows memory by 4 MiB and touches it; "?probe" reads just past the snapshot's end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t pages = __builtin_wasm_memory_size(0);

    if (argc > 1 && strcmp(argv[1], "grow") == 0) {
        volatile char *p = malloc(4 << 20);
        for (int i = 0; i < (4 << 20); i += 4096)
            p[i] = 'G';
        printf("Content-Type: text/plain\n\ngrew %zu -> %zu\n", pages,
               (size_t)__builtin_wasm_memory_size(0));
        return 0;
    }
    /* Past the current end: must trap as out of bounds, never read old data. */
    volatile unsigned char *q = (unsigned char *)(pages * 65536 + 8192);
    printf("Content-Type: text/plain\n\nread %d\n", *q);
    return 0;
}
