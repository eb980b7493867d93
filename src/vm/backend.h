/* backend.h - what a VM backend provides (internal to src/vm): one ops table per isolation kind. */
#ifndef KL_VMM_VM_BACKEND_H
#define KL_VMM_VM_BACKEND_H

#include "vm/vm.h"

/*
 * Each backend defines its own `struct kl_vm`, whose first member must be
 * `const struct kl_vm_ops *ops`; vm.c reads only that member (through
 * struct kl_vm_hdr) to dispatch. Every operation is required except
 * `quiesce` (NULL: the VM is stopped whenever the host runs).
 */
struct kl_vm_ops {
    const char *name;                  /* "kvm", "process": --isolation's word */
    enum kl_isolation kind;            /* what --isolation selects it */
    unsigned auto_rank;                /* AUTO tries lower ranks first */
    const char *hint;                  /* how to make an explicit choice work, or NULL */
    int (*probe)(struct kl_err *err);  /* can this host run it at all? 0 or -errno */
    int (*spares_start)(unsigned n);
    int (*create)(struct kl_vm **out, struct kl_err *err);
    int (*map_ram)(struct kl_vm *vm, int which, uint64_t bytes, uint8_t **host, struct kl_err *err);
    int (*map)(struct kl_vm *vm, uint64_t gva, uint8_t *host, uint64_t size, unsigned prot,
               struct kl_err *err);
    int (*unmap)(struct kl_vm *vm, uint64_t gva, uint64_t size);
    int (*dirty_log)(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap);
    int (*enter)(struct kl_vm *vm, uint64_t rip, uint64_t rsp, struct kl_err *err);
    int (*run)(struct kl_vm *vm, struct kl_vm_exit *exit);
    int (*fault)(struct kl_vm *vm, struct kl_vm_fault *f);
    uint64_t (*tsc_khz)(struct kl_vm *vm);
    int (*arm_timeout)(struct kl_vm *vm, uint64_t ms);
    void (*disarm_timeout)(struct kl_vm *vm);
    struct kl_vm_state *(*state_alloc)(void);
    int (*save)(struct kl_vm *vm, struct kl_vm_state *st);
    int (*restore)(struct kl_vm *vm, const struct kl_vm_state *st);
    int (*quiesce)(struct kl_vm *vm);
    void (*destroy)(struct kl_vm *vm);
    /* Optional: large pages for a VM that runs once (kl_vm_large_pages). */
    void (*large_pages)(struct kl_vm *vm);
    unsigned (*large_count)(struct kl_vm *vm);
};

/**
 * Make a backend selectable: each backend calls it from a constructor in
 * its own folder, so vm.c names none of them (layers.txt: vm may not use
 * vm/kvm or vm/proc).
 */
void kl_vm_backend_register(const struct kl_vm_ops *ops);

/**
 * Mark host memory that backs guest RAM: it holds request data and the
 * secrets a request opened, so it is left out of the server's core dumps
 * (MADV_DONTDUMP). Returns 0 or -errno from madvise.
 */
int kl_vm_ram_private(void *p, size_t len);

#endif
