/* flood.c - WAGI: writes 64 KiB of body, more than a 16 KiB response limit allows. */
#include <stdio.h>
#include <string.h>

int main(void)
{
    static char chunk[1024];
    memset(chunk, 'x', sizeof(chunk));
    printf("Content-Type: text/plain\n\n");
    for (int i = 0; i < 64; i++)
        fwrite(chunk, 1, sizeof(chunk), stdout);
    return 0;
}
