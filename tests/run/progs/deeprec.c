/* deeprec.c - unbounded recursion kept in wasm locals (no shadow-stack frame), so it must trap with "call stack exhausted". */
#include <stdio.h>

/* Read through a volatile so clang cannot prove the recursion ends or never ends. */
static volatile unsigned limit = 0xffffffffu;

/* No address-taken locals: each level is a native wasm call frame only. A C
 * array here would instead overflow the 64 KiB shadow stack in linear memory
 * and trap as an out-of-bounds access. Using the result after the call (not an
 * accumulator) keeps LLVM from turning this into a loop. */
__attribute__((noinline)) static unsigned rec(unsigned n) {
    if (n == limit) return n;
    unsigned r = rec(n + 1);
    return (r ^ (r >> 3)) * 2654435761u + n;
}

int main(void) {
    printf("recursing\n");
    fflush(stdout);
    printf("returned %u\n", rec(0)); /* never reached */
    return 0;
}
