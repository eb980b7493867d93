/* binarytrees.c - compute benchmark: allocate, walk and free many binary trees (malloc-heavy). */
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *l, *r; };

static struct node *make(int depth)
{
    struct node *n = malloc(sizeof(*n));

    if (!n) {
        fprintf(stderr, "binarytrees: out of memory\n");
        exit(1);
    }
    n->l = depth > 0 ? make(depth - 1) : NULL;
    n->r = depth > 0 ? make(depth - 1) : NULL;
    return n;
}

static long check(const struct node *n)
{
    return 1 + (n->l ? check(n->l) + check(n->r) : 0);
}

static void drop(struct node *n)
{
    if (n->l) {
        drop(n->l);
        drop(n->r);
    }
    free(n);
}

int main(int argc, char **argv)
{
    int maxd = argc > 1 ? atoi(argv[1]) : 18, mind = 4;

    if (maxd < mind + 2)
        maxd = mind + 2;
    struct node *t = make(maxd + 1);
    printf("stretch tree of depth %d\t check: %ld\n", maxd + 1, check(t));
    drop(t);
    /* One long-lived tree stays while many short-lived ones churn the allocator. */
    struct node *keep = make(maxd);
    for (int d = mind; d <= maxd; d += 2) {
        long iters = 1L << (maxd - d + mind), sum = 0;
        for (long i = 0; i < iters; i++) {
            t = make(d);
            sum += check(t);
            drop(t);
        }
        printf("%ld\t trees of depth %d\t check: %ld\n", iters, d, sum);
    }
    printf("long lived tree of depth %d\t check: %ld\n", maxd, check(keep));
    drop(keep);
    return 0;
}
