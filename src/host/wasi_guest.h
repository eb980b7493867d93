/* wasi_guest.h - guest arguments of KL_HC_FS calls: buffers, paths, attributes and times. */
#ifndef KL_HOST_WASI_GUEST_H
#define KL_HOST_WASI_GUEST_H

#include <sys/stat.h>
#include <time.h>

#include "host/wasi_fs.h"

/** Host view of guest [gva, gva+len); NULL marks the call bad. Never NULL for len 0. */
void *kl_fs_guest(struct kl_fs_call *c, kl_gptr_t gva, uint64_t len, int access, const char *what);
/** Copy a guest path into out[KL_FS_PATH_MAX], NUL-terminated and checked. Returns 0 or -errno. */
int kl_fs_path(struct kl_fs_call *c, kl_gptr_t gva, uint32_t len, char *out);
/** Fill a WASI filestat from a host stat. */
void kl_fs_stat_fill(struct kl_fs_stat *o, const struct stat *st);
/** Turn WASI set-times arguments into utimensat's; -EINVAL on contradicting flags. */
int kl_fs_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]);

#endif
