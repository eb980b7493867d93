/* flood_stderr_lines: 20000 short stderr lines (under the capture cap) and then a valid response: served, with the logged lines capped. */
#include <stdio.h>

int main(void)
{
    for (int i = 0; i < 20000; i++)
        fprintf(stderr, "noise line %d\n", i);
    printf("Content-Type: text/plain\n\nlogged a lot\n");
    return 0;
}
