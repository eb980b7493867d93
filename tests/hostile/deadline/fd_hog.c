/* fd_hog: opens one read-only file again and again until refused, reports the count and why, then holds them for a while (QUERY_STRING: seconds). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    const char *q = getenv("QUERY_STRING");
    int n = 0, e = 0;

    for (;;) {
        int fd = open("/data/f", O_RDONLY);
        if (fd < 0) {
            e = errno;
            break;
        }
        if (++n >= 100000)
            break;
    }
    printf("Content-Type: text/plain\n\nopened=%d err=%s\n", n, e == EMFILE ? "EMFILE" : strerror(e));
    fflush(stdout);
    sleep(q && *q ? (unsigned)atoi(q) : 0);
    return 0;
}
