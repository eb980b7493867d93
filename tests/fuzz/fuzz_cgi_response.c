/* fuzz_cgi_response.c - libFuzzer target: the WAGI (CGI) response parser on arbitrary function output. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/cgi_response.h"

/** libFuzzer entry: parse, then check the result is something the HTTP layer can send safely. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kl_cgi_response r;
    char why[256];

    memset(&r, 0, sizeof(r));
    if (kl_cgi_parse(data, size, &r, why, sizeof(why)) == 0) {
        if (r.status < 100 || r.status > 999)
            abort();
        if (r.nheaders > KL_CGI_MAX_HEADERS)
            abort();
        /* The body must lie inside the input. */
        if (r.body_len && (r.body < data || r.body_len > size ||
                           (size_t)(r.body - data) > size - r.body_len))
            abort();
        /* No header may smuggle a line break into the HTTP response. */
        for (size_t i = 0; i < r.nheaders; i++)
            if (strpbrk(r.headers[i].name, "\r\n:") || strpbrk(r.headers[i].value, "\r\n"))
                abort();
    }
    kl_cgi_response_free(&r);
    return 0;
}
