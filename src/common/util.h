/* util.h - small host helpers: bounded file reading, hashing, time, atomic file writes. */
#ifndef KL_COMMON_UTIL_H
#define KL_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/** Read a whole file of at most `max` bytes into a malloc'd buffer. */
int kl_read_file(const char *path, size_t max, uint8_t **data, size_t *size,
                 struct kl_err *err);

/* Temp files are named <final name>KL_TMP_MARK<pid>.<n>; a server restart
 * removes any a crash left behind (server/datadir.c). */
#define KL_TMP_MARK ".tmp."

/**
 * Write a file atomically: a uniquely named temp file in the same folder,
 * fsync, rename, fsync of the folder. A crash at any point leaves either
 * the old file or the whole new one under `path`, never a torn one.
 */
int kl_write_file_atomic(const char *path, const void *data, size_t size, int mode,
                         struct kl_err *err);

/** fsync the folder holding `path`, so a rename into it survives a crash. -errno. */
int kl_fsync_parent(const char *path);

/** SHA-256 of a buffer. */
void kl_sha256(const void *data, size_t len, uint8_t out[32]);

/** Lowercase hex of n bytes into out (2n+1 bytes). */
void kl_hex(const uint8_t *in, size_t n, char *out);

/** CLOCK_MONOTONIC in nanoseconds. */
uint64_t kl_now_ns(void);

/** Remove a folder and the plain files directly in it (our temp folders). */
void kl_rmdir_flat(const char *dir);

/** Describe a wait(2) status in words: "exit status 3", "killed by signal 31 (SIGSYS)". */
void kl_wait_status_describe(int status, char *buf, size_t n);

/**
 * The folder of the guest runtime and the sandbox tender: KERNLESS_GUEST_DIR,
 * else <folder of this binary>/guest. 0 or -errno.
 */
int kl_guest_dir(char *out, size_t len, struct kl_err *err);

/** munmap that also gives back an ASan build's shadow of the range. 0 or -errno. */
int kl_munmap(void *p, size_t len);

/** mkdir -p with the given mode for every created folder. */
int kl_mkdir_p(const char *path, int mode);

#endif
