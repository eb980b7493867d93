/* secret.c - WAGI: scans all linear memory for the previous request's secret, then plants a new one everywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_LEN 16
static unsigned char data_copy[SECRET_LEN];   /* data segment */

static int hexval(int c) { return c >= 'a' ? c - 'a' + 10 : c - '0'; }

/* Count places in memory that hold `s` (the query carries it as hex text,
 * so the raw bytes can only be found if an earlier request left them). */
static int scan(const unsigned char *s)
{
    size_t size = __builtin_wasm_memory_size(0) * 65536ul;
    const unsigned char *m = 0;
    int found = 0;

    for (size_t i = 16; i + SECRET_LEN <= size; i++)
        if (m[i] == s[0] && memcmp(m + i, s, SECRET_LEN) == 0 && m + i != s)
            found++;
    return found;
}

int main(int argc, char **argv)
{
    unsigned char prev[SECRET_LEN], now[SECRET_LEN], stack_copy[SECRET_LEN];
    int found = 0;

    /* argv[1] is "prev=<32 hex digits>" from the query string */
    if (argc > 1 && strncmp(argv[1], "prev=", 5) == 0 && strlen(argv[1]) == 5 + 2 * SECRET_LEN) {
        for (int i = 0; i < SECRET_LEN; i++)
            prev[i] = (unsigned char)(hexval(argv[1][5 + 2 * i]) << 4 | hexval(argv[1][6 + 2 * i]));
        found = scan(prev);
        memset(prev, 0, sizeof(prev));
    }
    getentropy(now, sizeof(now));
    memcpy(data_copy, now, SECRET_LEN);                      /* data segment */
    memcpy(stack_copy, now, SECRET_LEN);                     /* stack */
    unsigned char *heap = malloc(64);                        /* heap */
    memcpy(heap, now, SECRET_LEN);
    unsigned char *grown = malloc(2 << 20);                  /* memory grown now */
    memcpy(grown + (1 << 20), now, SECRET_LEN);
    __asm__ volatile("" ::"r"(stack_copy), "r"(heap), "r"(grown) : "memory");
    printf("Content-Type: text/plain\n\nfound=%d next=", found);
    for (int i = 0; i < SECRET_LEN; i++)
        printf("%02x", now[i]);
    printf("\n");
    return 0;
}
