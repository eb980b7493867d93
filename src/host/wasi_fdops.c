/* wasi_fdops.c - KL_HC_FS operations on an open handle: I/O, seek, sync, attributes, readdir. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "host/wasi_fdops.h"
#include "host/wasi_guest.h"
#include "host/wasi_handles.h"

/* The handle of a call that must be a file (not a directory). */
static int file_handle(struct kl_fs_call *c, struct kl_fs_handle **out)
{
    struct kl_fs_handle *h = kl_fs_handle(c->fs, c->a->h);

    if (!h)
        return -EBADF;
    if (h->dir)
        return -EISDIR;
    *out = h;
    return 0;
}

/* A regular file the call may change: EPERM under a read-only preopen. */
static int writable_file(struct kl_fs_call *c, struct kl_fs_handle **out)
{
    int rc = file_handle(c, out);

    return rc < 0 ? rc : (*out)->readonly ? -EPERM : 0;
}

int kl_fs_op_close(struct kl_fs_call *c)
{
    struct kl_fs_handle *h = kl_fs_handle(c->fs, c->a->h);

    if (!h)
        return -EBADF;
    kl_fs_handle_close(h);
    return 0;
}

/* Translate the call's iovecs; the kernel then moves bytes straight to or from guest memory. */
static int guest_iovs(struct kl_fs_call *c, int to_guest, struct iovec *v)
{
    const struct kl_hc_fs *a = c->a;

    if (a->niov > KL_FS_MAX_IOV)
        return -EINVAL;
    for (uint32_t i = 0; i < a->niov; i++) {
        v[i].iov_len = a->iov[i].len;
        v[i].iov_base = kl_fs_guest(c, a->iov[i].buf, a->iov[i].len,
                                    to_guest ? KL_GMEM_WRITE : KL_GMEM_READ, "hostcall fs: buffer");
        if (!v[i].iov_base)
            return -EFAULT;
    }
    return 0;
}

int kl_fs_op_rw(struct kl_fs_call *c)
{
    struct kl_hc_fs *a = c->a;
    struct kl_fs_handle *h;
    struct iovec v[KL_FS_MAX_IOV];
    int write = a->op == KL_FS_WRITE || a->op == KL_FS_PWRITE;
    ssize_t n;
    int rc;

    if ((rc = file_handle(c, &h)) < 0)
        return rc;
    if (write && h->readonly)
        return -EPERM;
    if ((a->op == KL_FS_PREAD || a->op == KL_FS_PWRITE) && a->a > INT64_MAX)
        return -EINVAL;
    if ((rc = guest_iovs(c, !write, v)) < 0)
        return rc;
    do {
        switch (a->op) {
        case KL_FS_READ: n = readv(h->fd, v, (int)a->niov); break;
        case KL_FS_WRITE: n = writev(h->fd, v, (int)a->niov); break;
        case KL_FS_PREAD: n = preadv(h->fd, v, (int)a->niov, (off_t)a->a); break;
        default: n = pwritev(h->fd, v, (int)a->niov, (off_t)a->a); break;
        }
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    a->result = (uint64_t)n;
    return 0;
}

int kl_fs_op_seek(struct kl_fs_call *c)
{
    static const int whence[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    struct kl_fs_handle *h;
    off_t off;
    int rc;

    if ((rc = file_handle(c, &h)) < 0)
        return rc;
    if (c->a->flags > 2)
        return -EINVAL;
    if ((off = lseek(h->fd, (off_t)(int64_t)c->a->a, whence[c->a->flags])) < 0)
        return -errno;
    c->a->result = (uint64_t)off;
    return 0;
}

int kl_fs_op_sync(struct kl_fs_call *c)
{
    struct kl_fs_handle *h = kl_fs_handle(c->fs, c->a->h);
    int fd;

    if (!h)
        return -EBADF;
    if ((fd = kl_fs_io_fd(h)) < 0)
        return fd;
    if ((c->a->op == KL_FS_SYNC ? fsync(fd) : fdatasync(fd)) < 0)
        return -errno;
    return 0;
}

int kl_fs_op_advise(struct kl_fs_call *c)
{
    static const int advice[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                 POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
    struct kl_fs_handle *h;
    int rc;

    if ((rc = file_handle(c, &h)) < 0)
        return rc;
    if (c->a->flags > 5 || c->a->a > INT64_MAX || c->a->b > INT64_MAX)
        return -EINVAL;
    /* posix_fadvise returns the error instead of setting errno. */
    return -posix_fadvise(h->fd, (off_t)c->a->a, (off_t)c->a->b, advice[c->a->flags]);
}

int kl_fs_op_allocate(struct kl_fs_call *c)
{
    struct kl_fs_handle *h;
    int rc;

    if ((rc = writable_file(c, &h)) < 0)
        return rc;
    if (c->a->b == 0 || c->a->a > INT64_MAX || c->a->b > INT64_MAX - c->a->a)
        return -EINVAL;
    return -posix_fallocate(h->fd, (off_t)c->a->a, (off_t)c->a->b);
}

int kl_fs_op_filestat(struct kl_fs_call *c)
{
    struct kl_fs_handle *h = kl_fs_handle(c->fs, c->a->h);
    struct stat st;

    if (!h)
        return -EBADF;
    if (fstat(h->fd, &st) < 0)
        return -errno;
    kl_fs_stat_fill(&c->a->stat, &st);
    return 0;
}

int kl_fs_op_set_size(struct kl_fs_call *c)
{
    struct kl_fs_handle *h;
    int rc;

    if ((rc = writable_file(c, &h)) < 0)
        return rc;
    if (c->a->a > INT64_MAX)
        return -EINVAL;
    return ftruncate(h->fd, (off_t)c->a->a) < 0 ? -errno : 0;
}

int kl_fs_op_set_times(struct kl_fs_call *c)
{
    struct kl_fs_handle *h = kl_fs_handle(c->fs, c->a->h);
    struct timespec ts[2];
    int rc;

    if (!h)
        return -EBADF;
    if ((rc = kl_fs_times(c->a->a, c->a->b, c->a->flags, ts)) < 0)
        return rc;
    if (h->readonly)
        return -EPERM;
    /* futimens needs a real descriptor; an O_PATH one works through AT_EMPTY_PATH. */
    rc = h->opath ? utimensat(h->fd, "", ts, AT_EMPTY_PATH) : futimens(h->fd, ts);
    return rc < 0 ? -errno : 0;
}

int kl_fs_op_set_flags(struct kl_fs_call *c)
{
    struct kl_fs_handle *h = kl_fs_handle(c->fs, c->a->h);
    struct stat st;
    int fl;

    if (!h)
        return -EBADF;
    if (h->dir)
        return 0;   /* nothing a directory does depends on these flags */
    if ((fl = fcntl(h->fd, F_GETFL)) < 0 || fstat(h->fd, &st) < 0)
        return -errno;
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (c->a->flags & KL_WASI_FD_APPEND)
        fl |= O_APPEND;
    /* Pipes and devices stay non-blocking: a blocked read would stall the VM's thread. */
    if (c->a->flags & KL_WASI_FD_NONBLOCK || !S_ISREG(st.st_mode))
        fl |= O_NONBLOCK;
    return fcntl(h->fd, F_SETFL, fl) < 0 ? -errno : 0;
}

/* ---- readdir ---- */

/* Where dirents go: the guest's buffer, filled to the last byte. */
struct dirents {
    uint8_t *p;
    uint32_t len, used;
};

/*
 * Append one WASI dirent (24-byte header, then the name without NUL). When it
 * does not fit, write what does: a full buffer tells the guest to call again.
 * Returns 1 if the whole entry fit.
 */
static int put_dirent(struct dirents *o, uint64_t next, uint64_t ino, uint8_t type, const char *name)
{
    uint8_t hdr[24] = {0};
    uint32_t nl = (uint32_t)strlen(name);
    uint32_t room = o->len - o->used, k1, k2;

    memcpy(hdr, &next, 8);
    memcpy(hdr + 8, &ino, 8);
    memcpy(hdr + 16, &nl, 4);
    hdr[20] = type;
    k1 = room < 24 ? room : 24;
    memcpy(o->p + o->used, hdr, k1);
    o->used += k1;
    room -= k1;
    k2 = room < nl ? room : nl;
    memcpy(o->p + o->used, name, k2);
    o->used += k2;
    return k1 == 24 && k2 == nl;
}

static uint8_t dt_type(DIR *d, const struct dirent *e)
{
    struct stat st;

    switch (e->d_type) {
    case DT_REG: return KL_WASI_FILETYPE_REG;
    case DT_DIR: return KL_WASI_FILETYPE_DIR;
    case DT_LNK: return KL_WASI_FILETYPE_SYMLINK;
    case DT_CHR: return KL_WASI_FILETYPE_CHAR;
    case DT_BLK: return KL_WASI_FILETYPE_BLOCK;
    case DT_SOCK: return KL_WASI_FILETYPE_SOCK_STREAM;
    case DT_UNKNOWN:   /* some filesystems do not say: ask (a single component, no follow) */
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            struct kl_fs_stat ks;
            kl_fs_stat_fill(&ks, &st);
            return ks.filetype;
        }
        return KL_WASI_FILETYPE_UNKNOWN;
    default: return KL_WASI_FILETYPE_UNKNOWN;
    }
}

/* The next entry other than "." and ".." (those are made up, see below); NULL at the end. */
static struct dirent *next_entry(DIR *d)
{
    struct dirent *e;

    while ((e = readdir(d)) && (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")))
        ;
    return e;
}

/* "." and "..": at the top of a preopen ".." is the directory itself, like "/" on a host. */
static int put_dots(struct kl_fs_call *c, struct kl_fs_handle *h, struct dirents *o, uint64_t cookie)
{
    const struct kl_fs_root *r = &c->fs->roots[h->preopen];
    struct stat self, up;

    if (fstat(h->fd, &self) < 0)
        return -errno;
    up = self;
    if ((self.st_dev != r->dev || self.st_ino != r->ino) &&
        fstatat(h->fd, "..", &up, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (cookie == 0 && !put_dirent(o, 1, self.st_ino, KL_WASI_FILETYPE_DIR, "."))
        return 1;
    if (!put_dirent(o, 2, up.st_ino, KL_WASI_FILETYPE_DIR, ".."))
        return 1;
    return 0;
}

/* Open the stream lazily; it owns its own descriptor so seeks never disturb h->fd. */
static int dir_stream(struct kl_fs_handle *h)
{
    int fd;

    if (h->dirp)
        return 0;
    if ((fd = kl_fs_fd_high(openat(h->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC))) < 0)
        return -errno;
    if (!(h->dirp = fdopendir(fd))) {
        int e = -errno;
        close(fd);
        return e;
    }
    h->dir_next = 2;
    return 0;
}

/* Position the stream so that it returns the entry with WASI cookie `want` (>= 2) next. */
static int dir_seek(struct kl_fs_handle *h, uint64_t want)
{
    /* Rewind for a fresh listing too: a stream at its end would miss new files. */
    if (want <= 2 || want < h->dir_next) {
        rewinddir(h->dirp);
        h->dir_next = 2;
    }
    while (h->dir_next < want) {
        if (!next_entry(h->dirp))
            return 1;
        h->dir_next++;
    }
    return 0;
}

int kl_fs_op_readdir(struct kl_fs_call *c)
{
    struct kl_hc_fs *a = c->a;
    struct kl_fs_handle *h = kl_fs_handle(c->fs, a->h);
    struct dirents o = {0};
    struct dirent *e;
    int rc;

    if (!h)
        return -EBADF;
    if (!h->dir)
        return -ENOTDIR;
    if (!(o.p = kl_fs_guest(c, a->buf, a->buf_len, KL_GMEM_WRITE, "hostcall fs: readdir buffer")))
        return -EFAULT;
    o.len = a->buf_len;
    if (a->a < 2 && (rc = put_dots(c, h, &o, a->a)) != 0)
        goto out;
    if ((rc = dir_stream(h)) < 0 || (rc = dir_seek(h, a->a < 2 ? 2 : a->a)) != 0)
        goto out;
    for (;;) {
        long loc = telldir(h->dirp);
        errno = 0;
        if (!(e = next_entry(h->dirp))) {
            rc = errno ? -errno : 0;
            break;
        }
        if (!put_dirent(&o, h->dir_next + 1, e->d_ino, dt_type(h->dirp, e), e->d_name)) {
            seekdir(h->dirp, loc);   /* the guest will ask for this one again */
            break;
        }
        h->dir_next++;
    }
out:
    a->result = o.used;
    return rc < 0 ? rc : 0;
}
