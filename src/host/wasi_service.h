/* wasi_service.h - the WASI filesystem as an instance service: registers KL_HC_FS and the per-instance file table. */
#ifndef KL_HOST_WASI_SERVICE_H
#define KL_HOST_WASI_SERVICE_H

struct kl_inst;

/**
 * Register the WASI host filesystem: the KL_HC_FS hostcall and its
 * per-instance hooks. Call at start-up before creating instances.
 * Idempotent and thread-safe. Returns 0 or -errno from the registries.
 */
int kl_wasi_host_register(void);

/**
 * KL_HC_FS: run one checked filesystem operation for the guest. Returns
 * KL_HC_CONTINUE with the WASI errno in the struct, or KL_HC_DONE when the
 * guest passed a buffer outside its memory (the run ends with an error).
 * Registered by kl_wasi_host_register; public for the tests and fuzzers.
 */
int kl_hc_fs(struct kl_inst *in, void *arg);

#endif
