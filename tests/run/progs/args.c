/* args.c - prints argc and argv[1..] in brackets so empty and spaced arguments are visible. */
#include <stdio.h>

int main(int argc, char **argv) {
    /* argv[0] is the runtime's choice (wasmtime uses the module path), so it is not printed. */
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("[%s]\n", argv[i]);
    return 0;
}
