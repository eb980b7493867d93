/* flood_stdout: a valid CGI header and then 1 MiB of body in one fd_write, past the --max-response-kb cap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static char buf[1 << 20];

    memset(buf, 'x', sizeof(buf));
    printf("Content-Type: text/plain\n\n");
    fwrite(buf, 1, sizeof(buf), stdout);
    return 0;
}
