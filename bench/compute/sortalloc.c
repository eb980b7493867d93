/* sortalloc.c - compute benchmark: many small malloc/free calls and qsort with a comparator. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Records are heap-allocated one by one (each with a heap-allocated name), sorted by qsort through
 * a comparator, then half are freed and re-allocated in a new size before the next round. Keys are
 * unique, so the order (and the output) does not depend on the libc's qsort algorithm.
 */
struct rec {
    uint32_t key;
    uint32_t len;
    char *name;
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t next(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 32);
}

static int by_key(const void *a, const void *b)
{
    const struct rec *x = *(struct rec *const *)a, *y = *(struct rec *const *)b;
    return x->key < y->key ? -1 : x->key > y->key;
}

static struct rec *make(uint32_t key)
{
    struct rec *r = malloc(sizeof(*r));
    r->key = key;
    r->len = 8 + key % 57;
    r->name = malloc(r->len + 1);
    for (uint32_t i = 0; i < r->len; i++)
        r->name[i] = (char)('a' + (key >> (i % 24)) % 26);
    r->name[r->len] = 0;
    return r;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000, rounds = argc > 2 ? atol(argv[2]) : 5;
    struct rec **v = malloc((size_t)n * sizeof(*v));
    uint64_t sum = 0;
    uint32_t serial = 0;

    /* Keys: a random high part and a serial low part, so they never repeat. */
    for (long i = 0; i < n; i++)
        v[i] = make((next() & 0xfff00000u) | serial++);
    for (long r = 0; r < rounds; r++) {
        qsort(v, (size_t)n, sizeof(*v), by_key);
        for (long i = 0; i < n; i++)
            sum = sum * 1099511628211ull + v[i]->key + (unsigned char)v[i]->name[v[i]->len / 2];
        for (long i = 0; i < n; i += 2) {
            free(v[i]->name);
            free(v[i]);
            v[i] = make((next() & 0xfff00000u) | (serial++ & 0xfffff));
        }
    }
    printf("checksum %016llx\n", (unsigned long long)sum);
    for (long i = 0; i < n; i++) {
        free(v[i]->name);
        free(v[i]);
    }
    free(v);
    return 0;
}
