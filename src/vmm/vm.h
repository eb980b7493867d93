/* vm.h - the platform-neutral micro-VM interface; vm_kvm_x86_64.c implements it with KVM. */
#ifndef KL_VMM_VM_H
#define KL_VMM_VM_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct kl_vm;

/** Why kl_vm_run returned. */
enum kl_vm_exit_kind {
    KL_VMX_IO_OUT,       /* an `out` instruction: port and value valid */
    KL_VMX_INTR,         /* interrupted by a signal (timeout kick) */
    KL_VMX_HLT,          /* the guest halted */
    KL_VMX_SHUTDOWN,     /* triple fault or equivalent */
    KL_VMX_OTHER,        /* anything else: fatal to the guest */
};

struct kl_vm_exit {
    enum kl_vm_exit_kind kind;
    uint16_t port;
    uint8_t size;        /* access size in bytes */
    uint32_t value;
    uint32_t raw_reason; /* the backend's own code, for messages */
};

/** Snapshot of the fault-relevant CPU state. */
struct kl_vm_fault_regs {
    uint64_t rip, rsp, cr2;
};

/** Keep `n` empty VMs pre-created by a background thread (server start-up). */
int kl_vm_spares_start(unsigned n);

/** Create a VM with one vCPU (a pre-created spare if one is ready). No memory yet. */
int kl_vm_create(struct kl_vm **out, struct kl_err *err);

/** Map host memory at guest-physical gpa as memory slot `slot`. */
int kl_vm_set_memory(struct kl_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
                     void *host, struct kl_err *err);

/**
 * Point the vCPU at user-mode (CPL 3) code in 64-bit mode with paging on.
 * `cr3` is the PML4, `gdt`/`idt`/`tss` the descriptor tables the host wrote.
 */
int kl_vm_enter_user64(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t cr3,
                       struct kl_err *err);

/** Run until the next exit. Returns 0 with *exit filled, or -errno. */
int kl_vm_run(struct kl_vm *vm, struct kl_vm_exit *exit);

/** Read rip/rsp/cr2 (after a fault stub reported). */
int kl_vm_fault_regs(struct kl_vm *vm, struct kl_vm_fault_regs *r);

/** TSC frequency of the vCPU in kHz (0 if unknown). */
uint64_t kl_vm_tsc_khz(struct kl_vm *vm);

/** Arm or disarm the kick that makes kl_vm_run return KL_VMX_INTR. */
int kl_vm_arm_timeout(struct kl_vm *vm, uint64_t ms);
void kl_vm_disarm_timeout(struct kl_vm *vm);

/** The vCPU state a warm VM returns to after every request. */
struct kl_vm_state;

/** Allocate a state buffer (free with free()). */
struct kl_vm_state *kl_vm_state_alloc(void);

/**
 * Finish a pending `out` (KVM completes port I/O on the next KVM_RUN) without
 * running guest code, so the saved state points past the instruction.
 */
int kl_vm_complete_io(struct kl_vm *vm);

/** Save or restore general, segment/control and FPU/SSE registers. */
int kl_vm_save(struct kl_vm *vm, struct kl_vm_state *st);
int kl_vm_restore(struct kl_vm *vm, const struct kl_vm_state *st);

/** Point the vCPU at ring-0 code with the given rsp, rsi and rdx. */
int kl_vm_enter_ring0(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t rsi, uint64_t rdx);

/** Destroy the VM. */
void kl_vm_destroy(struct kl_vm *vm);

/* cpu_x86_64.c: write GDT, IDT, TSS (with the hostcall I/O bitmap) and the
 * ring-0 trap stubs into guest-physical memory at `low`. */
void kl_cpu_tables_write(uint8_t *low);

#endif
