/* noheader.c - test function that forgets the CGI header section. */
#include <stdio.h>

int main(void)
{
    printf("just a body, no headers\n");
    return 0;
}
