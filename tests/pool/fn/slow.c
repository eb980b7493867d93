/* slow.c - WAGI: sleeps 400 ms, to hold a VM busy while the queue is tested. */
#include <stdio.h>
#include <time.h>

int main(void)
{
    struct timespec t = {0, 400 * 1000000L};
    nanosleep(&t, NULL);
    printf("Content-Type: text/plain\n\nslept\n");
    return 0;
}
