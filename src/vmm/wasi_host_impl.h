/* wasi_host_impl.h - internals shared by the host WASI files code (wasi_host.c, wasi_fdops.c, wasi_path.c). */
#ifndef KL_VMM_WASI_HOST_IMPL_H
#define KL_VMM_WASI_HOST_IMPL_H

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "common/err.h"
#include "kernless/abi.h"
#include "vmm/gmem.h"

/* Handles one run may hold open at once besides its preopens
 * (kl_run_config.max_open_files, default and cap); past it the guest gets
 * EMFILE. In the server many runs share one fd table (each handle holds up
 * to three descriptors), so by default one run takes a small part of it. */
#define KL_FS_OPEN_DEFAULT 64u
#define KL_FS_OPEN_MAX 1024u
/* Preopened directories one run may have. */
#define KL_FS_MAX_PREOPENS 64u

/* Host descriptors of handles are moved to this number or above, so a guest
 * opening files never takes the low numbers that the server's own sockets
 * and files use (nor those below select()'s FD_SETSIZE). */
#define KL_FS_FD_FLOOR 1024

/* WASI preview 1 constants the host needs (wasi_snapshot_preview1.witx). */
enum {
    KL_WASI_FILETYPE_UNKNOWN = 0, KL_WASI_FILETYPE_BLOCK = 1, KL_WASI_FILETYPE_CHAR = 2,
    KL_WASI_FILETYPE_DIR = 3, KL_WASI_FILETYPE_REG = 4, KL_WASI_FILETYPE_SOCK_DGRAM = 5,
    KL_WASI_FILETYPE_SOCK_STREAM = 6, KL_WASI_FILETYPE_SYMLINK = 7,
};
enum { KL_WASI_O_CREAT = 1, KL_WASI_O_DIRECTORY = 2, KL_WASI_O_EXCL = 4, KL_WASI_O_TRUNC = 8 };
enum {
    KL_WASI_FD_APPEND = 1, KL_WASI_FD_DSYNC = 2, KL_WASI_FD_NONBLOCK = 4,
    KL_WASI_FD_RSYNC = 8, KL_WASI_FD_SYNC = 16,
};
enum { KL_WASI_LOOKUP_FOLLOW = 1 };
enum { KL_WASI_ATIM = 1, KL_WASI_ATIM_NOW = 2, KL_WASI_MTIM = 4, KL_WASI_MTIM_NOW = 8 };

/** One open host file or directory. */
struct kl_fs_handle {
    int fd;             /* -1: the slot is free */
    int rfd;            /* readable reopen of an O_PATH directory, or -1 */
    DIR *dirp;          /* readdir stream, opened on first use */
    uint64_t dir_next;  /* WASI cookie of the entry dirp returns next */
    uint32_t preopen;   /* the preopen this was reached through */
    uint8_t dir;        /* a directory: path operations may start here */
    uint8_t opath;      /* fd is O_PATH (preopens): reopen before I/O */
    uint8_t readonly;   /* under a read-only preopen: refuse every change */
};

/** Identity of a preopen's directory, so ".." at its top stays inside. */
struct kl_fs_root {
    dev_t dev;
    ino_t ino;
};

/** The host files of one run. */
struct kl_fs {
    struct kl_fs_handle *h;
    uint32_t n, cap;        /* slots used (high-water) and allocated */
    uint32_t npre;
    uint32_t max_open;      /* handles allowed above the preopens */
    struct kl_fs_root *roots;
};

/** One KL_HC_FS call being served. */
struct kl_fs_call {
    struct kl_fs *fs;
    const struct kl_gmem *gm;
    struct kl_hc_fs *a;
    int bad;                /* a guest buffer was outside its memory */
    struct kl_err err;      /* why, when bad */
};

/* wasi_host.c */
/** The open handle `h`, or NULL (the guest then gets EBADF). */
struct kl_fs_handle *kl_fs_handle(struct kl_fs *fs, uint32_t h);
/** Take ownership of `fd` as a new handle reached through `parent`. Returns the handle or -errno. */
int kl_fs_handle_add(struct kl_fs *fs, int fd, int dir, const struct kl_fs_handle *parent);
/** A directory handle (-EBADF if closed, -ENOTDIR if a file). */
int kl_fs_dir(struct kl_fs_call *c, uint32_t h, struct kl_fs_handle **out);
/** Host view of guest [gva, gva+len); NULL marks the call bad. Never NULL for len 0. */
void *kl_fs_guest(struct kl_fs_call *c, kl_gptr_t gva, uint64_t len, int access, const char *what);
/** Copy a guest path into out[KL_FS_PATH_MAX], NUL-terminated and checked. Returns 0 or -errno. */
int kl_fs_path(struct kl_fs_call *c, kl_gptr_t gva, uint32_t len, char *out);
/** Fill a WASI filestat from a host stat. */
void kl_fs_stat_fill(struct kl_fs_stat *o, const struct stat *st);
/** Turn WASI set-times arguments into utimensat's; -EINVAL on contradicting flags. */
int kl_fs_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]);
/** Move `fd` to KL_FS_FD_FLOOR or above (close-on-exec); returns the new fd, or `fd`
 * itself where the descriptor limit is too low for that. */
int kl_fs_fd_high(int fd);
/** A descriptor that I/O works on: the handle's own fd or a reopen of its O_PATH directory. */
int kl_fs_io_fd(struct kl_fs_handle *h);

/*
 * The operations (one per enum kl_fs_op, dispatched by wasi_host.c): each
 * reads its arguments from c->a, returns 0 or -errno, and on success may set
 * c->a->result, stat or filetype. A guest buffer outside guest memory sets
 * c->bad instead of being touched.
 */

/* wasi_path.c */
/** openat2 beneath `dirfd` (RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS). Returns an fd or -errno. */
int kl_fs_resolve(int dirfd, const char *path, int flags, mode_t mode);
int kl_fs_op_open(struct kl_fs_call *c);
int kl_fs_op_mkdir(struct kl_fs_call *c);
int kl_fs_op_rmdir(struct kl_fs_call *c);
int kl_fs_op_unlink(struct kl_fs_call *c);
int kl_fs_op_rename(struct kl_fs_call *c);
int kl_fs_op_link(struct kl_fs_call *c);
int kl_fs_op_symlink(struct kl_fs_call *c);
int kl_fs_op_readlink(struct kl_fs_call *c);
int kl_fs_op_path_stat(struct kl_fs_call *c);
int kl_fs_op_path_times(struct kl_fs_call *c);

/* wasi_fdops.c */
int kl_fs_op_close(struct kl_fs_call *c);
int kl_fs_op_rw(struct kl_fs_call *c);
int kl_fs_op_seek(struct kl_fs_call *c);
int kl_fs_op_sync(struct kl_fs_call *c);
int kl_fs_op_advise(struct kl_fs_call *c);
int kl_fs_op_allocate(struct kl_fs_call *c);
int kl_fs_op_filestat(struct kl_fs_call *c);
int kl_fs_op_set_size(struct kl_fs_call *c);
int kl_fs_op_set_times(struct kl_fs_call *c);
int kl_fs_op_set_flags(struct kl_fs_call *c);
int kl_fs_op_readdir(struct kl_fs_call *c);
/** Release everything a handle holds and free its slot. */
void kl_fs_handle_close(struct kl_fs_handle *h);

#endif
