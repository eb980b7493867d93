/* subproc.h - run a toolchain program (wasm2c, cc) as an untrusted, bounded subprocess. */
#ifndef KL_COMPILE_SUBPROC_H
#define KL_COMPILE_SUBPROC_H

#include <stddef.h>
#include <stdint.h>

/** Limits and the captured tail of the child's output. */
struct kl_subproc {
    uint32_t timeout_s;      /* wall clock; the child is killed after it */
    uint64_t max_as_bytes;   /* RLIMIT_AS for the child; 0 = none */
    char output[4096];       /* first bytes of stdout+stderr, NUL-terminated */
    int exit_status;         /* valid when !signaled && !timed_out */
    int signaled;            /* killed by a signal (crash or timeout) */
    int timed_out;
};

/**
 * Run argv[0] (searched in PATH) with argv, capture output, enforce limits.
 * Returns 0 if the child ran (check exit_status/signaled/timed_out), or
 * -errno if it could not be started.
 */
int kl_subproc_run(const char *const argv[], struct kl_subproc *sp);

/**
 * Kill the subprocesses running now (a split compile runs several), and
 * their process groups, if any.
 * Async-signal-safe: for a CLI's SIGINT handler (compile/compile.c).
 */
void kl_subproc_kill_live(void);

/** First line of the captured output, for one-line error messages. */
const char *kl_subproc_first_line(struct kl_subproc *sp, char *buf, size_t len);

#endif
