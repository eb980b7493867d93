/* opts.c - small argument-parsing helpers shared by the CLI subcommands. */
#include "cli/opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int kl_cli_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("kernless: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int kl_cli_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || *s == '-' || v < min || v > max) {
        kl_cli_fail("%s needs a number from %u to %u, got '%s'", opt, min, max, s ? s : "");
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}
