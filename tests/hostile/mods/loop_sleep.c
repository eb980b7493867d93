/* loop_sleep: sleeps for an hour through poll_oneoff, again and again; the host's sleep must honour the deadline. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("Content-Type: text/plain\n\n");
    fflush(stdout);
    for (;;)
        sleep(3600);
}
