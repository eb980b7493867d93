/* main.c - a WAGI function: CGI headers on stdout, a blank line, then the body. */
#include <stdio.h>

int main(void)
{
    printf("Content-Type: text/plain\n\n");
    printf("Hello from C!\n");
    return 0;
}
