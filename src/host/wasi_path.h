/* wasi_path.h - KL_HC_FS path operations, resolved beneath a directory handle. */
#ifndef KL_HOST_WASI_PATH_H
#define KL_HOST_WASI_PATH_H

#include <sys/types.h>

#include "host/wasi_fs.h"

/*
 * The operations (one per enum kl_fs_op, dispatched by wasi_dispatch.c): each
 * reads its arguments from c->a, returns 0 or -errno, and on success may set
 * c->a->result, stat or filetype. A guest buffer outside guest memory sets
 * c->bad instead of being touched.
 */

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


#endif
