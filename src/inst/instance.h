/* instance.h - the host-side state of one instance (internal to src/inst and the services it calls); each file's functions are in its own header. */
#ifndef KL_VMM_INSTANCE_H
#define KL_VMM_INSTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "inst/gmem.h"
#include "inst/run.h"
#include "inst/service.h"
#include "vm/vm.h"

/** One linear memory: a host reservation of its maximum (kl_vm_map_ram),
 * mapped into the guest page by page as it grows. */
struct kl_linmem {
    uint8_t *host;
    uint64_t reserved;       /* bytes reserved on the host (the effective maximum) */
    uint32_t pages;          /* currently mapped in the guest */
};

/** Captured output with a cap. */
struct kl_capture {
    uint8_t *buf;
    size_t len, cap, limit;
};

struct kl_inst {
    struct kl_vm *vm;
    uint8_t *low;                          /* guest [0, KL_LOW_END), identity-mapped */
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
    void *svc[KL_SVC_MAX];                 /* each registered service's state (inst/service.h) */
    /* The hostcall struct being served: handlers work on this host copy,
     * never on guest memory, which a process sandbox's guest can change
     * while the host reads it; hc_guest is where it came from. */
    uint64_t hc_copy[KL_HCALL_SIZE / 8];
    void *hc_guest;
};

#endif
