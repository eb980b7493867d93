/* sleeper.c - sleeps 10 s inside poll_oneoff, to check a timeout also fires while the guest is blocked in a host call. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("sleeping\n");
    fflush(stdout);
    sleep(10);
    printf("woke\n");
    return 0;
}
