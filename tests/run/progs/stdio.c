/* stdio.c - interleaves stdout and stderr writes to check each reaches its own stream, in order. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    /* Raw write() so libc buffering cannot reorder anything within one stream. */
    write(1, "out 1\n", 6);
    write(2, "err 1\n", 6);
    write(1, "out 2\n", 6);
    write(2, "err 2\n", 6);
    /* A line left in stdio's buffer must still be flushed at exit. */
    printf("out 3 (buffered, no newline)");
    return 0;
}
