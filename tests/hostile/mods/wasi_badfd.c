/* wasi_badfd: every fd_* call on descriptors that were never open, are out of range, or were closed must fail with EBADF (8). */
#include <stdint.h>
#include <stdio.h>
#include <wasi/api.h>

static int bad;

static void note(const char *name, unsigned got, unsigned want)
{
    printf("%s %s: errno %u\n", got == want ? "ok" : "FAIL", name, got);
    bad += got != want;
}

int main(void)
{
    static char buf[16] = "hello\n";
    __wasi_ciovec_t cv = {(const uint8_t *)buf, 6};
    __wasi_iovec_t iv = {(uint8_t *)buf, 6};
    __wasi_size_t n;
    __wasi_filesize_t pos;
    __wasi_fdstat_t st;
    __wasi_filestat_t fst;
    __wasi_prestat_t pre;
    __wasi_fd_t fd;
    uint32_t fds[] = {3, 99, 1024, 0x7fffffffu, 0xffffffffu};

    printf("Content-Type: text/plain\n\n");
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        uint32_t f = fds[i];
        char name[48];
#define T(call, what) (snprintf(name, sizeof(name), "%s(%u)", what, f), note(name, call, 8))
        T(__wasi_fd_write(f, &cv, 1, &n), "fd_write");
        T(__wasi_fd_read(f, &iv, 1, &n), "fd_read");
        T(__wasi_fd_pread(f, &iv, 1, 0, &n), "fd_pread");
        T(__wasi_fd_pwrite(f, &cv, 1, 0, &n), "fd_pwrite");
        T(__wasi_fd_seek(f, 0, __WASI_WHENCE_SET, &pos), "fd_seek");
        T(__wasi_fd_tell(f, &pos), "fd_tell");
        T(__wasi_fd_fdstat_get(f, &st), "fd_fdstat_get");
        T(__wasi_fd_fdstat_set_flags(f, 0), "fd_fdstat_set_flags");
        T(__wasi_fd_filestat_get(f, &fst), "fd_filestat_get");
        T(__wasi_fd_sync(f), "fd_sync");
        T(__wasi_fd_advise(f, 0, 0, 0), "fd_advise");
        T(__wasi_fd_readdir(f, (uint8_t *)buf, sizeof(buf), 0, &n), "fd_readdir");
        T(__wasi_fd_prestat_get(f, &pre), "fd_prestat_get");
        T(__wasi_path_open(f, 0, "x", 0, 0, 0, 0, &fd), "path_open");
        T(__wasi_fd_renumber(f, 1), "fd_renumber_from");
        T(__wasi_fd_renumber(1, f), "fd_renumber_to");
        T(__wasi_fd_close(f), "fd_close");
    }
    /* closing stderr works once; then it is a bad descriptor like any other */
    note("close_stderr", __wasi_fd_close(2), 0);
    note("write_closed_stderr", __wasi_fd_write(2, &cv, 1, &n), 8);
    note("close_stderr_again", __wasi_fd_close(2), 8);
    printf(bad ? "wasi_badfd: %d FAILED\n" : "wasi_badfd: all ok\n", bad);
    fflush(stdout);
    /* and the same for stdout itself: the exit status tells */
    if (__wasi_fd_close(1) != 0)
        return 5;
    return __wasi_fd_write(1, &cv, 1, &n) == 8 ? 0 : 6;
}
