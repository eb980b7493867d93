/* setjmp.h - non-local jumps for trap recovery inside the guest (callee-saved registers only). */
#ifndef KL_GUEST_SETJMP_H
#define KL_GUEST_SETJMP_H
/* rbx, rbp, r12, r13, r14, r15, rsp, rip */
typedef unsigned long jmp_buf[8];
typedef jmp_buf sigjmp_buf;
int setjmp(jmp_buf env) __attribute__((returns_twice));
__attribute__((noreturn)) void longjmp(jmp_buf env, int val);
/* There are no signals in the guest; sigsetjmp is plain setjmp. */
#define sigsetjmp(env, save) setjmp(env)
#define siglongjmp(env, val) longjmp(env, val)
#endif
