/* flood.c - soak function: writes FLOOD_KB KiB (default 256), over its --max-response-kb
 * (expected: 502, cause output_limit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *s = getenv("FLOOD_KB");
    unsigned long kb = s ? strtoul(s, NULL, 10) : 256, i;
    static char line[1024];

    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\n';
    printf("Content-Type: text/plain\n\n");
    for (i = 0; i < kb; i++)
        fwrite(line, 1, sizeof(line), stdout);
    return 0;
}
