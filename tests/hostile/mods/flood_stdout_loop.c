/* flood_stdout_loop: writes to stdout forever, 100 bytes per fd_write, ignoring every error; the host must stop it at the output cap. */
#include <string.h>
#include <wasi/api.h>

int main(void)
{
    static char line[100];
    __wasi_ciovec_t iov = {(const uint8_t *)line, sizeof(line)};
    __wasi_size_t n;

    memset(line, 'y', sizeof(line));
    for (;;)
        (void)__wasi_fd_write(1, &iov, 1, &n);
}
