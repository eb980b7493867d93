/* trap_after_output: writes a complete-looking CGI response, flushes it, then traps; the partial response must not be served. */
#include <stdio.h>

int main(void)
{
    printf("Content-Type: text/plain\nStatus: 200\n\nLOOKS-FINE\n");
    fflush(stdout);
    fprintf(stderr, "about to trap\n");
    __builtin_trap();
}
