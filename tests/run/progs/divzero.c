/* divzero.c - an integer division by zero written in C (volatile defeats constant folding). */
#include <stdio.h>

int main(void) {
    volatile int a = 7, b = 0;
    printf("dividing\n");
    fflush(stdout);
    printf("%d\n", a / b);
    return 0;
}
