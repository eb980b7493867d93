/* version.h - `kernless --version` (src/cli/version.c). */
#ifndef KL_CLI_VERSION_H
#define KL_CLI_VERSION_H

/**
 * Print the release (KL_VERSION), the image ABI version and which
 * backends this host offers (KVM: available, or why not; the process
 * sandbox) on stdout. Returns the exit status, 0.
 */
int kl_cli_version(void);

#endif
