/* wasi_fdops.h - KL_HC_FS operations on an open handle. */
#ifndef KL_HOST_WASI_FDOPS_H
#define KL_HOST_WASI_FDOPS_H

#include "host/wasi_fs.h"

/*
 * The operations (one per enum kl_fs_op, dispatched by wasi_dispatch.c): each
 * reads its arguments from c->a, returns 0 or -errno, and on success may set
 * c->a->result, stat or filetype. A guest buffer outside guest memory sets
 * c->bad instead of being touched.
 */

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

#endif
