/* vm_backend.h - what a VM backend provides (internal to src/vmm): one ops table per isolation kind. */
#ifndef KL_VMM_VM_BACKEND_H
#define KL_VMM_VM_BACKEND_H

#include "vmm/vm.h"

/*
 * Each backend defines its own `struct kl_vm`, whose first member must be
 * `const struct kl_vm_ops *ops`; vm.c reads only that member (through
 * struct kl_vm_hdr) to dispatch. Operations a backend cannot do are NULL and
 * the dispatcher answers -ENOTSUP, so callers ask kl_vm_caps() first.
 */
struct kl_vm_ops {
    const char *name;                  /* "kvm", "process" */
    unsigned caps;                     /* enum kl_vm_caps */
    int (*probe)(struct kl_err *err);  /* can this host run it at all? 0 or -errno */
    int (*spares_start)(unsigned n);
    int (*create)(struct kl_vm **out, struct kl_err *err);
    int (*map_ram)(struct kl_vm *vm, int which, uint64_t bytes, uint8_t **host, struct kl_err *err);
    int (*set_memory)(struct kl_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
                      struct kl_err *err);
    int (*mem_resize)(struct kl_vm *vm, unsigned idx, uint64_t bytes);
    int (*dirty_log)(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap);
    int (*enter_user64)(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t cr3,
                        struct kl_err *err);
    int (*run)(struct kl_vm *vm, struct kl_vm_exit *exit);
    int (*fault)(struct kl_vm *vm, const uint8_t *low, struct kl_vm_fault *f);
    uint64_t (*tsc_khz)(struct kl_vm *vm);
    int (*arm_timeout)(struct kl_vm *vm, uint64_t ms);
    void (*disarm_timeout)(struct kl_vm *vm);
    struct kl_vm_state *(*state_alloc)(void);
    int (*complete_io)(struct kl_vm *vm);
    int (*save)(struct kl_vm *vm, struct kl_vm_state *st);
    int (*restore)(struct kl_vm *vm, const struct kl_vm_state *st);
    int (*enter_ring0)(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t rsi, uint64_t rdx);
    int (*quiesce)(struct kl_vm *vm);  /* NULL: stopped whenever the host runs */
    void (*destroy)(struct kl_vm *vm);
};

extern const struct kl_vm_ops kl_vm_kvm_ops;   /* vm_kvm_x86_64.c */
extern const struct kl_vm_ops kl_vm_proc_ops;  /* vm_proc_x86_64.c */

#endif
