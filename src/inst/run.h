/* run.h - run a compiled image to completion inside a fresh micro-VM. */
#ifndef KL_VMM_RUN_H
#define KL_VMM_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "kernless/abi.h"
#include "inst/image.h"

/** A host directory the guest sees as a WASI preopen. */
struct kl_preopen {
    const char *host_path;
    const char *guest_path;
    int readonly;
};

struct kl_svc_ctx;

/** What one run gets: arguments, environment, stdio wiring and limits. */
struct kl_run_config {
    uint32_t timeout_ms;            /* wall clock; 0 = none */
    uint32_t max_memory_pages;      /* cap on any linear memory; 0 = 65535 */
    uint32_t max_open_files;        /* WASI handles open at once besides the preopens;
                                       0 = 64 (KL_FS_OPEN_DEFAULT), at most 1024 */
    int argc;
    const char *const *argv;        /* argv[0] is the program name */
    int envc;
    const char *const *envp;        /* "K=V" strings */
    int npreopens;
    const struct kl_preopen *preopens;
    int stdin_fd;                   /* >= 0: read through hostcalls */
    const uint8_t *stdin_buf;       /* else: this buffer is the whole stdin */
    size_t stdin_len;
    int stdout_fd;                  /* >= 0: pass output through to the fd */
    int stderr_fd;                  /* else: captured into the result */
    size_t out_limit;               /* capture caps (0 = KL_OUT_SIZE) */
    size_t err_limit;
    struct kl_svc_ctx *svc;         /* services the run declared (host/svc.h); NULL: none */
    int large_pages;                /* runs once, never reset: 2 MiB pages (kl_vm_large_pages) */
};

enum kl_result_kind {
    KL_RES_EXIT = 0,    /* exit_code is valid */
    KL_RES_TRAP,        /* trap is valid */
    KL_RES_TIMEOUT,     /* wall-clock limit hit */
    KL_RES_LIMIT,       /* output limit hit */
    KL_RES_ERROR,       /* the guest misbehaved or the host failed */
};

/** How a run ended. Strings and buffers are owned; see kl_run_result_free. */
struct kl_run_result {
    enum kl_result_kind kind;
    int exit_code;
    enum kl_trap trap;
    char reason[256];      /* one line: "out of bounds memory access" */
    uint8_t *out;          /* captured stdout (when stdout_fd < 0) */
    size_t out_len;
    uint8_t *err;          /* captured stderr (when stderr_fd < 0) */
    size_t err_len;
    uint64_t setup_ns;     /* VM creation and image load */
    uint64_t run_ns;       /* first KVM_RUN to the final exit */
    uint32_t exits;        /* VM exits taken */
    uint32_t large_pages;  /* 2 MiB pages of linear memory at the end */
};

/** Initialise a config with no limits, stdio passed through. */
void kl_run_config_init(struct kl_run_config *cfg);

/**
 * Run `img` once in a fresh VM. Returns 0 when the run produced a result
 * (including traps and timeouts, which are described in *res), or -errno
 * when the host could not run it at all (no /dev/kvm, out of memory), with
 * the reason in *err.
 */
int kl_run(const struct kl_image *img, const struct kl_run_config *cfg,
           struct kl_run_result *res, struct kl_err *err);

/** Release the buffers of a result. */
void kl_run_result_free(struct kl_run_result *res);

/** The human-readable name of a trap ("integer divide by zero"). */
const char *kl_trap_name(enum kl_trap trap);

/* ---- one instance, step by step: for src/inst and the services that drive
 * an instance themselves (wast/invoke.c); struct kl_inst is in instance.h ---- */

struct kl_inst;
struct kl_vm_exit;

/**
 * Create the VM, load `img`, write the boot block and point the vCPU at the
 * image entry. in->cfg, in->res and the capture limits must be set. On
 * failure the caller still calls kl_inst_teardown.
 */
int kl_inst_setup(struct kl_inst *in, const struct kl_image *img,
                  const struct kl_run_config *cfg, struct kl_err *err);

/** Destroy the VM and unmap guest memory (captured output is kept). */
void kl_inst_teardown(struct kl_inst *in);

/** Turn a CPU exception reported by a trap stub into a trap or an error. */
int kl_fault_handle(struct kl_inst *in);

/**
 * Handle one VM exit: hostcalls, CPU faults (through in->on_fault), timeout
 * kicks, and the exits that end a guest. Returns KL_HC_CONTINUE, KL_HC_DONE
 * or -errno for a host failure.
 */
int kl_inst_handle_exit(struct kl_inst *in, const struct kl_vm_exit *x);

/** (Re)write the boot block and request area for one run or request. */
int kl_inst_write_boot(struct kl_inst *in, const struct kl_run_config *cfg, struct kl_err *err);

/**
 * Run the vCPU until the run has a result (in->done) or pauses (in->paused,
 * e.g. at READY for a warm VM). Returns 0 or -errno for a host failure.
 */
int kl_inst_run_loop(struct kl_inst *in, struct kl_err *err);

#endif
