/* fannkuch.c - compute benchmark: maximum pancake flips over all permutations of 1..n, with checksum. */
#include <stdio.h>
#include <stdlib.h>

#define MAXN 16

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;
    int perm[MAXN], work[MAXN], count[MAXN];
    long checksum = 0, index = 0;
    int maxflips = 0;

    if (n < 3 || n > 12) {
        fprintf(stderr, "fannkuch: n must be 3..12\n");
        return 2;
    }
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = 0; i < n; i++)
        count[i] = i + 1;
    for (;;) {
        /* Flip the prefix whose length is the first element until 0 comes first. */
        if (perm[0] != 0) {
            int flips = 0;
            for (int i = 0; i < n; i++)
                work[i] = perm[i];
            for (int k = work[0]; k != 0; k = work[0]) {
                for (int lo = 0, hi = k; lo < hi; lo++, hi--) {
                    int t = work[lo];
                    work[lo] = work[hi];
                    work[hi] = t;
                }
                flips++;
            }
            if (flips > maxflips)
                maxflips = flips;
            checksum += (index & 1) ? -flips : flips;
        }
        /* Next permutation in the rotation order that makes the checksum well defined. */
        int r = 1;
        for (;; r++) {
            if (r == n) {
                printf("%ld\nPfannkuchen(%d) = %d\n", checksum, n, maxflips);
                return 0;
            }
            int first = perm[0];
            for (int i = 0; i < r; i++)
                perm[i] = perm[i + 1];
            perm[r] = first;
            if (--count[r] > 0)
                break;
            count[r] = r + 1;
        }
        index++;
    }
}
