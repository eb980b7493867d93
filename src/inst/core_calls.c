/* core_calls.c - the hostcalls every instance has (exit, write, read, memgrow, sleep, ready), registered by inst itself. */
#include "inst/core_calls.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "inst/hostcall.h"
#include "inst/inst_output.h"
#include "inst/linmem.h"
#include "inst/instance.h"

static int hc_exit(struct kl_inst *in, void *arg)
{
    struct kl_hc_exit *e = arg;
    int rc = kl_inst_take_output(in, e->out_len, e->err_len);

    if (rc != 0)
        return rc;
    switch (e->kind) {
    case KL_EXIT_NORMAL:
        in->res->exit_code = (int)e->code;
        return kl_inst_finish(in, KL_RES_EXIT, "exit status %u", e->code);
    case KL_EXIT_TRAP:
        in->res->trap = e->code < KL_TRAP_COUNT ? (enum kl_trap)e->code : KL_TRAP_NONE;
        return kl_inst_finish(in, KL_RES_TRAP, "%s", kl_trap_name(in->res->trap));
    default:
        return kl_inst_finish(in, KL_RES_ERROR, "the guest runtime failed (see stderr)");
    }
}

static int hc_write(struct kl_inst *in, void *arg)
{
    struct kl_hc_write *w = arg;
    int rc = kl_inst_take_output(in, w->out_len, w->err_len);

    w->ret = rc == 0 ? 0 : -EFBIG;
    return rc;
}

/* Wait for stdin to be readable, at most until the deadline. */
static int stdin_wait(struct kl_inst *in)
{
    for (;;) {
        struct pollfd p = {in->cfg->stdin_fd, POLLIN, 0};
        if (in->deadline_ns && kl_now_ns() >= in->deadline_ns)
            return -ETIMEDOUT;
        /* Short slices so a deadline is noticed while the guest waits. */
        int n = poll(&p, 1, 20);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int hc_read(struct kl_inst *in, void *arg)
{
    struct kl_hc_read *r = arg;
    struct kl_err err;
    uint32_t len = r->len > (1u << 20) ? (1u << 20) : r->len;
    void *buf;
    ssize_t n;
    int rc;

    if (in->cfg->stdin_fd < 0) {
        r->ret = -EBADF;
        return KL_HC_CONTINUE;
    }
    if (!(buf = kl_gmem_at(&in->gm, r->buf, len, KL_GMEM_WRITE, "hostcall read", &err)))
        return kl_inst_finish(in, KL_RES_ERROR, "%s", err.msg);
    if ((rc = stdin_wait(in)) == -ETIMEDOUT)
        return kl_inst_finish(in, KL_RES_TIMEOUT, "timeout after %u ms", in->cfg->timeout_ms);
    do {
        n = rc < 0 ? -1 : read(in->cfg->stdin_fd, buf, len);
    } while (n < 0 && errno == EINTR);
    r->ret = n < 0 ? -errno : (int32_t)n;
    return KL_HC_CONTINUE;
}

static int hc_memgrow(struct kl_inst *in, void *arg)
{
    struct kl_hc_memgrow *g = arg;
    int rc;

    if (g->mem >= KL_MAX_MEMORIES)
        return kl_inst_finish(in, KL_RES_ERROR, "hostcall memgrow: memory index %u out of range",
                              g->mem);
    rc = kl_inst_mem_grow(in, g->mem, g->new_pages, g->max_pages);
    if (rc == -ENOMEM || rc == -EINVAL) {
        g->ret = -ENOMEM;   /* over a limit: memory.grow returns -1 */
        return KL_HC_CONTINUE;
    }
    if (rc < 0)
        return rc;
    g->ret = 0;
    return KL_HC_CONTINUE;
}

/*
 * Sleep on the guest's behalf, never past the request's deadline: the wake-up
 * time is absolute (so interrupted sleeps never restart the full interval),
 * computed without overflow (a guest may ask for ~2^64 ns), and the deadline
 * is checked again after every wake-up (the KVM timeout kick interrupts the
 * sleep every 10 ms once the deadline has passed).
 */
static int hc_sleep(struct kl_inst *in, void *arg)
{
    struct kl_hc_sleep *s = arg;
    uint64_t now = kl_now_ns();
    uint64_t until = s->ns > UINT64_MAX - now ? UINT64_MAX : now + s->ns;

    if (in->deadline_ns && until > in->deadline_ns)
        until = in->deadline_ns;
    for (;;) {
        now = kl_now_ns();
        if (in->deadline_ns && now >= in->deadline_ns)
            return kl_inst_finish(in, KL_RES_TIMEOUT, "timeout after %u ms", in->cfg->timeout_ms);
        if (now >= until)
            return KL_HC_CONTINUE;
        /* At most a second per call: a far wake-up time fits a time_t, and
         * nothing sleeps unobserved for long. */
        uint64_t step = until - now > 1000000000ull ? now + 1000000000ull : until;
        struct timespec ts = {(time_t)(step / 1000000000ull), (long)(step % 1000000000ull)};
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (rc != 0 && rc != EINTR)
            return kl_inst_finish(in, KL_RES_ERROR, "hostcall sleep: %s", strerror(rc));
    }
}

static int hc_ready(struct kl_inst *in, void *arg)
{
    struct kl_hc_ready *r = arg;
    r->mode = in->mode;   /* KL_MODE_COMMAND unless a kl_invoker started this VM */
    if (in->pause_at_ready)
        in->paused = 1;   /* a warm VM snapshots here (warm.c) */
    return KL_HC_CONTINUE;
}

static const struct {
    unsigned nr;
    const char *name;
    size_t size;
    kl_hc_fn fn;
} core[] = {
    {KL_HC_EXIT, "exit", sizeof(struct kl_hc_exit), hc_exit},
    {KL_HC_WRITE, "write", sizeof(struct kl_hc_write), hc_write},
    {KL_HC_READ, "read", sizeof(struct kl_hc_read), hc_read},
    {KL_HC_MEMGROW, "memgrow", sizeof(struct kl_hc_memgrow), hc_memgrow},
    {KL_HC_SLEEP, "sleep", sizeof(struct kl_hc_sleep), hc_sleep},
    {KL_HC_READY, "ready", sizeof(struct kl_hc_ready), hc_ready},
};

static pthread_once_t core_once = PTHREAD_ONCE_INIT;
static int core_rc;

static void register_core(void)
{
    for (size_t i = 0; i < sizeof(core) / sizeof(core[0]) && core_rc == 0; i++)
        core_rc = kl_hostcall_register(core[i].nr, core[i].name, core[i].size, core[i].fn);
}

int kl_core_calls_register(void)
{
    pthread_once(&core_once, register_core);
    return core_rc;
}
