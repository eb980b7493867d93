/* hostcall.c - the hostcall registry and dispatch; every argument struct is checked and copied before a handler sees it. */
#include "inst/hostcall.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "inst/inst_output.h"
#include "inst/instance.h"

static struct {
    const char *name;
    size_t size;
    kl_hc_fn fn;
} hostcalls[KL_HC_MAX];

/* Registration may come from several services' start-up at once. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

int kl_hostcall_register(unsigned nr, const char *name, size_t size, kl_hc_fn fn)
{
    int rc = 0;

    /* The handler works on in->hc_copy: the struct must fit it. */
    if (nr >= KL_HC_MAX || !name || !fn || size == 0 || size > KL_HCALL_SIZE)
        return -EINVAL;
    pthread_mutex_lock(&reg_lock);
    if (hostcalls[nr].fn)
        rc = -EEXIST;
    else
        hostcalls[nr].name = name, hostcalls[nr].size = size, hostcalls[nr].fn = fn;
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

int kl_hostcall_dispatch(struct kl_inst *in, uint16_t port, uint32_t value)
{
    unsigned nr = (unsigned)port - KL_HC_PORT_BASE;
    struct kl_err err;
    char what[64];
    void *arg;
    int rc;

    if (port < KL_HC_PORT_BASE || nr >= KL_HC_MAX || !hostcalls[nr].fn)
        return kl_inst_finish(in, KL_RES_ERROR, "the guest used unknown I/O port 0x%x", port);
    snprintf(what, sizeof(what), "hostcall %s", hostcalls[nr].name);
    /* The handlers read the struct in place: a misaligned one would be
     * undefined behaviour on the host (found by fuzz_hostcall). */
    if (value % KL_HC_ALIGN != 0)
        return kl_inst_finish(in, KL_RES_ERROR, "%s: struct address 0x%x is not %u-byte aligned",
                              what, value, KL_HC_ALIGN);
    arg = kl_gmem_at(&in->hc_gm, value, hostcalls[nr].size, KL_GMEM_WRITE, what, &err);
    if (!arg)
        return kl_inst_finish(in, KL_RES_ERROR, "%s", err.msg);
    /* Read once: in a process sandbox the guest keeps running (escaped code
     * can post a hostcall and go on writing), so a handler that checked a
     * field and read it again could be raced (tests/escape: hc-race-niov).
     * The handler sees a private copy; its OUT fields go back afterwards. */
    memcpy(in->hc_copy, arg, hostcalls[nr].size);
    in->hc_guest = arg;
    rc = hostcalls[nr].fn(in, in->hc_copy);
    memcpy(arg, in->hc_copy, hostcalls[nr].size);
    return rc;
}
