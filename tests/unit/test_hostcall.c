/* test_hostcall.c - unit tests for the hostcall and service registries: what registration refuses, dispatch to a registered handler, and the per-instance hooks. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "inst/core_calls.h"
#include "inst/hostcall.h"
#include "inst/instance.h"
#include "inst/service.h"
#include "unit.h"

#define FREE_NR 20u   /* a number no service of this binary takes */

struct echo {
    uint32_t in, out;
};

static int echo_calls;

/* Doubles `in` into `out`; the guest's struct changes only through the copy. */
static int hc_echo(struct kl_inst *in, void *arg)
{
    struct echo *e = arg;

    echo_calls++;
    e->out = e->in * 2;
    return KL_HC_CONTINUE;
}

static void test_register(void)
{
    CHECK(kl_core_calls_register() == 0);
    CHECK(kl_core_calls_register() == 0);   /* idempotent */
    /* Refused: a taken number, a number past the table, bad sizes, no handler or name. */
    CHECK(kl_hostcall_register(KL_HC_EXIT, "mine", 8, hc_echo) == -EEXIST);
    CHECK(kl_hostcall_register(KL_HC_MAX, "far", 8, hc_echo) == -EINVAL);
    CHECK(kl_hostcall_register(FREE_NR, "empty", 0, hc_echo) == -EINVAL);
    CHECK(kl_hostcall_register(FREE_NR, "huge", KL_HCALL_SIZE + 1, hc_echo) == -EINVAL);
    CHECK(kl_hostcall_register(FREE_NR, "none", 8, NULL) == -EINVAL);
    CHECK(kl_hostcall_register(FREE_NR, NULL, 8, hc_echo) == -EINVAL);
    /* None of the refusals took the number. */
    CHECK(kl_hostcall_register(FREE_NR, "echo", sizeof(struct echo), hc_echo) == 0);
    CHECK(kl_hostcall_register(FREE_NR, "echo", sizeof(struct echo), hc_echo) == -EEXIST);
}

static void test_dispatch(void)
{
    static uint64_t area[KL_HCALL_SIZE / 8];
    static struct kl_inst in;
    struct kl_run_result res;
    struct echo *e = (struct echo *)area;

    memset(&in, 0, sizeof(in));
    memset(&res, 0, sizeof(res));
    in.res = &res;
    kl_gmem_set(&in.hc_gm, "hostcall area", KL_HCALL_GVA, KL_HCALL_SIZE, (uint8_t *)area, 1);
    e->in = 21;
    CHECK(kl_hostcall_dispatch(&in, KL_HC_PORT(FREE_NR), KL_HCALL_GVA) == KL_HC_CONTINUE);
    CHECK(echo_calls == 1 && e->out == 42 && !in.done);
    /* An unregistered number ends the guest's run, not the host. */
    CHECK(kl_hostcall_dispatch(&in, KL_HC_PORT(FREE_NR + 1), KL_HCALL_GVA) == KL_HC_DONE);
    CHECK(in.done && res.kind == KL_RES_ERROR && strstr(res.reason, "unknown I/O port"));
    CHECK(echo_calls == 1);
}

static int opened, closed, booted;

static int svc_open(struct kl_inst *in, void **state, const struct kl_run_config *cfg,
                    struct kl_err *err)
{
    *state = &opened;
    opened++;
    return 0;
}

static int svc_boot(void *state, const struct kl_run_config *cfg, struct kl_boot_info *b,
                    uint8_t *dst, uint64_t *pos, uint64_t room, struct kl_err *err)
{
    booted += state == &opened;
    memcpy(dst, "ab", 3);
    *pos += 3;
    return 0;
}

static void svc_close(void *state)
{
    closed += state == &opened;
}

static void test_services(void)
{
    static const struct kl_service svc = {.name = "test", .open = svc_open, .boot = svc_boot,
                                          .close = svc_close};
    static struct kl_service spare[KL_SVC_MAX];
    static struct kl_inst in;
    struct kl_run_config cfg;
    struct kl_boot_info b;
    uint8_t dst[8];
    uint64_t pos = 100;
    int id, n = 0;

    kl_run_config_init(&cfg);
    memset(&in, 0, sizeof(in));
    CHECK((id = kl_service_register(&svc)) >= 0);
    CHECK(kl_service_register(&svc) == -EEXIST);
    CHECK(kl_service_register(&(struct kl_service){.name = NULL}) == -EINVAL);
    CHECK(kl_services_open(&in, &cfg, NULL) == 0 && opened == 1);
    CHECK(kl_service_state(&in, id) == &opened);
    CHECK(kl_services_boot(&in, &cfg, &b, dst, &pos, sizeof(dst), NULL) == 0);
    CHECK(booted == 1 && pos == 103 && !strcmp((char *)dst, "ab"));
    kl_services_close(&in);
    CHECK(closed == 1 && kl_service_state(&in, id) == NULL);
    kl_services_close(&in);   /* a second close finds nothing to close */
    CHECK(closed == 1);
    /* The slots run out. */
    for (int i = 0; i < KL_SVC_MAX; i++) {
        spare[i].name = "spare";
        n += kl_service_register(&spare[i]) >= 0;
    }
    CHECK(n == KL_SVC_MAX - 1 - id);
    CHECK(kl_service_register(&(struct kl_service){.name = "late"}) == -ENOSPC);
}

int main(void)
{
    test_register();
    test_dispatch();
    test_services();
    UNIT_DONE();
}
