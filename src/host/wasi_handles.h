/* wasi_handles.h - the host files of one instance: its preopens and open handles. */
#ifndef KL_HOST_WASI_HANDLES_H
#define KL_HOST_WASI_HANDLES_H

#include "common/err.h"
#include "inst/run.h"
#include "host/wasi_fs.h"

/**
 * Open every preopen of `cfg` (O_PATH directories) into a new table at *out.
 * Returns 0, or -errno with the offending --dir named in *err; on failure
 * nothing stays open.
 */
int kl_wasi_host_open(struct kl_fs **out, const struct kl_run_config *cfg, struct kl_err *err);

/** Close every host file the run opened, preopens included. NULL is a no-op. */
void kl_wasi_host_close(struct kl_fs *fs);

/** The open handle `h`, or NULL (the guest then gets EBADF). */
struct kl_fs_handle *kl_fs_handle(struct kl_fs *fs, uint32_t h);
/** Take ownership of `fd` as a new handle reached through `parent`. Returns the handle or -errno. */
int kl_fs_handle_add(struct kl_fs *fs, int fd, int dir, const struct kl_fs_handle *parent);
/** A directory handle (-EBADF if closed, -ENOTDIR if a file). */
int kl_fs_dir(struct kl_fs_call *c, uint32_t h, struct kl_fs_handle **out);
/** Move `fd` to KL_FS_FD_FLOOR or above (close-on-exec); returns the new fd, or `fd`
 * itself where the descriptor limit is too low for that. */
int kl_fs_fd_high(int fd);
/** A descriptor that I/O works on: the handle's own fd or a reopen of its O_PATH directory. */
int kl_fs_io_fd(struct kl_fs_handle *h);
/** Release everything a handle holds and free its slot. */
void kl_fs_handle_close(struct kl_fs_handle *h);

#endif
