/* wasi_iovec_flood: one fd_write with a million overlapping iovecs (2 MB of output from 8 MB of iovecs), far past the response cap. */
#include <stdlib.h>
#include <wasi/api.h>

int main(void)
{
    size_t count = 1000000;
    __wasi_ciovec_t *v = malloc(count * sizeof(*v));
    static const char hdr[] = "Content-Type: text/plain\n\n";
    __wasi_ciovec_t h = {(const uint8_t *)hdr, sizeof(hdr) - 1};
    __wasi_size_t n;

    if (!v)
        return 2;
    for (size_t i = 0; i < count; i++) {
        v[i].buf = (const uint8_t *)"zz";
        v[i].buf_len = 2;
    }
    (void)__wasi_fd_write(1, &h, 1, &n);
    (void)__wasi_fd_write(1, v, (__wasi_size_t)count, &n);
    return 0;
}
