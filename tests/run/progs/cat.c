/* cat.c - copies stdin to stdout byte for byte (binary safe) and reports the count on stderr. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    static char buf[65536];
    long long total = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) { perror("read"); return 2; }
        if (n == 0) break;
        /* write() may be short: loop until the whole chunk is out. */
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w <= 0) { perror("write"); return 3; }
            off += w;
        }
        total += n;
    }
    fprintf(stderr, "cat: %lld bytes\n", total);
    return 0;
}
