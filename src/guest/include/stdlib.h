/* stdlib.h - the few stdlib entry points the guest provides (backed by the runtime heap). */
#ifndef KL_GUEST_STDLIB_H
#define KL_GUEST_STDLIB_H
#include <stddef.h>
void *malloc(size_t n);
void *calloc(size_t n, size_t sz);
void free(void *p);
__attribute__((noreturn)) void abort(void);
#endif
