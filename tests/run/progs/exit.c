/* exit.c - exits with the status given as argv[1]; "ret" as argv[2] returns it from main instead of calling exit(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int code = argc > 1 ? atoi(argv[1]) : 0;
    /* Print first so a run that loses buffered output on exit is caught too. */
    printf("exiting with %d\n", code);
    if (argc > 2 && strcmp(argv[2], "ret") == 0)
        return code;
    exit(code);
}
