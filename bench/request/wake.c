/* wake.c - the cost of waking another process: two processes hand a futex word back and forth N times; prints microseconds per round trip (two wake-ups). */
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void futex(_Atomic int *w, int op, int val) { syscall(SYS_futex, w, op, val, NULL, NULL, 0); }

/* Wait until *w == want, sleeping in the kernel (no spinning: each hand-off is a wake-up). */
static void await(_Atomic int *w, int want)
{
    int v;
    while ((v = atomic_load(w)) != want)
        futex(w, FUTEX_WAIT, v);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    _Atomic int *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct timespec a, b;
    pid_t pid;

    if (w == MAP_FAILED || n <= 0)
        return 1;
    if ((pid = fork()) == 0) {
        for (int i = 0; i < n; i++) {
            await(w, 1);
            atomic_store(w, 0);
            futex(w, FUTEX_WAKE, 1);
        }
        _exit(0);
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        atomic_store(w, 1);
        futex(w, FUTEX_WAKE, 1);
        await(w, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    waitpid(pid, NULL, 0);
    printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
    return 0;
}
