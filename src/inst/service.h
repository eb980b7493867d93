/* service.h - per-instance service state: services register hooks that inst calls at setup, boot, warm reset and teardown, and keep their state in an opaque slot. */
#ifndef KL_INST_SERVICE_H
#define KL_INST_SERVICE_H

#include <stdint.h>

#include "common/err.h"
#include "kernless/abi.h"
#include "inst/run.h"

struct kl_inst;

/* Services one process may register (each gets a slot in struct kl_inst). */
#define KL_SVC_MAX 8

/**
 * What a service does per instance. Every hook may be NULL; a service with
 * none only gets a slot (its owner fills it, as wast/invoke.c does).
 */
struct kl_service {
    const char *name;
    /** At setup, before the VM exists: create the state into *state.
     * Returns 0 or -errno with *err (a user's mistake costs no VM). */
    int (*open)(struct kl_inst *in, void **state, const struct kl_run_config *cfg,
                struct kl_err *err);
    /** At every boot-block write: describe the service to the guest in `b`,
     * packing strings at guest address *pos (host view `dst`, `room` bytes
     * free) and advancing *pos. Returns 0 or -errno with *err. */
    int (*boot)(void *state, const struct kl_run_config *cfg, struct kl_boot_info *b,
                uint8_t *dst, uint64_t *pos, uint64_t room, struct kl_err *err);
    /** After a warm VM's reset: drop what the request left (cfg0 is the
     * config the VM was created with). Returns 0 or -errno. */
    int (*reset)(void **state, const struct kl_run_config *cfg0);
    /** At teardown: release the state (never called with NULL). */
    void (*close)(void *state);
};

/**
 * Register a service (kept by pointer: `s` must outlive the process's
 * instances). Call at start-up, before any instance exists. Returns its slot
 * id (>= 0), -EEXIST if `s` is registered already, -ENOSPC when all
 * KL_SVC_MAX slots are taken, or -EINVAL without a name.
 */
int kl_service_register(const struct kl_service *s);

/** The state of service `id` in `in` (NULL until set or opened). */
void *kl_service_state(const struct kl_inst *in, int id);

/** Set the state of service `id` in `in` (for services without an open hook). */
void kl_service_set_state(struct kl_inst *in, int id, void *state);

/** Run every service's open hook; on failure the caller still calls kl_services_close. */
int kl_services_open(struct kl_inst *in, const struct kl_run_config *cfg, struct kl_err *err);

/** Run every service's boot hook, in registration order. */
int kl_services_boot(struct kl_inst *in, const struct kl_run_config *cfg, struct kl_boot_info *b,
                     uint8_t *dst, uint64_t *pos, uint64_t room, struct kl_err *err);

/** Run every service's reset hook (a warm VM between requests). */
int kl_services_reset(struct kl_inst *in, const struct kl_run_config *cfg0);

/** Run every service's close hook on the state it holds, and clear the slots. */
void kl_services_close(struct kl_inst *in);

#endif
