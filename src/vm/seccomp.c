/* seccomp.c - a per-thread syscall allow-list for vCPU threads, so a guest that escaped KVM finds little to call. */
#include "vm/seccomp.h"

#include "vm/landlock.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/*
 * Why EPERM and not KILL_PROCESS: in `kernless serve` one process holds
 * every function's VMs and every open connection. Killing it for a
 * forbidden call would turn a bug in a rare host path (or libc choosing a
 * different syscall after an upgrade) into an outage for everyone, while
 * EPERM makes that one call fail and the caller report a clean error. An
 * attacker gains nothing from EPERM: the call still does not happen.
 *
 * The filter is per thread (TSYNC is not used), so only threads that do
 * nothing but run guests get it: `kernless run`'s run thread (src/cli/run.c)
 * and the server's vCPU helper threads (src/server/exec.c), never a
 * libmicrohttpd connection thread, which also starts deploys that fork the
 * compiler. A filtered thread cannot drop the filter, and threads it would
 * create inherit it (threads only: clone without CLONE_THREAD, i.e. fork,
 * is refused, and so are execve and new sockets).
 */

static __thread int installed, marked;

/* linux/fs.h PAGEMAP_SCAN (_IOWR('f', 16, struct pm_scan_arg), 96 bytes),
 * which Debian 12's headers predate. */
#define KL_PAGEMAP_SCAN 0xC0606610ul

/* The ioctls allowed by exact number (KVM's own are allowed by type):
 * TCGETS (isatty), PAGEMAP_SCAN, which the process backend's reset reads
 * (proc_dirty.c), and the park call's notifications, which a sandbox's
 * reset waits for and answers (vm/proc/proc_x86_64.c). */
static const unsigned long exact_ioctls[] = {
    TCGETS, KL_PAGEMAP_SCAN, SECCOMP_IOCTL_NOTIF_RECV, SECCOMP_IOCTL_NOTIF_SEND,
};

/* One allowed syscall and why a vCPU thread needs it. */
struct allow {
    int nr;
    const char *why;
};

static const struct allow allowed[] = {
    /* guest execution and VM state */
    {SCMP_SYS(ioctl), "KVM_RUN, register and memory-slot ioctls; restricted to KVM, TCGETS, PAGEMAP_SCAN and seccomp notifications below"},
    /* memory */
    {SCMP_SYS(mmap), "linear memory growth (linmem.c), malloc, vCPU run area of a new VM"},
    {SCMP_SYS(munmap), "free, VM teardown, unmapping grown memory"},
    {SCMP_SYS(mremap), "realloc of large output buffers"},
    {SCMP_SYS(madvise), "warm reset drops pages; malloc trims"},
    {SCMP_SYS(mprotect), "malloc arenas, guard pages of linear memory"},
    {SCMP_SYS(brk), "malloc"},
    {SCMP_SYS(mincore), "KERNLESS_VERIFY_RESET: which pages the reset check reads (warm.c); "
                        "the KVM reset zeroes only resident grown pages"},
    /* threads, signals, time */
    {SCMP_SYS(futex), "mutexes and condition variables (pool queue, helper handoff)"},
    {SCMP_SYS(rt_sigreturn), "return from the timeout kick signal handler"},
    {SCMP_SYS(rt_sigprocmask), "libc masks signals around some operations"},
    {SCMP_SYS(restart_syscall), "kernel restarts a call interrupted by the kick"},
    {SCMP_SYS(sigaltstack), "the sanitizer runtime removes its signal stack at thread exit"},
    {SCMP_SYS(gettid), "the timeout timer targets this thread"},
    {SCMP_SYS(getpid), "libc (abort, sanitizer reports)"},
    {SCMP_SYS(timer_create), "per-run timeout timer (vm/kvm/kvm_x86_64.c)"},
    {SCMP_SYS(timer_settime), "arm the timeout"},
    {SCMP_SYS(timer_delete), "disarm the timeout"},
    {SCMP_SYS(clock_gettime), "deadlines and timings (vDSO fallback)"},
    {SCMP_SYS(clock_nanosleep), "sleep hostcall, queue waits"},
    {SCMP_SYS(nanosleep), "sleep hostcall"},
    {SCMP_SYS(sched_yield), "spin-waits in libc"},
    {SCMP_SYS(getrandom), "random seeds for new instances"},
    {SCMP_SYS(clone), "threads only (CLONE_THREAD required below): the spare-VM maker; they inherit this filter"},
    {SCMP_SYS(set_robust_list), "start of such a thread (glibc)"},
    {SCMP_SYS(rseq), "start of such a thread (glibc)"},
    {SCMP_SYS(sched_getaffinity), "pthread_getattr_np, which the sanitizer runtime calls in a new thread"},
    {SCMP_SYS(exit), "thread exit"},
    {SCMP_SYS(exit_group), "process exit after `kernless run`"},
    /* stdio and the WASI file hostcalls (src/host: wasi_handles.c, wasi_path.c, wasi_fdops.c) */
    {SCMP_SYS(read), "stdin hostcall, fd_read"},
    {SCMP_SYS(write), "stdout/stderr of `kernless run`, fd_write"},
    {SCMP_SYS(readv), "fd_read"},
    {SCMP_SYS(writev), "fd_write"},
    {SCMP_SYS(preadv), "fd_pread"},
    {SCMP_SYS(pwritev), "fd_pwrite"},
    {SCMP_SYS(lseek), "fd_seek"},
    {SCMP_SYS(close), "end of a run closes its host fds"},
    {SCMP_SYS(openat), "reopening a preopen for reading (kl_fs_io_fd), /dev/kvm"},
    {SCMP_SYS(openat2), "path_open with RESOLVE_BENEATH (wasi_path.c)"},
    {SCMP_SYS(faccessat), "a preopen must be listable by the guest (open_preopen, src/host)"},
    {SCMP_SYS(faccessat2), "as faccessat: glibc's faccessat(AT_EACCESS) is this call"},
    {SCMP_SYS(fstat), "fd_filestat_get"},
    {SCMP_SYS(faccessat), "a warm VM's reset opens its preopens again (open_preopen checks R_OK|X_OK)"},
    {SCMP_SYS(faccessat2), "the same, where glibc uses faccessat2 for AT_EACCESS"},
    {SCMP_SYS(newfstatat), "path_filestat_get"},
    {SCMP_SYS(statx), "libc stat on newer glibc"},
    {SCMP_SYS(fcntl), "fd_fdstat_set_flags, O_NONBLOCK on stdin, F_DUPFD_CLOEXEC moves handles above 1024"},
    {SCMP_SYS(fsync), "fd_sync"},
    {SCMP_SYS(fdatasync), "fd_datasync"},
    {SCMP_SYS(ftruncate), "fd_filestat_set_size"},
    {SCMP_SYS(fallocate), "fd_allocate"},
    {SCMP_SYS(fadvise64), "fd_advise"},
    {SCMP_SYS(utimensat), "path_filestat_set_times, fd_filestat_set_times"},
    {SCMP_SYS(getdents64), "fd_readdir"},
    {SCMP_SYS(mkdirat), "path_create_directory"},
    {SCMP_SYS(unlinkat), "path_unlink_file, path_remove_directory"},
    {SCMP_SYS(renameat), "path_rename"},
    {SCMP_SYS(renameat2), "path_rename on libcs that use it"},
    {SCMP_SYS(linkat), "path_link"},
    {SCMP_SYS(symlinkat), "path_symlink"},
    {SCMP_SYS(readlinkat), "path_readlink"},
    {SCMP_SYS(dup), "fdopendir for fd_readdir works on a copy"},
    /* the process backend (vm/proc: proc_x86_64.c, proc_dirty.c) */
    {SCMP_SYS(pread64), "pagemap reads where PAGEMAP_SCAN is missing (proc_dirty.c)"},
    {SCMP_SYS(waitid), "notice and reap a sandbox process that ended"},
    {SCMP_SYS(pidfd_send_signal), "the timeout kick and SIGKILL for a sandbox"},
    {SCMP_SYS(poll), "poll_oneoff on stdin; waiting for a sandbox's park call"},
    {SCMP_SYS(ppoll), "as poll"},
};

void kl_seccomp_vcpu_thread(void)
{
    marked = 1;
}

int kl_seccomp_vcpu_enter(const struct kl_run_config *cfg)
{
    const char *off = getenv("KERNLESS_NO_SECCOMP");
    int rc;

    if (!marked || installed || (off && strcmp(off, "0") != 0 && off[0]))
        return 0;
    /* Landlock first: its system calls are not on the filter's list. */
    if ((rc = kl_landlock_vcpu(cfg)) < 0)
        return rc;
    return kl_seccomp_vcpu_install();
}

int kl_seccomp_vcpu_active(void)
{
    return installed;
}

int kl_seccomp_vcpu_install(void)
{
    const char *off = getenv("KERNLESS_NO_SECCOMP");
    scmp_filter_ctx ctx;
    int rc = 0;

    if (installed)
        return 0;
    if (off && strcmp(off, "0") != 0 && off[0])
        return 0;
    if (!(ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))))
        return -ENOMEM;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && rc == 0; i++) {
        if (allowed[i].nr == SCMP_SYS(ioctl) || allowed[i].nr == SCMP_SYS(clone))
            continue;
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i].nr, 0);
    }
    /* ioctl: only KVM's own (type 0xAE) and exact_ioctls, so a
     * terminal or socket ioctl (TIOCSTI, ...) stays out of reach. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, (uint64_t)KVMIO << 8));
    for (size_t i = 0; rc == 0 && i < sizeof(exact_ioctls) / sizeof(exact_ioctls[0]); i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_EQ, exact_ioctls[i], 0));
    /* clone: new threads (which inherit this filter) but no new processes.
     * clone3 passes its flags in memory a filter cannot read, so it gets
     * ENOSYS and glibc falls back to clone. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc == 0)
        installed = 1;
    return rc;
}
