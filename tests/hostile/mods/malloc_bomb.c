/* malloc_bomb: mallocs and touches 1 MiB blocks until malloc returns NULL, then frees nothing and reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static void *volatile keep[4096];   /* escapes, so the compiler cannot elide the allocations */
    size_t mib = 0;
    void *p;

    while ((p = malloc(1 << 20)) != NULL) {
        memset(p, 0x5a, 1 << 20);
        keep[mib % 4096] = p;
        mib++;
        if (mib > 100000)
            return 3;
    }
    /* a small allocation may still fit, a huge one must not */
    if ((keep[0] = malloc((size_t)3 << 30)) != NULL)
        return 4;
    /* 16 MiB of memory holds a little under 16 blocks of 1 MiB plus headers */
    printf("Content-Type: text/plain\n\nmalloc failed after %zu MiB (%s)\n", mib,
           mib >= 8 && mib <= 16 ? "within the cap" : "NOT THE CAP");
    return 0;
}
