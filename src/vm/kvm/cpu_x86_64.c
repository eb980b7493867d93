/* cpu_x86_64.c - the guest's GDT, IDT, TSS and I/O bitmap, written by the host before entry. */
#include <string.h>

#include "common/isa.h"
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
 * bitmap opens. Only eax, edx and (after READY) the vector registers
 * change, all caller-saved.
 *
 * A warm VM resumes from its snapshot just past READY's `out`. There the
 * gate loads the x87/SSE/AVX registers' initial state (zeros, FCW 0x37F,
 * MXCSR 0x1F80) from a read-only image in its own page, before any guest
 * code runs: so no request's vector registers reach the next one, and the
 * reset need not set them with KVM_SET_XSAVE, which cost a vcpu_load per
 * request (dear under nested virtualization).
 */
#define GATE_CLEAN_OFF 64u   /* the clean state image: XRSTOR needs 64-byte alignment */

static const uint8_t gate_head[] = {
    0x89, 0xf0,                         /* mov %esi, %eax */
    0x8d, 0x97, KL_HC_PORT_BASE & 0xff, KL_HC_PORT_BASE >> 8, 0x00, 0x00, /* lea 0x500(%rdi), %edx */
    0xef,                               /* out %eax, (%dx) */
    0x83, 0xff, KL_HC_READY,            /* cmp $KL_HC_READY, %edi */
    0x75, 0x00,                         /* jne to the ret (rel8 filled in) */
};

_Static_assert(sizeof(gate_head) == KL_KVM_GATE_RESUME + 5, "the gate's `out` ends at KL_KVM_GATE_RESUME");

/* With AVX: XRSTOR with all components requested and none in the header's
 * XSTATE_BV, which puts each in its initial state (YMM upper halves too). */
static const uint8_t gate_xrstor[] = {
    0xb8, 0x07, 0x00, 0x00, 0x00,       /* mov $7, %eax (x87|SSE|AVX) */
    0x31, 0xd2,                         /* xor %edx, %edx */
    0x48, 0x0f, 0xae, 0x2d, 0, 0, 0, 0, /* xrstor64 disp32(%rip) */
};

/* Without AVX (no OSXSAVE): FXRSTOR of the all-zero legacy image. */
static const uint8_t gate_fxrstor[] = {
    0x48, 0x0f, 0xae, 0x0d, 0, 0, 0, 0, /* fxrstor64 disp32(%rip) */
};

static void write_gate(uint8_t *low)
{
    uint8_t *g = low + KL_GATE_GVA, *img = g + GATE_CLEAN_OFF;
    int avx = (kl_isa_cpu() & KL_ISA_F_OSAVX) != 0;
    const uint8_t *clean = avx ? gate_xrstor : gate_fxrstor;
    size_t n = avx ? sizeof(gate_xrstor) : sizeof(gate_fxrstor);
    size_t ret = sizeof(gate_head) + n;   /* offset of the ret */
    int32_t disp = (int32_t)(GATE_CLEAN_OFF - ret);
    uint16_t fcw = 0x37F;
    uint32_t mxcsr = 0x1F80;

    memset(g, 0, KL_PAGE_SIZE);
    memcpy(g, gate_head, sizeof(gate_head));
    g[sizeof(gate_head) - 1] = (uint8_t)n;
    memcpy(g + sizeof(gate_head), clean, n);
    memcpy(g + ret - 4, &disp, 4);
    g[ret] = 0xc3;                      /* ret */
    /* The legacy area (FXRSTOR loads it all; XRSTOR only MXCSR from it);
     * the XSAVE header at 512 stays zero: every component initial. */
    memcpy(img, &fcw, sizeof(fcw));
    memcpy(img + 24, &mxcsr, sizeof(mxcsr));
}

void kl_cpu_tables_write(uint8_t *low)
{
    write_gate(low);
    write_gdt(low);
    write_idt(low);
    write_tss(low);
    memcpy(low + KL_STUBS_GPA, kl_trapstubs_start,
           (size_t)(kl_trapstubs_end - kl_trapstubs_start));
}
