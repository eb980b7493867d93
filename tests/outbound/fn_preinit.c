/* fn_preinit.c - a module that calls a host service before its snapshot (kernless.ready): start-up has no request, so no services. */
#include <stdio.h>

#include "kernless/sdk.h"

__attribute__((import_module("kernless"), import_name("ready"))) void kl_ready(void);

int main(void)
{
    char before[64], after[64];
    uint32_t n, e1, e2;

    e1 = kl_var_get("greeting", before, sizeof(before), &n);   /* at start-up: denied */
    kl_ready();
    e2 = kl_var_get("greeting", after, sizeof(after), &n);      /* in the request */
    printf("Content-Type: text/plain\n\nbefore=%u after=%u %s\n", e1, e2, e2 ? "" : after);
    return 0;
}
