/* proc_spawn.c - the process backend's sandboxes: memfds, the tender's exec in fresh namespaces, its seccomp program, spares. */
#include "vm/proc/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* Sandbox fds live at or above this number: select()-based code (and
 * libmicrohttpd's) keeps the low numbers for sockets. */
#define FD_FLOOR 1024
#define NOBODY 65534u

/* A seccomp program, as the kernel takes it. */
struct bpf_prog {
    struct kl_chan_bpf insn[KL_CHAN_MAX_FILTER];
    uint32_t len;
};

static struct {
    int exe_fd;                         /* O_PATH of the tender binary */
    struct bpf_prog filter;             /* the tender's own, once it is locked down */
    struct bpf_prog spare;              /* from exec on: what the tender's set-up needs */
    struct sock_filter park[10];        /* the park call becomes a notification (proc_chan.h) */
    int parent_fd;                      /* pidfd of the spawner thread (the tenders' parent) */
    int sock[2];                        /* the children send their notification fd here */
    int ns_flags;                       /* namespaces each sandbox gets */
    uint64_t tsc_khz;
    uint32_t spin_cycles_k;             /* the tender's spin before it sleeps (KERNLESS_SPIN_US) */
    int init_rc;
    char init_msg[400];
} g;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* ---- one-time set-up ---- */

/* The tender beside the runtime: <guest dir>/kl-sandbox (kl_guest_dir), or
 * KERNLESS_SANDBOX_BIN. */
static int open_tender(void)
{
    const char *env = getenv("KERNLESS_SANDBOX_BIN");
    char dir[4096], path[4200];
    struct kl_err err = {0};

    if (env && *env)
        snprintf(path, sizeof(path), "%s", env);
    else if (kl_guest_dir(dir, sizeof(dir), &err) < 0) {
        snprintf(g.init_msg, sizeof(g.init_msg), "%s", err.msg);
        return err.code;
    } else
        snprintf(path, sizeof(path), "%s/kl-sandbox", dir);
    g.exe_fd = open(path, O_PATH | O_CLOEXEC);
    if (g.exe_fd < 0) {
        snprintf(g.init_msg, sizeof(g.init_msg), "cannot open the sandbox tender %s: %s", path,
                 strerror(errno));
        return -ENOENT;
    }
    return 0;
}

/*
 * The tender's allow-list: wait on and wake the channel's futex word, return
 * from its signal handlers, exit. Anything else (and any other architecture's
 * system call entry, e.g. int $0x80) kills the whole process. With
 * `setup`, also what the tender does between exec and its own lock-down
 * (the spawner installs that one before exec, so a spare waits confined).
 */
static int build_filter(int setup, struct bpf_prog *out)
{
    static const int setup_calls[] = {
        SCMP_SYS(execveat), SCMP_SYS(mmap), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack),
        SCMP_SYS(close_range), SCMP_SYS(setgroups), SCMP_SYS(setresgid), SCMP_SYS(setresuid),
        SCMP_SYS(getuid), SCMP_SYS(prctl), SCMP_SYS(setrlimit), SCMP_SYS(poll), SCMP_SYS(seccomp),
    };
    uint64_t word = KL_CHAN_GVA + offsetof(struct kl_chan, state);
    const uint64_t uffd_api = UFFDIO_API, uffd_register = UFFDIO_REGISTER;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int rc, mfd = -1;

    if (!ctx)
        return -ENOMEM;
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
        (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 2, SCMP_A0(SCMP_CMP_EQ, word, 0),
                               SCMP_A1(SCMP_CMP_EQ, FUTEX_WAIT, 0))) < 0 ||
        (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 2, SCMP_A0(SCMP_CMP_EQ, word, 0),
                               SCMP_A1(SCMP_CMP_EQ, FUTEX_WAKE, 0))) < 0 ||
        (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigreturn), 0)) < 0 ||
        (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0)) < 0 ||
        (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit), 0)) < 0)
        goto out;
    for (unsigned i = 0; setup && i < sizeof(setup_calls) / sizeof(setup_calls[0]); i++)
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, setup_calls[i], 0)) < 0)
            goto out;
    /* The write tracking's set-up (tender.c): its userfaultfd and two of its requests. */
    if (setup &&
        ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(userfaultfd), 1,
                                SCMP_A0(SCMP_CMP_EQ, O_CLOEXEC | UFFD_USER_MODE_ONLY, 0))) < 0 ||
         (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                SCMP_A1(SCMP_CMP_EQ, uffd_api, 0))) < 0 ||
         (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                SCMP_A1(SCMP_CMP_EQ, uffd_register, 0))) < 0))
        goto out;
    /* libseccomp 2.5 exports to a file descriptor only. */
    if ((mfd = memfd_create("kl-bpf", MFD_CLOEXEC)) < 0 || (rc = seccomp_export_bpf(ctx, mfd)) < 0) {
        rc = rc < 0 ? rc : -errno;
        goto out;
    }
    off_t len = lseek(mfd, 0, SEEK_END);
    if (len <= 0 || len > (off_t)sizeof(out->insn) || len % sizeof(out->insn[0]) ||
        pread(mfd, out->insn, (size_t)len, 0) != len) {
        rc = -EIO;
        goto out;
    }
    out->len = (uint32_t)(len / sizeof(out->insn[0]));
    rc = 0;
out:
    if (mfd >= 0)
        close(mfd);
    seccomp_release(ctx);
    return rc;
}

/* futex from the park call's `syscall` (the kernel's instruction pointer
 * is the one after it) -> a notification for the host; all else: allow
 * (the other filters decide). libseccomp cannot test the pointer. */
static void build_park_filter(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 6),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)KL_TENDER_PARKED_GVA, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)((uint64_t)KL_TENDER_PARKED_GVA >> 32), 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    _Static_assert(sizeof(f) == sizeof(g.park), "park filter size");
    memcpy(g.park, f, sizeof(f));
}

/* TSC kHz: 2 ms of rdtsc against CLOCK_MONOTONIC_RAW, once. */
static uint64_t measure_tsc_khz(void)
{
    struct timespec a, b;
    uint64_t c0, c1, ns;

    clock_gettime(CLOCK_MONOTONIC_RAW, &a);
    c0 = __builtin_ia32_rdtsc();
    do {
        clock_gettime(CLOCK_MONOTONIC_RAW, &b);
        ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
    } while (ns < 2000000);
    c1 = __builtin_ia32_rdtsc();
    return (c1 - c0) * 1000000ull / ns;
}

static void *spawner(void *arg);

static void init(void)
{
    struct rlimit nofile;
    pthread_t t;
    int rc;

    /* Each sandbox holds ~19 fds; use what the hard limit allows. */
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if ((rc = open_tender()) < 0) {
        g.init_rc = rc;
        return;
    }
    build_park_filter();
    if ((rc = build_filter(0, &g.filter)) < 0 || (rc = build_filter(1, &g.spare)) < 0) {
        g.init_rc = rc;
        snprintf(g.init_msg, sizeof(g.init_msg), "cannot build the sandbox's seccomp filter: %s",
                 strerror(-rc));
        return;
    }
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, g.sock) < 0) {
        g.init_rc = -errno;
        snprintf(g.init_msg, sizeof(g.init_msg), "socketpair: %s", strerror(errno));
        return;
    }
    g.ns_flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWUTS;
    if (geteuid() != 0)
        g.ns_flags |= CLONE_NEWUSER;
    if (getenv("KERNLESS_SANDBOX_NO_NETNS"))
        g.ns_flags &= ~CLONE_NEWNET;
    g.tsc_khz = measure_tsc_khz();
    const char *spin = getenv("KERNLESS_SPIN_US");
    uint64_t us = spin ? strtoull(spin, NULL, 10) : 20;
    g.spin_cycles_k = (uint32_t)(us * g.tsc_khz / 1000000 + 1);
    /* Sandboxes are spawned by one long-lived thread without any seccomp
     * filter (vCPU threads may not fork), which is also their parent, so
     * PR_SET_PDEATHSIG ties them to the process, not to a short-lived thread. */
    if ((rc = pthread_create(&t, NULL, spawner, NULL)) != 0) {
        g.init_rc = -rc;
        snprintf(g.init_msg, sizeof(g.init_msg), "cannot start the sandbox spawner thread");
        return;
    }
    pthread_detach(t);
}

int kl_proc_init(struct kl_err *err)
{
    pthread_once(&init_once, init);
    if (g.init_rc < 0)
        return kl_errf(err, g.init_rc, "%s", g.init_msg);
    return 0;
}

uint64_t kl_proc_tsc_khz(void) { return g.tsc_khz; }

uint32_t kl_proc_spin_cycles_k(void) { return g.spin_cycles_k; }

/* ---- spawning one sandbox ---- */

struct child_args {
    int low_fd;
    const int *mem_fds;
    char *const *argv;
};

/* The child runs on child_stack and never returns: ASan's stack poisoning
 * would outlive it there and fail the next child. */
#define NO_ASAN __attribute__((no_sanitize_address))

/* Hand the park filter's notification fd to the spawner (g.sock). */
NO_ASAN static int send_fd(int fd)
{
    char byte = 0;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } c = {.h = {.cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
                 .cmsg_type = SCM_RIGHTS}};
    struct iovec iov = {&byte, 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
                        .msg_controllen = sizeof(c.buf)};

    *(int *)CMSG_DATA(&c.h) = fd;
    return syscall(SYS_sendmsg, g.sock[1], &mh, 0) == 1 ? 0 : -1;
}

/* Runs in the vfork-style child (shares our memory until execveat): raw
 * system calls only, nothing that takes a lock. */
NO_ASAN static int child_main(void *p)
{
    const struct child_args *a = p;
    static char *const envp[] = {NULL};
    struct sock_fprog park = {sizeof(g.park) / sizeof(g.park[0]), g.park};
    struct sock_fprog spare = {(unsigned short)g.spare.len, (struct sock_filter *)g.spare.insn};
    struct pollfd parent = {g.parent_fd, POLLIN, 0};
    int nfd;

    /* Nothing of the server crosses exec but the memfds the tender maps
     * and the spawner's pidfd: no stdin, stdout or stderr either. */
    syscall(SYS_close_range, 0, 2, 0);
    syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC);
    fcntl(a->low_fd, F_SETFD, 0);
    fcntl(g.parent_fd, F_SETFD, 0);
    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++)
        fcntl(a->mem_fds[i], F_SETFD, 0);
    /* A parent that died before the signal was armed sent none. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (syscall(SYS_poll, &parent, 1, 0) != 0)
        _exit(126);
    /* Confined from exec on: the spare's filter, and the park call's. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        (nfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                            &park)) < 0 ||
        send_fd(nfd) < 0 || syscall(SYS_close, nfd) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &spare) < 0)
        _exit(125);
    syscall(SYS_execveat, g.exe_fd, "", a->argv, envp, AT_EMPTY_PATH);
    _exit(127);
}

/* The notification fd the child sent (it has exec'd or died by now). */
static int recv_fd(void)
{
    char byte, cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&byte, 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *cm;
    int fd, hi;

    if (recvmsg(g.sock[0], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
        return -EPROTO;
    cm = CMSG_FIRSTHDR(&mh);
    if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
        cm->cmsg_len != CMSG_LEN(sizeof(int)))
        return -EPROTO;
    memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_FLOOR);
    close(fd);
    return hi < 0 ? -errno : hi;
}

static int high_memfd(const char *name)
{
    int fd = memfd_create(name, MFD_CLOEXEC), hi;

    if (fd < 0)
        return -errno;
    hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_FLOOR);
    close(fd);
    return hi < 0 ? -errno : hi;
}

static int make_memory(struct kl_vm *vm, struct kl_err *err)
{
    int rc;

    if ((vm->low_fd = high_memfd("kl-low")) < 0)
        return kl_errf(err, vm->low_fd, "memfd_create: %s", strerror(-vm->low_fd));
    if (ftruncate(vm->low_fd, KL_LOW_END) < 0)
        return kl_errf(err, -errno, "sizing the sandbox memory: %s", strerror(errno));
    vm->low = mmap(NULL, KL_LOW_END, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   vm->low_fd, 0);
    if (vm->low == MAP_FAILED) {
        vm->low = NULL;
        return kl_errf(err, -ENOMEM, "cannot map the sandbox memory");
    }
    if ((rc = kl_vm_ram_private(vm->low, KL_LOW_END)) < 0)
        return kl_errf(err, rc, "cannot keep guest memory out of core dumps: %s", strerror(-rc));
    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++)
        if ((rc = vm->mem_fds[i] = high_memfd("kl-mem")) < 0)
            return kl_errf(err, rc, "memfd_create: %s", strerror(-rc));
    vm->chan = (volatile struct kl_chan *)(vm->low + KL_CHAN_GVA);
    return 0;
}

static void fill_channel(struct kl_vm *vm)
{
    volatile struct kl_chan *c = vm->chan;

    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++)
        c->mem_fds[i] = vm->mem_fds[i];
    c->drop_uid = NOBODY;
    c->drop_gid = NOBODY;
    c->spin_cycles_k = g.spin_cycles_k;
    c->parent_fd = g.parent_fd;
    c->filter_len = g.filter.len;
    memcpy((void *)c->filter, g.filter.insn, g.filter.len * sizeof(g.filter.insn[0]));
}

static uint8_t child_stack[64 * 1024] __attribute__((aligned(64)));   /* spawner thread only */

static int spawn(struct kl_vm **out, struct kl_err *err)
{
    struct kl_vm *vm = calloc(1, sizeof(*vm));
    char fdarg[16], path[64];
    char *argv[] = {"kl-sandbox", fdarg, NULL};
    struct child_args ca;
    int rc, pidfd = -1;

    if (!vm)
        return kl_errf(err, -ENOMEM, "out of memory");
    if (g.parent_fd < 0) {
        free(vm);
        return kl_errf(err, -ENOSYS, "cannot open a pidfd of the sandbox spawner: %s",
                       "pidfd_open is missing (Linux 5.3 or later is needed)");
    }
    vm->ops = &kl_vm_proc_ops;
    vm->pidfd = vm->pagemap_fd = vm->low_fd = vm->notif_fd = -1;
    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++)
        vm->mem_fds[i] = -1;
    if ((rc = make_memory(vm, err)) < 0)
        goto err_free;
    fill_channel(vm);
    snprintf(fdarg, sizeof(fdarg), "%d", vm->low_fd);
    ca = (struct child_args){vm->low_fd, vm->mem_fds, argv};
    vm->pid = clone(child_main, child_stack + sizeof(child_stack),
                    CLONE_VM | CLONE_VFORK | CLONE_PIDFD | g.ns_flags, &ca, &pidfd);
    if (vm->pid < 0) {
        rc = kl_errf(err, -errno, "cannot start a sandbox process: %s", strerror(errno));
        goto err_free;
    }
    vm->pidfd = pidfd;
    if ((vm->notif_fd = recv_fd()) < 0) {
        rc = kl_errf(err, vm->notif_fd, "the sandbox could not install its seccomp filters");
        goto err_free;
    }
    /* Opened while the tender still runs as our user: afterwards it is
     * not dumpable, and only this descriptor reads its page tables. */
    snprintf(path, sizeof(path), "/proc/%d/pagemap", vm->pid);
    if ((vm->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = kl_errf(err, -errno, "cannot open %s: %s", path, strerror(errno));
        goto err_free;
    }
    if ((rc = kl_proc_await(vm, -1, KL_CHAN_EV_SPAWNED, "tender did not start", err)) < 0 ||
        (rc = kl_proc_await(vm, KL_CHAN_CONFINE, KL_CHAN_EV_CONFINED, "could not confine itself",
                            err)) < 0)
        goto err_free;
    *out = vm;
    return 0;

err_free:
    kl_proc_free(vm);
    return rc;
}

void kl_proc_free(struct kl_vm *vm)
{
    siginfo_t si;

    if (!vm)
        return;
    if (vm->pidfd >= 0) {
        if (!vm->dead)
            syscall(SYS_pidfd_send_signal, vm->pidfd, SIGKILL, NULL, 0);
        while (waitid(P_PIDFD, (id_t)vm->pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
            ;
        close(vm->pidfd);
    }
    if (vm->pagemap_fd >= 0)
        close(vm->pagemap_fd);
    if (vm->notif_fd >= 0)
        close(vm->notif_fd);
    if (vm->low_fd >= 0)
        close(vm->low_fd);
    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++)
        if (vm->mem_fds[i] >= 0)
            close(vm->mem_fds[i]);
    if (vm->low && !vm->low_given)
        kl_munmap(vm->low, KL_LOW_END);
    free(vm);
}

/* ---- spares ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t want = PTHREAD_COND_INITIALIZER, have = PTHREAD_COND_INITIALIZER;
static struct kl_vm *spares[64];
static unsigned nspares, target, waiting;
static int last_rc;
static struct kl_err last_err;

/* The tenders' parent-death check: this thread's pidfd (a process pidfd
 * where the kernel has no thread pidfds), far from select()'s range. */
static int open_parent_fd(void)
{
    int fd = (int)syscall(SYS_pidfd_open, (pid_t)syscall(SYS_gettid), PIDFD_THREAD), hi;

    if (fd < 0)
        fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0)
        return -1;
    hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_FLOOR);
    close(fd);
    return hi;
}

static void *spawner(void *arg)
{
    (void)arg;
    g.parent_fd = open_parent_fd();
    pthread_mutex_lock(&lock);
    for (;;) {
        while (nspares >= target + waiting || nspares == 64)
            pthread_cond_wait(&want, &lock);
        pthread_mutex_unlock(&lock);
        struct kl_vm *vm = NULL;
        struct kl_err err = {0};
        int rc = spawn(&vm, &err);
        pthread_mutex_lock(&lock);
        if (rc < 0) {
            last_rc = rc;
            last_err = err;
            if (waiting)
                pthread_cond_broadcast(&have);
            target = 0;   /* stop making spares; requests still try again */
            pthread_cond_wait(&want, &lock);
            continue;
        }
        spares[nspares++] = vm;
        pthread_cond_broadcast(&have);
    }
    return NULL;
}

int kl_proc_spares(unsigned n)
{
    pthread_mutex_lock(&lock);
    target = n < 64 ? n : 64;
    pthread_cond_signal(&want);
    pthread_mutex_unlock(&lock);
    return 0;
}

/*
 * Drop the spares whose tender has died (killed by an operator or the OOM
 * killer while it waited): handing one out ended its request with 502
 * "could not lock down". One waitid() per spare (WNOHANG on its pidfd,
 * about a microsecond). The dead are returned through DEAD to be freed
 * outside the lock. Called with the lock held.
 */
static unsigned drop_dead_spares(struct kl_vm **dead)
{
    unsigned i, kept = 0, n = 0;

    for (i = 0; i < nspares; i++) {
        if (kl_proc_check_dead(spares[i]))
            dead[n++] = spares[i];
        else
            spares[kept++] = spares[i];
    }
    nspares = kept;
    if (n)
        pthread_cond_signal(&want);   /* make their replacements */
    return n;
}

/* How many times in a row a fresh spare may die before the request gives up. */
#define TAKE_TRIES 3

int kl_proc_take(struct kl_vm **out, struct kl_err *err)
{
    struct kl_vm *dead[64];
    unsigned ndead, i;
    int rc = 0, tries = 0;

    if ((rc = kl_proc_init(err)) < 0)
        return rc;
    pthread_mutex_lock(&lock);
    for (;;) {
        ndead = drop_dead_spares(dead);
        if (ndead) {
            pthread_mutex_unlock(&lock);
            for (i = 0; i < ndead; i++)
                kl_proc_free(dead[i]);
            pthread_mutex_lock(&lock);
            if (++tries > TAKE_TRIES) {
                rc = kl_errf(err, -ECHILD, "every new sandbox died before use");
                break;
            }
            continue;
        }
        if (nspares) {
            *out = spares[--nspares];
            pthread_cond_signal(&want);   /* make the next spare */
            break;
        }
        waiting++;
        last_rc = 0;
        pthread_cond_signal(&want);
        while (!nspares && last_rc == 0)
            pthread_cond_wait(&have, &lock);
        waiting--;
        if (!nspares) {
            rc = kl_errf(err, last_rc, "%s", last_err.msg);
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}
