/*
 * echo.c - soak function for large bodies: reads the whole request body
 * (CONTENT_LENGTH bytes from stdin) and writes it back unchanged, so the load
 * can compare every byte (expected: 200 and the same body).
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    const char *cl = getenv("CONTENT_LENGTH");
    size_t want = cl ? strtoul(cl, NULL, 10) : 0, got = 0, n;
    char *buf = malloc(want ? want : 1);

    if (buf == NULL) {
        printf("Status: 500 Internal Server Error\nContent-Type: text/plain\n\nno memory\n");
        return 0;
    }
    while (got < want && (n = fread(buf + got, 1, want - got, stdin)) > 0)
        got += n;
    if (got != want) {
        printf("Status: 500 Internal Server Error\nContent-Type: text/plain\n\n"
               "short body: %zu of %zu bytes\n", got, want);
        return 0;
    }
    printf("Content-Type: application/octet-stream\nContent-Length: %zu\n\n", got);
    fwrite(buf, 1, got, stdout);
    free(buf);
    return 0;
}
