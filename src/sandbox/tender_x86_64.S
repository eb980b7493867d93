/* tender_x86_64.S - the process sandbox's entry, hostcall gate and register resume (linked first, at KL_GATE_GVA). */
#include "vm/proc/proc_chan.h"

#define KL_TENDER_STACK_SIZE 65536

#define AT(r) (KL_CHAN_GVA + KL_CHAN_OFF_AT_CALL + KL_REGS_##r)
#define RS(r) (KL_CHAN_GVA + KL_CHAN_OFF_RESUME + KL_REGS_##r)

/*
 * The gate: the guest's hostcall, `gate(nr, arg)` with the SysV convention
 * (abi.h). It must be the very first code of the tender: the linker script
 * places .text.gate at KL_GATE_GVA. It saves what a callee must preserve
 * into the channel (so the supervisor can later resume exactly here, as a
 * warm reset does), moves to the tender's own stack, because the guest's
 * stack pages are copied back by the supervisor while the tender waits, and
 * lets kl_tender_hostcall do the handshake.
 */
    .section .text.gate, "ax"
    .globl kl_gate
    .type kl_gate, @function
kl_gate:
    movq %rbx, AT(RBX)
    movq %rbp, AT(RBP)
    movq %r12, AT(R12)
    movq %r13, AT(R13)
    movq %r14, AT(R14)
    movq %r15, AT(R15)
    movq (%rsp), %rax
    movq %rax, AT(RIP)
    leaq 8(%rsp), %rax
    movq %rax, AT(RSP)
    stmxcsr AT(MXCSR)
    fnstcw AT(FCW)
    leaq kl_tender_stack_top(%rip), %rsp
    call kl_tender_hostcall          /* edi, esi still hold nr, arg */
    testl %eax, %eax
    jnz kl_tender_resume
    /* Return to the caller; rbx, rbp, r12-r15 were preserved by the C code. */
    movq AT(RSP), %rsp
    jmpq *AT(RIP)
    .size kl_gate, . - kl_gate

/*
 * The park call (proc_chan.h, "Parking"): placed at KL_TENDER_PARK_GVA by
 * tender.ld. The host's seccomp filter turns this one `syscall` into a
 * notification the host holds while the sandbox waits in its pool. What
 * follows it uses only immediates and the channel: whoever jumped to the
 * `syscall` with their own registers and stack cannot get control back.
 */
#define STATE (KL_CHAN_GVA + KL_CHAN_OFF_STATE)
#define REPLY (KL_CHAN_GVA + KL_CHAN_OFF_REPLY)
    .section .text.park, "ax"
    .globl kl_tender_park_syscall
kl_tender_park_syscall:
    syscall
    .globl kl_tender_parked
kl_tender_parked:
    cmpl $KL_CHAN_ASM_REPLY, STATE
    jne kl_tender_park
    cmpl $KL_CHAN_ASM_RESUME, REPLY
    je 1f
    cmpl $KL_CHAN_ASM_EXIT, REPLY
    jne kl_tender_park               /* anything else: park again */
    movl $231, %eax                  /* exit_group(0) */
    xorl %edi, %edi
    syscall
    ud2
1:  movl $KL_CHAN_ASM_RUNNING, %eax
    xchgl %eax, STATE
    jmp kl_tender_resume

/* Enter the park call: futex(&state, FUTEX_WAIT, ...), all from immediates. */
    .globl kl_tender_park
    .type kl_tender_park, @function
kl_tender_park:
    movl $202, %eax
    movl $STATE, %edi
    xorl %esi, %esi
    movl $KL_CHAN_ASM_RUNNING, %edx
    xorl %r10d, %r10d
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    jmp kl_tender_park_syscall
    .size kl_tender_park, . - kl_tender_park

/*
 * From the tender's wait (reply PARK): scrub what the last request may have
 * left in the tender's own memory and registers (its stacks hold signal
 * frames and hostcall frames; vector registers the guest's data), which
 * the host's reset of guest memory does not reach, then park. Never returns.
 */
    .globl kl_tender_scrub_park
    .type kl_tender_scrub_park, @function
kl_tender_scrub_park:
    cld
    leaq kl_tender_stack(%rip), %rdi
    movl $KL_TENDER_STACK_SIZE, %ecx
    xorl %eax, %eax
    rep stosb
    leaq kl_tender_altstack(%rip), %rdi
    movl $KL_TENDER_STACK_SIZE, %ecx
    rep stosb
    movl $0xFF, %eax                 /* x87, SSE, AVX, MPX, AVX-512: to their initial state */
    xorl %edx, %edx
    xrstor kl_tender_xinit(%rip)
    jmp kl_tender_park
    .size kl_tender_scrub_park, . - kl_tender_scrub_park

/* Load the channel's resume registers and jump: the only way into guest code. */
    .text
    .globl kl_tender_resume
    .type kl_tender_resume, @function
kl_tender_resume:
    ldmxcsr RS(MXCSR)
    fldcw RS(FCW)
    movq RS(RBX), %rbx
    movq RS(RBP), %rbp
    movq RS(R12), %r12
    movq RS(R13), %r13
    movq RS(R14), %r14
    movq RS(R15), %r15
    movq RS(RDI), %rdi
    movq RS(RSI), %rsi
    xorl %eax, %eax
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    movq RS(RSP), %rsp
    jmpq *RS(RIP)
    .size kl_tender_resume, . - kl_tender_resume

/* Process entry: the kernel's initial stack holds argc, argv, envp. */
    .globl _start
    .type _start, @function
_start:
    xorl %ebp, %ebp
    movq %rsp, %rdi
    andq $-16, %rsp
    call kl_tender_main
    ud2
    .size _start, . - _start

/* sa_restorer for the signal handlers: return through rt_sigreturn. */
    .globl kl_tender_restorer
    .type kl_tender_restorer, @function
kl_tender_restorer:
    movl $15, %eax
    syscall
    ud2
    .size kl_tender_restorer, . - kl_tender_restorer

/* An XSAVE area whose header has every component in its initial state. */
    .section .rodata
    .align 64
kl_tender_xinit:
    .skip 24
    .long 0x1F80                     /* MXCSR: XRSTOR loads it with SSE/AVX */
    .skip 1024 - 28

/* The tender's own stacks, for hostcalls and for signal handlers: never
 * part of the guest's memory. */
    .bss
    .align 64
    .globl kl_tender_altstack
kl_tender_altstack:
    .skip KL_TENDER_STACK_SIZE
    .globl kl_tender_stack_top
kl_tender_stack:
    .skip KL_TENDER_STACK_SIZE
kl_tender_stack_top:

    .section .note.GNU-stack,"",@progbits
