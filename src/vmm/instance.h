/* instance.h - the host-side state of one micro-VM instance (internal to src/vmm). */
#ifndef KL_VMM_INSTANCE_H
#define KL_VMM_INSTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/gmem.h"
#include "vmm/paging_x86_64.h"
#include "vmm/run.h"
#include "vmm/vm.h"

/* Memory slots: three for the low area, then KL_LINMEM_CHUNKS per memory. */
#define KL_SLOT_LOW 0u
#define KL_SLOT_HEAP 1u
#define KL_SLOT_STACK 2u
#define KL_LINMEM_CHUNKS 13u   /* 2 MiB, then doubling chunks up to 4 GiB */
#define KL_SLOT_MEM(i, chunk) (3u + (i) * KL_LINMEM_CHUNKS + (chunk))

/** One linear memory: a host reservation of its maximum, registered with
 * KVM chunk by chunk as it grows. */
struct kl_linmem {
    uint8_t *host;
    uint64_t reserved;       /* bytes reserved on the host (the effective maximum) */
    uint64_t registered;     /* bytes covered by KVM memory slots */
    uint32_t pages;          /* currently mapped in the guest page tables */
};

/** Captured output with a cap. */
struct kl_capture {
    uint8_t *buf;
    size_t len, cap, limit;
};

struct kl_inst {
    struct kl_vm *vm;
    uint8_t *low;                          /* guest-physical [0, KL_LOW_END) */
    struct kl_pt pt;
    struct kl_gmem gm;                     /* where hostcall buffers may point */
    struct kl_gmem hc_gm;                  /* where hostcall structs may live */
    struct kl_linmem mems[KL_MAX_MEMORIES];
    const struct kl_run_config *cfg;
    struct kl_run_result *res;
    struct kl_capture out, err;
    uint64_t deadline_ns;                  /* 0: none */
    uint32_t max_pages;                    /* host limit for any memory */
    int done;                              /* the run has a result */
    uint32_t mode;                         /* enum kl_run_mode that KL_HC_READY hands out */
    int pause_at_ready;                    /* warm VMs stop the loop at KL_HC_READY */
    int (*on_fault)(struct kl_inst *in);   /* CPU exceptions; NULL: kl_fault_handle */
    int paused;                            /* the loop stopped without a result */
    struct kl_gwritten written;            /* pages the host wrote: gm and hc_gm log here */
    struct kl_invoker *invoker;            /* KL_MODE_INVOKE: the session (vmm/invoke.c) */
    struct kl_fs *fs;                      /* WASI preopens and open files (vmm/wasi_host.c) */
    /* The hostcall struct being served: handlers work on this host copy,
     * never on guest memory, which a process sandbox's guest can change
     * while the host reads it; hc_guest is where it came from. */
    uint64_t hc_copy[KL_HCALL_SIZE / 8];
    void *hc_guest;
};

/* Outcome of handling one exit. */
enum { KL_HC_CONTINUE = 0, KL_HC_DONE = 1 };

/**
 * Dispatch the hostcall on `port` with struct address `value`. Returns
 * KL_HC_CONTINUE, KL_HC_DONE (res is filled), or -errno for a host failure.
 * A misbehaving guest is not a host failure: it ends with KL_RES_ERROR.
 */
int kl_hostcall_dispatch(struct kl_inst *in, uint16_t port, uint32_t value);

/** KL_HC_INVOKE: hand the guest's report to its kl_invoker and pause (vmm/invoke.c). */
int kl_hc_invoke(struct kl_inst *in, void *arg);

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

/** End the run with `kind` and a formatted reason. Returns KL_HC_DONE. */
int kl_inst_finish(struct kl_inst *in, enum kl_result_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Deliver the guest's pending stdout/stderr bytes. Returns 0 or KL_HC_DONE on a limit. */
int kl_inst_take_output(struct kl_inst *in, uint32_t out_len, uint32_t err_len);

/** Map pages [0, new_pages) of linear memory `idx`, creating its slots. */
int kl_inst_mem_grow(struct kl_inst *in, uint32_t idx, uint32_t new_pages, uint32_t max_pages);

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

/** Unmap every linear memory's host reservation (the VM is gone). */
void kl_linmem_release(struct kl_inst *in);

#endif
