/* escape.c - a test-only guest image, not compiled from wasm: code that "escaped" the Wasm sandbox tries to leave the guest. */

/*
 * Freestanding, linked with the guest linker script at KL_IMAGE_GVA like the
 * runtime (src/guest/crt0.S), entered at CPL 3 with rsp = KL_STACK_TOP and
 * the boot block at KL_BOOT_GVA. argv[1] names the attempt (see `attempts`
 * below), argv[2] is its operand (an address in hex, or a path).
 *
 * The image never uses the runtime: it writes its own stdout buffer and
 * ends through KL_HC_EXIT. Before each attempt it records "attempt NAME" in
 * the stdout buffer and in the boot block's out_pending, so the host shows
 * it however the guest ends. An attempt whose dangerous instruction comes
 * back prints a line starting "ESCAPED" and exits with status 99
 * (tests/escape/run.sh fails on either). Reads and writes of addresses that
 * turn out to be accessible print "ACCESSIBLE" and exit 98: the suite
 * expects that only where the sandbox maps the page by design.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernless/abi.h"

#define BOOT ((volatile struct kl_boot_info *)KL_BOOT_GVA)
#define OUT ((volatile char *)KL_OUT_GVA)

/* Linux x86-64 system call numbers. */
enum {
    NR_write = 1, NR_mmap = 9, NR_mprotect = 10, NR_getpid = 39, NR_socket = 41,
    NR_execve = 59, NR_kill = 62, NR_ptrace = 101, NR_futex = 202, NR_openat = 257,
    NR_close = 3, NR_ioctl = 16,
};

/* The channel of the process backend (src/vm/proc/proc_chan.h): the futex word
 * and the fields a hostcall posts. Only the race attempt uses them. */
#define CHAN_GVA 0x3FF0000ull
#define CHAN_STATE ((volatile uint32_t *)(CHAN_GVA + 0))
#define CHAN_HOST_SLEEPS ((volatile uint32_t *)(CHAN_GVA + 4))
#define CHAN_EVENT ((volatile uint32_t *)(CHAN_GVA + 12))
#define CHAN_NR ((volatile uint32_t *)(CHAN_GVA + 16))
#define CHAN_ARG ((volatile uint32_t *)(CHAN_GVA + 20))

void *memset(void *d, int c, size_t n)
{
    volatile uint8_t *p = d;
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    volatile uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

/* ---- output and exit ---- */

static uint32_t out_len;

static void put(const char *s)
{
    while (*s && out_len < 65536)
        OUT[out_len++] = *s++;
    BOOT->out_pending = out_len;
}

static void put_hex(uint64_t v)
{
    char b[19];
    int i = 18;
    b[i] = 0;
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    b[--i] = 'x';
    b[--i] = '0';
    put(b + i);
}

static void put_dec(int64_t v)
{
    char b[24];
    int i = 23, neg = v < 0;
    uint64_t u = neg ? (uint64_t)-v : (uint64_t)v;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        b[--i] = '-';
    put(b + i);
}

static void gate(uint32_t nr, uint64_t arg)
{
    void (*g)(uint32_t, uint32_t) = (void (*)(uint32_t, uint32_t))(uintptr_t)KL_GATE_GVA;
    g(nr, (uint32_t)arg);
}

__attribute__((noreturn)) static void leave(uint32_t code)
{
    volatile struct kl_hc_exit *e = (volatile struct kl_hc_exit *)KL_HCALL_GVA;
    e->kind = KL_EXIT_NORMAL;
    e->code = code;
    e->out_len = out_len;
    e->err_len = 0;
    BOOT->out_pending = 0;
    gate(KL_HC_EXIT, KL_HCALL_GVA);
    for (;;)
        __asm__ volatile("ud2");
}

__attribute__((noreturn)) static void escaped(const char *what, long ret)
{
    put("ESCAPED: ");
    put(what);
    put(" returned ");
    put_dec(ret);
    put("\n");
    leave(99);
}

/* ---- arguments ---- */

static const char *arg(unsigned i)
{
    const char *p = (const char *)(uintptr_t)BOOT->argv_buf;
    if (i >= BOOT->argc)
        return "";
    while (i--)
        while (*p++)
            ;
    return p;
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static uint64_t hexarg(unsigned i)
{
    const char *s = arg(i);
    uint64_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    for (; *s; s++)
        v = v * 16 + (uint64_t)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
    return v;
}

/* ---- raw system calls ---- */

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                     "r"(r9) : "rcx", "r11", "memory");
    return ret;
}

static char shell[] = "/bin/sh", dash_c[] = "-c";
static char *sh_argv[4];
static uint8_t spare_stack[16384] __attribute__((aligned(64)));
static volatile uint32_t entered;   /* .data/.bss survive a jump back to _start */

/* ---- the attempts ---- */

static void do_syscall(const char *name)
{
    long r;
    if (streq(name, "sys-getpid"))
        r = sys6(NR_getpid, 0, 0, 0, 0, 0, 0);
    else if (streq(name, "sys-write"))
        r = sys6(NR_write, 1, (long)"ESCAPED: write(1) reached the host's stdout\n", 44, 0, 0, 0);
    else if (streq(name, "sys-openat"))   /* O_WRONLY|O_CREAT */
        r = sys6(NR_openat, -100 /* AT_FDCWD */, (long)arg(2), 0101, 0644, 0, 0);
    else if (streq(name, "sys-execve")) {
        sh_argv[0] = shell, sh_argv[1] = dash_c, sh_argv[2] = (char *)arg(2), sh_argv[3] = 0;
        r = sys6(NR_execve, (long)shell, (long)sh_argv, 0, 0, 0, 0);
    } else if (streq(name, "sys-socket"))
        r = sys6(NR_socket, 2 /* AF_INET */, 1 /* SOCK_STREAM */, 0, 0, 0, 0);
    else if (streq(name, "sys-ptrace"))   /* PTRACE_ATTACH to pid 1 */
        r = sys6(NR_ptrace, 16, 1, 0, 0, 0, 0);
    else if (streq(name, "sys-kill"))
        r = sys6(NR_kill, 1, 9, 0, 0, 0, 0);
    else if (streq(name, "sys-mmap-rwx"))  /* PROT_RWX, MAP_PRIVATE|MAP_ANONYMOUS */
        r = sys6(NR_mmap, 0, 4096, 7, 0x22, -1, 0);
    else if (streq(name, "sys-mprotect-code"))
        r = sys6(NR_mprotect, KL_IMAGE_GVA, 4096, 7, 0, 0, 0);
    else if (streq(name, "sys-futex-other"))  /* an allowed call on another word */
        r = sys6(NR_futex, KL_BOOT_GVA, 1 /* FUTEX_WAKE */, 1, 0, 0, 0);
    else if (streq(name, "sys-futex-private"))  /* the channel word, another op */
        r = sys6(NR_futex, CHAN_GVA, 1 | 128 /* FUTEX_WAKE_PRIVATE */, 1, 0, 0, 0);
    else if (streq(name, "sys-futex-requeue"))  /* the channel word, FUTEX_CMP_REQUEUE */
        r = sys6(NR_futex, CHAN_GVA, 4, 1, 1, KL_BOOT_GVA, 0);
    /* The tender's userfaultfd (fd 0: the write tracking of the warm reset,
     * src/vm/proc/proc_dirty.c): unregistering the memory from it, or
     * closing it, would hide the guest's writes from the reset. */
    else if (streq(name, "sys-uffd-unregister")) {   /* UFFDIO_UNREGISTER over every memory */
        static uint64_t range[2] = {KL_MEM_GVA(0), KL_MEM_WINDOW};
        r = sys6(NR_ioctl, 0, 0x8010aa01, (long)range, 0, 0, 0);
    } else if (streq(name, "sys-uffd-close"))
        r = sys6(NR_close, 0, 0, 0, 0, 0, 0);
    else
        return;
    escaped(name, r);
}

/*
 * vregs: the vector registers across the requests of one warm VM (issue
 * 22: the KVM reset no longer sets them with KVM_SET_XSAVE; its gate loads
 * their initial state when it resumes past READY). Each request first looks
 * for VSECRET in the x87/MMX, XMM and YMM upper registers and prints
 * ESCAPED if an earlier request left it there, then leaves VSECRET in all
 * of them for the next request.
 */
#define VSECRET 0x5ec2e75ec2e75ec2ull
static uint8_t xbuf[1024] __attribute__((aligned(64)));

/* XSAVE with AVX enabled (CPUID.OSXSAVE and XCR0 has SSE|AVX), else FXSAVE. */
static int vregs_avx(void)
{
    uint32_t a, b, c, d, lo, hi;

    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27)))
        return 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6;
}

/* Bytes [from, to) of the save area as 8-byte words: how many hold VSECRET. */
static int vregs_count(unsigned from, unsigned to)
{
    int n = 0;

    for (unsigned i = from; i < to; i += 8)
        n += *(volatile uint64_t *)(xbuf + i) == VSECRET;
    return n;
}

__attribute__((noreturn)) static void vregs(void)
{
    int avx = vregs_avx(), seen;

    for (unsigned i = 0; i < sizeof(xbuf); i++)
        xbuf[i] = 0;
    if (avx)
        __asm__ volatile("xsave64 %0" : "+m"(xbuf) : "a"(7), "d"(0));
    else
        __asm__ volatile("fxsave64 %0" : "+m"(xbuf));
    /* ST0-7/MM0-7 at 32, XMM0-15 at 160, YMM upper halves at 576. */
    seen = vregs_count(32, 416) + (avx ? vregs_count(576, 832) : 0);
    if (seen) {
        put("ESCAPED: LEAKED an earlier request's vector registers: ");
        put_dec(seen);
        put(" words\n");
        leave(99);
    }
    for (unsigned i = 0; i < sizeof(xbuf); i++)
        xbuf[i] = 0;
    xbuf[0] = 0x7f, xbuf[1] = 0x03;                 /* FCW 0x37F */
    xbuf[24] = 0x80, xbuf[25] = 0x1f;               /* MXCSR 0x1F80 */
    for (unsigned i = 32; i < 160; i += 16)         /* each MMn: the low 8 bytes of STn */
        *(volatile uint64_t *)(xbuf + i) = VSECRET;
    for (unsigned i = 160; i < 416; i += 8)
        *(volatile uint64_t *)(xbuf + i) = VSECRET;
    if (avx) {
        for (unsigned i = 576; i < 832; i += 8)
            *(volatile uint64_t *)(xbuf + i) = VSECRET;
        xbuf[512] = 7;                              /* XSTATE_BV: x87, SSE, AVX */
        __asm__ volatile("xrstor64 %0" : : "m"(xbuf), "a"(7), "d"(0));
    } else {
        __asm__ volatile("fxrstor64 %0" : : "m"(xbuf));
    }
    put("vregs: none from an earlier request; secret left\n");
    leave(0);
}

static void run(const char *name)
{
    uint64_t a = hexarg(2);
    long r;

    put("attempt ");
    put(name);
    put("\n");
    do_syscall(name);
    if (streq(name, "ok")) {
        put("ok\n");
        leave(0);
    } else if (streq(name, "vregs")) {
        vregs();
    } else if (streq(name, "int80")) {   /* i386 getpid through the wrong architecture's gate */
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
        escaped("int $0x80", r);
    } else if (streq(name, "sysenter")) {
        __asm__ volatile("sysenter" : "=a"(r) : "a"(20L) : "rcx", "r11", "memory");
        escaped("sysenter", r);
    } else if (streq(name, "vsyscall")) {  /* the legacy vsyscall page: time(NULL) */
        r = ((long (*)(long *))0xffffffffff600400ull)(0);
        escaped("vsyscall time()", r);
    } else if (streq(name, "compat-int80")) {
        /* rt_sigreturn (allowed) through the tender's restorer with a frame
         * that switches to the 32-bit code segment, then int $0x80 there. */
        extern char compat_code[];
        uint64_t *uc = (uint64_t *)(spare_stack + 4096);
        for (int i = 0; i < 128; i++)
            uc[i] = 0;
        uc[3] = 2;                              /* uc_stack.ss_flags = SS_DISABLE */
        uint64_t *mc = uc + 5;                  /* r8 r9 r10 r11 r12 r13 r14 r15 rdi rsi rbp rbx rdx rax rcx rsp rip eflags csgsfsss */
        mc[15] = (uint64_t)(spare_stack + 8192);   /* rsp */
        mc[16] = (uint64_t)compat_code;            /* rip */
        mc[17] = 0x202;                            /* eflags */
        mc[18] = 0x23 | (0x2bull << 48);           /* cs = __USER32_CS, ss = __USER_DS */
        __asm__ volatile("mov %0, %%rsp; jmp *%1" : : "r"(uc), "r"(a) : "memory");
    } else if (streq(name, "read")) {
        volatile uint64_t v = *(volatile uint64_t *)a;
        put("ACCESSIBLE: read ");
        put_hex(a);
        put(" = ");
        put_hex(v);
        put("\n");
        leave(98);
    } else if (streq(name, "write")) {
        *(volatile uint8_t *)a = *(volatile uint8_t *)a;
        put("ACCESSIBLE: wrote ");
        put_hex(a);
        put("\n");
        leave(98);
    } else if (streq(name, "write-code")) {   /* patch our own text with a ret */
        *(volatile uint8_t *)(uintptr_t)KL_IMAGE_GVA = 0xc3;
        escaped("a write to the image's text", 0);
    } else if (streq(name, "jump")) {
        /* Into trusted code with a sane stack; entered = 1 shows a
         * resume at our own _start for what it is. */
        entered = 1;
        uint8_t *top = spare_stack + 8192;
        __asm__ volatile("mov %1, %%rsp; jmp *%0"
                         : : "r"(a), "r"(top), "D"(0x777L), "S"(KL_HCALL_GVA) : "memory");
    } else if (streq(name, "jump-tender-start")) {
        /* The tender's process entry with a forged initial stack: argc 2,
         * argv {"kl-sandbox", "3"}: it would remap the channel from fd 3. */
        static char n0[] = "kl-sandbox", n1[] = "3";
        uint64_t *sp = (uint64_t *)(spare_stack + 8192);
        sp[0] = 2, sp[1] = (uint64_t)n0, sp[2] = (uint64_t)n1, sp[3] = 0, sp[4] = 0, sp[5] = 0;
        __asm__ volatile("mov %1, %%rsp; jmp *%0" : : "r"(a), "r"(sp) : "memory");
    } else if (streq(name, "out-0x80")) {
        __asm__ volatile("outb %%al, $0x80" : : "a"(0));
        escaped("outb to port 0x80", 0);
    } else if (streq(name, "out-hostcall-port")) {
        __asm__ volatile("outl %%eax, %%dx" : : "a"((uint32_t)KL_HCALL_GVA), "d"(KL_HC_PORT(KL_HC_EXIT)));
        escaped("outl to the exit hostcall port", 0);
    } else if (streq(name, "out-fault-port")) {
        __asm__ volatile("outl %%eax, %%dx" : : "a"(0), "d"(KL_FAULT_PORT));
        escaped("outl to the fault port", 0);
    } else if (streq(name, "in-port")) {
        uint8_t v;
        __asm__ volatile("inb $0x60, %0" : "=a"(v));
        escaped("inb from port 0x60", v);
    } else if (streq(name, "hlt")) {
        __asm__ volatile("hlt");
        escaped("hlt", 0);
    } else if (streq(name, "cli")) {
        __asm__ volatile("cli");
        escaped("cli", 0);
    } else if (streq(name, "mov-cr3")) {
        uint64_t v;
        __asm__ volatile("mov %%cr3, %0" : "=r"(v));
        escaped("mov from cr3", (long)v);
    } else if (streq(name, "hc-outside")) {   /* a struct pointer outside guest memory */
        gate(KL_HC_WRITE, 0x7fff0000);
        escaped("hostcall write with its struct at 0x7fff0000", 0);
    } else if (streq(name, "hc-misaligned")) {
        gate(KL_HC_WRITE, KL_HCALL_GVA + 4);
        escaped("hostcall write with a misaligned struct", 0);
    } else if (streq(name, "hc-past-end")) {   /* fs's 1192 bytes from the area's last 8 */
        gate(KL_HC_FS, KL_HCALL_GVA + KL_HCALL_SIZE - 8);
        escaped("hostcall fs running past the hostcall area", 0);
    } else if (streq(name, "hc-in-code")) {    /* a struct in the image */
        gate(KL_HC_WRITE, KL_IMAGE_GVA);
        escaped("hostcall write with its struct in the image", 0);
    } else if (streq(name, "hc-unknown")) {
        gate(0x63, KL_HCALL_GVA);
        escaped("hostcall 0x63", 0);
    } else if (streq(name, "hc-exit-huge")) {  /* exit claiming 4 GiB of stdout */
        volatile struct kl_hc_exit *e = (volatile struct kl_hc_exit *)KL_HCALL_GVA;
        e->kind = 0, e->code = 0, e->out_len = 0xFFFFFFFFu, e->err_len = 0;
        BOOT->out_pending = 0;
        gate(KL_HC_EXIT, KL_HCALL_GVA);
        escaped("exit with out_len 0xffffffff", 0);
    } else if (streq(name, "hc-read-into-code")) {   /* stdin into the image's text */
        volatile struct kl_hc_read *rd = (volatile struct kl_hc_read *)KL_HCALL_GVA;
        rd->buf = KL_IMAGE_GVA, rd->len = 16, rd->ret = 0;
        gate(KL_HC_READ, KL_HCALL_GVA);
        escaped("hostcall read into the image's text", rd->ret);
    } else if (streq(name, "futex-wait-forever")) {   /* the one allowed blocking call */
        r = sys6(NR_futex, CHAN_GVA, 0 /* FUTEX_WAIT */, (long)*CHAN_STATE, 0, 0, 0);
        put("futex wait returned ");
        put_dec(r);
        put("\n");
        leave(97);
    } else if (streq(name, "spin")) {
        for (;;)
            __asm__ volatile("pause");
    } else if (streq(name, "hc-race")) {
        extern void race(void);
        race();
    } else {
        put("unknown attempt\n");
        leave(2);
    }
    escaped("the attempt fell through", 0);
}

/*
 * hc-race: on the process backend the guest shares the channel page with
 * its supervisor, so it can post a hostcall itself (as the tender's gate
 * does) and keep running while the host handles it. It posts KL_HC_FS
 * writes of one iovec to a file it opened under the preopen (argv[2] names
 * it) and raises the struct's niov (argv[3], hex, default 68) after a delay
 * that sweeps across the host's handling: a host that reads niov more than
 * once (its check, then its loop bound and the writev count) walks past its
 * 64-entry iovec array. On KVM the vCPU is stopped during an exit, so the
 * struct cannot change under the host. argv[4] (hex) is how many seconds
 * to race (default 10);
 * argv[5] (hex), if given, is the length of entry 67 (a host return address).
 */
static void fs_open(volatile struct kl_hc_fs *a, const char *path)
{
    uint32_t n = 0;
    while (path[n])
        n++;
    for (uint32_t i = 0; i < n; i++)
        OUT[60000 + i] = path[i];   /* paths are read from the output buffers */
    memset((void *)a, 0, sizeof(*a));
    a->op = KL_FS_OPEN;
    a->h = 0;
    a->path = KL_OUT_GVA + 60000;
    a->path_len = n;
    a->flags = 1 /* O_CREAT */;
    a->access = KL_FS_ACCESS_WRITE;
    gate(KL_HC_FS, (uint64_t)(uintptr_t)a);
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

void race(void)
{
    volatile struct kl_hc_fs *a = (volatile struct kl_hc_fs *)KL_HCALL_GVA;
    uint32_t h, big = (uint32_t)hexarg(3);
    uint64_t rounds = 0, refused = 0, secs = hexarg(4) ? hexarg(4) : 10;
    uint64_t end = rdtsc() + secs * 1000 * BOOT->tsc_khz;

    fs_open(a, arg(2));
    if (a->err) {
        put("race: open failed, WASI errno ");
        put_dec(a->err);
        put("\n");
        leave(3);
    }
    h = (uint32_t)a->result;
    if (!big)
        big = 68;   /* v[67].iov_len is where kl_fs_op_rw's return address sits (plain build) */
    /* Every entry the host might walk to, inside the struct or past it in
     * the hostcall area, names one valid byte of the output buffers. */
    for (volatile struct kl_fs_iov *v = a->iov; (uintptr_t)(v + 1) <= KL_HCALL_GVA + KL_HCALL_SIZE; v++)
        v->buf = KL_OUT_GVA + 50000, v->len = 1;
    OUT[50000] = 'x';
    if (hexarg(5))   /* entry 67's length: where the plain build keeps its return address */
        a->iov[67].len = hexarg(5);
    for (; rdtsc() < end; rounds++) {
        a->op = KL_FS_WRITE;
        a->h = h;
        a->err = 0;
        a->niov = 1;
        *CHAN_NR = KL_HC_FS;
        *CHAN_ARG = KL_HCALL_GVA;
        *CHAN_EVENT = 0;   /* KL_CHAN_EV_HOSTCALL */
        __atomic_store_n(CHAN_STATE, 1 /* KL_CHAN_CALL */, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(CHAN_HOST_SLEEPS, __ATOMIC_SEQ_CST))
            sys6(NR_futex, CHAN_GVA, 1 /* FUTEX_WAKE */, 1, 0, 0, 0);
        if (rounds & 1) {
            /* Raise niov once, after a delay that sweeps the host's
             * handling: somewhere between its check and its loop. */
            uint64_t t = rdtsc() + (rounds * 7919) % 8000;
            while (rdtsc() < t && __atomic_load_n(CHAN_STATE, __ATOMIC_ACQUIRE) != 2)
                ;
            a->niov = big;
            while (__atomic_load_n(CHAN_STATE, __ATOMIC_ACQUIRE) != 2)
                ;
        } else {
            /* A square wave until the host answers: each value held for a
             * while (two stores in a row would reach the host's core as
             * the last one only), half-periods swept over 16-175 cycles. */
            uint64_t half = 16 + (rounds * 31) % 160, t = rdtsc();
            uint32_t v = 1;
            while (__atomic_load_n(CHAN_STATE, __ATOMIC_ACQUIRE) != 2) {
                if (rdtsc() - t >= half) {
                    v = v == 1 ? big : 1;
                    a->niov = v;
                    t = rdtsc();
                }
            }
        }
        if (a->err)
            refused++;
        __atomic_store_n(CHAN_STATE, 0 /* KL_CHAN_RUNNING */, __ATOMIC_SEQ_CST);
    }
    /* The host survived every round: report how many. */
    put("race: host survived ");
    put_dec((int64_t)rounds);
    put(" racing fs writes in ");
    put_dec((int64_t)secs);
    put(" s (");
    put_dec((int64_t)refused);
    put(" refused)\n");
    leave(0);
}

/*
 * fake-exit (process backend): escaped code posts a KL_HC_EXIT on the
 * channel itself, as the tender's gate would, and keeps running instead of
 * waiting. A host that takes that as "the sandbox waits" resets it and
 * writes the next request into it: this code wipes the args it has, spins
 * until the next request's args appear (burning a core while the sandbox
 * is pooled), then answers that request itself with "LEAKED: " and its
 * argv[2]. The host must instead find the sandbox not parked and discard
 * it, so no later request is ever answered with LEAKED.
 */
static void post_exit(void)
{
    volatile struct kl_hc_exit *e = (volatile struct kl_hc_exit *)KL_HCALL_GVA;
    e->kind = KL_EXIT_NORMAL;
    e->code = 0;
    e->out_len = out_len;
    e->err_len = 0;
    BOOT->out_pending = 0;
    *CHAN_NR = KL_HC_EXIT;
    *CHAN_ARG = KL_HCALL_GVA;
    *CHAN_EVENT = 0;   /* KL_CHAN_EV_HOSTCALL */
    __atomic_store_n(CHAN_STATE, 1 /* KL_CHAN_CALL */, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(CHAN_HOST_SLEEPS, __ATOMIC_SEQ_CST))
        sys6(NR_futex, CHAN_GVA, 1 /* FUTEX_WAKE */, 1, 0, 0, 0);
}

__attribute__((noreturn)) static void fake_exit(void)
{
    put("fake exit posted; running on\n");
    BOOT->argc = 0;
    post_exit();
    for (;;) {   /* the next request's boot block */
        while (__atomic_load_n(&BOOT->argc, __ATOMIC_ACQUIRE) < 3)
            __builtin_ia32_pause();
        out_len = 0;
        put("Content-Type: text/plain\n\nESCAPED: LEAKED the next request's argv[2]: ");
        put(arg(2));
        put("\n");
        BOOT->argc = 0;
        post_exit();
    }
}

/* A hostcall struct in the hostcall area for KL_HC_READY. */
static void ready(void)
{
    volatile struct kl_hc_ready *r = (volatile struct kl_hc_ready *)KL_HCALL_GVA;
    r->mode = 0;
    gate(KL_HC_READY, KL_HCALL_GVA);
}

__attribute__((used)) static void escape_main(void)
{
    if (entered) {
        /* Back at our own entry: a jump into the tender's resume path
         * leads here. Show that we are as confined as before. */
        put("re-entered the image's entry point; trying getpid\n");
        long r = sys6(NR_getpid, 0, 0, 0, 0, 0, 0);
        escaped("getpid after re-entry", r);
    }
    /* Instantiating a warm VM (the server's, `run --repeat`): no args yet.
     * The host snapshots here; each request continues with its own. */
    if (BOOT->magic == KL_BOOT_MAGIC && BOOT->argc == 0)
        ready();
    if (BOOT->magic == KL_BOOT_MAGIC && BOOT->argc >= 2 && streq(arg(1), "echo")) {
        /* A plain request, answered like a CGI script (server attempts). */
        put("Content-Type: text/plain\n\necho ");
        put(arg(2));
        put("\n");
        leave(0);
    }
    if (BOOT->magic == KL_BOOT_MAGIC && BOOT->argc >= 2 && streq(arg(1), "fake-exit")) {
        put("Content-Type: text/plain\n\nattempt fake-exit\n");
        fake_exit();
    }
    if (BOOT->magic != KL_BOOT_MAGIC || BOOT->argc < 2) {
        put("usage: escape.kimg ATTEMPT [OPERAND]\n");
        leave(2);
    }
    run(arg(1));
    leave(1);
}

__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  xorl %ebp, %ebp\n"
        "  andq $-16, %rsp\n"
        "  call escape_main\n"
        "  ud2\n"
        /* 32-bit code for compat-int80: i386 getpid, then report. */
        ".globl compat_code\n"
        "compat_code:\n"
        ".code32\n"
        "  movl $20, %eax\n"
        "  int $0x80\n"
        "  movl $20, %eax\n"
        "  int $0x80\n"
        "  ud2\n"
        ".code64\n");
