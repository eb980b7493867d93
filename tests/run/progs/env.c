/* env.c - prints the whole environment, one K=V per line, to check exactly what --env passes. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(void) {
    int n = 0;
    for (char **e = environ; *e; e++, n++)
        printf("%s\n", *e);
    /* getenv must agree with environ (wasi-libc builds both from environ_get). */
    const char *a = getenv("A");
    printf("getenv(A)=%s\n", a ? a : "(null)");
    printf("count=%d\n", n);
    return 0;
}
