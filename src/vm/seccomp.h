/* seccomp.h - the syscall allow-list installed on every thread that runs a vCPU. */
#ifndef KL_VMM_SECCOMP_H
#define KL_VMM_SECCOMP_H

/**
 * Install the vCPU thread's seccomp filter on the calling thread, once
 * (later calls on the same thread return at once). Called by
 * kl_inst_run_loop before the first KVM_RUN, so it covers everything a
 * vCPU thread does for the rest of its life: create, run, reset and destroy
 * VMs and serve hostcalls. Callers run guests on threads that do nothing
 * else (see seccomp.c). Other threads are untouched. KERNLESS_NO_SECCOMP=1 in the environment
 * turns it off (debugging: strace, gdb). Returns 0 (installed, already
 * installed, or turned off) or a negative errno.
 */
int kl_seccomp_vcpu_install(void);

/**
 * Mark the calling thread as a dedicated vCPU thread: one that from now on
 * only creates, runs, resets and destroys VMs. Its next kl_inst_run_loop
 * installs the filter. Unmarked threads (library users such as the unit
 * tests, `kernless wast`) run guests without it, so kl_run never takes
 * syscalls away from a caller that did not ask for it.
 */
void kl_seccomp_vcpu_thread(void);

struct kl_run_config;

/**
 * Called by kl_inst_run_loop after setup, before KVM_RUN: if this thread is
 * marked (and not yet filtered), confine its file access to cfg's preopens
 * (landlock.h), then install the filter. Returns 0 or a negative errno.
 */
int kl_seccomp_vcpu_enter(const struct kl_run_config *cfg);

/** 1 if the calling thread has the vCPU filter, else 0. */
int kl_seccomp_vcpu_active(void);

#endif
