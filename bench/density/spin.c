/* spin.c - a WAGI function for the density benchmark: stays busy for ?ms=N milliseconds, touches ?kb=K KiB, then says hello. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The number after "name=" in the query, or def. */
static long param(const char *q, const char *name, long def)
{
    const char *p = strstr(q, name);
    return p ? atol(p + strlen(name)) : def;
}

int main(void)
{
    const char *q = getenv("QUERY_STRING");
    long ms = param(q ? q : "", "ms=", 0), kb = param(q ? q : "", "kb=", 0);
    volatile unsigned char *mem = NULL;
    double end = now_ms() + ms;

    /* Memory a real function would use: every page written, so the VM really holds it. */
    if (kb > 0 && (mem = malloc((size_t)kb << 10)) != NULL)
        for (long i = 0; i < kb << 10; i += 4096)
            mem[i] = (unsigned char)i;
    while (now_ms() < end)   /* busy, as a request that computes: the VM stays live */
        ;
    printf("Content-Type: text/plain\n\nHello from Kernless!\n");
    return 0;
}
