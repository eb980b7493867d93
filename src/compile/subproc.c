/* subproc.c - fork/exec with a deadline, rlimits and bounded output capture. */
#include "compile/subproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

/* The children running now, for kl_subproc_kill_live (a signal handler):
 * a split module's parts compile several at once (compile/split.c). */
#define MAX_LIVE 32
static volatile sig_atomic_t live_pids[MAX_LIVE];

/* Record `pid` in a free slot (lock-free: threads start children at once);
 * returns the slot, or -1 when all are taken (then it is not killable). */
static int live_add(pid_t pid)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (__sync_bool_compare_and_swap(&live_pids[i], 0, (sig_atomic_t)pid))
            return i;
    return -1;
}

static void child_exec(const char *const argv[], int outfd, uint64_t max_as, uint32_t timeout_s)
{
    struct rlimit rl;

    dup2(outfd, 1);
    dup2(outfd, 2);
    close(outfd);
    setpgid(0, 0);   /* so a timeout kills the whole group (cc spawns cc1, as, ld) */
    /* A server killed mid-deploy takes its compiler with it rather than
     * leaving it to run out its CPU limit; fork cleared this for us, and
     * the forking thread waits for us, so only the parent's death fires it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(127);   /* the parent died before prctl */
    if (max_as) {
        rl.rlim_cur = rl.rlim_max = max_as;
        setrlimit(RLIMIT_AS, &rl);
    }
    /* CPU seconds, inherited by cc1/as/ld: the parent's wall-clock kill is
     * the real limit, this one still holds if the parent dies first and the
     * orphaned group would otherwise spin on forever. */
    rl.rlim_cur = (rlim_t)timeout_s + 1;
    rl.rlim_max = (rlim_t)timeout_s + 5;
    setrlimit(RLIMIT_CPU, &rl);
    rl.rlim_cur = rl.rlim_max = 0;
    setrlimit(RLIMIT_CORE, &rl);   /* a crashing compiler must not litter cores */
    execvp(argv[0], (char *const *)argv);
    dprintf(1, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Read output until EOF or the deadline; keep the first bytes. */
static int drain(int fd, struct kl_subproc *sp, uint64_t deadline)
{
    size_t kept = 0;
    char sink[4096];

    for (;;) {
        uint64_t now = kl_now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        ssize_t k = read(fd, sink, sizeof(sink));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0;
        size_t room = sizeof(sp->output) - 1 - kept, c = (size_t)k < room ? (size_t)k : room;
        memcpy(sp->output + kept, sink, c);
        kept += c;
        sp->output[kept] = 0;
    }
}

int kl_subproc_run(const char *const argv[], struct kl_subproc *sp)
{
    int pipefd[2], status = 0;
    uint64_t deadline = kl_now_ns() + (uint64_t)(sp->timeout_s ? sp->timeout_s : 600) * 1000000000ull;
    pid_t pid;

    sp->output[0] = 0;
    sp->exit_status = -1;
    sp->signaled = sp->timed_out = 0;
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return -e;
    }
    if (pid == 0)
        child_exec(argv, pipefd[1], sp->max_as_bytes, sp->timeout_s ? sp->timeout_s : 600);
    int slot = live_add(pid);
    close(pipefd[1]);
    if (drain(pipefd[0], sp, deadline) == -ETIMEDOUT) {
        sp->timed_out = 1;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (slot >= 0)
        live_pids[slot] = 0;
    if (WIFSIGNALED(status))
        sp->signaled = 1;
    else
        sp->exit_status = WEXITSTATUS(status);
    return 0;
}

const char *kl_subproc_first_line(struct kl_subproc *sp, char *buf, size_t len)
{
    const char *s = sp->output;
    size_t n = strcspn(s, "\n");

    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

void kl_subproc_kill_live(void)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        pid_t pid = (pid_t)live_pids[i];

        if (pid > 0) {
            kill(-pid, SIGKILL);   /* its group: cc with cc1, as, ld */
            kill(pid, SIGKILL);
        }
    }
}
