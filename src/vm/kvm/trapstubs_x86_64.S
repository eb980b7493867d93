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

/*
 * Reset stub, entered by the host at CPL 0 between two requests of a warm VM
 * with rsi = a list of {address, count} pairs and rdx = the number of pairs.
 * It zeroes each run of page-table entries (memory grown during the request),
 * or, for a run whose count has bit 63 set, clears the entries' dirty bits
 * (pages the reset just copied back, so the next reset sees only what the
 * next request writes: kl_kvm_dirty_log), or, for a run whose address has
 * bit 0 set, writes the count word to that one entry (a 2 MiB page of a VM
 * that runs once: kvm_mem's map_large), and reloads CR3. Under PVM only the guest's own writes unmap pages (see
 * DESIGN-NOTES section 1), so this is the one place ring 0 edits mappings:
 * a handful of instructions, one `rep stosq` per run.
 */
    .balign 16
    .globl kl_resetstub
kl_resetstub:
    xorl %eax, %eax
    testq %rdx, %rdx
    jz 4f
3:  movq (%rsi), %rdi
    movq 8(%rsi), %rcx
    btrq $0, %rdi                   /* KL_RESET_RUN_SET: write rcx to that one entry */
    jc 8f
    btrq $63, %rcx                  /* KL_RESET_RUN_CLEAR_D: clear dirty bits, keep the entries */
    jc 6f
    rep stosq
    jmp 7f
6:  andq $~0x40, (%rdi)             /* KL_PTE_D */
    addq $8, %rdi
    decq %rcx
    jnz 6b
    jmp 7f
8:  movq %rcx, (%rdi)
7:  addq $16, %rsi
    decq %rdx
    jnz 3b
4:  movq %cr3, %rax
    movq %rax, %cr3
    movw $KL_RESET_PORT, %dx
    outl %eax, %dx
5:  hlt
    jmp 5b
kl_trapstubs_end:
    .section .note.GNU-stack,"",@progbits
