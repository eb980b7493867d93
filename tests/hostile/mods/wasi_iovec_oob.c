/* wasi_iovec_oob: fd_write/fd_read with iovec arrays, buffers and result pointers past linear memory: EFAULT (21) before any byte moves (expects the body AAAAAAAA BBBBBBBB \x00\xff\xff\xff\x00\x10\x00\x00). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static int bad;
static char report[8192];
static size_t rlen;

static void note(const char *name, unsigned got, unsigned want)
{
    rlen += (size_t)snprintf(report + rlen, sizeof(report) - rlen, "%s %s: errno %u%s\n",
                             got == want ? "ok" : "FAIL", name, got, got == want ? "" : " (wrong)");
    bad += got != want;
}

#define P(x) ((void *)(uintptr_t)(x))

int main(void)
{
    uint32_t end = (uint32_t)(__builtin_wasm_memory_size(0) * 65536);
    static char leak[] = "LEAK\n";
    static __wasi_ciovec_t two[2], many[1000];
    static __wasi_iovec_t self[2];
    static char body[64];
    __wasi_ciovec_t *v;
    __wasi_iovec_t rv;
    __wasi_size_t n = 12345;

    /* the iovec array itself past the end, straddling it, or at the top of the address space */
    note("iovs_straddle_end", __wasi_fd_write(1, P(end - 4), 1, &n), 21);
    note("iovs_at_end", __wasi_fd_write(1, P(end), 1, &n), 21);
    note("iovs_top", __wasi_fd_write(1, P(0xfffffff8u), 1, &n), 21);
    /* a buffer past the end, straddling it, wrapping around 4 GiB, or 4 GiB long */
    v = &two[0];
    v->buf = P(end - 2); v->buf_len = 10;
    note("buf_straddle_end", __wasi_fd_write(1, v, 1, &n), 21);
    v->buf = P(0xfffffff0u); v->buf_len = 0x20;
    note("buf_wraps", __wasi_fd_write(1, v, 1, &n), 21);
    v->buf = P(1); v->buf_len = 0xffffffffu;
    note("buf_len_4g", __wasi_fd_write(1, v, 1, &n), 21);
    /* a good iovec then a bad one: nothing of the good one may be written */
    two[0].buf = (const uint8_t *)leak; two[0].buf_len = 5;
    two[1].buf = P(end); two[1].buf_len = 1;
    note("good_then_bad", __wasi_fd_write(1, two, 2, &n), 21);
    /* a good iovec and a bad result pointer: nothing written either */
    note("nwritten_oob", __wasi_fd_write(1, two, 1, P(end - 2)), 21);
    /* an iovec count whose array would be 4 GiB */
    note("count_huge", __wasi_fd_write(1, two, 0x20000000u, &n), 21);
    note("count_max", __wasi_fd_write(2, two, 0xffffffffu, &n), 21);
    /* zero iovecs is fine and writes nothing */
    n = 77;
    note("count_zero", __wasi_fd_write(1, two, 0, &n), 0);
    note("count_zero_n", n, 0);
    /* stdin: a bad iovec anywhere must fail the call, and leave the body unread */
    rv.buf = P(end - 1); rv.buf_len = 2;
    note("read_buf_oob", __wasi_fd_read(0, &rv, 1, &n), 21);
    rv.buf = (uint8_t *)body; rv.buf_len = 4;
    note("read_nread_oob", __wasi_fd_read(0, &rv, 1, P(end)), 21);
    /* the failed reads consumed nothing: the body still starts at its first byte */
    rv.buf = (uint8_t *)body; rv.buf_len = 8;
    note("read_body_intact", __wasi_fd_read(0, &rv, 1, &n) == 0 && n == 8 &&
         memcmp(body, "AAAAAAAA", 8) == 0 ? 0 : 1, 0);
    /* an iovec array that the read itself overwrites: the second entry becomes
     * whatever the body says (here: past the end); reads must stay in bounds */
    self[0].buf = (uint8_t *)self; self[0].buf_len = 16;
    self[1].buf = (uint8_t *)body; self[1].buf_len = 8;
    {
        unsigned e = __wasi_fd_read(0, self, 2, &n);
        /* EFAULT (the rewritten entry is checked) or a read of only the first 16 bytes */
        note("read_self_overwrite", e == 21 || (e == 0 && n == 16) ? 0 : 1000 + e, 0);
    }
    /* overlapping iovecs are legal: 1000 views of one buffer */
    for (int i = 0; i < 1000; i++) {
        many[i].buf = (const uint8_t *)"ab"; many[i].buf_len = 2;
    }
    {
        static const char hdr[] = "Content-Type: text/plain\n\n";
        __wasi_ciovec_t h = {(const uint8_t *)hdr, sizeof(hdr) - 1};
        (void)__wasi_fd_write(1, &h, 1, &n);
    }
    note("overlap_1000", __wasi_fd_write(1, many, 1000, &n), 0);
    note("overlap_1000_n", n, 2000);
    (void)__wasi_fd_write(1, &(__wasi_ciovec_t){(const uint8_t *)"\n", 1}, 1, &n);
    printf("%s", report);
    printf(bad ? "wasi_iovec_oob: %d FAILED\n" : "wasi_iovec_oob: all ok\n", bad);
    return 0;
}
