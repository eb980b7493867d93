/* vm.h - the backend-neutral micro-VM interface; vm/kvm (KVM) and vm/proc (a seccomp process) implement it. */
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
    KL_ISOLATION_KVM = 1,      /* hardware virtualisation (vm/kvm) */
    KL_ISOLATION_PROCESS = 2,  /* a seccomp-confined process per instance (vm/proc) */
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

/** Keep `n` empty VMs pre-created by a background thread (server start-up). */
int kl_vm_spares_start(unsigned n);

/** Create a VM with one vCPU (a pre-created spare if one is ready). No memory yet. */
int kl_vm_create(struct kl_vm **out, struct kl_err *err);

/** The name of the VM's backend ("kvm", "process"), for messages. */
const char *kl_vm_name(const struct kl_vm *vm);

/* kl_vm_map_ram `which`: the low area [0, KL_LOW_END), or linear memory i >= 0. */
#define KL_VM_RAM_LOW (-1)

/**
 * Host memory for guest RAM: the low area (KL_LOW_END bytes) or linear
 * memory `which` (its reservation). Backends choose the kind of memory
 * (anonymous for KVM, a memfd the sandbox also maps for a process) and
 * what else lives there (KVM: its descriptor tables and page tables in the
 * supervisor part of the low area). Call it for the low area first. The
 * caller munmaps it after kl_vm_destroy.
 */
int kl_vm_map_ram(struct kl_vm *vm, int which, uint64_t bytes, uint8_t **host, struct kl_err *err);

/* kl_vm_map protections. */
#define KL_VM_R 1u
#define KL_VM_W 2u
#define KL_VM_X 4u
#define KL_VM_USER 8u   /* guest (CPL 3) code may access it */

/**
 * Make guest addresses [gva, gva+size) show `host` (memory from
 * kl_vm_map_ram: the low area at gva itself, linear memory i at
 * KL_MEM_GVA(i) + offset) with protections `prot` (KL_VM_*). Low-area
 * regions are mapped before the first kl_vm_enter; a linear memory grows by
 * mapping its next pages. 0, -ENOMEM (beyond the reservation), -ENOSPC (the
 * backend's tables are full), -EBUSY (the layout is fixed), or -errno.
 */
int kl_vm_map(struct kl_vm *vm, uint64_t gva, uint8_t *host, uint64_t size, unsigned prot,
              struct kl_err *err);

/**
 * Take back the tail [gva, gva+size) of a linear memory (the warm reset
 * undoing growth): the guest cannot reach it, and it reads as zero when
 * mapped again. The backend may finish the work at the next kl_vm_restore.
 */
int kl_vm_unmap(struct kl_vm *vm, uint64_t gva, uint64_t size);

/**
 * Set bit i of `bitmap` for every page [gva + i*4096] in [gva, gva+len) the
 * guest may have written since the last call that covered it (since the VM
 * was created, for the first); a superset is allowed, a subset never; bitmap
 * is zeroed first. The host's own writes are not included. A backend may
 * report pages written before the last call too (the process backend
 * without userfaultfd write-protection, KVM while few pages are dirty): the
 * caller copies those back again, which is correct, only slower.
 */
int kl_vm_dirty_log(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap);

/**
 * 0 when KERNLESS_DIRTY_WP=0 asks the backends not to track writes per
 * request (kl_vm_dirty_log then reports every page ever written or
 * touched, as before write tracking): the benchmarks' and tests' baseline.
 */
int kl_vm_write_tracking(void);

/** Point the vCPU at user-mode code at `rip` with stack `rsp`. */
int kl_vm_enter(struct kl_vm *vm, uint64_t rip, uint64_t rsp, struct kl_err *err);

/** Run until the next exit. Returns 0 with *exit filled, or -errno. */
int kl_vm_run(struct kl_vm *vm, struct kl_vm_exit *exit);

/** Describe the CPU exception the guest just reported on KL_FAULT_PORT. 0, or -EPROTO. */
int kl_vm_fault(struct kl_vm *vm, struct kl_vm_fault *f);

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
 * Save the state the guest resumes in after the exit it stopped at (a
 * hostcall returns), or restore it, finishing any kl_vm_unmap first.
 */
int kl_vm_save(struct kl_vm *vm, struct kl_vm_state *st);
int kl_vm_restore(struct kl_vm *vm, const struct kl_vm_state *st);

/**
 * Make sure no guest code runs until the next kl_vm_run: before a reset
 * writes the VM's memory for the next request. 0, or -errno when that
 * cannot be proven (the VM must then be destroyed). KVM's vCPU runs only
 * inside kl_vm_run; a process sandbox is made to park (vm/proc).
 */
int kl_vm_quiesce(struct kl_vm *vm);

/**
 * For a VM that runs once and is never saved (`kernless run`): let its
 * linear memory use 2 MiB pages wherever a whole aligned 2 MiB of it is
 * mapped. Call it before the first linear memory is reserved. KVM under a
 * shadow MMU (PVM) walks large working sets several times faster so; the
 * process sandbox ignores it. Its user pages may also start accessed and
 * dirty (KVM: the shadow MMU then maps a faulting page's neighbours with
 * it). Such a VM refuses kl_vm_save, kl_vm_unmap and kl_vm_dirty_log
 * (-EINVAL): a 2 MiB page has one dirty bit.
 * KERNLESS_LARGE_PAGES=0 turns it off.
 */
void kl_vm_large_pages(struct kl_vm *vm);

/** How many 2 MiB pages the VM's linear memory uses now (0 without). */
unsigned kl_vm_large_count(struct kl_vm *vm);

/** Destroy the VM. */
void kl_vm_destroy(struct kl_vm *vm);

#endif
