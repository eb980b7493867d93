/* fuzz_wagi_env.c - libFuzzer target: build a WAGI environment and argv from an arbitrary HTTP request. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/wagi_env.h"

#define MAX_FIELDS 512

/*
 * Input: NUL-separated strings. The first eight are method, target, route,
 * listen host, listen port, protocol, remote address and request id; then
 * a count byte of function "K=V" values; the rest alternate header name and
 * value. libmicrohttpd hands us NUL-terminated strings, so NUL can never be
 * inside one, just as here.
 */
/** libFuzzer entry: build, check the shape of the result, free. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f[MAX_FIELDS];
    struct kl_wagi_header hdr[MAX_FIELDS / 2];
    struct kl_wagi_req q;
    struct kl_strv env, argv;
    char why[256], *s;
    size_t nf = 0, nenv, i;

    if (!(s = malloc(size + 1)))
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    for (char *p = s; nf < MAX_FIELDS; ) {
        f[nf++] = p;
        p += strlen(p);
        if (p == s + size)
            break;
        p++;
    }
    while (nf < 9)
        f[nf++] = "";
    memset(&q, 0, sizeof(q));
    q.method = f[0];
    q.target = f[1];
    q.route = f[2];
    q.listen_host = f[3];
    q.listen_port = f[4];
    q.protocol = f[5];
    q.remote_addr = f[6];
    q.request_id = f[7];
    nenv = (unsigned char)f[8][0] % 8;
    if (nenv > nf - 9)
        nenv = nf - 9;
    /* The function's own values come from its config and are always K=V. */
    for (i = 9; i < 9 + nenv; i++)
        if (!strchr(f[i], '='))
            f[i] = "K=V";
    q.fn_env = &f[9];
    q.fn_envc = nenv;
    for (i = 9 + nenv; i + 1 < nf; i += 2) {
        hdr[q.nheaders].name = f[i];
        hdr[q.nheaders].value = f[i + 1];
        q.nheaders++;
    }
    q.headers = hdr;
    q.content_length = size;
    if (kl_wagi_build(&q, &env, &argv, why, sizeof(why)) == 0) {
        /* Both vectors must be NULL-terminated and hold only K=V strings. */
        if (!argv.v || argv.v[argv.n] != NULL || argv.n == 0)
            abort();
        for (i = 0; i < env.n; i++)
            if (!strchr(env.v[i], '='))
                abort();
        if (env.v && env.v[env.n] != NULL)
            abort();
        kl_strv_free(&env);
        kl_strv_free(&argv);
    } else if (memchr(why, 0, sizeof(why)) == NULL) {
        abort();
    }
    free(s);
    return 0;
}
