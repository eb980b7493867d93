/* log.c - one timestamped line at a time on stderr, safe from any thread. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void kl_log(const char *fmt, ...)
{
    char line[1200], ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One write per line so lines from different threads never interleave. */
    fprintf(stderr, "%s kernless: %s\n", ts, line);
}
