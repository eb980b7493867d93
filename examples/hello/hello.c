/* hello.c - minimal WASI command for `make run`: build with clang --target=wasm32-wasi -O2 hello.c -o hello.wasm */
#include <stdio.h>

int main(int argc, char **argv) {
    /* Greet the first argument when given, to show arguments reach the guest. */
    printf("hello, %s\n", argc > 1 ? argv[1] : "world");
    return 0;
}
