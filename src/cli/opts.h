/* opts.h - small argument-parsing helpers shared by the CLI subcommands. */
#ifndef KL_CLI_OPTS_H
#define KL_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>

/** Print "kernless: <msg>" on stderr. Returns 1 (the usual error status). */
int kl_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Parse a decimal number in [min, max] from `s` for option `opt`. Returns 0,
 * or prints an error and returns -1.
 */
int kl_cli_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out);

/**
 * Choose the isolation backend for `kernless run`, `serve` and `wast`, before
 * any VM exists and before any seccomp filter: `value` is the --isolation
 * argument (NULL when not given), which wins over $KERNLESS_ISOLATION; both
 * absent means auto. Returns 0, or prints one "kernless: ..." line and
 * returns 2 for a value that is not auto, kvm or process, 1 when the backend
 * cannot run here (--isolation kvm without KVM).
 */
int kl_cli_isolation(const char *value);

/**
 * The one line that says which backend runs guests and, when auto fell back
 * to the process sandbox, why ("process (KVM unavailable: ...)"), into `buf`.
 */
const char *kl_cli_isolation_desc(char *buf, size_t size);

/**
 * Install (on = 1) or remove (0) the handler that makes Ctrl-C or a kill
 * during a compile clean up its build folder before dying of the signal.
 */
void kl_cli_stop_signals(int on);

#endif
