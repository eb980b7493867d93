/* opts.h - small argument-parsing helpers shared by the CLI subcommands. */
#ifndef KL_CLI_OPTS_H
#define KL_CLI_OPTS_H

#include <stdint.h>

/** Print "kernless: <msg>" on stderr. Returns 1 (the usual error status). */
int kl_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Parse a decimal number in [min, max] from `s` for option `opt`. Returns 0,
 * or prints an error and returns -1.
 */
int kl_cli_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out);

#endif
