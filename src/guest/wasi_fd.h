/* wasi_fd.h - the guest's WASI descriptor table and the KL_HC_FS call helpers (wasi_fs.c, wasi_path.c). */
#ifndef KL_GUEST_WASI_FD_H
#define KL_GUEST_WASI_FD_H

#include <stddef.h>
#include <string.h>

#include "wasi.h"

#define W(name) Z_wasi_snapshot_preview1Z_##name

/* More WASI errno values (preview 1) than wasi.h names. */
enum {
    WASI_EMFILE = 33, WASI_ENAMETOOLONG = 37,
};

/* Rights (wasi_snapshot_preview1.witx), bit by bit. */
#define RT(n) (1ull << (n))
#define R_FD_DATASYNC RT(0)
#define R_FD_READ RT(1)
#define R_FD_SEEK RT(2)
#define R_FD_FDSTAT_SET_FLAGS RT(3)
#define R_FD_SYNC RT(4)
#define R_FD_TELL RT(5)
#define R_FD_WRITE RT(6)
#define R_FD_ADVISE RT(7)
#define R_FD_ALLOCATE RT(8)
#define R_PATH_CREATE_DIRECTORY RT(9)
#define R_PATH_CREATE_FILE RT(10)
#define R_PATH_LINK_SOURCE RT(11)
#define R_PATH_LINK_TARGET RT(12)
#define R_PATH_OPEN RT(13)
#define R_FD_READDIR RT(14)
#define R_PATH_READLINK RT(15)
#define R_PATH_RENAME_SOURCE RT(16)
#define R_PATH_RENAME_TARGET RT(17)
#define R_PATH_FILESTAT_GET RT(18)
#define R_PATH_FILESTAT_SET_SIZE RT(19)
#define R_PATH_FILESTAT_SET_TIMES RT(20)
#define R_FD_FILESTAT_GET RT(21)
#define R_FD_FILESTAT_SET_SIZE RT(22)
#define R_FD_FILESTAT_SET_TIMES RT(23)
#define R_PATH_SYMLINK RT(24)
#define R_PATH_REMOVE_DIRECTORY RT(25)
#define R_PATH_UNLINK_FILE RT(26)
#define R_POLL_FD_READWRITE RT(27)

/* Everything that applies to a regular file, and to a directory. */
#define R_FILE_ALL (R_FD_DATASYNC | R_FD_READ | R_FD_SEEK | R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | \
                    R_FD_TELL | R_FD_WRITE | R_FD_ADVISE | R_FD_ALLOCATE | R_FD_FILESTAT_GET |   \
                    R_FD_FILESTAT_SET_SIZE | R_FD_FILESTAT_SET_TIMES | R_POLL_FD_READWRITE)
#define R_DIR_ALL (R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_PATH_CREATE_DIRECTORY |                  \
                   R_PATH_CREATE_FILE | R_PATH_LINK_SOURCE | R_PATH_LINK_TARGET | R_PATH_OPEN |     \
                   R_FD_READDIR | R_PATH_READLINK | R_PATH_RENAME_SOURCE | R_PATH_RENAME_TARGET |   \
                   R_PATH_FILESTAT_GET | R_PATH_FILESTAT_SET_SIZE | R_PATH_FILESTAT_SET_TIMES |    \
                   R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_TIMES | R_PATH_SYMLINK |                  \
                   R_PATH_REMOVE_DIRECTORY | R_PATH_UNLINK_FILE | R_POLL_FD_READWRITE)

/* WASI flag values. */
enum { FILETYPE_CHAR = 2, FILETYPE_DIR = 3 };
enum { OFLAG_CREAT = 1, OFLAG_DIRECTORY = 2, OFLAG_EXCL = 4, OFLAG_TRUNC = 8 };
enum { FDFLAG_APPEND = 1, FDFLAG_DSYNC = 2, FDFLAG_NONBLOCK = 4, FDFLAG_RSYNC = 8, FDFLAG_SYNC = 16 };

/** What a WASI descriptor is. */
enum wfd_kind { WFD_FREE = 0, WFD_STDIO, WFD_DIR, WFD_FILE };

/** One WASI descriptor. Rights and flags live here; the host never sees them. */
struct wfd {
    uint8_t kind;       /* enum wfd_kind */
    uint8_t filetype;   /* WASI filetype */
    uint16_t flags;     /* WASI fdflags */
    uint32_t handle;    /* host handle; for stdio the stream 0..2 */
    int32_t preopen;    /* index of its prestat name, or -1 */
    uint32_t pad;
    u64 base, inh;      /* rights */
};

#define KL_WASI_MAX_FDS 1024u   /* at least as many as the host lets one run hold (KL_FS_OPEN_MAX) */

/** The descriptor `fd` if open, else NULL. */
struct wfd *kl_wfd(u32 fd);
/** The lowest free descriptor number (>= 3) and its (still free) slot, or -1 when full. */
int kl_wfd_alloc(struct wfd **slot);

/** A guest address for the host: linear memory pointers are plain virtual addresses here. */
static inline kl_gptr_t gptr(const void *p) { return (kl_gptr_t)(uintptr_t)p; }

/** Start a KL_HC_FS call: clear the argument fields and set the op. */
static inline struct kl_hc_fs *fs_begin(u32 op, u32 handle)
{
    struct kl_hc_fs *a = (struct kl_hc_fs *)(uintptr_t)KL_HCALL_GVA;

    memset(a, 0, offsetof(struct kl_hc_fs, stat));
    a->op = op;
    a->h = handle;
    return a;
}

/** Make the call (one VM exit); returns the WASI errno. */
static inline u32 fs_call(struct kl_hc_fs *a)
{
    kl_hostcall(KL_HC_FS, a);
    return a->err;
}

#endif
