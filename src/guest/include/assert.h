/* assert.h - assertions in the guest turn into a runtime error exit, never silent. */
#ifndef KL_GUEST_ASSERT_H
#define KL_GUEST_ASSERT_H
__attribute__((noreturn)) void __assert_fail(const char *expr, const char *file,
                                             unsigned line, const char *func);
#define assert(e) ((e) ? (void)0 : __assert_fail(#e, __FILE__, __LINE__, __func__))
#endif
