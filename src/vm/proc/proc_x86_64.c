/* proc_x86_64.c - the process backend: each VM is a seccomp-confined tender process that enters the same image at CPL 3. */
#include "vm/proc/proc.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* How long the supervisor spins for the tender's next event before it
 * sleeps, and how often a sleeping supervisor checks that the tender lives. */
#define HOST_SPIN_NS 20000ull
#define LIVENESS_NS (10 * 1000000ull)
/* After the timeout kick, how long the guest has to stop before SIGKILL. */
#define KICK_GRACE_NS (200 * 1000000ull)
/* How long a tender told to park has to make its park call. */
#define PARK_GRACE_MS 200

/* ---- the handshake (proc_chan.h) ---- */

int kl_proc_check_dead(struct kl_vm *vm)
{
    siginfo_t si;

    if (vm->dead)
        return 1;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PIDFD, (id_t)vm->pidfd, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 ||
        si.si_pid == 0)
        return 0;
    vm->dead = 1;
    vm->wait_status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
    return 1;
}

static void futex_wait(volatile uint32_t *w, uint32_t val, uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    syscall(SYS_futex, w, FUTEX_WAIT, val, &ts, NULL, 0);
}

/* Supervisors now waiting in kl_proc_exchange: each stands for a sandbox
 * that runs or is about to. */
static unsigned exchanging;

/* The cores this process may use, counted once. */
static unsigned cores(void)
{
    static unsigned n;
    cpu_set_t set;

    if (!__atomic_load_n(&n, __ATOMIC_RELAXED)) {
        unsigned c = sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
        __atomic_store_n(&n, c ? c : 1, __ATOMIC_RELAXED);
    }
    return n;
}

/*
 * Spinning (here and in the tender) pays only with a core to spare for
 * it: each exchange in flight needs one for its tender and one for its
 * spinning supervisor. Beyond that a spin takes the core from the very
 * work it waits for (on 2 cores under load it ate ~30% of both), so both
 * sides sleep on the futex at once.
 */
static int spin_pays(unsigned in_flight) { return in_flight * 2 <= cores(); }

/* ---- parking (proc_chan.h) ---- */

/*
 * Wait for the park call's notification and check that the kernel saw it
 * come from the park instruction. Then the tender is blocked in the kernel
 * until we answer, and resumes only in code that obeys the channel.
 */
static int park_notification(struct kl_vm *vm, int spin)
{
    struct pollfd p[2] = {{vm->notif_fd, POLLIN, 0}, {vm->pidfd, POLLIN, 0}};
    struct seccomp_notif n;
    uint64_t spin_until = spin ? kl_now_ns() + HOST_SPIN_NS : 0;
    int rc;

    for (;;) {
        /* A tender that parks does so within microseconds (it scrubs, then
         * calls): polling without a timeout meanwhile saves the wake-up of
         * a blocked poll (~10 us here), where a core is free to spin. */
        int wait_ms = kl_now_ns() < spin_until ? 0 : PARK_GRACE_MS;

        rc = poll(p, 2, wait_ms);
        if (rc == 0 && wait_ms == 0)
            continue;
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0 || (p[1].revents & POLLIN) || !(p[0].revents & POLLIN))
            return kl_proc_check_dead(vm) ? -ECHILD : -ETIMEDOUT;
        memset(&n, 0, sizeof(n));
        if (ioctl(vm->notif_fd, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
            if (errno == EINTR || errno == ENOENT)
                continue;   /* interrupted before we read it: it calls again */
            return -errno;
        }
        break;
    }
    if (n.data.arch != AUDIT_ARCH_X86_64 || n.data.nr != SYS_futex ||
        n.data.instruction_pointer != KL_TENDER_PARKED_GVA)
        return -EPROTO;   /* the filter lets nothing else through */
    vm->park_id = n.id;
    vm->parked = 1;
    return 0;
}

/* Answer the park call: the tender reads the reply we just posted. */
static int unpark(struct kl_vm *vm)
{
    struct seccomp_notif_resp r = {.id = vm->park_id, .val = 0, .error = 0, .flags = 0};
    int rc;

    vm->parked = 0;
    for (int tries = 0; tries < 3; tries++) {
        if (ioctl(vm->notif_fd, SECCOMP_IOCTL_NOTIF_SEND, &r) == 0)
            return 0;
        if (errno != ENOENT)
            return -errno;
        /* A signal ended the call before our answer: it parks again. */
        if ((rc = park_notification(vm, 0)) < 0)
            return rc;
        vm->parked = 0;
        r.id = vm->park_id;
    }
    return -EIO;
}

/*
 * Make the sandbox provably stopped before its memory is reset and the next
 * request's data is written: tell the tender to park and wait for the park
 * call. A sandbox that does not park (its guest posted a fake event and
 * runs on, or it died) fails here and is discarded by the caller. The
 * request-bearing fields of the channel are then cleared.
 */
static int proc_quiesce(struct kl_vm *vm)
{
    volatile struct kl_chan *c = vm->chan;
    int rc;

    /* Dead first: a parked sandbox can still be killed while it waits in
     * the pool, and must then be replaced, not resumed. */
    if (vm->dead || kl_proc_check_dead(vm))
        return -ECHILD;
    if (vm->parked)
        return 0;
    if (!vm->locked || __atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != KL_CHAN_CALL)
        return -EIO;   /* not waiting for us: killed at a timeout, or never answered */
    c->reply = KL_CHAN_PARK;
    __atomic_store_n(&c->state, KL_CHAN_REPLY, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->guest_sleeps, __ATOMIC_SEQ_CST))
        syscall(SYS_futex, &c->state, FUTEX_WAKE, 1, NULL, NULL, 0);
    if ((rc = park_notification(vm, spin_pays(__atomic_load_n(&exchanging, __ATOMIC_RELAXED) + 1))) < 0)
        return rc;
    vm->pending = PROC_NONE;
    c->event = c->nr = c->arg = 0;
    memset((void *)&c->at_call, 0, sizeof(c->at_call));
    memset((void *)&c->resume, 0, sizeof(c->resume));
    memset((void *)&c->fault, 0, sizeof(c->fault));
    return 0;
}


static int exchange(struct kl_vm *vm, int reply, uint64_t deadline_ns, int spin)
{
    volatile struct kl_chan *c = vm->chan;
    uint64_t spin_until = spin ? kl_now_ns() + HOST_SPIN_NS : 0;
    int rc;

    if (vm->dead)
        return -ECHILD;
    /* Read by the tender at its next call (a guest that changes it only
     * changes how its own tender waits). */
    c->spin_cycles_k = spin ? kl_proc_spin_cycles_k() : 0;
    if (vm->parked) {
        /* Parked, it continues only with RESUME (or EXIT). */
        if (reply != KL_CHAN_RESUME && reply != KL_CHAN_EXIT)
            return -EPROTO;
        c->reply = (uint32_t)reply;
        __atomic_store_n(&c->state, KL_CHAN_REPLY, __ATOMIC_SEQ_CST);
        if ((rc = unpark(vm)) < 0)
            return kl_proc_check_dead(vm) ? -ECHILD : rc;
    } else if (reply >= 0) {
        c->reply = (uint32_t)reply;
        __atomic_store_n(&c->state, KL_CHAN_REPLY, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&c->guest_sleeps, __ATOMIC_SEQ_CST))
            syscall(SYS_futex, &c->state, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    for (;;) {
        uint32_t s = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
        uint64_t now;

        if (s == KL_CHAN_CALL)
            return 0;
        now = kl_now_ns();
        if (now < spin_until) {
            __builtin_ia32_pause();
            continue;
        }
        if (deadline_ns && now >= deadline_ns)
            return -ETIMEDOUT;
        if (kl_proc_check_dead(vm))
            return -ECHILD;
        uint64_t slice = LIVENESS_NS;
        if (deadline_ns && deadline_ns - now < slice)
            slice = deadline_ns - now;
        __atomic_store_n(&c->host_sleeps, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&c->state, __ATOMIC_SEQ_CST) == s)
            futex_wait(&c->state, s, slice);
        __atomic_store_n(&c->host_sleeps, 0, __ATOMIC_SEQ_CST);
    }
}

int kl_proc_exchange(struct kl_vm *vm, int reply, uint64_t deadline_ns)
{
    unsigned n = __atomic_add_fetch(&exchanging, 1, __ATOMIC_RELAXED);
    int rc = exchange(vm, reply, deadline_ns, spin_pays(n));

    __atomic_sub_fetch(&exchanging, 1, __ATOMIC_RELAXED);
    return rc;
}

int kl_proc_await(struct kl_vm *vm, int reply, uint32_t event, const char *what,
                  struct kl_err *err)
{
    int rc = kl_proc_exchange(vm, reply, kl_now_ns() + 5000000000ull);
    char why[160] = "no answer in 5 s";

    if (rc == 0 && vm->chan->event != event)
        rc = -EPROTO;
    if (rc == 0)
        return 0;
    if (vm->dead)
        kl_wait_status_describe(vm->wait_status, why, sizeof(why));
    return kl_errf(err, rc, "the sandbox %s: %s", what, why);
}

/* ---- the kl_vm operations ---- */

static int proc_probe(struct kl_err *err) { return kl_proc_init(err); }

static int proc_spares_start(unsigned n) { return kl_proc_spares(n); }

static int proc_create(struct kl_vm **out, struct kl_err *err) { return kl_proc_take(out, err); }

/* The low area is the memfd the tender maps; memory i is memfd i, whose
 * size is the memory's size (kl_vm_map grows it, kl_vm_unmap shrinks it). */
static int proc_map_ram(struct kl_vm *vm, int which, uint64_t bytes, uint8_t **host,
                        struct kl_err *err)
{
    void *p;
    int rc;

    if (which == KL_VM_RAM_LOW) {
        if (bytes != KL_LOW_END || vm->low_given)
            return kl_errf(err, -EINVAL, "the low area is mapped once, whole");
        vm->low_given = 1;
        *host = vm->low;
        return 0;
    }
    if (which < 0 || which >= (int)KL_MAX_MEMORIES)
        return kl_errf(err, -EINVAL, "no linear memory %d", which);
    p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
             vm->mem_fds[which], 0);
    if (p == MAP_FAILED)
        return kl_errf(err, -ENOMEM, "cannot map linear memory %d", which);
    if ((rc = kl_vm_ram_private(p, bytes)) < 0) {
        munmap(p, bytes);
        return kl_errf(err, rc, "cannot keep guest memory out of core dumps: %s", strerror(-rc));
    }
    vm->mem_host[which] = p;
    vm->mem_reserved[which] = bytes;
    *host = p;
    return 0;
}

/* Which linear memory's window holds gva; -1 for none. */
static int mem_of(uint64_t gva)
{
    if (gva < KL_MEM_GVA(0) || gva >= KL_MEM_GVA(KL_MAX_MEMORIES))
        return -1;
    return (int)((gva - KL_MEM_GVA(0)) / KL_MEM_WINDOW);
}

/* ---- the layout: what the tender maps of the low area ---- */

/* A linear memory is its memfd's size: the tender maps each window whole.
 * A low-area region joins the list the tender gets at the first entry;
 * supervisor regions have no meaning in a process and are left out. */
static int proc_map(struct kl_vm *vm, uint64_t gva, uint8_t *host, uint64_t size, unsigned prot,
                    struct kl_err *err)
{
    int i = mem_of(gva);

    if (i >= 0) {
        uint64_t end = gva + size - KL_MEM_GVA(i);
        if (!vm->mem_host[i] || host != vm->mem_host[i] + (gva - KL_MEM_GVA(i)) ||
            end > vm->mem_reserved[i])
            return -ENOMEM;
        return ftruncate(vm->mem_fds[i], (off_t)end) < 0 ? -errno : 0;
    }
    if (gva + size > KL_LOW_END || gva + size < gva || host != vm->low + gva)
        return kl_errf(err, -EINVAL, "0x%llx: not an identity-mapped low-area region",
                       (unsigned long long)gva);
    if (vm->locked)
        return kl_errf(err, -EBUSY, "the sandbox's layout is fixed once it runs");
    if (!(prot & KL_VM_USER))
        return 0;
    if (vm->nregions == PROC_MAX_REGIONS)
        return kl_errf(err, -ENOSPC, "more than %d guest regions", PROC_MAX_REGIONS);
    vm->regions[vm->nregions++] = (struct kl_chan_map){
        gva, size, PROT_READ | ((prot & KL_VM_W) ? PROT_WRITE : 0) |
                       ((prot & KL_VM_X) ? PROT_EXEC : 0), 0};
    return 0;
}

/* The tail [gva, gva+size) of a memory goes: its memfd shrinks, so the
 * pages are dropped and read as zero if it grows again. */
static int proc_unmap(struct kl_vm *vm, uint64_t gva, uint64_t size)
{
    int i = mem_of(gva);

    (void)size;
    if (i < 0)
        return -EINVAL;
    return ftruncate(vm->mem_fds[i], (off_t)(gva - KL_MEM_GVA(i))) < 0 ? -errno : 0;
}

static int cmp_region(const void *a, const void *b)
{
    const struct kl_chan_map *x = a, *y = b;
    return x->gva < y->gva ? -1 : x->gva > y->gva;
}

/* The regions in address order, neighbours with equal protections joined,
 * as the channel carries them. Overlaps and too many maps fail. */
static int layout(struct kl_vm *vm, struct kl_chan_map *m, uint32_t *n)
{
    *n = 0;
    qsort(vm->regions, vm->nregions, sizeof(vm->regions[0]), cmp_region);
    for (unsigned i = 0; i < vm->nregions; i++) {
        const struct kl_chan_map *r = &vm->regions[i];
        struct kl_chan_map *last = *n ? &m[*n - 1] : NULL;

        if (r->gva < KL_TENDER_END && r->gva + r->len > KL_TENDER_GVA)
            return -EINVAL;   /* the tender's own area */
        if (last && last->gva + last->len > r->gva)
            return -EINVAL;
        if (last && last->gva + last->len == r->gva && last->prot == r->prot) {
            last->len += r->len;
            continue;
        }
        if (*n == KL_CHAN_MAX_MAPS)
            return -EINVAL;
        m[(*n)++] = *r;
    }
    return 0;
}

/* First entry: hand the tender its layout, let it lock down, start at rip. */
static int start(struct kl_vm *vm, struct kl_err *err)
{
    struct kl_chan_map m[KL_CHAN_MAX_MAPS];
    uint32_t n;
    int rc;

    if (layout(vm, m, &n) < 0)
        return kl_errf(err, -EINVAL, "the guest layout does not fit the process sandbox");
    memcpy((void *)vm->chan->maps, m, n * sizeof(m[0]));
    vm->chan->nmaps = n;
    if ((rc = kl_proc_await(vm, KL_CHAN_SETUP, KL_CHAN_EV_LOCKED, "could not lock down", err)) < 0)
        return rc;
    close(vm->low_fd);   /* the tender has mapped it and closed all of its fds */
    vm->low_fd = -1;
    vm->locked = 1;
    /* Read now, before any guest code ran that could write the channel. */
    vm->dirty_wp = vm->chan->dirty_wp == 1 && kl_vm_write_tracking();
    vm->wp_next = 1;   /* the snapshot's scan protects all that start-up touched */
    return 0;
}

static int proc_enter(struct kl_vm *vm, uint64_t rip, uint64_t rsp, struct kl_err *err)
{
    int rc;

    if (!vm->locked && (rc = start(vm, err)) < 0)
        return rc;
    memset(&vm->resume, 0, sizeof(vm->resume));
    vm->resume.rip = rip;
    vm->resume.rsp = rsp;
    vm->resume.mxcsr = 0x1F80;   /* DESIGN-NOTES 2.7: what Wasm needs */
    vm->resume.fcw = 0x37F;
    vm->pending = PROC_RESUME;
    return 0;
}

/* Stop the running guest at the deadline: a signal its tender turns into a
 * KICKED event; a tender that does not answer is killed. */
static int kick(struct kl_vm *vm, struct kl_vm_exit *x)
{
    int rc;

    syscall(SYS_pidfd_send_signal, vm->pidfd, SIGUSR1, NULL, 0);
    rc = kl_proc_exchange(vm, -1, kl_now_ns() + KICK_GRACE_NS);
    if (rc == -ETIMEDOUT) {
        syscall(SYS_pidfd_send_signal, vm->pidfd, SIGKILL, NULL, 0);
        x->kind = KL_VMX_INTR;
        vm->pending = PROC_NONE;
        return 0;
    }
    return rc;
}

static int proc_run(struct kl_vm *vm, struct kl_vm_exit *x)
{
    volatile struct kl_chan *c = vm->chan;
    int reply, rc;

    memset(x, 0, sizeof(*x));
    if (vm->dead)   /* a death since is noticed by kl_proc_exchange, off the hot path */
        goto died;
    switch (vm->pending) {
    case PROC_NONE:
        x->kind = KL_VMX_HLT;   /* as a vCPU halted after its fault stub */
        return 0;
    case PROC_RETURN:
        if (vm->deadline_ns && kl_now_ns() >= vm->deadline_ns) {
            x->kind = KL_VMX_INTR;   /* out of time while in a hostcall */
            return 0;
        }
        reply = KL_CHAN_RETURN;
        break;
    default:
        c->resume = vm->resume;
        reply = KL_CHAN_RESUME;
    }
    vm->pending = PROC_NONE;
    rc = kl_proc_exchange(vm, reply, vm->deadline_ns);
    if (rc == -ETIMEDOUT) {
        if ((rc = kick(vm, x)) == 0 && x->kind == KL_VMX_INTR)
            return 0;
    }
    if (rc == -ECHILD)
        goto died;
    if (rc < 0)
        return rc;
    switch (c->event) {
    case KL_CHAN_EV_HOSTCALL: {
        /* Read once: the guest can change the channel meanwhile. */
        uint32_t nr = __atomic_load_n(&c->nr, __ATOMIC_RELAXED);
        x->kind = KL_VMX_IO_OUT;
        x->port = (uint16_t)(KL_HC_PORT_BASE + (nr < 0x1000 ? nr : 0xFFF));
        x->size = 4;
        x->value = c->arg;
        vm->pending = PROC_RETURN;
        return 0;
    }
    case KL_CHAN_EV_FAULT:
        x->kind = KL_VMX_IO_OUT;
        x->port = KL_FAULT_PORT;
        x->size = 4;
        return 0;
    case KL_CHAN_EV_KICKED:
        x->kind = KL_VMX_INTR;
        return 0;
    default:
        x->kind = KL_VMX_OTHER;
        x->raw_reason = c->event;
        return 0;
    }
died:
    x->kind = KL_VMX_DIED;
    x->raw_reason = (uint32_t)vm->wait_status;
    vm->pending = PROC_NONE;
    return 0;
}

static int proc_fault(struct kl_vm *vm, struct kl_vm_fault *f)
{
    volatile struct kl_chan *c = vm->chan;

    if (c->event != KL_CHAN_EV_FAULT)
        return -EPROTO;
    f->vector = c->fault.trapno;
    f->code = c->fault.err;
    f->rip = c->fault.rip;
    f->cs = 3;   /* the whole sandbox is user mode */
    f->addr = c->fault.addr;
    return 0;
}

static uint64_t proc_tsc_khz(struct kl_vm *vm)
{
    (void)vm;
    return kl_proc_tsc_khz();
}

static int proc_arm_timeout(struct kl_vm *vm, uint64_t ms)
{
    vm->deadline_ns = kl_now_ns() + ms * 1000000ull;
    return 0;
}

static void proc_disarm_timeout(struct kl_vm *vm) { vm->deadline_ns = 0; }

struct kl_vm_state {
    struct kl_chan_regs regs;
};

static struct kl_vm_state *proc_state_alloc(void) { return calloc(1, sizeof(struct kl_vm_state)); }

/* The registers of the hostcall the tender is parked in, as if it returned. */
static int proc_save(struct kl_vm *vm, struct kl_vm_state *st)
{
    if (vm->pending != PROC_RETURN)
        return -EINVAL;
    st->regs = vm->chan->at_call;
    return 0;
}

/* Only a parked sandbox is resumed with a new request (proc_quiesce). */
static int proc_restore(struct kl_vm *vm, const struct kl_vm_state *st)
{
    int rc;

    if ((rc = proc_quiesce(vm)) < 0)
        return rc;
    vm->resume = st->regs;
    vm->pending = PROC_RESUME;
    kl_proc_dirty_round(vm);
    return 0;
}

static void proc_destroy(struct kl_vm *vm) { kl_proc_free(vm); }

const struct kl_vm_ops kl_vm_proc_ops = {
    .name = "process",
    .kind = KL_ISOLATION_PROCESS,
    .auto_rank = 1,   /* AUTO's fallback when KVM does not work */
    .probe = proc_probe,
    .spares_start = proc_spares_start,
    .create = proc_create,
    .map_ram = proc_map_ram,
    .map = proc_map,
    .unmap = proc_unmap,
    .dirty_log = kl_proc_dirty_log,
    .enter = proc_enter,
    .run = proc_run,
    .fault = proc_fault,
    .tsc_khz = proc_tsc_khz,
    .arm_timeout = proc_arm_timeout,
    .disarm_timeout = proc_disarm_timeout,
    .state_alloc = proc_state_alloc,
    .save = proc_save,
    .restore = proc_restore,
    .quiesce = proc_quiesce,
    .destroy = proc_destroy,
};

/* Selectable from start-up on: vm.c names no backend (layers.txt). */
__attribute__((constructor)) static void proc_register(void)
{
    kl_vm_backend_register(&kl_vm_proc_ops);
}
