/* ready.c - kernless.ready, the import by which a module says "snapshot me now" (pre-initialised interpreters). */
#include "guest.h"
#include "wasi.h"

/* The instance wasm2c passes for the "kernless" import module (never read). */
struct Z_kernless_instance_t;

/* Set by the first call; it is in the snapshot, so later calls (in a
 * request) are no-ops instead of a second READY. */
static int ready_done;

/** Glue for modules that do not import kernless.ready overrides nothing. */
__attribute__((weak)) int kl_module_defers_ready(void) { return 0; }

/**
 * kernless.ready(): flush what the module printed so far (it must not be
 * replayed into every request), report READY (a warm VM is snapshotted
 * here), then take the request's clocks, seed, args, environment and stdin
 * as a command's start does. Outside a warm VM it just goes on.
 */
void Z_kernlessZ_ready(struct Z_kernless_instance_t *inst)
{
    volatile struct kl_hc_ready *r = &KL_HCALL->ready;

    (void)inst;
    if (ready_done)
        return;
    ready_done = 1;
    kl_io_flush();
    r->mode = KL_MODE_COMMAND;
    kl_hostcall(KL_HC_READY, (void *)r);
    if (r->mode != KL_MODE_COMMAND)
        kl_fatal("kernless.ready: this module runs only as a command");
    kl_clock_init();
    kl_random_init(KL_BOOT->seed);
    kl_wasi_init();
}
