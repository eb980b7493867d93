/* test_seccomp.c - the vCPU seccomp filter: on for the thread that installs it, refusing what is not listed, off with KERNLESS_NO_SECCOMP. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unit.h"
#include "vm/seccomp.h"

/* The Seccomp: field of this thread's /proc status (`fd`, opened before
 * Landlock confined the thread; -1: open it now): 0 off, 2 filtering. */
static int seccomp_mode_of(int fd)
{
    char buf[8192], *p;
    int own = fd < 0 ? (fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC)) : -1;
    ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;

    if (own >= 0)
        close(own);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    p = strstr(buf, "\nSeccomp:");
    return p ? atoi(p + 9) : -1;
}

static int seccomp_mode(void) { return seccomp_mode_of(-1); }

struct result {
    int rc, active, mode, sock, sock_errno, ppid, ppid_errno, again, fork_rc, fork_errno, thread_rc;
};

static void *nothing(void *arg)
{
    return arg;
}

static void *vcpu_thread(void *arg)
{
    struct result *r = arg;

    int status = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);

    kl_seccomp_vcpu_thread();                     /* as the dedicated vCPU threads do */
    r->rc = kl_seccomp_vcpu_enter(NULL);
    r->active = kl_seccomp_vcpu_active();
    r->mode = seccomp_mode_of(status);
    if (status >= 0)
        close(status);
    errno = 0;
    r->sock = socket(AF_INET, SOCK_STREAM, 0);   /* not on the list */
    r->sock_errno = errno;
    if (r->sock >= 0)
        close(r->sock);
    errno = 0;
    r->ppid = (int)syscall(SYS_getppid);          /* not on the list */
    r->ppid_errno = errno;
    errno = 0;
    r->fork_rc = (int)fork();                     /* no new processes */
    if (r->fork_rc == 0)
        _exit(0);
    r->fork_errno = errno;
    pthread_t t;                                  /* threads are fine */
    r->thread_rc = pthread_create(&t, NULL, nothing, NULL);
    if (r->thread_rc == 0)
        pthread_join(t, NULL);
    r->again = kl_seccomp_vcpu_install();         /* once per thread */
    return NULL;
}

/* A thread that was not marked runs guests unfiltered (library callers). */
static void *unmarked_thread(void *arg)
{
    int *active = arg;

    *active = kl_seccomp_vcpu_enter(NULL) == 0 ? kl_seccomp_vcpu_active() : -1;
    return NULL;
}

static struct result in_thread(void)
{
    struct result r;
    pthread_t t;

    memset(&r, 0, sizeof(r));
    if (pthread_create(&t, NULL, vcpu_thread, &r) == 0)
        pthread_join(t, NULL);
    return r;
}

int main(void)
{
    struct result r;
    int s;

    unsetenv("KERNLESS_NO_SECCOMP");
    r = in_thread();
    CHECK(r.rc == 0);
    CHECK(r.active == 1);
    CHECK(r.mode == 2);
    CHECK(r.sock == -1 && r.sock_errno == EPERM);
    CHECK(r.ppid == -1 && r.ppid_errno == EPERM);
    CHECK(r.fork_rc == -1 && r.fork_errno == EPERM);
    CHECK(r.thread_rc == 0);
    CHECK(r.again == 0);

    /* Unmarked threads are left alone by kl_inst_run_loop's hook. */
    int unmarked = -1;
    pthread_t t;
    if (pthread_create(&t, NULL, unmarked_thread, &unmarked) == 0)
        pthread_join(t, NULL);
    CHECK(unmarked == 0);

    /* Other threads (here: main) keep every syscall. */
    CHECK(!kl_seccomp_vcpu_active());
    CHECK(seccomp_mode() == 0);
    s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s >= 0);
    if (s >= 0)
        close(s);

    /* The debug switch leaves the thread unfiltered. */
    setenv("KERNLESS_NO_SECCOMP", "1", 1);
    r = in_thread();
    CHECK(r.rc == 0 && r.active == 0 && r.mode == 0);
    CHECK(r.sock >= 0);
    unsetenv("KERNLESS_NO_SECCOMP");
    UNIT_DONE();
}
