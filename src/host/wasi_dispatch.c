/* wasi_dispatch.c - the KL_HC_FS dispatcher: one operation per call, its -errno turned into the guest's WASI errno. */
#include "host/wasi_dispatch.h"

#include <errno.h>

#include "host/wasi_fdops.h"
#include "host/wasi_path.h"

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

int kl_wasi_fs_call(struct kl_fs *fs, const struct kl_gmem *gm, struct kl_hc_fs *a,
                    struct kl_err *err)
{
    struct kl_fs_call c = {.fs = fs, .gm = gm, .a = a};
    uint32_t op = a->op;
    int rc;

    a->result = 0;
    rc = op < KL_FS_OP_COUNT && fs_ops[op] ? fs_ops[op](&c) : -ENOSYS;
    if (c.bad) {
        *err = c.err;
        return -EFAULT;
    }
    a->err = wasi_errno(rc);
    return 0;
}
