/* wasi_service.c - the WASI host filesystem as an instance service: the KL_HC_FS hostcall and each instance's file table. */
#include "host/wasi_service.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "inst/hostcall.h"
#include "inst/inst_output.h"
#include "inst/instance.h"
#include "inst/service.h"
#include "host/wasi_dispatch.h"
#include "host/wasi_handles.h"

/* This service's slot in every instance: its struct kl_fs. */
static int wasi_svc = -1;

int kl_hc_fs(struct kl_inst *in, void *arg)
{
    struct kl_err err;

    if (kl_wasi_fs_call(kl_service_state(in, wasi_svc), &in->gm, arg, &err) < 0)
        return kl_inst_finish(in, KL_RES_ERROR, "%s", err.msg);
    return KL_HC_CONTINUE;
}

/* Pack the preopens' guest paths NUL-terminated at guest address *pos (host
 * view `dst`, `room` bytes free) and describe them in the boot block. */
static int boot_preopens(const struct kl_run_config *cfg, struct kl_boot_info *b,
                         uint8_t *dst, uint64_t *pos, uint64_t room)
{
    uint64_t used = 0;

    b->npreopens = cfg->npreopens > 0 ? (uint32_t)cfg->npreopens : 0;
    b->preopen_buf = *pos;
    for (uint32_t i = 0; i < b->npreopens; i++) {
        size_t l = strlen(cfg->preopens[i].guest_path) + 1;
        if (l > room - used)
            return -E2BIG;
        memcpy(dst + used, cfg->preopens[i].guest_path, l);
        used += l;
    }
    b->preopen_len = (uint32_t)used;
    *pos += used;
    return 0;
}

static int svc_open(struct kl_inst *in, void **state, const struct kl_run_config *cfg,
                    struct kl_err *err)
{
    return kl_wasi_host_open((struct kl_fs **)state, cfg, err);
}

static int svc_boot(void *state, const struct kl_run_config *cfg, struct kl_boot_info *b,
                    uint8_t *dst, uint64_t *pos, uint64_t room, struct kl_err *err)
{
    if (boot_preopens(cfg, b, dst, pos, room) < 0)
        return kl_errf(err, -E2BIG, "preopened directory names exceed the request area");
    return 0;
}

/* A request may have opened files under the preopens: start the next one
 * with the preopens only, as the snapshot had them. */
static int svc_reset(void **state, const struct kl_run_config *cfg0)
{
    if (!*state || !cfg0->npreopens)
        return 0;
    kl_wasi_host_close(*state);
    *state = NULL;
    return kl_wasi_host_open((struct kl_fs **)state, cfg0, NULL);
}

static void svc_close(void *state)
{
    kl_wasi_host_close(state);
}

static const struct kl_service wasi_service = {
    .name = "wasi-fs", .open = svc_open, .boot = svc_boot, .reset = svc_reset, .close = svc_close,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int reg_rc;

static void register_once(void)
{
    if ((wasi_svc = kl_service_register(&wasi_service)) < 0)
        reg_rc = wasi_svc;
    else
        reg_rc = kl_hostcall_register(KL_HC_FS, "fs", sizeof(struct kl_hc_fs), kl_hc_fs);
}

int kl_wasi_host_register(void)
{
    pthread_once(&once, register_once);
    return reg_rc;
}
