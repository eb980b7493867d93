/* landlock.h - a vCPU thread may open files only beneath its run's preopens (Landlock). */
#ifndef KL_VMM_LANDLOCK_H
#define KL_VMM_LANDLOCK_H

#include "inst/run.h"

#define KL_LANDLOCK_KEY_LEN 65   /* hex SHA-256 and its NUL */

/**
 * Confine the calling thread's path-based file access to cfg's preopens
 * (read-only ones read-only) and /dev/kvm, for the rest of its life, where
 * the kernel has Landlock; elsewhere do nothing. Called once per vCPU
 * thread, with its first run's configuration (kl_seccomp_vcpu_enter).
 * Returns 0 (confined, or Landlock missing) or -errno.
 */
int kl_landlock_vcpu(const struct kl_run_config *cfg);

/**
 * The preopens a thread confined by cfg may open, as a short string:
 * threads with equal keys can run each other's functions. `out` holds
 * KL_LANDLOCK_KEY_LEN bytes.
 */
void kl_landlock_key(const struct kl_run_config *cfg, char *out);

/** The calling thread's key, or "" while it is not confined. */
const char *kl_landlock_thread_key(void);

#endif
