/* instance.h - the host-side state of one micro-VM instance (internal to src/vmm). */
#ifndef KL_VMM_INSTANCE_H
#define KL_VMM_INSTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/gmem.h"
#include "vmm/paging_x86_64.h"
#include "vmm/run.h"
#include "vmm/vm.h"

/** One linear memory: a private anonymous mapping backing its slot. */
struct kl_linmem {
    uint8_t *host;
    uint64_t slot_bytes;     /* reserved size (the effective maximum) */
    uint32_t pages;          /* currently mapped */
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
};

/* Outcome of handling one exit. */
enum { KL_HC_CONTINUE = 0, KL_HC_DONE = 1 };

/**
 * Dispatch the hostcall on `port` with struct address `value`. Returns
 * KL_HC_CONTINUE, KL_HC_DONE (res is filled), or -errno for a host failure.
 * A misbehaving guest is not a host failure: it ends with KL_RES_ERROR.
 */
int kl_hostcall_dispatch(struct kl_inst *in, uint16_t port, uint32_t value);

/** Turn a CPU exception reported by a trap stub into a trap or an error. */
int kl_fault_handle(struct kl_inst *in);

/** End the run with `kind` and a formatted reason. Returns KL_HC_DONE. */
int kl_inst_finish(struct kl_inst *in, enum kl_result_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Deliver the guest's pending stdout/stderr bytes. Returns 0 or KL_HC_DONE on a limit. */
int kl_inst_take_output(struct kl_inst *in, uint32_t out_len, uint32_t err_len);

/** Map pages [0, new_pages) of linear memory `idx`, creating its slot. */
int kl_inst_mem_grow(struct kl_inst *in, uint32_t idx, uint32_t new_pages, uint32_t max_pages);

#endif
