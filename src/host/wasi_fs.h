/* wasi_fs.h - the types and WASI constants the host filesystem files share: a handle, the table, one call being served. */
#ifndef KL_HOST_WASI_FS_H
#define KL_HOST_WASI_FS_H

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "common/err.h"
#include "kernless/abi.h"
#include "inst/gmem.h"

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

#endif
