/* main.c - a WAGI function: CGI headers on stdout, a blank line, then the body. */
#include <stdio.h>

#include "kernless_sdk.h"

int main(void)
{
    char greeting[64];
    uint32_t n;

    /* Host services (kernless_sdk.h): variables, key-value stores and
     * outbound HTTP, each only if kernless.toml declares it. Undeclared,
     * a call fails with a reason (kl_svc_reason()) and the function goes on. */
    if (kl_var_get("greeting", greeting, sizeof(greeting), &n) != KL_SVC_OK)
        snprintf(greeting, sizeof(greeting), "Hello");
    printf("Content-Type: text/plain\n\n");
    printf("%s from C!\n", greeting);
    return 0;
}
