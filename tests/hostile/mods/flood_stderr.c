/* flood_stderr: writes 64 MiB to stderr in 1 MiB writes, ignoring errors, then a valid response; stderr must stay bounded. */
#include <string.h>
#include <wasi/api.h>

int main(void)
{
    static char buf[1 << 20];
    __wasi_ciovec_t iov = {(const uint8_t *)buf, sizeof(buf)};
    static const char ok[] = "Content-Type: text/plain\n\nafter flood\n";
    __wasi_ciovec_t okv = {(const uint8_t *)ok, sizeof(ok) - 1};
    __wasi_size_t n;

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = i % 64 == 63 ? '\n' : 'e';
    for (int i = 0; i < 64; i++)
        (void)__wasi_fd_write(2, &iov, 1, &n);
    (void)__wasi_fd_write(1, &okv, 1, &n);
    return 0;
}
