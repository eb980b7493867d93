/* tender.c - the process sandbox's tender: map the guest, lock down, relay hostcalls and faults to the supervisor. */
#include <stddef.h>
#include <stdint.h>

#include "vm/proc/proc_chan.h"

/*
 * Freestanding: no libc, so nothing the guest could reach exists beyond
 * this file. It starts under the spawner's filter (proc_spawn.c: only the
 * calls of its own set-up), confines itself when told (confine(): a spare
 * waits like that), maps the layout its supervisor (src/vm/proc/proc_x86_64.c)
 * wrote, and then locks down: afterwards it can only wait on and wake the
 * channel's futex word, return from signal handlers and exit. Between
 * requests it parks (proc_chan.h, tender_x86_64.S).
 */

#define CHAN ((volatile struct kl_chan *)KL_CHAN_GVA)

/* ---- raw system calls ---- */
enum {
    SYS_mmap = 9, SYS_rt_sigaction = 13, SYS_rt_sigreturn = 15, SYS_sigaltstack = 131,
    SYS_prctl = 157, SYS_setrlimit = 160, SYS_setgroups = 116, SYS_setresuid = 117,
    SYS_setresgid = 119, SYS_getuid = 102, SYS_futex = 202, SYS_exit_group = 231,
    SYS_seccomp = 317, SYS_close_range = 436, SYS_poll = 7, SYS_ioctl = 16, SYS_userfaultfd = 323,
};

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                     "r"(r9) : "rcx", "r11", "memory");
    return ret;
}
#define sys(nr, a, b, c) sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

__attribute__((noreturn)) static void die(int code)
{
    for (;;)
        sys(SYS_exit_group, code, 0, 0);
}

/* ---- the handshake (proc_chan.h) ---- */

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

__attribute__((noreturn)) void kl_tender_scrub_park(void);

/* Post `event` and wait for the supervisor's reply, which is returned
 * (PARK and EXIT never return). */
static uint32_t chan_call(uint32_t event)
{
    volatile struct kl_chan *c = CHAN;
    uint64_t until;

    c->event = event;
    __atomic_store_n(&c->state, KL_CHAN_CALL, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->host_sleeps, __ATOMIC_SEQ_CST))
        sys(SYS_futex, &c->state, 1 /* FUTEX_WAKE */, 1);
    until = rdtsc() + (uint64_t)c->spin_cycles_k * 1000;
    while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != KL_CHAN_REPLY && rdtsc() < until)
        __builtin_ia32_pause();
    while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != KL_CHAN_REPLY) {
        __atomic_store_n(&c->guest_sleeps, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&c->state, __ATOMIC_SEQ_CST) != KL_CHAN_REPLY)
            sys6(SYS_futex, (long)&c->state, 0 /* FUTEX_WAIT */, KL_CHAN_CALL, 0, 0, 0);
        __atomic_store_n(&c->guest_sleeps, 0, __ATOMIC_SEQ_CST);
    }
    uint32_t r = c->reply;
    __atomic_store_n(&c->state, KL_CHAN_RUNNING, __ATOMIC_SEQ_CST);
    if (r == KL_CHAN_EXIT)
        die(0);
    if (r == KL_CHAN_PARK)
        kl_tender_scrub_park();
    return r;
}

/** Called by the gate: 0 to return to the caller, 1 to load the resume registers. */
int kl_tender_hostcall(uint32_t nr, uint32_t arg)
{
    CHAN->nr = nr;
    CHAN->arg = arg;
    return chan_call(KL_CHAN_EV_HOSTCALL) == KL_CHAN_RESUME;
}

/* ---- faults and the timeout kick ---- */

/* The kernel's signal frame, x86-64 (struct ucontext / sigcontext). */
struct sigctx {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
    uint64_t eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint8_t *fpstate;
    uint64_t reserved[8];
};
struct ucontext {
    uint64_t flags;
    struct ucontext *link;
    struct { void *sp; int flags; size_t size; } stack;
    struct sigctx mc;
    uint64_t sigmask;
};
struct siginfo {
    int signo, errno_, code, pad;
    uint64_t addr;
};

extern char kl_gate[], kl_tender_end_text[];
extern void kl_tender_restorer(void);

/* Jump to the resume registers when the handler returns. */
static void resume_from_signal(struct ucontext *uc)
{
    volatile struct kl_chan_regs *r = &CHAN->resume;
    struct sigctx *m = &uc->mc;

    m->rip = r->rip, m->rsp = r->rsp, m->rbx = r->rbx, m->rbp = r->rbp;
    m->r12 = r->r12, m->r13 = r->r13, m->r14 = r->r14, m->r15 = r->r15;
    m->rdi = r->rdi, m->rsi = r->rsi;
    m->rax = m->rcx = m->rdx = m->r8 = m->r9 = m->r10 = m->r11 = 0;
    m->eflags = 0x202;
    if (m->fpstate) {
        *(uint16_t *)(m->fpstate + 0) = r->fcw;     /* fxsave layout: FCW */
        *(uint32_t *)(m->fpstate + 24) = r->mxcsr;  /* MXCSR */
    }
    uc->sigmask = 0;
}

static void on_signal(int sig, struct siginfo *si, struct ucontext *uc)
{
    volatile struct kl_chan *c = CHAN;
    uint64_t rip = uc->mc.rip;
    int in_tender = rip >= (uint64_t)kl_gate && rip < (uint64_t)kl_tender_end_text;

    if (sig == 10 /* SIGUSR1: the kick */) {
        if (in_tender)
            return;   /* already waiting in the gate: the supervisor sees that call */
        if (chan_call(KL_CHAN_EV_KICKED) == KL_CHAN_RESUME)
            resume_from_signal(uc);
        return;
    }
    c->fault.signo = sig;
    c->fault.code = si->code;
    c->fault.addr = si->addr;
    c->fault.rip = rip;
    c->fault.trapno = uc->mc.trapno;
    c->fault.err = uc->mc.err;
    if (chan_call(KL_CHAN_EV_FAULT) != KL_CHAN_RESUME)
        die(128 + sig);   /* nothing to continue with */
    resume_from_signal(uc);
}

struct ksigaction {
    void *handler;
    uint64_t flags;
    void (*restorer)(void);
    uint64_t mask;
};

extern uint8_t kl_tender_altstack[65536];   /* tender_x86_64.S: scrubbed when parking */

static void install_handlers(void)
{
    static const int sigs[] = {4 /* ILL */, 5 /* TRAP */, 7 /* BUS */, 8 /* FPE */,
                               10 /* USR1 */, 11 /* SEGV */};
    struct { void *sp; int flags; int pad; size_t size; } ss = {kl_tender_altstack, 0, 0, sizeof(kl_tender_altstack)};
    struct ksigaction sa = {(void *)on_signal,
                            0x4 /* SA_SIGINFO */ | 0x08000000 /* SA_ONSTACK */ |
                                0x04000000 /* SA_RESTORER */ | 0x40000000 /* SA_NODEFER */,
                            kl_tender_restorer, 0};

    if (sys(SYS_sigaltstack, &ss, 0, 0) < 0)
        die(120);
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sys6(SYS_rt_sigaction, sigs[i], (long)&sa, 0, 8, 0, 0) < 0)
            die(121);
}

/* ---- start-up ---- */

static long parse_fd(const char *s)
{
    long v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

#define MAP_SHARED 0x01
#define MAP_FIXED 0x10
#define PROT_RW 3

static void map_or_die(uint64_t gva, uint64_t len, long prot, long fd, uint64_t off, int code)
{
    long r = sys6(SYS_mmap, (long)gva, (long)len, prot, MAP_SHARED | MAP_FIXED, fd, (long)off);
    if (r != (long)gva)
        die(code);
}

/* ---- write tracking (proc_dirty.c) ----
 *
 * Every guest-writable mapping is registered with a userfaultfd in
 * asynchronous write-protect mode (Linux 6.7): the supervisor's PAGEMAP_SCAN
 * then both lists the pages written since its last scan and protects them
 * again, so a warm reset copies back only what one request wrote. A write to
 * a protected page is resolved by the kernel itself (no handler, no fault
 * reaches us). The descriptor stays open for the sandbox's life (closing it
 * would undo the registration); the final filter allows nothing on it.
 * Where any step fails, dirty_wp stays 0 and the supervisor falls back to
 * page presence, a superset.
 */
#define UFFD_USER_MODE_ONLY 1
#define UFFD_API 0xAAull
#define UFFDIO_API_IOC 0xc018aa3fl        /* _IOWR(0xAA, 0x3F, struct uffdio_api) */
#define UFFDIO_REGISTER_IOC 0xc020aa00l   /* _IOWR(0xAA, 0x00, struct uffdio_register) */
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1ull << 12)
#define UFFD_FEATURE_WP_ASYNC (1ull << 15)
#define UFFDIO_REGISTER_MODE_WP 2ull

static long uffd = -1;

/* A userfaultfd that write-protects asynchronously, or -1. */
static long uffd_open(void)
{
    struct { uint64_t api, features, ioctls; } api = {
        UFFD_API, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_HUGETLBFS_SHMEM, 0};
    long fd = sys(SYS_userfaultfd, 0x80000 /* O_CLOEXEC */ | UFFD_USER_MODE_ONLY, 0, 0);

    if (fd < 0)
        return -1;
    if (sys(SYS_ioctl, fd, UFFDIO_API_IOC, &api) < 0) {
        sys(SYS_close_range, fd, fd, 0);
        return -1;
    }
    return fd;
}

/* Register [gva, gva+len) for write tracking; on failure give tracking up. */
static void uffd_track(uint64_t gva, uint64_t len)
{
    struct { uint64_t start, len, mode, ioctls; } reg = {gva, len, UFFDIO_REGISTER_MODE_WP, 0};

    if (uffd >= 0 && sys(SYS_ioctl, uffd, UFFDIO_REGISTER_IOC, &reg) < 0) {
        sys(SYS_close_range, uffd, uffd, 0);   /* undoes every registration */
        uffd = -1;
    }
}

/* close_range(from, to) except the userfaultfd. */
static long close_but_uffd(long from, long to)
{
    if (uffd >= from && uffd <= to)
        return (uffd > from ? sys(SYS_close_range, from, uffd - 1, 0) : 0) |
               (uffd < to ? sys(SYS_close_range, uffd + 1, to, 0) : 0);
    return sys(SYS_close_range, from, to, 0);
}

/* Everything the supervisor's layout names, then no more files at all. */
static void map_layout(long low_fd)
{
    volatile struct kl_chan *c = CHAN;
    uint32_t n = c->nmaps;

    if (n > KL_CHAN_MAX_MAPS)
        die(122);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t gva = c->maps[i].gva, len = c->maps[i].len;
        /* Only the guest's low area, never the tender's own. */
        if (gva + len < gva || gva + len > KL_LOW_END ||
            (gva < KL_TENDER_END && gva + len > KL_TENDER_GVA))
            die(123);
        map_or_die(gva, len, c->maps[i].prot & 7, low_fd, gva, 124);
        uffd_track(gva, len);
    }
    if (close_but_uffd(0, ~0u) < 0)
        die(125);
    c->dirty_wp = uffd >= 0;
}

struct rlimit64 { uint64_t cur, max; };

/* Has the spawner thread (our parent) ended? Its pidfd polls readable then. */
static int parent_gone(long fd)
{
    struct { int fd; short events, revents; } p = {(int)fd, 1 /* POLLIN */, 0};
    return fd < 0 || sys(SYS_poll, &p, 1, 0) != 0;
}

/*
 * What a spare waits in (after SPAWNED: the host has opened what it reads
 * of us while we were still its user): no other uid, no fds but the
 * channel's memfd, no new processes, files, core dumps or privileges. The
 * seccomp filter the spawner installed before exec already holds.
 */
static void confine(long low_fd)
{
    volatile struct kl_chan *c = CHAN;
    static const int zero_limits[] = {1 /* FSIZE */, 4 /* CORE */, 6 /* NPROC */, 7 /* NOFILE */};
    struct rlimit64 none = {0, 0}, stack = {256 * 1024, 256 * 1024};

    if (sys(SYS_getuid, 0, 0, 0) == 0) {
        if (sys(SYS_setgroups, 0, 0, 0) < 0 ||
            sys(SYS_setresgid, c->drop_gid, c->drop_gid, c->drop_gid) < 0 ||
            sys(SYS_setresuid, c->drop_uid, c->drop_uid, c->drop_uid) < 0)
            die(126);
    }
    /* A change of credentials clears the parent-death signal the spawner
     * set before exec: set it again, so the sandbox dies with its server.
     * A parent that died before this (or between clone and the spawner's
     * prctl) sent no signal: the pidfd tells, so check it after arming. */
    if (sys6(SYS_prctl, 1 /* PR_SET_PDEATHSIG */, 9 /* SIGKILL */, 0, 0, 0, 0) < 0)
        die(131);
    if (parent_gone(c->parent_fd))
        die(132);
    if ((low_fd > 0 && close_but_uffd(0, low_fd - 1) < 0) || close_but_uffd(low_fd + 1, ~0u) < 0)
        die(125);
    for (unsigned i = 0; i < sizeof(zero_limits) / sizeof(zero_limits[0]); i++)
        if (sys(SYS_setrlimit, zero_limits[i], &none, 0) < 0)
            die(127);
    /* The tender's exec stack is used at start-up only (then its own). */
    if (sys(SYS_setrlimit, 3 /* STACK */, &stack, 0) < 0)
        die(127);
    if (sys6(SYS_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0, 0) < 0 ||
        sys6(SYS_prctl, 4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0, 0) < 0)
        die(128);
}

/* After the layout: no more address space at all, then the final filter. */
static void lock_down(void)
{
    volatile struct kl_chan *c = CHAN;
    struct rlimit64 none = {0, 0};
    struct kl_chan_bpf prog[KL_CHAN_MAX_FILTER];
    struct { uint16_t len; uint16_t pad[3]; struct kl_chan_bpf *filter; } fprog;
    uint32_t n = c->filter_len;

    if (sys(SYS_setrlimit, 9 /* AS */, &none, 0) < 0)
        die(127);
    if (n == 0 || n > KL_CHAN_MAX_FILTER)
        die(129);
    for (uint32_t i = 0; i < n; i++)   /* our own copy: the channel stays writable */
        prog[i] = (struct kl_chan_bpf){c->filter[i].code, c->filter[i].jt, c->filter[i].jf,
                                       c->filter[i].k};
    fprog.len = (uint16_t)n;
    fprog.filter = prog;
    if (sys(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &fprog) < 0)
        die(130);
}

__attribute__((noreturn)) void kl_tender_resume(void);

/** Process entry (from _start): argv[1] is the low area's memfd. */
__attribute__((noreturn)) void kl_tender_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    long low_fd = argc >= 2 ? parse_fd(argv[1]) : -1;
    volatile struct kl_chan *c = CHAN;

    if (low_fd < 0)
        die(110);
    map_or_die(KL_CHAN_GVA, KL_CHAN_SIZE, PROT_RW, low_fd, KL_CHAN_GVA, 111);
    /* Each linear memory's 8 GiB window: its memfd's size is its size, so
     * an access past it faults (SIGBUS) exactly as a guard page would. */
    uffd = uffd_open();
    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++) {
        map_or_die(KL_MEM_GVA(i), KL_MEM_WINDOW, PROT_RW, c->mem_fds[i], 0, 112);
        uffd_track(KL_MEM_GVA(i), KL_MEM_WINDOW);
    }
    install_handlers();
    if (chan_call(KL_CHAN_EV_SPAWNED) != KL_CHAN_CONFINE)
        die(113);
    confine(low_fd);
    if (chan_call(KL_CHAN_EV_CONFINED) != KL_CHAN_SETUP)
        die(115);
    map_layout(low_fd);
    lock_down();
    if (chan_call(KL_CHAN_EV_LOCKED) != KL_CHAN_RESUME)
        die(114);
    kl_tender_resume();
}
