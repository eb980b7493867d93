/* trapstubs_x86_64.S - the only ring-0 code: one 16-byte stub per CPU exception, reporting to the host. */
#include "kernless/abi.h"

/*
 * These bytes are copied to KL_STUBS_GPA; IDT vector v points at
 * KL_STUBS_GPA + 16 * v. Each stub pushes a uniform frame (vector, error
 * code) on the ring-0 stack and reports on KL_FAULT_PORT; the host reads the
 * frame via rsp. Only relative jumps, so the blob runs anywhere. Under PVM
 * ring-0 code is emulated at ~1 us per instruction, so a stub is 4 of them.
 */
    .section .rodata.kl_trapstubs, "a"
    .globl kl_trapstubs_start, kl_trapstubs_end
    .balign 16
kl_trapstubs_start:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign 16
    /* Vectors 8, 10-14, 17, 21, 29, 30 push an error code themselves. */
    .if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
    .else
    pushq $0
    .endif
    pushq $\v
    jmp 1f
    .endr
    .balign 16
1:  movw $KL_FAULT_PORT, %dx
    outl %eax, %dx
2:  hlt
    jmp 2b
kl_trapstubs_end:
    .section .note.GNU-stack,"",@progbits
