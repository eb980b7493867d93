/* v2.c - test function answering "version two", to check redeploys and rollback. */
#include <stdio.h>

int main(void)
{
    printf("Content-Type: text/plain\n\nversion two\n");
    return 0;
}
