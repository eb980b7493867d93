/* wasi_fs.c - WASI descriptor and path calls; stdio is served here, other descriptors need preopens. */
#include <string.h>

#include "wasi.h"

#define W(name) Z_wasi_snapshot_preview1Z_##name

u32 kl_wasi_stdio_write(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nwritten);
u32 kl_wasi_stdio_read(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nread);
u32 kl_wasi_stdio_fdstat(wasi_t *w, u32 fd, u32 buf);
u32 kl_wasi_stdio_close(u32 fd);

/** No preopens yet: nothing beyond stdio exists. */
void kl_wasi_fs_init(void) {}

/* Every call on a descriptor that is not open stdio: EBADF, as WASI says. */
#define NOT_STDIO(fd) (!kl_wasi_fs_is_stdio(fd))

u32 kl_wasi_poll_fd_ready(u32 fd, int want_write)
{
    if (NOT_STDIO(fd) || (want_write ? fd == 0 : fd != 0))
        return WASI_EBADF;
    return WASI_ESUCCESS;
}

u32 W(fd_write)(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nwritten)
{
    return NOT_STDIO(fd) ? WASI_EBADF : kl_wasi_stdio_write(w, fd, iovs, n, nwritten);
}

u32 W(fd_read)(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nread)
{
    return NOT_STDIO(fd) ? WASI_EBADF : kl_wasi_stdio_read(w, fd, iovs, n, nread);
}

u32 W(fd_fdstat_get)(wasi_t *w, u32 fd, u32 buf)
{
    return NOT_STDIO(fd) ? WASI_EBADF : kl_wasi_stdio_fdstat(w, fd, buf);
}

u32 W(fd_close)(wasi_t *w, u32 fd)
{
    return NOT_STDIO(fd) ? WASI_EBADF : kl_wasi_stdio_close(fd);
}

/* stdio is a stream: seeking is ESPIPE, as on a terminal or pipe. */
u32 W(fd_seek)(wasi_t *w, u32 fd, u64 off, u32 whence, u32 newoff)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ESPIPE;
}

u32 W(fd_tell)(wasi_t *w, u32 fd, u32 off) { return NOT_STDIO(fd) ? WASI_EBADF : WASI_ESPIPE; }

u32 W(fd_prestat_get)(wasi_t *w, u32 fd, u32 buf) { return WASI_EBADF; }
u32 W(fd_prestat_dir_name)(wasi_t *w, u32 fd, u32 p, u32 len) { return WASI_EBADF; }

/* Operations that make no sense on a character stream. */
u32 W(fd_pread)(wasi_t *w, u32 fd, u32 iovs, u32 n, u64 off, u32 nread)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ESPIPE;
}
u32 W(fd_pwrite)(wasi_t *w, u32 fd, u32 iovs, u32 n, u64 off, u32 nw)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ESPIPE;
}
u32 W(fd_sync)(wasi_t *w, u32 fd) { return NOT_STDIO(fd) ? WASI_EBADF : WASI_EINVAL; }
u32 W(fd_datasync)(wasi_t *w, u32 fd) { return NOT_STDIO(fd) ? WASI_EBADF : WASI_EINVAL; }
u32 W(fd_advise)(wasi_t *w, u32 fd, u64 off, u64 len, u32 adv)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ESPIPE;
}
u32 W(fd_allocate)(wasi_t *w, u32 fd, u64 off, u64 len)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ESPIPE;
}
u32 W(fd_fdstat_set_flags)(wasi_t *w, u32 fd, u32 flags)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ESUCCESS;
}
u32 W(fd_fdstat_set_rights)(wasi_t *w, u32 fd, u64 base, u64 inh)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ESUCCESS;
}

/** filestat of stdio: a character device with everything else zero. */
u32 W(fd_filestat_get)(wasi_t *w, u32 fd, u32 buf)
{
    uint8_t *p = wasi_mem(w, buf, 64);
    if (NOT_STDIO(fd))
        return WASI_EBADF;
    if (!p)
        return WASI_EFAULT;
    memset(p, 0, 64);
    p[16] = 2;   /* filetype at offset 16: CHARACTER_DEVICE */
    return WASI_ESUCCESS;
}
u32 W(fd_filestat_set_size)(wasi_t *w, u32 fd, u64 size)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_EINVAL;
}
u32 W(fd_filestat_set_times)(wasi_t *w, u32 fd, u64 a, u64 m, u32 flags)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ESUCCESS;
}
u32 W(fd_readdir)(wasi_t *w, u32 fd, u32 buf, u32 len, u64 cookie, u32 used)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ENOTDIR;
}
u32 W(fd_renumber)(wasi_t *w, u32 from, u32 to)
{
    return WASI_EBADF;   /* stdio may not be renumbered without preopens */
}

/* Paths are relative to a directory descriptor; with no preopens there is none. */
u32 W(path_create_directory)(wasi_t *w, u32 fd, u32 p, u32 l) { return WASI_EBADF; }
u32 W(path_filestat_get)(wasi_t *w, u32 fd, u32 f, u32 p, u32 l, u32 b) { return WASI_EBADF; }
u32 W(path_filestat_set_times)(wasi_t *w, u32 fd, u32 f, u32 p, u32 l, u64 a, u64 m, u32 fl)
{
    return WASI_EBADF;
}
u32 W(path_link)(wasi_t *w, u32 fd, u32 f, u32 p, u32 l, u32 fd2, u32 p2, u32 l2)
{
    return WASI_EBADF;
}
u32 W(path_open)(wasi_t *w, u32 fd, u32 df, u32 p, u32 l, u32 of, u64 rb, u64 ri, u32 ff, u32 out)
{
    return WASI_EBADF;
}
u32 W(path_readlink)(wasi_t *w, u32 fd, u32 p, u32 l, u32 b, u32 bl, u32 used) { return WASI_EBADF; }
u32 W(path_remove_directory)(wasi_t *w, u32 fd, u32 p, u32 l) { return WASI_EBADF; }
u32 W(path_rename)(wasi_t *w, u32 fd, u32 p, u32 l, u32 fd2, u32 p2, u32 l2) { return WASI_EBADF; }
u32 W(path_symlink)(wasi_t *w, u32 p, u32 l, u32 fd, u32 p2, u32 l2) { return WASI_EBADF; }
u32 W(path_unlink_file)(wasi_t *w, u32 fd, u32 p, u32 l) { return WASI_EBADF; }

/* No sockets are ever handed to a guest, so every socket call sees a non-socket. */
u32 W(sock_accept)(wasi_t *w, u32 fd, u32 flags, u32 out) { return NOT_STDIO(fd) ? WASI_EBADF : WASI_ENOTSOCK; }
u32 W(sock_recv)(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 fl, u32 nr, u32 of)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ENOTSOCK;
}
u32 W(sock_send)(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 fl, u32 ns)
{
    return NOT_STDIO(fd) ? WASI_EBADF : WASI_ENOTSOCK;
}
u32 W(sock_shutdown)(wasi_t *w, u32 fd, u32 how) { return NOT_STDIO(fd) ? WASI_EBADF : WASI_ENOTSOCK; }
