/* cpu_x86_64.c - the guest's GDT, IDT, TSS and I/O bitmap, written by the host before entry. */
#include <string.h>

#include "kernless/abi.h"
#include "vm/kvm/kvm.h"

extern const uint8_t kl_trapstubs_start[], kl_trapstubs_end[];

#define TSS_SIZE 104u
#define IOMAP_BYTES 8192u
/* limit covers the TSS, the bitmap and the trailing 0xFF byte the CPU needs */
#define TSS_LIMIT (TSS_SIZE + IOMAP_BYTES)

static void write_gdt(uint8_t *low)
{
    uint64_t *gdt = (uint64_t *)(low + KL_GDT_GPA);
    uint64_t base = KL_TSS_GPA, limit = TSS_LIMIT;

    memset(gdt, 0, KL_PAGE_SIZE);
    gdt[KL_SEL_KCODE >> 3] = 0x00AF9B000000FFFFull;  /* 64-bit code, DPL 0, accessed */
    gdt[KL_SEL_KDATA >> 3] = 0x00CF93000000FFFFull;  /* data, DPL 0 */
    gdt[KL_SEL_UDATA >> 3] = 0x00CFF3000000FFFFull;  /* data, DPL 3 */
    gdt[KL_SEL_UCODE >> 3] = 0x00AFFB000000FFFFull;  /* 64-bit code, DPL 3 */
    /* 16-byte busy 64-bit TSS descriptor (type 0xB), since TR is loaded directly. */
    gdt[KL_SEL_TSS >> 3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
                           (0x8Bull << 40) | (((limit >> 16) & 0xF) << 48) |
                           (((base >> 24) & 0xFF) << 56);
    gdt[(KL_SEL_TSS >> 3) + 1] = base >> 32;
}

static void write_idt(uint8_t *low)
{
    uint64_t *idt = (uint64_t *)(low + KL_IDT_GPA);

    memset(idt, 0, KL_PAGE_SIZE);
    for (unsigned v = 0; v < 32; v++) {
        uint64_t off = KL_STUBS_GPA + 16 * v;
        /* Interrupt gate, DPL 0 (so `int n` from CPL 3 is a #GP), present. */
        idt[2 * v] = (off & 0xFFFF) | ((uint64_t)KL_SEL_KCODE << 16) |
                     (0x8Eull << 40) | (((off >> 16) & 0xFFFF) << 48);
        idt[2 * v + 1] = off >> 32;
    }
}

static void write_tss(uint8_t *low)
{
    uint8_t *tss = low + KL_TSS_GPA, *iomap = tss + TSS_SIZE;
    uint64_t rsp0 = KL_KSTACK_TOP;
    uint16_t iomap_base = TSS_SIZE;

    memset(tss, 0, TSS_SIZE);
    memcpy(tss + 4, &rsp0, 8);
    memcpy(tss + 102, &iomap_base, 2);
    /* Deny every port to CPL 3 except the hostcall ports. A 4-byte `outl`
     * checks 4 consecutive bits, so the 3 ports after the last hostcall are
     * open too; the host treats any unknown port as fatal to the guest. */
    memset(iomap, 0xFF, IOMAP_BYTES + 1);
    for (unsigned port = KL_HC_PORT(0); port < KL_HC_PORT(KL_HC_COUNT) + 3; port++) {
        iomap[port / 8] &= (uint8_t)~(1u << (port % 8));
    }
}

/*
 * KVM's hostcall gate at KL_GATE_GVA: the guest calls it with the hostcall
 * number in edi and the struct address in esi (SysV argument registers), and
 * it performs `outl %eax, (%dx)` on port KL_HC_PORT(nr), which the TSS I/O
 * bitmap opens. Only eax and edx change, both caller-saved.
 */
static const uint8_t kvm_gate[] = {
    0x89, 0xf0,                         /* mov %esi, %eax */
    0x8d, 0x97, KL_HC_PORT_BASE & 0xff, KL_HC_PORT_BASE >> 8, 0x00, 0x00, /* lea 0x500(%rdi), %edx */
    0xef,                               /* out %eax, (%dx) */
    0xc3,                               /* ret */
};

void kl_cpu_tables_write(uint8_t *low)
{
    memcpy(low + KL_GATE_GVA, kvm_gate, sizeof(kvm_gate));
    write_gdt(low);
    write_idt(low);
    write_tss(low);
    memcpy(low + KL_STUBS_GPA, kl_trapstubs_start,
           (size_t)(kl_trapstubs_end - kl_trapstubs_start));
}
