/* maxmem.c - mallocs 1 MiB chunks until malloc fails (or argv[1] MiB), printing how many it got. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kept and read back at the end: otherwise clang deletes the unused
 * malloc+memset pairs and nothing is ever allocated. */
static char *chunks[4096];

int main(int argc, char **argv) {
    int want = argc > 1 ? atoi(argv[1]) : 64;
    if (want > 4096) want = 4096;
    int got = 0;
    for (; got < want; got++) {
        char *c = malloc(1 << 20);
        if (!c) break;
        /* Touch every page: a limit must show up as malloc failing, not as a later fault. */
        memset(c, got + 1, 1 << 20);
        chunks[got] = c;
    }
    int bad = 0;
    for (int i = 0; i < got; i++)
        if (chunks[i][0] != (char)(i + 1) || chunks[i][(1 << 20) - 1] != (char)(i + 1)) bad++;
    printf("got %d MiB\n", got);
    if (bad) printf("%d chunks corrupted\n", bad);
    return bad != 0;
}
