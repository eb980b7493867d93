/* wasi_path.c - KL_HC_FS path operations, each resolved beneath its directory with openat2(RESOLVE_BENEATH). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/wasi_guest.h"
#include "host/wasi_handles.h"
#include "host/wasi_path.h"

/*
 * Why this is race-free: every multi-component walk happens inside one
 * openat2 call, where the kernel itself refuses "..", absolute paths and
 * symlinks that would leave `dirfd` (RESOLVE_BENEATH) and /proc magic links.
 * What follows that walk is a *at call on a single final component relative
 * to the directory fd it returned, and those calls (mkdirat, unlinkat,
 * renameat, linkat without AT_SYMLINK_FOLLOW, symlinkat) never follow a
 * symlink in that component. Nothing is checked first and used later.
 */

int kl_fs_resolve(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = flags & O_CREAT ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };

    /* The kernel answers EAGAIN when a concurrent rename raced a ".." step. */
    for (int tries = 0; tries < 16; tries++) {
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        if (errno != EAGAIN && errno != EINTR)
            break;
    }
    /* An escape shows as EXDEV; WASI engines report it as EPERM. */
    return errno == EXDEV ? -EPERM : -errno;
}

/* A path split into a resolved parent directory and its final component. */
struct split {
    int pfd;                    /* the parent directory */
    int own;                    /* pfd was opened here and must be closed */
    int trailing;               /* the final component had trailing slashes */
    char last[KL_FS_PATH_MAX];  /* final component, trailing slashes kept */
};

static void split_done(struct split *s)
{
    if (s->own)
        close(s->pfd);
    s->own = 0;
}

/*
 * Resolve all but the final component of `path` beneath `dirfd`. A final "."
 * or ".." is resolved too (it may not be handed to a *at call: ".." at the
 * top would leave the sandbox), leaving "." to act on.
 */
static int split_at(int dirfd, const char *path, struct split *s)
{
    char parent[KL_FS_PATH_MAX];
    size_t n = strlen(path), end = n, start, len;
    int fd;

    *s = (struct split){.pfd = -1};
    if (n == 0)
        return -ENOENT;
    while (end > 0 && path[end - 1] == '/')
        end--;
    if (end == 0)
        return -EPERM;   /* only slashes: an absolute path */
    for (start = end; start > 0 && path[start - 1] != '/'; start--)
        ;
    len = end - start;
    if ((len == 1 && path[start] == '.') || (len == 2 && !memcmp(path + start, "..", 2))) {
        memcpy(parent, path, n + 1);
        strcpy(s->last, ".");
    } else {
        memcpy(s->last, path + start, n - start + 1);
        s->trailing = n != end;
        if (start == 0) {
            s->pfd = dirfd;
            return 0;
        }
        memcpy(parent, path, start);
        parent[start] = 0;
    }
    if ((fd = kl_fs_resolve(dirfd, parent, O_PATH | O_DIRECTORY, 0)) < 0)
        return fd;
    s->pfd = fd;
    s->own = 1;
    return 0;
}

/* The directory and the checked path of a path operation; `mutate` refuses read-only preopens. */
static int path_args(struct kl_fs_call *c, uint32_t h, kl_gptr_t p, uint32_t len, int mutate,
                     struct kl_fs_handle **d, char *path)
{
    int rc;

    if ((rc = kl_fs_dir(c, h, d)) < 0 || (rc = kl_fs_path(c, p, len, path)) < 0)
        return rc;
    return mutate && (*d)->readonly ? -EPERM : 0;
}

/* Host open(2) flags for WASI oflags, fdflags and lookupflags. */
static int open_flags(const struct kl_hc_fs *a)
{
    int fl = O_NOCTTY | O_NONBLOCK;   /* never block the VM's thread on a FIFO */

    fl |= a->access & KL_FS_ACCESS_WRITE ? (a->access & KL_FS_ACCESS_READ ? O_RDWR : O_WRONLY)
                                         : O_RDONLY;
    if (a->flags & KL_WASI_O_CREAT)
        fl |= O_CREAT;
    if (a->flags & KL_WASI_O_EXCL)
        fl |= O_EXCL;
    if (a->flags & KL_WASI_O_TRUNC)
        fl |= O_TRUNC;
    if (a->flags & KL_WASI_O_DIRECTORY)
        fl |= O_DIRECTORY;
    if (!(a->lookup & KL_WASI_LOOKUP_FOLLOW))
        fl |= O_NOFOLLOW;
    if (a->flags2 & KL_WASI_FD_APPEND)
        fl |= O_APPEND;
    if (a->flags2 & KL_WASI_FD_DSYNC)
        fl |= O_DSYNC;
    if (a->flags2 & (KL_WASI_FD_SYNC | KL_WASI_FD_RSYNC))
        fl |= O_SYNC;
    return fl;
}

int kl_fs_op_open(struct kl_fs_call *c)
{
    const struct kl_hc_fs *a = c->a;
    char path[KL_FS_PATH_MAX];
    struct kl_fs_handle *d;
    struct stat st;
    int mutate = a->access & KL_FS_ACCESS_WRITE || a->flags & (KL_WASI_O_CREAT | KL_WASI_O_TRUNC);
    int fd, h, rc;

    if ((rc = path_args(c, a->h, a->path, a->path_len, mutate, &d, path)) < 0)
        return rc;
    if (a->flags & ~0xFu || a->flags2 & ~0x1Fu || a->access & ~3u)
        return -EINVAL;
    if (a->flags & KL_WASI_O_DIRECTORY && a->flags & (KL_WASI_O_CREAT | KL_WASI_O_EXCL | KL_WASI_O_TRUNC))
        return -EINVAL;
    if ((fd = kl_fs_resolve(d->fd, path, open_flags(a), 0666)) < 0)
        return fd;
    if (fstat(fd, &st) < 0)
        goto err_close;
    /* Files and directories never block; keep O_NONBLOCK only where it matters. */
    if ((S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) && !(a->flags2 & KL_WASI_FD_NONBLOCK) &&
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
        goto err_close;
    if ((h = kl_fs_handle_add(c->fs, fd, S_ISDIR(st.st_mode), d)) < 0)
        return h;   /* fd is closed */
    kl_fs_stat_fill(&c->a->stat, &st);
    c->a->filetype = c->a->stat.filetype;
    c->a->result = (uint64_t)h;
    return 0;
err_close:
    rc = -errno;
    close(fd);
    return rc;
}

/* mkdir, rmdir and unlink: one call on the final component. */
static int single(struct kl_fs_call *c, int op)
{
    char path[KL_FS_PATH_MAX];
    struct kl_fs_handle *d;
    struct split s;
    int rc;

    if ((rc = path_args(c, c->a->h, c->a->path, c->a->path_len, 1, &d, path)) < 0 ||
        (rc = split_at(d->fd, path, &s)) < 0)
        return rc;
    if (op == KL_FS_MKDIR)
        rc = mkdirat(s.pfd, s.last, 0777);
    else
        rc = unlinkat(s.pfd, s.last, op == KL_FS_RMDIR ? AT_REMOVEDIR : 0);
    rc = rc < 0 ? -errno : 0;
    split_done(&s);
    return rc;
}

int kl_fs_op_mkdir(struct kl_fs_call *c) { return single(c, KL_FS_MKDIR); }
int kl_fs_op_rmdir(struct kl_fs_call *c) { return single(c, KL_FS_RMDIR); }
int kl_fs_op_unlink(struct kl_fs_call *c) { return single(c, KL_FS_UNLINK); }

/* Both ends of a rename or link: two directories (maybe the same), two paths. */
struct two {
    struct split from, to;
    char p1[KL_FS_PATH_MAX], p2[KL_FS_PATH_MAX];
};

static int two_args(struct kl_fs_call *c, struct two *t)
{
    const struct kl_hc_fs *a = c->a;
    struct kl_fs_handle *d1, *d2;
    int rc;

    t->from = t->to = (struct split){.pfd = -1};
    if ((rc = path_args(c, a->h, a->path, a->path_len, 1, &d1, t->p1)) < 0 ||
        (rc = path_args(c, a->h2, a->path2, a->path2_len, 1, &d2, t->p2)) < 0)
        return rc;
    if ((rc = split_at(d1->fd, t->p1, &t->from)) < 0)
        return rc;
    if ((rc = split_at(d2->fd, t->p2, &t->to)) < 0)
        split_done(&t->from);
    return rc;
}

static void two_done(struct two *t)
{
    split_done(&t->from);
    split_done(&t->to);
}

int kl_fs_op_rename(struct kl_fs_call *c)
{
    struct two t;
    int rc;

    if ((rc = two_args(c, &t)) < 0)
        return rc;
    rc = renameat(t.from.pfd, t.from.last, t.to.pfd, t.to.last) < 0 ? -errno : 0;
    two_done(&t);
    return rc;
}

/*
 * The source "x/" of a link: the kernel would follow a symlink x for the
 * slash, outside our checks. Resolve it beneath instead; a directory cannot
 * be linked and anything else is not a directory.
 */
static int link_source_slash(int pfd, const char *last)
{
    int fd = kl_fs_resolve(pfd, last, O_PATH | O_DIRECTORY, 0);

    if (fd < 0)
        return fd;
    close(fd);
    return -EPERM;
}

int kl_fs_op_link(struct kl_fs_call *c)
{
    struct two t;
    int rc;

    /* Following a symlink source is refused, as wasmtime does. */
    if (c->a->lookup & KL_WASI_LOOKUP_FOLLOW)
        return -EINVAL;
    if ((rc = two_args(c, &t)) < 0)
        return rc;
    if (t.from.trailing)
        rc = link_source_slash(t.from.pfd, t.from.last);
    else
        rc = linkat(t.from.pfd, t.from.last, t.to.pfd, t.to.last, 0) < 0 ? -errno : 0;
    two_done(&t);
    return rc;
}

int kl_fs_op_symlink(struct kl_fs_call *c)
{
    const struct kl_hc_fs *a = c->a;
    char target[KL_FS_PATH_MAX], path[KL_FS_PATH_MAX];
    struct kl_fs_handle *d;
    struct split s;
    int rc;

    if ((rc = path_args(c, a->h, a->path2, a->path2_len, 1, &d, path)) < 0 ||
        (rc = kl_fs_path(c, a->path, a->path_len, target)) < 0)
        return rc;
    /* An absolute target could never be followed inside the sandbox. */
    if (target[0] == '/')
        return -EPERM;
    if ((rc = split_at(d->fd, path, &s)) < 0)
        return rc;
    rc = symlinkat(target, s.pfd, s.last) < 0 ? -errno : 0;
    split_done(&s);
    return rc;
}

/* O_PATH descriptor of the object `path` names (the symlink itself unless following). */
static int path_object(struct kl_fs_call *c, int mutate, int follow, struct kl_fs_handle **d)
{
    char path[KL_FS_PATH_MAX];
    int rc;

    if ((rc = path_args(c, c->a->h, c->a->path, c->a->path_len, mutate, d, path)) < 0)
        return rc;
    return kl_fs_resolve((*d)->fd, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
}

int kl_fs_op_readlink(struct kl_fs_call *c)
{
    char buf[KL_FS_PATH_MAX];
    struct kl_fs_handle *d;
    struct stat st;
    uint8_t *dst;
    ssize_t n;
    int fd;

    if ((fd = path_object(c, 0, 0, &d)) < 0)
        return fd;
    if (fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode)) {
        close(fd);
        return -EINVAL;   /* not a symlink (fstat of an O_PATH fd does not fail) */
    }
    n = readlinkat(fd, "", buf, sizeof(buf));
    close(fd);
    if (n < 0)
        return -errno;
    /* A short buffer gets the first bytes, as wasmtime does. */
    if ((uint64_t)n > c->a->buf_len)
        n = c->a->buf_len;
    if (!(dst = kl_fs_guest(c, c->a->buf, (uint64_t)n, KL_GMEM_WRITE, "hostcall fs: readlink buffer")))
        return -EFAULT;
    memcpy(dst, buf, (size_t)n);
    c->a->result = (uint64_t)n;
    return 0;
}

int kl_fs_op_path_stat(struct kl_fs_call *c)
{
    struct kl_fs_handle *d;
    struct stat st;
    int fd, rc = 0;

    if ((fd = path_object(c, 0, c->a->lookup & KL_WASI_LOOKUP_FOLLOW, &d)) < 0)
        return fd;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else
        kl_fs_stat_fill(&c->a->stat, &st);
    close(fd);
    return rc;
}

int kl_fs_op_path_times(struct kl_fs_call *c)
{
    struct kl_fs_handle *d;
    struct timespec ts[2];
    int fd, rc;

    if ((rc = kl_fs_times(c->a->a, c->a->b, c->a->flags, ts)) < 0)
        return rc;
    if ((fd = path_object(c, 1, c->a->lookup & KL_WASI_LOOKUP_FOLLOW, &d)) < 0)
        return fd;
    /* AT_EMPTY_PATH acts on the O_PATH object itself, a symlink included. */
    rc = utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    close(fd);
    return rc;
}
