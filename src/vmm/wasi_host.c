/* wasi_host.c - preopened directories, the host handle table and the KL_HC_FS dispatcher. */
#include "vmm/wasi_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/instance.h"
#include "vmm/wasi_host_impl.h"

/* ---- errno: Linux to WASI preview 1 ---- */

/* WASI numbers from wasi_snapshot_preview1.witx, indexed by Linux errno. */
static const uint8_t wasi_errnos[] = {
    [E2BIG] = 1, [EACCES] = 2, [EADDRINUSE] = 3, [EADDRNOTAVAIL] = 4, [EAFNOSUPPORT] = 5,
    [EAGAIN] = 6, [EALREADY] = 7, [EBADF] = 8, [EBADMSG] = 9, [EBUSY] = 10,
    [ECANCELED] = 11, [ECHILD] = 12, [ECONNABORTED] = 13, [ECONNREFUSED] = 14,
    [ECONNRESET] = 15, [EDEADLK] = 16, [EDESTADDRREQ] = 17, [EDOM] = 18, [EDQUOT] = 19,
    [EEXIST] = 20, [EFAULT] = 21, [EFBIG] = 22, [EHOSTUNREACH] = 23, [EIDRM] = 24,
    [EILSEQ] = 25, [EINPROGRESS] = 26, [EINTR] = 27, [EINVAL] = 28, [EIO] = 29,
    [EISCONN] = 30, [EISDIR] = 31, [ELOOP] = 32, [EMFILE] = 33, [EMLINK] = 34,
    [EMSGSIZE] = 35, [EMULTIHOP] = 36, [ENAMETOOLONG] = 37, [ENETDOWN] = 38,
    [ENETRESET] = 39, [ENETUNREACH] = 40, [ENFILE] = 41, [ENOBUFS] = 42, [ENODEV] = 43,
    [ENOENT] = 44, [ENOEXEC] = 45, [ENOLCK] = 46, [ENOLINK] = 47, [ENOMEM] = 48,
    [ENOMSG] = 49, [ENOPROTOOPT] = 50, [ENOSPC] = 51, [ENOSYS] = 52, [ENOTCONN] = 53,
    [ENOTDIR] = 54, [ENOTEMPTY] = 55, [ENOTRECOVERABLE] = 56, [ENOTSOCK] = 57,
    [EOPNOTSUPP] = 58, [ENOTTY] = 59, [ENXIO] = 60, [EOVERFLOW] = 61, [EOWNERDEAD] = 62,
    [EPERM] = 63, [EPIPE] = 64, [EPROTO] = 65, [EPROTONOSUPPORT] = 66, [EPROTOTYPE] = 67,
    [ERANGE] = 68, [EROFS] = 69, [ESPIPE] = 70, [ESRCH] = 71, [ESTALE] = 72,
    [ETIMEDOUT] = 73, [ETXTBSY] = 74, [EXDEV] = 75,
};

/* Map a -errno result to the guest's WASI errno; unknown values become EIO. */
static uint32_t wasi_errno(int rc)
{
    int e = -rc;

    if (rc >= 0)
        return 0;
    if (e > 0 && (size_t)e < sizeof(wasi_errnos) && wasi_errnos[e])
        return wasi_errnos[e];
    return 29;   /* EIO */
}

/* ---- preopens ---- */

static int table_grow(struct kl_fs *fs, uint32_t want)
{
    uint32_t cap = fs->cap ? fs->cap : 16;
    struct kl_fs_handle *h;

    while (cap < want)
        cap *= 2;
    if (cap <= fs->cap)
        return 0;
    if (!(h = realloc(fs->h, cap * sizeof(*h))))
        return -ENOMEM;
    for (uint32_t i = fs->cap; i < cap; i++)
        h[i] = (struct kl_fs_handle){.fd = -1, .rfd = -1};
    fs->h = h;
    fs->cap = cap;
    return 0;
}

/* Open one preopen as an O_PATH directory and remember its identity. */
static int open_preopen(struct kl_fs *fs, uint32_t i, const struct kl_preopen *p, struct kl_err *err)
{
    struct stat st;
    int fd = open(p->host_path, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return kl_errf(err, -errno, "--dir %s: %s", p->host_path, strerror(errno));
    fd = kl_fs_fd_high(fd);
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return kl_errf(err, e, "--dir %s: %s", p->host_path, strerror(-e));
    }
    /* O_PATH opens without read permission; the guest could not list it. */
    if (faccessat(fd, ".", R_OK | X_OK, AT_EACCESS) < 0) {
        int e = -errno;
        close(fd);
        return kl_errf(err, e, "--dir %s: %s", p->host_path, strerror(-e));
    }
    fs->h[i] = (struct kl_fs_handle){.fd = fd, .rfd = -1, .preopen = i, .dir = 1, .opath = 1,
                                     .readonly = p->readonly ? 1 : 0};
    fs->roots[i] = (struct kl_fs_root){st.st_dev, st.st_ino};
    return 0;
}

int kl_wasi_host_open(struct kl_fs **out, const struct kl_run_config *cfg, struct kl_err *err)
{
    struct kl_fs *fs = calloc(1, sizeof(*fs));
    uint32_t n = cfg->npreopens > 0 ? (uint32_t)cfg->npreopens : 0;
    int rc;

    *out = NULL;
    if (!fs)
        return kl_errf(err, -ENOMEM, "out of memory");
    if (n > KL_FS_MAX_PREOPENS) {
        rc = kl_errf(err, -E2BIG, "too many preopened directories (%u)", n);
        goto err_free;
    }
    fs->max_open = cfg->max_open_files == 0 ? KL_FS_OPEN_DEFAULT
                 : cfg->max_open_files < KL_FS_OPEN_MAX ? cfg->max_open_files : KL_FS_OPEN_MAX;
    if ((rc = table_grow(fs, n ? n : 1)) < 0 || !(fs->roots = calloc(n ? n : 1, sizeof(*fs->roots)))) {
        rc = kl_errf(err, -ENOMEM, "out of memory");
        goto err_free;
    }
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = open_preopen(fs, i, &cfg->preopens[i], err)) < 0)
            goto err_free;
        fs->n = fs->npre = i + 1;
    }
    *out = fs;
    return 0;
err_free:
    kl_wasi_host_close(fs);
    return rc;
}

int kl_wasi_host_boot(const struct kl_run_config *cfg, struct kl_boot_info *b,
                      uint8_t *dst, uint64_t *pos, uint64_t room)
{
    uint64_t used = 0;

    b->npreopens = cfg->npreopens > 0 ? (uint32_t)cfg->npreopens : 0;
    b->preopen_buf = *pos;
    for (uint32_t i = 0; i < b->npreopens; i++) {
        size_t l = strlen(cfg->preopens[i].guest_path) + 1;
        if (l > room - used)
            return -E2BIG;
        memcpy(dst + used, cfg->preopens[i].guest_path, l);
        used += l;
    }
    b->preopen_len = (uint32_t)used;
    *pos += used;
    return 0;
}

void kl_wasi_host_close(struct kl_fs *fs)
{
    if (!fs)
        return;
    for (uint32_t i = 0; i < fs->n; i++)
        kl_fs_handle_close(&fs->h[i]);
    free(fs->h);
    free(fs->roots);
    free(fs);
}

/* ---- handles ---- */

int kl_fs_fd_high(int fd)
{
    int hi;

    if (fd < 0 || fd >= KL_FS_FD_FLOOR)
        return fd;
    if ((hi = fcntl(fd, F_DUPFD_CLOEXEC, KL_FS_FD_FLOOR)) < 0)
        return fd;   /* RLIMIT_NOFILE at or under the floor: keep the low number */
    close(fd);
    return hi;
}

struct kl_fs_handle *kl_fs_handle(struct kl_fs *fs, uint32_t h)
{
    if (!fs || h >= fs->n || fs->h[h].fd < 0)
        return NULL;
    return &fs->h[h];
}

int kl_fs_handle_add(struct kl_fs *fs, int fd, int dir, const struct kl_fs_handle *parent)
{
    /* Copy first: growing the table may move `parent`, which points into it. */
    uint32_t i, preopen = parent->preopen;
    uint8_t readonly = parent->readonly;

    /* Lowest free slot above the preopens keeps the table dense. */
    for (i = fs->npre; i < fs->n && fs->h[i].fd >= 0; i++)
        ;
    fd = kl_fs_fd_high(fd);
    if (i - fs->npre >= fs->max_open || table_grow(fs, i + 1) < 0) {
        close(fd);
        return i - fs->npre >= fs->max_open ? -EMFILE : -ENOMEM;
    }
    fs->h[i] = (struct kl_fs_handle){.fd = fd, .rfd = -1, .preopen = preopen,
                                     .dir = dir ? 1 : 0, .readonly = readonly};
    if (i == fs->n)
        fs->n++;
    return (int)i;
}

int kl_fs_dir(struct kl_fs_call *c, uint32_t h, struct kl_fs_handle **out)
{
    struct kl_fs_handle *d = kl_fs_handle(c->fs, h);

    if (!d)
        return -EBADF;
    if (!d->dir)
        return -ENOTDIR;
    *out = d;
    return 0;
}

int kl_fs_io_fd(struct kl_fs_handle *h)
{
    if (!h->opath)
        return h->fd;
    if (h->rfd < 0)
        h->rfd = kl_fs_fd_high(openat(h->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return h->rfd < 0 ? -errno : h->rfd;
}

/* ---- guest memory and paths ---- */

void *kl_fs_guest(struct kl_fs_call *c, kl_gptr_t gva, uint64_t len, int access, const char *what)
{
    static uint8_t empty;
    void *p;

    if (len == 0)
        return &empty;   /* nothing is touched; any address will do */
    if (!(p = kl_gmem_at(c->gm, gva, len, access, what, &c->err)))
        c->bad = 1;
    return p;
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t b = s[i];
        size_t k = b < 0x80 ? 0 : b >= 0xC2 && b <= 0xDF ? 1 : b >= 0xE0 && b <= 0xEF ? 2
                 : b >= 0xF0 && b <= 0xF4 ? 3 : 4;
        if (k == 4 || n - i <= k)
            return k == 0;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
        if ((b == 0xE0 && s[i + 1] < 0xA0) || (b == 0xED && s[i + 1] > 0x9F) ||
            (b == 0xF0 && s[i + 1] < 0x90) || (b == 0xF4 && s[i + 1] > 0x8F))
            return 0;
        i += k + 1;
    }
    return 1;
}

int kl_fs_path(struct kl_fs_call *c, kl_gptr_t gva, uint32_t len, char *out)
{
    const char *p;

    if (len >= KL_FS_PATH_MAX)
        return -ENAMETOOLONG;
    if (!(p = kl_fs_guest(c, gva, len, KL_GMEM_READ, "hostcall fs: path")))
        return -EFAULT;
    memcpy(out, p, len);   /* copy first: the guest cannot change it under us */
    out[len] = 0;
    if (memchr(out, 0, len))
        return -EINVAL;    /* an embedded NUL would silently cut the path */
    if (!utf8_valid((const uint8_t *)out, len))
        return -EILSEQ;
    return 0;
}

/* ---- attributes ---- */

static uint8_t filetype(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return KL_WASI_FILETYPE_REG;
    case S_IFDIR: return KL_WASI_FILETYPE_DIR;
    case S_IFLNK: return KL_WASI_FILETYPE_SYMLINK;
    case S_IFCHR: return KL_WASI_FILETYPE_CHAR;
    case S_IFBLK: return KL_WASI_FILETYPE_BLOCK;
    case S_IFSOCK: return KL_WASI_FILETYPE_SOCK_STREAM;
    default: return KL_WASI_FILETYPE_UNKNOWN;   /* FIFOs have no WASI type */
    }
}

static uint64_t ts_ns(struct timespec t)
{
    return t.tv_sec < 0 ? 0 : (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void kl_fs_stat_fill(struct kl_fs_stat *o, const struct stat *st)
{
    memset(o, 0, sizeof(*o));
    o->dev = st->st_dev;
    o->ino = st->st_ino;
    o->filetype = filetype(st->st_mode);
    o->nlink = st->st_nlink;
    o->size = (uint64_t)st->st_size;
    o->atim = ts_ns(st->st_atim);
    o->mtim = ts_ns(st->st_mtim);
    o->ctim = ts_ns(st->st_ctim);
}

static struct timespec ns_ts(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
}

int kl_fs_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2])
{
    if (fst & ~0xFu)
        return -EINVAL;
    if ((fst & KL_WASI_ATIM && fst & KL_WASI_ATIM_NOW) || (fst & KL_WASI_MTIM && fst & KL_WASI_MTIM_NOW))
        return -EINVAL;
    ts[0] = fst & KL_WASI_ATIM_NOW ? (struct timespec){0, UTIME_NOW}
          : fst & KL_WASI_ATIM ? ns_ts(atim) : (struct timespec){0, UTIME_OMIT};
    ts[1] = fst & KL_WASI_MTIM_NOW ? (struct timespec){0, UTIME_NOW}
          : fst & KL_WASI_MTIM ? ns_ts(mtim) : (struct timespec){0, UTIME_OMIT};
    return 0;
}

/* ---- dispatch ---- */

typedef int (*kl_fs_fn)(struct kl_fs_call *c);

static const kl_fs_fn fs_ops[KL_FS_OP_COUNT] = {
    [KL_FS_CLOSE] = kl_fs_op_close,       [KL_FS_READ] = kl_fs_op_rw,
    [KL_FS_WRITE] = kl_fs_op_rw,          [KL_FS_PREAD] = kl_fs_op_rw,
    [KL_FS_PWRITE] = kl_fs_op_rw,         [KL_FS_SEEK] = kl_fs_op_seek,
    [KL_FS_SYNC] = kl_fs_op_sync,         [KL_FS_DATASYNC] = kl_fs_op_sync,
    [KL_FS_ADVISE] = kl_fs_op_advise,     [KL_FS_ALLOCATE] = kl_fs_op_allocate,
    [KL_FS_FILESTAT] = kl_fs_op_filestat, [KL_FS_SET_SIZE] = kl_fs_op_set_size,
    [KL_FS_SET_TIMES] = kl_fs_op_set_times, [KL_FS_SET_FLAGS] = kl_fs_op_set_flags,
    [KL_FS_READDIR] = kl_fs_op_readdir,   [KL_FS_OPEN] = kl_fs_op_open,
    [KL_FS_MKDIR] = kl_fs_op_mkdir,       [KL_FS_RMDIR] = kl_fs_op_rmdir,
    [KL_FS_UNLINK] = kl_fs_op_unlink,     [KL_FS_RENAME] = kl_fs_op_rename,
    [KL_FS_LINK] = kl_fs_op_link,         [KL_FS_SYMLINK] = kl_fs_op_symlink,
    [KL_FS_READLINK] = kl_fs_op_readlink, [KL_FS_PATH_STAT] = kl_fs_op_path_stat,
    [KL_FS_PATH_TIMES] = kl_fs_op_path_times,
};

int kl_hc_fs(struct kl_inst *in, void *arg)
{
    struct kl_fs_call c = {.fs = in->fs, .gm = &in->gm, .a = arg};
    uint32_t op = c.a->op;
    int rc;

    c.a->result = 0;
    rc = op < KL_FS_OP_COUNT && fs_ops[op] ? fs_ops[op](&c) : -ENOSYS;
    if (c.bad)
        return kl_inst_finish(in, KL_RES_ERROR, "%s", c.err.msg);
    c.a->err = wasi_errno(rc);
    return KL_HC_CONTINUE;
}
