/* echo.c - a WAGI function that echoes the request: method, path, query, argv, headers, body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* The value of a CGI variable, or "" when unset. */
static const char *var(const char *name)
{
    const char *v = getenv(name);

    return v ? v : "";
}

int main(int argc, char **argv)
{
    char buf[4096];
    size_t n, total = 0;
    int i;

    printf("Content-Type: text/plain; charset=utf-8\n");
    printf("X-Echo-Function: c\n\n");
    printf("method: %s\n", var("REQUEST_METHOD"));
    printf("script: %s\n", var("SCRIPT_NAME"));
    printf("path: %s\n", var("PATH_INFO"));
    printf("raw_path: %s\n", var("X_RAW_PATH_INFO"));
    printf("route: %s\n", var("X_MATCHED_ROUTE"));
    printf("query: %s\n", var("QUERY_STRING"));
    printf("url: %s\n", var("X_FULL_URL"));
    for (i = 0; i < argc; i++)
        printf("argv[%d]: %s\n", i, argv[i]);
    /* Every request header arrives as HTTP_<NAME>; function --env values too. */
    for (i = 0; environ[i] != NULL; i++)
        if (strncmp(environ[i], "HTTP_", 5) == 0 || strncmp(environ[i], "ECHO_", 5) == 0)
            printf("env: %s\n", environ[i]);
    printf("content_type: %s\n", var("CONTENT_TYPE"));
    printf("content_length: %s\n", var("CONTENT_LENGTH"));
    printf("body: ");
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
        fwrite(buf, 1, n, stdout);
        total += n;
    }
    printf("\nbody_bytes: %zu\n", total);
    fprintf(stderr, "echoed %s %s (%zu body bytes)\n", var("REQUEST_METHOD"),
            var("PATH_INFO"), total);
    return 0;
}
