/* vm.h - the platform-neutral micro-VM interface; vm_kvm_x86_64.c (KVM) and vm_proc_x86_64.c (a seccomp process) implement it. */
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
    KL_VMX_DIED,         /* the sandbox process ended: raw_reason is its wait status */
    KL_VMX_OTHER,        /* anything else: fatal to the guest */
};

struct kl_vm_exit {
    enum kl_vm_exit_kind kind;
    uint16_t port;
    uint8_t size;        /* access size in bytes */
    uint32_t value;
    uint32_t raw_reason; /* the backend's own code, for messages */
};

/** A CPU exception the guest took, in x86 terms whatever the backend. */
struct kl_vm_fault {
    uint64_t vector;     /* exception vector: 0 #DE, 6 #UD, 13 #GP, 14 #PF, ... */
    uint64_t code;       /* error code (0 where the vector has none) */
    uint64_t rip, cs;    /* where it happened; cs & 3 is the privilege level */
    uint64_t addr;       /* the faulting address (CR2) of a page fault */
};

/* ---- isolation: which backend this process uses ---- */

enum kl_isolation {
    KL_ISOLATION_AUTO = 0,     /* KVM where a VM can be created, else the process sandbox */
    KL_ISOLATION_KVM = 1,      /* hardware virtualisation (vm_kvm_x86_64.c) */
    KL_ISOLATION_PROCESS = 2,  /* a seccomp-confined process per instance (vm_proc_x86_64.c) */
};

/** Parse "auto", "kvm" or "process". Returns 0 or -EINVAL. */
int kl_isolation_parse(const char *s, enum kl_isolation *out);

/**
 * Choose the backend for every VM this process creates, once, before the
 * first VM. AUTO picks KVM when /dev/kvm opens and a VM can be created,
 * else the process sandbox, and kl_isolation_note() says why. KVM on a host
 * without it fails with -ENODEV and the reason in *err. Later calls with
 * the same choice return 0; a different explicit choice gets -EBUSY.
 * Without a call, the first VM selects AUTO.
 */
int kl_isolation_select(enum kl_isolation want, struct kl_err *err);

/** The backend in use: "kvm" or "process" (selects AUTO if nothing was chosen yet). */
const char *kl_isolation_name(void);

/** Why AUTO fell back to the process sandbox ("" when it did not). */
const char *kl_isolation_note(void);

/* ---- VMs ---- */

/** What a backend does differently (kl_vm_caps). */
enum kl_vm_caps {
    KL_VM_CAP_DIRTY_LOG = 1u << 0,  /* kl_vm_dirty_log reports written pages; guest PTE
                                     * dirty bits are not maintained */
    KL_VM_CAP_RESIZE = 1u << 1,     /* kl_vm_mem_resize sets a linear memory's size; shrinking
                                     * unmaps and zeroes (no ring-0 reset stub) */
};

/** The backend's enum kl_vm_caps. */
unsigned kl_vm_caps(const struct kl_vm *vm);

/** Keep `n` empty VMs pre-created by a background thread (server start-up). */
int kl_vm_spares_start(unsigned n);

/** Create a VM with one vCPU (a pre-created spare if one is ready). No memory yet. */
int kl_vm_create(struct kl_vm **out, struct kl_err *err);

/* kl_vm_map_ram `which`: the low area [0, KL_LOW_END), or linear memory i >= 0. */
#define KL_VM_RAM_LOW (-1)

/**
 * Host memory for guest RAM: the low area (KL_LOW_END bytes) or linear
 * memory `which` (its reservation). Backends choose the kind of memory
 * (anonymous for KVM, a memfd the sandbox also maps for a process). The
 * caller munmaps it after kl_vm_destroy.
 */
int kl_vm_map_ram(struct kl_vm *vm, int which, uint64_t bytes, uint8_t **host, struct kl_err *err);

/** Linear memory `idx` now has `bytes` (grow or shrink). KL_VM_CAP_RESIZE backends only. */
int kl_vm_mem_resize(struct kl_vm *vm, unsigned idx, uint64_t bytes);

/**
 * Set bit i of `bitmap` for every page [gva + i*4096] in [gva, gva+len) the
 * guest may have written since the VM was created (a superset is allowed,
 * a subset never). KL_VM_CAP_DIRTY_LOG backends only; bitmap is zeroed first.
 */
int kl_vm_dirty_log(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap);

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

/**
 * Describe the CPU exception the guest just reported on KL_FAULT_PORT.
 * `low` is the host view of guest-physical [0, KL_LOW_END) (KVM reads the
 * ring-0 stub's frame there). Returns 0, or -EPROTO for a malformed report.
 */
int kl_vm_fault(struct kl_vm *vm, const uint8_t *low, struct kl_vm_fault *f);

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

/**
 * Make sure no guest code runs until the next kl_vm_run: before a reset
 * writes the VM's memory for the next request. 0, or -errno when that
 * cannot be proven (the VM must then be destroyed). KVM's vCPU runs only
 * inside kl_vm_run; a process sandbox is made to park (vm_proc_x86_64.c).
 */
int kl_vm_quiesce(struct kl_vm *vm);

/** Point the vCPU at ring-0 code with the given rsp, rsi and rdx. */
int kl_vm_enter_ring0(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t rsi, uint64_t rdx);

/** Destroy the VM. */
void kl_vm_destroy(struct kl_vm *vm);

/* cpu_x86_64.c: write GDT, IDT, TSS (with the hostcall I/O bitmap) and the
 * ring-0 trap stubs into guest-physical memory at `low`. */
void kl_cpu_tables_write(uint8_t *low);

#endif
