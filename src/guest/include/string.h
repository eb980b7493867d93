/* string.h - the memory and string functions the guest runtime and wasm2c output use. */
#ifndef KL_GUEST_STRING_H
#define KL_GUEST_STRING_H
#include <stddef.h>
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/*
 * Everything here is built -ffreestanding, which makes gcc treat memcpy as an
 * opaque call. wasm2c bit-casts every f32/f64 <-> i32/i64 (reinterpret, NaN
 * quieting) with memcpy(&t, &x, 8): as a call that cost 5-10x on float code
 * (issue 22). As builtins, fixed-size copies become one mov, and other sizes
 * still call the functions above (libc.c defines them as (memcpy) etc.).
 */
#ifndef __TINYC__   /* tcc (baseline tier): plain calls */
#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define memset(d, c, n) __builtin_memset((d), (c), (n))
#define memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
#else
/*
 * tcc (the baseline tier) calls memcpy for wasm2c's loads and stores too,
 * and the guest's memcpy copies piecewise: a store straddling the end of
 * linear memory would write its first bytes before faulting, where Wasm
 * stores all or nothing. Sizes 2, 4 and 8 are one move, as with gcc.
 */
static inline void *kl_mov2(void *d, const void *s) { *(unsigned short *)d = *(const unsigned short *)s; return d; }
static inline void *kl_mov4(void *d, const void *s) { *(unsigned *)d = *(const unsigned *)s; return d; }
static inline void *kl_mov8(void *d, const void *s) { *(unsigned long *)d = *(const unsigned long *)s; return d; }
#define memcpy(d, s, n) ((n) == 8 ? kl_mov8((d), (s)) : (n) == 4 ? kl_mov4((d), (s)) \
                         : (n) == 2 ? kl_mov2((d), (s)) : (memcpy)((d), (s), (n)))
#endif
#endif
