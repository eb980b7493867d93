/* secret.c - WAGI: scans its linear memory for the previous request's marker, then plants its own and must find that. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Query: `k=PREV.NOW[&read|&readgrown]`. PREV and NOW are 16-byte markers, written as
 * their 32 hex digits shifted to g..v, so the arguments and QUERY_STRING
 * never hold a marker in either form. The scan looks for PREV as raw bytes
 * and as hex text (the form it has in headers and bodies); any hit is
 * something a previous request left. Then NOW is planted in the data
 * segment, bss, stack, heap and freshly grown memory, and scanned for: that
 * count (`self`) proves the scan can find what is there. With `read` the
 * body is read into a static buffer first (above 7 MiB the host writes it
 * there with the stdin hostcall), with `readgrown` into memory grown for it;
 * the guest then never touches it again (the scan skips it), so only the
 * host wrote those pages.
 *
 * The scan starts at address 1, not 0, through a volatile pointer the
 * compiler cannot see through: a scan from a null pointer is undefined, and
 * clang -O2 deleted it, so the old version always answered found=0.
 */

#define MLEN 16
#define TLEN (2 * MLEN)

static struct {
    unsigned char prev[MLEN], now[MLEN];
    char prev_text[TLEN], now_text[TLEN];
} keys;                                      /* excluded from the scan */
static unsigned char data_copy[MLEN] = {1};  /* data segment */
static unsigned char bss_copy[MLEN];         /* bss */
static unsigned char body[8 << 20];          /* bss: the request body */

static int unshift(const char *s, unsigned char *raw, char *text)
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 0; i < TLEN; i++) {
        if (s[i] < 'g' || s[i] > 'v')
            return -1;
        text[i] = hex[s[i] - 'g'];
        if (i % 2)
            raw[i / 2] = (unsigned char)((s[i - 1] - 'g') << 4 | (s[i] - 'g'));
    }
    return 0;
}

static const unsigned char *skip_lo, *skip_hi;   /* the body this request read */

/* Places in linear memory, outside `keys`, that hold the n bytes at p. */
static int scan(const void *p, size_t n)
{
    const unsigned char *pat = p;
    uintptr_t base = 1;
    size_t size = __builtin_wasm_memory_size(0) * 65536ul;
    int found = 0;

    __asm__ volatile("" : "+r"(base));   /* opaque: the compiler cannot assume anything */
    const volatile unsigned char *m = (const volatile unsigned char *)base;
    for (size_t i = 0; i + n < size; i++) {
        if (base + i >= (uintptr_t)skip_lo && base + i < (uintptr_t)skip_hi) {
            i = (size_t)((uintptr_t)skip_hi - base) - 1;
            continue;
        }
        if (m[i] != pat[0])
            continue;
        size_t j = 1;
        while (j < n && m[i + j] == pat[j])
            j++;
        uintptr_t at = base + i;
        if (j == n && (at < (uintptr_t)&keys || at >= (uintptr_t)(&keys + 1)))
            found++;
    }
    return found;
}

int main(int argc, char **argv)
{
    unsigned char stack_copy[MLEN];
    size_t got = 0, room = sizeof(body);
    unsigned char *in = NULL;

    if (argc < 2 || strncmp(argv[1], "k=", 2) != 0 || strlen(argv[1]) != 2 + 2 * TLEN + 1 ||
        unshift(argv[1] + 2, keys.prev, keys.prev_text) < 0 ||
        unshift(argv[1] + 3 + TLEN, keys.now, keys.now_text) < 0) {
        printf("Content-Type: text/plain\n\nusage: ?k=PREV.NOW[&read|&readgrown]\n");
        return 0;
    }
    getenv("HTTP_X_MARKER");   /* headers: libc copies the environment into memory */
    if (argc > 2 && strcmp(argv[2], "read") == 0)
        in = body;
    else if (argc > 2 && strcmp(argv[2], "readgrown") == 0)
        in = malloc(room);
    if (in) {
        for (ssize_t n; got < room && (n = read(0, in + got, room - got)) > 0;)
            got += (size_t)n;
        skip_lo = in;
        skip_hi = in + room;
    }
    /* Grow memory before the scan, so grown memory is scanned too. */
    unsigned char *grown = malloc(2 << 20);
    int found = scan(keys.prev, MLEN) + scan(keys.prev_text, TLEN);

    memcpy(data_copy, keys.now, MLEN);
    memcpy(bss_copy, keys.now, MLEN);
    memcpy(stack_copy, keys.now, MLEN);
    unsigned char *heap = malloc(64);
    memcpy(heap, keys.now, MLEN);
    memcpy(grown + (1 << 20), keys.now, MLEN);
    /* Escape every copy: stores to statics nothing reads would be deleted. */
    __asm__ volatile("" ::"r"(stack_copy), "r"(heap), "r"(grown), "r"(data_copy), "r"(bss_copy)
                     : "memory");
    int self = scan(keys.now, MLEN), self_text = scan(keys.now_text, TLEN);
    printf("Content-Type: text/plain\n\nfound=%d self=%d text=%d read=%zu\n", found, self,
           self_text, got);
    return 0;
}
