/* crt0.S - guest entry point: the host starts the vCPU here at CPL 3 with rsp = KL_STACK_TOP. */
    .text
    .globl _start
    .type _start, @function
_start:
    xorl %ebp, %ebp
    andq $-16, %rsp          /* the ABI wants a 16-byte aligned stack at a call */
    call kl_guest_main
    ud2                      /* kl_guest_main never returns */
    .size _start, . - _start
    .section .note.GNU-stack,"",@progbits
