/* err.h - error reporting for library code: a negative errno plus one human-readable line. */
#ifndef KL_COMMON_ERR_H
#define KL_COMMON_ERR_H

#include <stddef.h>

/** An error: `code` is a negative errno, `msg` one line without a newline. */
struct kl_err {
    int code;
    char msg[512];
};

/**
 * Record an error and return its code, so callers can write
 * `return kl_errf(err, -EINVAL, "bad thing %d", x);`. `err` may be NULL.
 */
int kl_errf(struct kl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Prefix an existing message with more context ("compile: " + msg). */
int kl_err_prefix(struct kl_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * Format a reason into a caller's buffer `why` (of `len` bytes) and return
 * `code`: for parsers that report into a plain string, as
 * `return kl_whyf(why, len, -EINVAL, "bad key %s", k);`.
 */
int kl_whyf(char *why, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
