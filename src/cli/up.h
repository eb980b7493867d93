/* up.h - `kernless up`: pieces shared by its files. */
#ifndef KL_CLI_UP_H
#define KL_CLI_UP_H

#include <stddef.h>
#include <stdint.h>

/**
 * A fingerprint of files and folders (recursively, skipping hidden
 * folders, node_modules and target): names, sizes, modes and mtimes. Any
 * change to a watched file changes it.
 */
uint64_t kl_up_fingerprint(char *const *paths, size_t n);

#endif
