/* buf.h - growable byte buffers and string vectors with hard size caps, for untrusted input. */
#ifndef KL_COMMON_BUF_H
#define KL_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

/** A byte buffer that refuses to grow past `cap` bytes. Always NUL-terminated. */
struct kl_buf {
    uint8_t *data;
    size_t len;
    size_t alloc;
    size_t cap;
};

/** Start an empty buffer that may hold at most `cap` bytes. */
void kl_buf_init(struct kl_buf *b, size_t cap);

/** Append bytes; -E2BIG past the cap (nothing appended), -ENOMEM. */
int kl_buf_append(struct kl_buf *b, const void *p, size_t n);

/** Append a printf-formatted string; same errors as kl_buf_append. */
int kl_buf_printf(struct kl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Release the memory and reset to empty. */
void kl_buf_free(struct kl_buf *b);

/** A NULL-terminated vector of owned strings (argv/envp shaped). */
struct kl_strv {
    char **v;
    size_t n;
    size_t alloc;
};

/** Append a copy of `s` (n bytes); -ENOMEM. */
int kl_strv_addn(struct kl_strv *sv, const char *s, size_t n);

/** Append a printf-formatted string; -ENOMEM. */
int kl_strv_addf(struct kl_strv *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Free every string and the vector. */
void kl_strv_free(struct kl_strv *sv);

#endif
