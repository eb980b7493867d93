/* loop_stdin: reads stdin forever, ignoring EOF and errors, spinning on the read call. */
#include <unistd.h>

int main(void)
{
    char buf[4096];
    volatile unsigned long total = 0;

    for (;;) {
        ssize_t n = read(0, buf, sizeof(buf));
        if (n > 0)
            total += (unsigned long)n;
    }
}
