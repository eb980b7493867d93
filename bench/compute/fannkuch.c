/* fannkuch.c - compute benchmark: maximum pancake flips over all permutations of 1..n, with checksum. */
#include <stdio.h>
#include <stdlib.h>

#define MAXN 12

/* One pass over all n! permutations; prints its result when asked and returns checksum+maxflips. */
static long fannkuch(int n, int print)
{
    int perm[MAXN], work[MAXN], count[MAXN];
    long checksum = 0, index = 0;
    int maxflips = 0;

    for (int i = 0; i < n; i++) {
        perm[i] = i;
        count[i] = i + 1;
    }
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
        /* Next permutation, in the rotation order that makes the checksum well defined. */
        for (int r = 1;; r++) {
            if (r == n) {
                if (print)
                    printf("%ld\nPfannkuchen(%d) = %d\n", checksum, n, maxflips);
                return checksum + maxflips;
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

int main(int argc, char **argv)
{
    /* n=11 is 11x the work of n=10, too coarse a step for sizing: repeat n=10 instead. */
    int n = argc > 1 ? atoi(argv[1]) : 10, reps = argc > 2 ? atoi(argv[2]) : 5;
    long total = 0;

    if (n < 3 || n > MAXN || reps < 1) {
        fprintf(stderr, "fannkuch: n must be 3..%d and reps at least 1\n", MAXN);
        return 2;
    }
    for (int rep = 0; rep < reps; rep++)
        total += fannkuch(n, rep + 1 == reps);
    printf("total %ld\n", total);
    return 0;
}
