/* swscope.c - test function that tries origin-wide headers (issue 20): a service worker scope of "/" and a Clear-Site-Data wipe. */
#include <stdio.h>

int main(void)
{
    /* X-Sw-Control shows that the function ran and its ordinary headers
     * still pass, so a missing header means it was stripped. */
    printf("Content-Type: text/javascript\nService-Worker-Allowed: /\n"
           "Clear-Site-Data: \"*\"\nX-Sw-Control: ran\n\nself.onfetch = e => 0;\n");
    return 0;
}
