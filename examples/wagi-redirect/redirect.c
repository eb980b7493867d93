/* redirect.c - a WAGI redirect: a Location header alone becomes a 302 to it. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    const char *to = getenv("REDIRECT_TO");

    /* Without a Status header the gateway answers 302 for a Location. */
    printf("Location: %s\n\n", to ? to : "/hello");
    return 0;
}
