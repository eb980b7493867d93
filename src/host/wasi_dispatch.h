/* wasi_dispatch.h - the KL_HC_FS dispatcher: one checked filesystem operation on a table. */
#ifndef KL_HOST_WASI_DISPATCH_H
#define KL_HOST_WASI_DISPATCH_H

#include "common/err.h"
#include "kernless/abi.h"
#include "inst/gmem.h"
#include "host/wasi_fs.h"

/**
 * Run one KL_HC_FS operation `a` on the table `fs`, guest buffers checked
 * against `gm`. Returns 0 with the WASI errno in a->err, or -EFAULT with
 * *err when the guest passed a buffer outside its memory.
 */
int kl_wasi_fs_call(struct kl_fs *fs, const struct kl_gmem *gm, struct kl_hc_fs *a,
                    struct kl_err *err);

#endif
