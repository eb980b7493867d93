/* wasi_host.h - the host half of WASI files: preopened directories, open host files and the KL_HC_FS hostcall. */
#ifndef KL_VMM_WASI_HOST_H
#define KL_VMM_WASI_HOST_H

#include <stdint.h>

#include "common/err.h"
#include "kernless/abi.h"
#include "vmm/run.h"

struct kl_inst;
struct kl_fs;

/**
 * Open every preopen of `cfg` (O_PATH directories) into a new table at *out.
 * Returns 0, or -errno with the offending --dir named in *err; on failure
 * nothing stays open.
 */
int kl_wasi_host_open(struct kl_fs **out, const struct kl_run_config *cfg, struct kl_err *err);

/**
 * Pack the preopens' guest paths NUL-terminated at guest address *pos (host
 * view `dst`, `room` bytes free) and describe them in the boot block. Returns
 * 0 or -E2BIG.
 */
int kl_wasi_host_boot(const struct kl_run_config *cfg, struct kl_boot_info *b,
                      uint8_t *dst, uint64_t *pos, uint64_t room);

/** Close every host file the run opened, preopens included. NULL is a no-op. */
void kl_wasi_host_close(struct kl_fs *fs);

/**
 * KL_HC_FS: run one checked filesystem operation for the guest. Returns
 * KL_HC_CONTINUE with the WASI errno in the struct, or KL_HC_DONE when the
 * guest passed a buffer outside its memory (the run ends with an error).
 */
int kl_hc_fs(struct kl_inst *in, void *arg);

#endif
