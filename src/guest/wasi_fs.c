/* wasi_fs.c - the WASI descriptor table and the fd_* calls: stdio in the guest, files through one KL_HC_FS exit each. */
#include "wasi_fd.h"

u32 kl_wasi_stdio_write(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nwritten);
u32 kl_wasi_stdio_read(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nread);
u32 kl_wasi_stdio_close(u32 fd);

/* Rights of the stdio streams: no seek or tell, so isatty() holds. */
#define R_STDIN (R_FD_READ | R_FD_FDSTAT_SET_FLAGS | R_FD_FILESTAT_GET | R_POLL_FD_READWRITE)
#define R_STDOUT (R_FD_WRITE | R_FD_FDSTAT_SET_FLAGS | R_FD_FILESTAT_GET | R_POLL_FD_READWRITE)

/* One I/O call moves at most this much, like Linux's own cap. */
#define IO_MAX 0x7ffff000u

static struct wfd fds[KL_WASI_MAX_FDS];
static u32 fds_used;   /* high-water mark: slots at and past it are free */

struct wfd *kl_wfd(u32 fd)
{
    return fd < fds_used && fds[fd].kind != WFD_FREE ? &fds[fd] : NULL;
}

int kl_wfd_alloc(struct wfd **slot)
{
    for (u32 i = 3; i < KL_WASI_MAX_FDS; i++)
        if (i >= fds_used || fds[i].kind == WFD_FREE) {
            if (i >= fds_used)
                fds_used = i + 1;
            *slot = &fds[i];
            return (int)i;
        }
    return -1;
}

/** Reset the table: stdio on 0-2, then the host's preopens from 3 in boot-block order. */
void kl_wasi_fs_init(void)
{
    u32 npre = KL_BOOT->npreopens;

    memset(fds, 0, sizeof(fds[0]) * fds_used);
    for (u32 i = 0; i < 3; i++)
        fds[i] = (struct wfd){.kind = WFD_STDIO, .filetype = FILETYPE_CHAR, .handle = i,
                              .preopen = -1, .base = i ? R_STDOUT : R_STDIN};
    if (npre > KL_WASI_MAX_FDS - 3)
        npre = KL_WASI_MAX_FDS - 3;
    for (u32 i = 0; i < npre; i++)
        fds[3 + i] = (struct wfd){.kind = WFD_DIR, .filetype = FILETYPE_DIR, .handle = i,
                                  .preopen = (int32_t)i, .base = R_DIR_ALL,
                                  .inh = R_DIR_ALL | R_FILE_ALL};
    fds_used = 3 + npre;
}

/* The open descriptor `fd` holding all of `rights`, or the WASI error. */
static u32 get_fd(u32 fd, u64 rights, struct wfd **out)
{
    struct wfd *f = kl_wfd(fd);

    if (!f)
        return WASI_EBADF;
    if ((f->base & rights) != rights)
        return WASI_ENOTCAPABLE;
    *out = f;
    return WASI_ESUCCESS;
}

/* Release what a descriptor holds on the host (or flush a stdio stream) and free it. */
static void release(struct wfd *f)
{
    if (f->kind == WFD_STDIO)
        kl_wasi_stdio_close(f->handle);
    else
        fs_call(fs_begin(KL_FS_CLOSE, f->handle));   /* an error leaves nothing to undo */
    *f = (struct wfd){0};
}

/* ---- reading and writing files ---- */

/* Load iovecs from *i into the call, up to KL_FS_MAX_IOV and `room` bytes; returns the bytes. */
static u64 iovs_load(wasi_t *w, const uint8_t *v, u32 n, u32 *i, struct kl_hc_fs *a, u64 room)
{
    u64 want = 0;

    for (; *i < n && a->niov < KL_FS_MAX_IOV && want < room; (*i)++) {
        u32 p = wasi_get32(v + 8 * *i), l = wasi_get32(v + 8 * *i + 4);
        if (l == 0)
            continue;
        if (l > room - want)
            l = (u32)(room - want);
        a->iov[a->niov].buf = gptr(wasi_mem(w, p, l));
        a->iov[a->niov++].len = l;
        want += l;
    }
    return want;
}

/* read/write/pread/pwrite on a file: batches of iovecs, stopping at the first short transfer. */
static u32 file_io(wasi_t *w, struct wfd *f, u32 op, u32 iovs, u32 n, u64 off, u32 done_ptr)
{
    uint8_t *v = wasi_mem(w, iovs, (u64)n * 8), *done = wasi_mem(w, done_ptr, 4);
    u64 total = 0;
    u32 i = 0, err;

    if (!v || !done || wasi_iovs_check(w, v, n))
        return WASI_EFAULT;
    while (i < n && total < IO_MAX) {
        struct kl_hc_fs *a = fs_begin(op, f->handle);
        a->a = off + total;
        u64 want = iovs_load(w, v, n, &i, a, IO_MAX - total);
        if (want == 0)
            break;
        if ((err = fs_call(a)) != 0) {
            if (total == 0)
                return err;
            break;   /* report what already moved, as readv would */
        }
        total += a->result;
        if (a->result < want)
            break;
    }
    wasi_put32(done, (u32)total);
    return WASI_ESUCCESS;
}

u32 W(fd_read)(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nread)
{
    struct wfd *f;
    u32 e = get_fd(fd, R_FD_READ, &f);

    if (e)
        return e;
    if (f->kind == WFD_STDIO)
        return kl_wasi_stdio_read(w, f->handle, iovs, n, nread);
    return f->kind == WFD_DIR ? WASI_EISDIR : file_io(w, f, KL_FS_READ, iovs, n, 0, nread);
}

u32 W(fd_write)(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nwritten)
{
    struct wfd *f;
    u32 e = get_fd(fd, R_FD_WRITE, &f);

    if (e)
        return e;
    if (f->kind == WFD_STDIO)
        return kl_wasi_stdio_write(w, f->handle, iovs, n, nwritten);
    return f->kind == WFD_DIR ? WASI_EISDIR : file_io(w, f, KL_FS_WRITE, iovs, n, 0, nwritten);
}

u32 W(fd_pread)(wasi_t *w, u32 fd, u32 iovs, u32 n, u64 off, u32 nread)
{
    struct wfd *f;
    u32 e = get_fd(fd, R_FD_READ, &f);

    if (e)
        return e;
    if (f->kind != WFD_FILE)
        return f->kind == WFD_DIR ? WASI_EISDIR : WASI_ESPIPE;
    return file_io(w, f, KL_FS_PREAD, iovs, n, off, nread);
}

u32 W(fd_pwrite)(wasi_t *w, u32 fd, u32 iovs, u32 n, u64 off, u32 nwritten)
{
    struct wfd *f;
    u32 e = get_fd(fd, R_FD_WRITE, &f);

    if (e)
        return e;
    if (f->kind != WFD_FILE)
        return f->kind == WFD_DIR ? WASI_EISDIR : WASI_ESPIPE;
    return file_io(w, f, KL_FS_PWRITE, iovs, n, off, nwritten);
}

/* ---- position ---- */

/* lseek through the host; stdio is a stream and cannot seek. */
static u32 seek(u32 fd, u64 right, u64 off, u32 whence, u32 out_ptr, wasi_t *w)
{
    uint8_t *out = wasi_mem(w, out_ptr, 8);
    struct kl_hc_fs *a;
    struct wfd *f = kl_wfd(fd);
    u32 e;

    if (f && f->kind == WFD_STDIO)
        return WASI_ESPIPE;
    if ((e = get_fd(fd, right, &f)) != 0)
        return e;
    if (whence > 2)
        return WASI_EINVAL;
    if (!out)
        return WASI_EFAULT;
    a = fs_begin(KL_FS_SEEK, f->handle);
    a->a = off;
    a->flags = whence;
    if ((e = fs_call(a)) != 0)
        return e;
    wasi_put64(out, a->result);
    return WASI_ESUCCESS;
}

u32 W(fd_seek)(wasi_t *w, u32 fd, u64 off, u32 whence, u32 newoff)
{
    /* Asking where we are is a tell, which FD_TELL alone allows. */
    return seek(fd, off == 0 && whence == 1 ? R_FD_TELL : R_FD_SEEK, off, whence, newoff, w);
}

u32 W(fd_tell)(wasi_t *w, u32 fd, u32 off)
{
    return seek(fd, R_FD_TELL, 0, 1, off, w);
}

/* ---- calls with no result but the errno ---- */

/* One host op on a file or directory descriptor holding `right`. */
static u32 simple(u32 fd, u64 right, u32 op, u64 a1, u64 b1, u32 flags)
{
    struct kl_hc_fs *a;
    struct wfd *f;
    u32 e = get_fd(fd, right, &f);

    if (e)
        return e;
    if (f->kind == WFD_STDIO)
        return WASI_EINVAL;   /* only reached for rights stdio holds: not a file op */
    a = fs_begin(op, f->handle);
    a->a = a1;
    a->b = b1;
    a->flags = flags;
    return fs_call(a);
}

u32 W(fd_sync)(wasi_t *w, u32 fd) { return simple(fd, R_FD_SYNC, KL_FS_SYNC, 0, 0, 0); }
u32 W(fd_datasync)(wasi_t *w, u32 fd) { return simple(fd, R_FD_DATASYNC, KL_FS_DATASYNC, 0, 0, 0); }

u32 W(fd_advise)(wasi_t *w, u32 fd, u64 off, u64 len, u32 advice)
{
    struct wfd *f;
    u32 e = get_fd(fd, R_FD_ADVISE, &f);

    if (e)
        return e;
    return advice > 5 ? WASI_EINVAL : simple(fd, R_FD_ADVISE, KL_FS_ADVISE, off, len, advice);
}

u32 W(fd_allocate)(wasi_t *w, u32 fd, u64 off, u64 len)
{
    return simple(fd, R_FD_ALLOCATE, KL_FS_ALLOCATE, off, len, 0);
}

u32 W(fd_filestat_set_size)(wasi_t *w, u32 fd, u64 size)
{
    return simple(fd, R_FD_FILESTAT_SET_SIZE, KL_FS_SET_SIZE, size, 0, 0);
}

u32 W(fd_filestat_set_times)(wasi_t *w, u32 fd, u64 atim, u64 mtim, u32 fst)
{
    return simple(fd, R_FD_FILESTAT_SET_TIMES, KL_FS_SET_TIMES, atim, mtim, fst);
}

/* ---- descriptor attributes ---- */

u32 W(fd_filestat_get)(wasi_t *w, u32 fd, u32 buf)
{
    uint8_t *p = wasi_mem(w, buf, 64);
    struct kl_hc_fs *a;
    struct wfd *f;
    u32 e = get_fd(fd, R_FD_FILESTAT_GET, &f);

    if (e)
        return e;
    if (!p)
        return WASI_EFAULT;
    if (f->kind == WFD_STDIO) {   /* a character device with nothing else known */
        memset(p, 0, 64);
        p[16] = FILETYPE_CHAR;
        return WASI_ESUCCESS;
    }
    a = fs_begin(KL_FS_FILESTAT, f->handle);
    if ((e = fs_call(a)) != 0)
        return e;
    memcpy(p, &a->stat, 64);
    return WASI_ESUCCESS;
}

u32 W(fd_fdstat_get)(wasi_t *w, u32 fd, u32 buf)
{
    uint8_t *p = wasi_mem(w, buf, 24);
    struct wfd *f = kl_wfd(fd);

    if (!f)
        return WASI_EBADF;
    if (!p)
        return WASI_EFAULT;
    memset(p, 0, 24);
    p[0] = f->filetype;
    memcpy(p + 2, &f->flags, 2);
    wasi_put64(p + 8, f->base);
    wasi_put64(p + 16, f->inh);
    return WASI_ESUCCESS;
}

u32 W(fd_fdstat_set_flags)(wasi_t *w, u32 fd, u32 flags)
{
    const u32 sync = FDFLAG_DSYNC | FDFLAG_RSYNC | FDFLAG_SYNC;
    struct kl_hc_fs *a;
    struct wfd *f;
    u32 e = get_fd(fd, R_FD_FDSTAT_SET_FLAGS, &f);

    if (e)
        return e;
    /* The sync modes are fixed at open, as in wasmtime. */
    if (flags & ~0x1Fu || (flags & sync) != (f->flags & sync))
        return WASI_EINVAL;
    if (f->kind == WFD_FILE) {
        a = fs_begin(KL_FS_SET_FLAGS, f->handle);
        a->flags = flags;
        if ((e = fs_call(a)) != 0)
            return e;
    }
    f->flags = (uint16_t)flags;
    return WASI_ESUCCESS;
}

u32 W(fd_fdstat_set_rights)(wasi_t *w, u32 fd, u64 base, u64 inh)
{
    struct wfd *f = kl_wfd(fd);

    if (!f)
        return WASI_EBADF;
    /* Rights only ever shrink. */
    if ((base & ~f->base) || (inh & ~f->inh))
        return WASI_ENOTCAPABLE;
    f->base = base;
    f->inh = inh;
    return WASI_ESUCCESS;
}

/* ---- closing and renumbering ---- */

u32 W(fd_close)(wasi_t *w, u32 fd)
{
    struct wfd *f = kl_wfd(fd);

    if (!f)
        return WASI_EBADF;
    release(f);
    return WASI_ESUCCESS;
}

u32 W(fd_renumber)(wasi_t *w, u32 from, u32 to)
{
    struct wfd *f = kl_wfd(from), *t = kl_wfd(to);

    if (!f || !t)
        return WASI_EBADF;   /* both must be open, as in wasmtime */
    if (from == to)
        return WASI_ESUCCESS;
    release(t);
    *t = *f;
    *f = (struct wfd){0};
    return WASI_ESUCCESS;
}

/* ---- directories ---- */

u32 W(fd_readdir)(wasi_t *w, u32 fd, u32 buf, u32 len, u64 cookie, u32 used)
{
    uint8_t *p = wasi_mem(w, buf, len), *u = wasi_mem(w, used, 4);
    struct kl_hc_fs *a;
    struct wfd *f = kl_wfd(fd);
    u32 e;

    if (f && f->kind != WFD_DIR)
        return WASI_ENOTDIR;
    if ((e = get_fd(fd, R_FD_READDIR, &f)) != 0)
        return e;
    if (!p || !u)
        return WASI_EFAULT;
    a = fs_begin(KL_FS_READDIR, f->handle);
    a->a = cookie;
    a->buf = gptr(p);
    a->buf_len = len;
    if ((e = fs_call(a)) != 0)
        return e;
    wasi_put32(u, (u32)a->result);
    return WASI_ESUCCESS;
}

/* Name `i` of the boot block's NUL-separated preopen list. */
static const char *preopen_name(u32 i, u32 *len)
{
    const char *s = (const char *)(uintptr_t)KL_BOOT->preopen_buf;

    while (i--)
        s += strlen(s) + 1;
    *len = (u32)strlen(s);
    return s;
}

u32 W(fd_prestat_get)(wasi_t *w, u32 fd, u32 buf)
{
    uint8_t *p = wasi_mem(w, buf, 8);
    struct wfd *f = kl_wfd(fd);
    u32 len;

    if (!f || f->preopen < 0)
        return WASI_EBADF;
    if (!p)
        return WASI_EFAULT;
    preopen_name((u32)f->preopen, &len);
    memset(p, 0, 8);   /* tag 0: a directory */
    wasi_put32(p + 4, len);
    return WASI_ESUCCESS;
}

u32 W(fd_prestat_dir_name)(wasi_t *w, u32 fd, u32 path, u32 path_len)
{
    struct wfd *f = kl_wfd(fd);
    const char *name;
    uint8_t *p;
    u32 len;

    if (!f || f->preopen < 0)
        return WASI_EBADF;
    name = preopen_name((u32)f->preopen, &len);
    if (path_len < len)
        return WASI_ENAMETOOLONG;
    if (!(p = wasi_mem(w, path, len)))
        return WASI_EFAULT;
    memcpy(p, name, len);
    return WASI_ESUCCESS;
}

/* ---- poll_oneoff and sockets ---- */

/** Readiness of `fd` for poll_oneoff: stdio per direction; files never block. */
u32 kl_wasi_poll_fd_ready(u32 fd, int want_write)
{
    struct wfd *f = kl_wfd(fd);

    if (!f)
        return WASI_EBADF;
    if (f->kind == WFD_STDIO && (want_write ? f->handle == 0 : f->handle != 0))
        return WASI_EBADF;
    return WASI_ESUCCESS;
}

/* No sockets are ever handed to a guest, so every socket call sees a non-socket. */
static u32 not_sock(u32 fd) { return kl_wfd(fd) ? WASI_ENOTSOCK : WASI_EBADF; }

u32 W(sock_accept)(wasi_t *w, u32 fd, u32 flags, u32 out) { return not_sock(fd); }
u32 W(sock_recv)(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 fl, u32 nr, u32 of) { return not_sock(fd); }
u32 W(sock_send)(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 fl, u32 ns) { return not_sock(fd); }
u32 W(sock_shutdown)(wasi_t *w, u32 fd, u32 how) { return not_sock(fd); }
