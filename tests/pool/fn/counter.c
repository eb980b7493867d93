/* counter.c - WAGI: increments a global and prints it; a fresh instance always answers 1. */
#include <stdio.h>

static int counter;   /* data segment: survives only if an instance is reused dirty */

int main(void)
{
    counter++;
    printf("Content-Type: text/plain\n\n%d\n", counter);
    return 0;
}
