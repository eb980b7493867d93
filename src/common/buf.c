/* buf.c - growable byte buffers and string vectors with hard size caps. */
#include "common/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kl_buf_init(struct kl_buf *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->cap = cap;
}

/* Grow geometrically but never beyond cap + 1 (the terminator). */
static int buf_reserve(struct kl_buf *b, size_t need)
{
    size_t n;
    uint8_t *p;

    if (need + 1 <= b->alloc)
        return 0;
    n = b->alloc ? b->alloc : 256;
    while (n < need + 1)
        n = n > SIZE_MAX / 2 ? need + 1 : n * 2;
    if (n > b->cap + 1)
        n = b->cap + 1;
    p = realloc(b->data, n);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->alloc = n;
    return 0;
}

int kl_buf_append(struct kl_buf *b, const void *p, size_t n)
{
    int rc;

    if (n > b->cap - b->len)
        return -E2BIG;
    rc = buf_reserve(b, b->len + n);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int kl_buf_printf(struct kl_buf *b, const char *fmt, ...)
{
    char small[512], *big = NULL;
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return kl_buf_append(b, small, (size_t)n);
    big = malloc((size_t)n + 1);
    if (big == NULL)
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rc = kl_buf_append(b, big, (size_t)n);
    free(big);
    return rc;
}

void kl_buf_free(struct kl_buf *b)
{
    size_t cap = b->cap;

    free(b->data);
    kl_buf_init(b, cap);
}

int kl_strv_addn(struct kl_strv *sv, const char *s, size_t n)
{
    char **v, *copy;
    size_t na;

    if (sv->n + 2 > sv->alloc) {
        na = sv->alloc ? sv->alloc * 2 : 16;
        v = realloc(sv->v, na * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        sv->v = v;
        sv->alloc = na;
    }
    copy = strndup(s, n);
    if (copy == NULL)
        return -ENOMEM;
    sv->v[sv->n++] = copy;
    sv->v[sv->n] = NULL;
    return 0;
}

int kl_strv_addf(struct kl_strv *sv, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    rc = kl_strv_addn(sv, s, (size_t)n);
    free(s);
    return rc;
}

void kl_strv_free(struct kl_strv *sv)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof(*sv));
}
