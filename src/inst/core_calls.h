/* core_calls.h - the hostcalls every instance has: exit, write, read, memgrow, sleep, ready. */
#ifndef KL_INST_CORE_CALLS_H
#define KL_INST_CORE_CALLS_H

/**
 * Register the core hostcalls (KL_HC_EXIT .. KL_HC_READY) with the registry.
 * Idempotent and thread-safe: the first call registers, later ones return
 * its result. Returns 0 or -errno (-EEXIST: a service took a core number).
 */
int kl_core_calls_register(void);

#endif
