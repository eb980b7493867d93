/* main.c - the guest's life: instantiate the module, report READY, then run requests or commands. */
#include <string.h>

#include "guest.h"
#include "wasi.h"

static wasi_t wasi_instance;

/* Run the module's _start as a WASI command; a trap ends the run. */
static void run_command(void)
{
    kl_clock_init();
    kl_random_init(KL_BOOT->seed);
    kl_wasi_init();
    if (!kl_module_run_start())
        kl_fatal("the module has no _start export; it is not a WASI command");
    kl_exit(KL_EXIT_NORMAL, 0);
}

/** Entered from crt0 at CPL 3. Never returns. */
void kl_guest_main(void)
{
    volatile struct kl_hc_ready *r = &KL_HCALL->ready;

    if (KL_BOOT->magic != KL_BOOT_MAGIC || KL_BOOT->abi_version != KL_ABI_VERSION)
        kl_fatal("boot block has the wrong magic or ABI version");
    /* A module's start function may already call WASI. */
    kl_clock_init();
    kl_random_init(KL_BOOT->seed);
    kl_wasi_init();
    wasm_rt_init();
    kl_module_init();
    /* The memory's struct lives in the static instance, so WASI can point at
     * it now: a start function's WASI calls then see the memory as soon as
     * instantiation has allocated it (until then its size is 0: EFAULT). */
    wasi_instance.mem = kl_module_memory();
    /* Instantiation runs data/element segments and the start function; a
     * trap there ends the run with that trap, as in any engine. */
    kl_module_instantiate(&wasi_instance);
    /* A module that says itself when to snapshot (an interpreter that loads
     * the user's code first) runs on as a command; ready.c reports READY. */
    if (kl_module_defers_ready())
        run_command();
    r->mode = KL_MODE_COMMAND;
    kl_hostcall(KL_HC_READY, (void *)r);
    /* The host may have snapshotted us here; everything below is per request. */
    if (r->mode == KL_MODE_COMMAND)
        run_command();
    if (r->mode == KL_MODE_INVOKE)
        kl_invoke_main();
    kl_fatal("unknown run mode from the host");
}
