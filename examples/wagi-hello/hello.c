/* hello.c - the smallest WAGI function: CGI headers, a blank line, then the body. */
#include <stdio.h>

int main(void)
{
    printf("Content-Type: text/plain\n\n");
    printf("Hello from Kernless!\n");
    return 0;
}
