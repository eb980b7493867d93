/* kvm.h - the KVM backend's `struct kl_vm`, shared by its vCPU and memory files (internal to vm/kvm). */
#ifndef KL_VM_KVM_H
#define KL_VM_KVM_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kernless/abi.h"
#include "vm/backend.h"
#include "vm/kvm/paging_x86_64.h"

/* Memory slots: three for the low area, then KL_LINMEM_CHUNKS per memory. */
#define KL_SLOT_LOW 0u
#define KL_SLOT_HEAP 1u
#define KL_SLOT_STACK 2u
#define KL_LINMEM_CHUNKS 13u   /* 2 MiB, then doubling chunks up to 4 GiB */
#define KL_SLOT_MEM(i, chunk) (3u + (i) * KL_LINMEM_CHUNKS + (chunk))
/* Dirty-bit runs kept for the ring-0 stub (kl_kvm_dirty_log); more are
 * left set, which only means those pages are copied back again. */
#define KL_KVM_MAX_CLEAR 1024u
/* Fewer dirty pages than this are left set: copying them back again costs
 * less than the ring-0 entry that would clear them. */
#define KL_KVM_CLEAR_MIN 256u
/* The dirty bit's run flag in the stub's list (trapstubs_x86_64.S). */
#define KL_RESET_RUN_CLEAR_D (1ull << 63)
/* In a run's address: write its second word to that one entry (a 2 MiB
 * page, kl_pt_promotable); entries are 8-byte aligned, so bit 0 is free. */
#define KL_RESET_RUN_SET 1ull

/** A linear memory as KVM sees it: its host reservation, registered with
 * KVM chunk by chunk as the guest grows it. */
struct kvm_linmem {
    uint8_t *host;
    uint64_t reserved;     /* bytes kl_vm_map_ram reserved */
    uint64_t registered;   /* bytes covered by memory slots */
};

/** The KVM backend's VM: file descriptors, the vCPU, and the guest's x86 tables. */
struct kl_vm {
    const struct kl_vm_ops *ops;   /* first: vm.c dispatches on it */
    int kvm, vm, vcpu;
    struct kvm_run *run;
    size_t run_size;
    timer_t timer;
    int timer_made;                /* `timer` exists; it kicks the thread numbered timer_thread */
    uint64_t timer_thread;
    uint32_t tsc_khz;              /* KVM_GET_TSC_KHZ, read once: 0 until then */
    int sync_regs;                 /* KVM_CAP_SYNC_REGS has regs and sregs */
    int sync_pending;              /* run->s.regs holds a restore the next KVM_RUN applies */
    int io_pending;                /* the last exit was an `out`: KVM completes it on the next KVM_RUN */
    uint8_t *low;                  /* host view of guest-physical [0, KL_LOW_END) */
    struct kl_pt pt;               /* page tables in the low area's table pool */
    uint64_t low_end;              /* slot 0 covers [0, low_end): system, I/O and image */
    int low_registered;            /* slot 0 was added (at the first entry) */
    int heap_slot, stack_slot;     /* those slots were added */
    struct kvm_linmem mems[KL_MAX_MEMORIES];
    unsigned nruns;                /* entries of the ring-0 reset list to run at restore */
    /* Runs of page-table entries whose dirty bit the ring-0 stub clears at
     * restore (kl_kvm_dirty_log): entries {gpa of the first, count}. */
    struct { uint64_t addr, count; } clear[KL_KVM_MAX_CLEAR];
    unsigned nclear;
    uint64_t clear_pages;          /* pages those runs cover */
    int large;                     /* kl_vm_large_pages: runs once, never saved */
    int saved;                     /* kvm_save ran: linear memory mapped now is grown by a request */
    unsigned large_count;          /* 2 MiB pages of linear memory mapped */
};

extern const struct kl_vm_ops kl_vm_kvm_ops;

/* kvm_x86_64.c */

/** Add memory slot `slot`: guest-physical [gpa, gpa+size) is host memory `host`. */
int kl_kvm_set_slot(struct kl_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
                    struct kl_err *err);

/** Point the vCPU at ring-0 code with the given rsp, rsi and rdx. */
int kl_kvm_enter_ring0(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t rsi, uint64_t rdx);

/** One KVM_RUN (the kl_vm_run operation). */
int kl_kvm_run(struct kl_vm *vm, struct kl_vm_exit *exit);

/* kvm_mem_x86_64.c */

/** The low area is `low`: write the descriptor tables and start the page tables. */
int kl_kvm_low_init(struct kl_vm *vm, uint8_t *low, struct kl_err *err);

/** kl_vm_map, kl_vm_unmap, kl_vm_dirty_log. */
int kl_kvm_map(struct kl_vm *vm, uint64_t gva, uint8_t *host, uint64_t size, unsigned prot,
               struct kl_err *err);
int kl_kvm_unmap(struct kl_vm *vm, uint64_t gva, uint64_t size);
int kl_kvm_dirty_log(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap);

/** Before the first entry: add slot 0 for what the low area maps. */
int kl_kvm_low_register(struct kl_vm *vm, struct kl_err *err);

/** Run the ring-0 stub over the reset list kl_kvm_unmap filled (nothing if empty). */
int kl_kvm_reset_flush(struct kl_vm *vm);

/** Run the reset stub's list now, mid-run, and resume where the guest stopped. */
int kl_kvm_flush_now(struct kl_vm *vm);

/* cpu_x86_64.c: write GDT, IDT, TSS (with the hostcall I/O bitmap), the
 * hostcall gate and the ring-0 trap stubs into guest-physical memory at `low`. */
void kl_cpu_tables_write(uint8_t *low);

/* Where the hostcall gate resumes after its `out`: from READY on it loads
 * the vector registers' initial state before it returns (cpu_x86_64.c). */
#define KL_KVM_GATE_RESUME 9u

#endif
