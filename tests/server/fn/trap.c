/* trap.c - test function that traps (unreachable) after writing a line to stderr. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "about to trap\n");
    __builtin_trap();
}
