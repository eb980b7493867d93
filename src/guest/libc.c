/* libc.c - the handful of libc functions that freestanding code (and wasm2c output) needs. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

/* gcc may turn these loops back into calls to themselves; forbid it. */
#define NO_BUILTIN __attribute__((optimize("no-tree-loop-distribute-patterns")))

/*
 * string.h maps memcpy, memmove, memset and memcmp to gcc builtins, which
 * inline fixed small sizes and call these for the rest; the names are in
 * parentheses so those macros do not rewrite the definitions.
 */

/* Copy below 64 bytes with 8-byte words: rep movsb has a start-up cost of
 * tens of cycles, which dominates short copies. */
NO_BUILTIN static inline void copy_words(unsigned char *d, const unsigned char *s, size_t n)
{
    for (; n >= 8; n -= 8, d += 8, s += 8) {
        uint64_t w;
        __builtin_memcpy(&w, s, 8);   /* one unaligned mov each way */
        __builtin_memcpy(d, &w, 8);
    }
    for (; n; n--)
        *d++ = *s++;
}

NO_BUILTIN void *(memcpy)(void *restrict d, const void *restrict s, size_t n)
{
    void *ret = d;

    if (n < 64) {
        copy_words(d, s, n);
        return ret;
    }
    /* rep movsb is fast on every CPU with ERMSB and tiny to emulate. */
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return ret;
}

NO_BUILTIN void *(memmove)(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;

    if (dp <= sp || dp >= sp + n)
        return (memcpy)(d, s, n);   /* forward copy is safe: word copies read before they write */
    /* Overlap with d above s: copy backwards. */
    unsigned char *de = dp + n - 1;
    const unsigned char *se = sp + n - 1;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(de), "+S"(se), "+c"(n) : : "memory");
    return d;
}

NO_BUILTIN void *(memset)(void *d, int c, size_t n)
{
    void *ret = d;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return ret;
}

NO_BUILTIN int (memcmp)(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

NO_BUILTIN size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}

void *malloc(size_t n) { return kl_alloc(n); }

void *calloc(size_t n, size_t sz)
{
    if (sz && n > (size_t)-1 / sz)
        return NULL;
    return kl_alloc(n * sz);   /* the heap hands out zeroed memory */
}

void free(void *p) { (void)p; }   /* bump heap: freed with the VM */

void abort(void) { kl_fatal("abort() called in the guest runtime"); }

void __assert_fail(const char *expr, const char *file, unsigned line, const char *func)
{
    (void)file; (void)line; (void)func;
    kl_io_write(2, (const uint8_t *)"kernless runtime assertion failed: ", 35);
    kl_io_write(2, (const uint8_t *)expr, strlen(expr));
    kl_fatal("assertion failed");
}
