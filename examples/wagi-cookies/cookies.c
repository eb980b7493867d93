/* cookies.c - a WAGI function setting several cookies: repeated headers are all kept. */
#include <stdio.h>

int main(void)
{
    printf("Content-Type: text/plain\n");
    printf("Set-Cookie: session=abc123; Path=/; HttpOnly\n");
    printf("Set-Cookie: theme=dark; Path=/\n");
    printf("Set-Cookie: lang=en; Path=/; Max-Age=3600\n");
    printf("Status: 201 Created\n\n");
    printf("three cookies set\n");
    return 0;
}
