/* kvm_x86_64.c - the micro-VM on Linux KVM, x86-64: VM, memory slots, one vCPU, long mode at CPL 3. */
#include "vm/kvm/kvm.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/isa.h"

#define KICK_SIGNAL SIGUSR2

/* The vCPU this thread is running, for the kick signal handler. */
static __thread struct kvm_run *current_run;

/* Runs in the vCPU thread: make KVM_RUN return now, or right at entry if the
 * signal lands just before it (immediate_exit closes that race). */
static void kick_handler(int sig)
{
    (void)sig;
    if (current_run)
        current_run->immediate_exit = 1;
}

static int install_kick_handler(void)
{
    static int installed;
    struct sigaction sa;

    if (__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;   /* no SA_RESTART: KVM_RUN must see EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
        return -errno;
    __atomic_store_n(&installed, 1, __ATOMIC_RELEASE);
    return 0;
}

static int open_kvm(struct kl_err *err)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int api;

    if (fd < 0) {
        int e = errno;
        return kl_errf(err, -e, "cannot open /dev/kvm: %s", strerror(e));
    }
    api = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        close(fd);
        return kl_errf(err, -ENOTSUP, "/dev/kvm has API version %d, need %d", api,
                       KVM_API_VERSION);
    }
    return fd;
}

#define CPUID_MAX 128
static struct kvm_cpuid2 *supported_cpuid;   /* allocated once, kept for the process */
static pthread_once_t cpuid_once = PTHREAD_ONCE_INIT;
static int cpuid_errno;

/* KVM_GET_SUPPORTED_CPUID costs ~0.3 ms and never changes: ask once. */
static void fetch_cpuid(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CPUID_MAX * sizeof(struct kvm_cpuid_entry2));

    if (!c) {
        cpuid_errno = ENOMEM;
    } else {
        c->nent = CPUID_MAX;
        if (fd < 0 || ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
            cpuid_errno = errno ? errno : EIO;
        supported_cpuid = c;
    }
    if (fd >= 0)
        close(fd);
}

/* Give the guest the host-supported CPUID, as KVM selftests do, so CR4 bits
 * like OSFXSR are accepted and SSE state is available. */
static int setup_cpuid(struct kl_vm *vm, struct kl_err *err)
{
    pthread_once(&cpuid_once, fetch_cpuid);
    if (cpuid_errno)
        return kl_errf(err, -cpuid_errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(cpuid_errno));
    if (ioctl(vm->vcpu, KVM_SET_CPUID2, supported_cpuid) < 0)
        return kl_errf(err, -errno, "KVM_SET_CPUID2: %s", strerror(errno));
    return 0;
}

/*
 * Pre-created empty VMs (VM + vCPU + CPUID, no memory, never run), made by a
 * background thread so a cold start skips KVM_CREATE_VM (~0.3-0.5 ms here)
 * and KVM_CREATE_VCPU. A VM that never ran guest code carries nothing of
 * any function, so it may go to any of them (DESIGN-NOTES 2.5).
 */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spare_want = PTHREAD_COND_INITIALIZER;
static struct kl_vm *spares[64];
static unsigned nspares, spare_target;

static int vm_create_now(struct kl_vm **out, struct kl_err *err);
static void kvm_destroy(struct kl_vm *vm);

static void *spare_maker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&spare_lock);
    for (;;) {
        while (nspares >= spare_target)
            pthread_cond_wait(&spare_want, &spare_lock);
        pthread_mutex_unlock(&spare_lock);
        struct kl_vm *vm = NULL;
        int rc = vm_create_now(&vm, NULL);
        pthread_mutex_lock(&spare_lock);
        if (rc < 0) {
            spare_target = nspares;   /* KVM refuses more: stop trying */
            continue;
        }
        spares[nspares++] = vm;
    }
    return NULL;
}

static int kvm_spares_start(unsigned n)
{
    pthread_t t;

    spare_target = n < 64 ? n : 64;
    if (pthread_create(&t, NULL, spare_maker, NULL) != 0)
        return -EAGAIN;
    pthread_detach(t);
    return 0;
}

static int kvm_create(struct kl_vm **out, struct kl_err *err)
{
    pthread_mutex_lock(&spare_lock);
    if (nspares) {
        *out = spares[--nspares];
        pthread_cond_signal(&spare_want);
        pthread_mutex_unlock(&spare_lock);
        return 0;
    }
    pthread_mutex_unlock(&spare_lock);
    return vm_create_now(out, err);
}

static int vm_create_now(struct kl_vm **out, struct kl_err *err)
{
    struct kl_vm *vm = calloc(1, sizeof(*vm));
    int rc;

    if (!vm)
        return kl_errf(err, -ENOMEM, "out of memory");
    vm->ops = &kl_vm_kvm_ops;
    vm->kvm = vm->vm = vm->vcpu = -1;
    if ((rc = install_kick_handler()) < 0) {
        kl_errf(err, rc, "cannot install the timeout signal handler");
        goto err_free;
    }
    if ((rc = vm->kvm = open_kvm(err)) < 0)
        goto err_free;
    if ((vm->vm = ioctl(vm->kvm, KVM_CREATE_VM, 0)) < 0) {
        rc = kl_errf(err, -errno, "KVM_CREATE_VM: %s", strerror(errno));
        goto err_close;
    }
    if ((vm->vcpu = ioctl(vm->vm, KVM_CREATE_VCPU, 0)) < 0) {
        rc = kl_errf(err, -errno, "KVM_CREATE_VCPU: %s", strerror(errno));
        goto err_close;
    }
    vm->run_size = (size_t)ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu, 0);
    if (vm->run == MAP_FAILED) {
        vm->run = NULL;
        rc = kl_errf(err, -errno, "mmap of kvm_run: %s", strerror(errno));
        goto err_close;
    }
    if ((rc = setup_cpuid(vm, err)) < 0)
        goto err_close;
    rc = ioctl(vm->vm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
    vm->sync_regs = rc > 0 && (rc & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
                                  (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
    *out = vm;
    return 0;

err_close:
    kvm_destroy(vm);
    return rc;
err_free:
    free(vm);
    return rc;
}

int kl_kvm_set_slot(struct kl_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
                    struct kl_err *err)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };

    if (ioctl(vm->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return kl_errf(err, -errno, "KVM_SET_USER_MEMORY_REGION slot %u: %s", slot,
                       strerror(errno));
    return 0;
}

static void seg_user(struct kvm_segment *s, uint16_t sel, int code)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->limit = 0xFFFFFFFF;
    s->type = code ? 0xB : 0x3;   /* execute/read or read/write, accessed */
    s->present = 1;
    s->dpl = 3;
    s->s = 1;
    s->l = code;
    s->db = !code;
    s->g = 1;
}

/*
 * The type the TR's hidden (cached) part holds, by the rules of the vendor
 * whose virtualisation extension KVM runs the guest on: the host CPU's
 * (kvm_intel needs Intel VMX, kvm_amd needs AMD/Hygon SVM).
 * - Intel VMX: Intel SDM Vol. 3C, "Checks on Guest Segment Registers" (VM
 *   entry, 27.3.1.2; 26.3.1.2 in older editions): if the guest will be in
 *   IA-32e mode, TR's type must be 11 (busy 64-bit TSS), else VM entry fails.
 * - AMD SVM: AMD APM Vol. 2, "VMRUN" and "Canonicalization and Consistency
 *   Checks" (15.5): VMRUN loads the segment state from the VMCB as it is and
 *   checks no TR attribute, so SVM accepts either TSS type. We load 9
 *   (available 64-bit TSS), the type the GDT descriptor holds: AMD hardware
 *   keeps the type LTR loaded in the hidden TR (KVM's svm_get_segment() ORs
 *   the busy bit in only on read-out, for migration to Intel), and QEMU's
 *   emulated SVM (TCG, DESIGN-NOTES 0A) lets a CPL-3 `out` through the I/O
 *   bitmap only with type 9 cached.
 * KVM_GET_SREGS on AMD reports 0xB whatever was set, so kvm_save() and
 * kvm_restore() write this type back rather than keep what KVM reports.
 */
#define TR_TYPE_AVAIL64 0x9
#define TR_TYPE_BUSY64 0xB
static pthread_once_t tr_type_once = PTHREAD_ONCE_INIT;
static uint8_t tr_type = TR_TYPE_BUSY64;

static void tr_type_init(void)
{
    unsigned a, b, c, d;

    __cpuid(0, a, b, c, d);
    (void)a;
    if ((b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163) ||   /* AuthenticAMD */
        (b == 0x6f677948 && d == 0x6e65476e && c == 0x656e6975))     /* HygonGenuine */
        tr_type = TR_TYPE_AVAIL64;   /* SVM */
    /* else Intel, Zhaoxin, Centaur: VMX, busy */
}

static uint8_t kvm_tr_type(void)
{
    pthread_once(&tr_type_once, tr_type_init);
    return tr_type;
}

/*
 * AVX in the guest (modules are built for x86-64-v3 where the CPU has it,
 * common/isa.h): CR4.OSXSAVE and XCR0 = x87|SSE|AVX, or VEX code faults
 * with #UD. Then the VM's state is saved and restored with XSAVE, which
 * covers the YMM upper halves that KVM_GET/SET_FPU leave alone, so no
 * request's vector registers outlive its reset.
 */
#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87_SSE_AVX 0x7ull

static int kvm_avx(void)
{
    return (kl_isa_cpu() & KL_ISA_F_OSAVX) != 0;
}

static int kvm_set_xcr0(struct kl_vm *vm, struct kl_err *err)
{
    struct kvm_xcrs x;

    memset(&x, 0, sizeof(x));
    x.nr_xcrs = 1;
    x.xcrs[0].xcr = 0;
    x.xcrs[0].value = XCR0_X87_SSE_AVX;
    if (ioctl(vm->vcpu, KVM_SET_XCRS, &x) < 0)
        return kl_errf(err, -errno, "KVM_SET_XCRS (AVX state for x86-64-v3 code): %s",
                       strerror(errno));
    return 0;
}

static int kvm_complete_io(struct kl_vm *vm);

/*
 * A restore left in run->s.regs for the next KVM_RUN (kvm_restore) is
 * applied now with the ioctls, before anything else reads or sets those
 * registers: every register path but KVM_RUN itself goes through here.
 */
static int sync_flush(struct kl_vm *vm)
{
    if (!vm->sync_pending)
        return 0;
    vm->sync_pending = 0;
    vm->run->kvm_dirty_regs = 0;
    if (ioctl(vm->vcpu, KVM_SET_SREGS, &vm->run->s.regs.sregs) < 0 ||
        ioctl(vm->vcpu, KVM_SET_REGS, &vm->run->s.regs.regs) < 0)
        return -errno;
    return 0;
}

/*
 * User mode (CPL 3) in 64-bit mode with paging on, through the VM's own
 * page tables and descriptor tables. A pending `out` is finished first, so
 * KVM cannot later apply that completion (an instruction skip) to the new
 * entry point; the first entry adds the low area's slot.
 */
static int kvm_enter(struct kl_vm *vm, uint64_t rip, uint64_t rsp, struct kl_err *err)
{
    struct kvm_sregs sr;
    struct kvm_regs regs;
    int rc;

    if ((rc = kvm_complete_io(vm)) < 0)
        return kl_errf(err, rc, "KVM_RUN (completing I/O): %s", strerror(-rc));
    if ((rc = sync_flush(vm)) < 0)
        return kl_errf(err, rc, "KVM_SET_SREGS: %s", strerror(-rc));
    if ((rc = kl_kvm_low_register(vm, err)) < 0)
        return rc;
    if (ioctl(vm->vcpu, KVM_GET_SREGS, &sr) < 0)
        return kl_errf(err, -errno, "KVM_GET_SREGS: %s", strerror(errno));
    /* PE|MP|ET|NE|WP|PG; EM clear so SSE works (DESIGN-NOTES 2.7). */
    sr.cr0 = 0x1 | 0x2 | 0x10 | 0x20 | 0x10000 | 0x80000000;
    sr.cr4 = 0x20 | 0x200 | 0x400;   /* PAE | OSFXSR | OSXMMEXCPT */
    if (kvm_avx())
        sr.cr4 |= CR4_OSXSAVE;
    sr.cr3 = vm->pt.pml4;
    sr.efer = 0x100 | 0x400 | 0x800; /* LME | LMA | NXE */
    seg_user(&sr.cs, KL_SEL_UCODE, 1);
    seg_user(&sr.ds, KL_SEL_UDATA, 0);
    sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
    memset(&sr.tr, 0, sizeof(sr.tr));
    sr.tr.selector = KL_SEL_TSS;
    sr.tr.base = KL_TSS_GPA;
    sr.tr.limit = 104 + 8192;
    sr.tr.type = kvm_tr_type();      /* 64-bit TSS, busy or not: see kvm_tr_type() */
    sr.tr.present = 1;
    memset(&sr.ldt, 0, sizeof(sr.ldt));
    sr.ldt.unusable = 1;
    sr.gdt.base = KL_GDT_GPA;
    sr.gdt.limit = 7 * 8 - 1;
    sr.idt.base = KL_IDT_GPA;
    sr.idt.limit = 32 * 16 - 1;
    if (ioctl(vm->vcpu, KVM_SET_SREGS, &sr) < 0)
        return kl_errf(err, -errno, "KVM_SET_SREGS: %s", strerror(errno));
    rc = kvm_avx() ? kvm_set_xcr0(vm, err) : 0;
    if (rc < 0)
        return rc;
    memset(&regs, 0, sizeof(regs));
    regs.rip = rip;
    regs.rsp = rsp;
    regs.rflags = 0x2;               /* IF=0, IOPL=0: ports only via the TSS bitmap */
    if (ioctl(vm->vcpu, KVM_SET_REGS, &regs) < 0)
        return kl_errf(err, -errno, "KVM_SET_REGS: %s", strerror(errno));
    return 0;
}

int kl_kvm_run(struct kl_vm *vm, struct kl_vm_exit *exit)
{
    struct kvm_run *run = vm->run;
    int rc;

    memset(exit, 0, sizeof(*exit));
    vm->io_pending = 0;   /* this KVM_RUN completes it */
    current_run = run;
    rc = ioctl(vm->vcpu, KVM_RUN, 0);
    current_run = NULL;
    /* KVM clears the dirty bits of a pending restore once it applied it. */
    vm->sync_pending = run->kvm_dirty_regs != 0;
    if (rc < 0) {
        run->immediate_exit = 0;
        if (errno == EINTR || errno == EAGAIN) {
            exit->kind = KL_VMX_INTR;
            return 0;
        }
        return -errno;
    }
    exit->raw_reason = run->exit_reason;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        if (run->io.direction != KVM_EXIT_IO_OUT || run->io.count != 1) {
            exit->kind = KL_VMX_OTHER;
            return 0;
        }
        exit->kind = KL_VMX_IO_OUT;
        vm->io_pending = 1;
        exit->port = run->io.port;
        exit->size = run->io.size;
        memcpy(&exit->value, (uint8_t *)run + run->io.data_offset,
               run->io.size <= 4 ? run->io.size : 4);
        return 0;
    case KVM_EXIT_HLT:
        exit->kind = KL_VMX_HLT;
        return 0;
    case KVM_EXIT_SHUTDOWN:
        exit->kind = KL_VMX_SHUTDOWN;
        return 0;
    case KVM_EXIT_INTR:
        exit->kind = KL_VMX_INTR;
        return 0;
    default:
        exit->kind = KL_VMX_OTHER;
        return 0;
    }
}

/* The ring-0 stub pushed (vector, error code) on the CPU's frame (rip, cs,
 * rflags, rsp, ss) and reported on KL_FAULT_PORT: read that frame. */
static int kvm_fault(struct kl_vm *vm, struct kl_vm_fault *f)
{
    struct kvm_regs regs;
    struct kvm_sregs sr;
    const uint64_t *frame;

    if (sync_flush(vm) < 0 || ioctl(vm->vcpu, KVM_GET_REGS, &regs) < 0 ||
        ioctl(vm->vcpu, KVM_GET_SREGS, &sr) < 0)
        return -errno;
    /* The frame must lie in the ring-0 stack; anything else means the stub
     * did not run as built. */
    if (regs.rsp < KL_KSTACK_GPA || regs.rsp > KL_KSTACK_TOP - 7 * 8)
        return -EPROTO;
    frame = (const uint64_t *)(vm->low + regs.rsp);
    f->vector = frame[0];
    f->code = frame[1];
    f->rip = frame[2];
    f->cs = frame[3];
    f->addr = sr.cr2;
    return 0;
}

/* Read once per VM: every vCPU ioctl costs a vcpu_load, which is dear
 * under nested virtualization, and the rate does not change. */
static uint64_t kvm_tsc_khz(struct kl_vm *vm)
{
    int khz;

    if (vm->tsc_khz)
        return vm->tsc_khz;
    khz = ioctl(vm->vcpu, KVM_GET_TSC_KHZ, 0);
    vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
    return vm->tsc_khz;
}

/* This thread's number, never reused in the process (a thread id is, once
 * its thread ends): a VM's timer is kept while it runs on the same thread. */
static uint64_t thread_serial(void)
{
    static uint64_t next;
    static __thread uint64_t mine;

    if (!mine)
        mine = __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED);
    return mine;
}

/*
 * The timeout kick goes to the thread running the vCPU. The timer is made
 * once per VM and thread and then only re-armed: creating and deleting one
 * per request cost two more system calls each time.
 */
static int kvm_arm_timeout(struct kl_vm *vm, uint64_t ms)
{
    struct sigevent sev;
    struct itimerspec its;
    uint64_t me = thread_serial();

    if (vm->timer_made && vm->timer_thread != me) {
        timer_delete(vm->timer);
        vm->timer_made = 0;
    }
    if (!vm->timer_made) {
        memset(&sev, 0, sizeof(sev));
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = KICK_SIGNAL;
        sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);   /* only this vCPU thread */
        if (timer_create(CLOCK_MONOTONIC, &sev, &vm->timer) < 0)
            return -errno;
        vm->timer_made = 1;
        vm->timer_thread = me;
    }
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(ms / 1000);
    its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
    /* Re-kick every 10 ms in case a kick lands between two KVM_RUNs. */
    its.it_interval.tv_nsec = 10 * 1000000L;
    if (timer_settime(vm->timer, 0, &its, NULL) < 0)
        return -errno;
    return 0;
}

/* Stop the kicks; the timer stays for the next run on this thread. */
static void kvm_disarm_timeout(struct kl_vm *vm)
{
    static const struct itimerspec off;

    if (vm->timer_made)
        timer_settime(vm->timer, 0, &off, NULL);
}

static void kvm_drop_timer(struct kl_vm *vm)
{
    if (vm->timer_made) {
        timer_delete(vm->timer);
        vm->timer_made = 0;
    }
}

struct kl_vm_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_xsave xsave;          /* instead of fpu where the guest has AVX */
};

static struct kl_vm_state *kvm_state_alloc(void)
{
    return calloc(1, sizeof(struct kl_vm_state));
}

/* Finish a pending `out` (KVM completes port I/O on the next KVM_RUN)
 * without running guest code, so the vCPU's state points past it. */
static int kvm_complete_io(struct kl_vm *vm)
{
    int rc;

    if (!vm->io_pending)
        return 0;
    vm->io_pending = 0;
    if ((rc = sync_flush(vm)) < 0)
        return rc;
    vm->run->immediate_exit = 1;
    rc = ioctl(vm->vcpu, KVM_RUN, 0);
    vm->run->immediate_exit = 0;
    return rc < 0 && errno != EINTR ? -errno : 0;
}

/* The state just past the exit the guest stopped at. */
static int save_state(struct kl_vm *vm, struct kl_vm_state *st)
{
    int rc;

    if ((rc = kvm_complete_io(vm)) < 0 || (rc = sync_flush(vm)) < 0)
        return rc;
    if (ioctl(vm->vcpu, KVM_GET_REGS, &st->regs) < 0 ||
        ioctl(vm->vcpu, KVM_GET_SREGS, &st->sregs) < 0 ||
        (kvm_avx() ? ioctl(vm->vcpu, KVM_GET_XSAVE, &st->xsave)
                   : ioctl(vm->vcpu, KVM_GET_FPU, &st->fpu)) < 0)
        return -errno;
    st->sregs.tr.type = kvm_tr_type();   /* not KVM's read-out (0xB on AMD) */
    return 0;
}

/* The snapshot: linear memory mapped from now on is grown by a request. */
static int kvm_save(struct kl_vm *vm, struct kl_vm_state *st)
{
    int rc;

    if (vm->large)
        return -EINVAL;   /* its dirty bits are per 2 MiB: no reset could use them */
    if ((rc = save_state(vm, st)) < 0)
        return rc;
    vm->saved = 1;
    return 0;
}

/* Unmapped pages' entries are cleared by the ring-0 stub first. */
static int kvm_restore(struct kl_vm *vm, const struct kl_vm_state *st)
{
    struct kvm_sregs sr = st->sregs;
    int rc;

    if ((rc = kl_kvm_reset_flush(vm)) < 0)
        return rc;

    sr.tr.type = kvm_tr_type();          /* whatever the saved state says */
    /* Resuming past READY's `out`, the gate itself loads the vector
     * registers' initial state first (cpu_x86_64.c); anywhere else they
     * are set here. */
    if ((st->regs.rip != KL_GATE_GVA + KL_KVM_GATE_RESUME || st->regs.rdi != KL_HC_READY) &&
        (kvm_avx() ? ioctl(vm->vcpu, KVM_SET_XSAVE, &st->xsave)
                   : ioctl(vm->vcpu, KVM_SET_FPU, &st->fpu)) < 0)
        return -errno;
    if (vm->sync_regs) {
        /* Two ioctls (two vcpu_loads) fewer: the next KVM_RUN sets them
         * before the guest runs; sync_flush covers any other path. */
        vm->run->s.regs.sregs = sr;
        vm->run->s.regs.regs = st->regs;
        vm->run->kvm_valid_regs = 0;
        vm->run->kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
        vm->sync_pending = 1;
        return 0;
    }
    if (ioctl(vm->vcpu, KVM_SET_SREGS, &sr) < 0 ||
        ioctl(vm->vcpu, KVM_SET_REGS, &st->regs) < 0)
        return -errno;
    return 0;
}

/* Mid-run, as a restore to where the guest stopped does: the stub's list
 * first, then the same registers (kvm_restore). */
int kl_kvm_flush_now(struct kl_vm *vm)
{
    struct kl_vm_state st;
    int rc = save_state(vm, &st);

    return rc < 0 ? rc : kvm_restore(vm, &st);
}

static void seg_kernel(struct kvm_segment *s, uint16_t sel, int code)
{
    seg_user(s, sel, code);
    s->dpl = 0;
}

int kl_kvm_enter_ring0(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t rsi, uint64_t rdx)
{
    struct kvm_sregs sr;
    struct kvm_regs regs;

    if (sync_flush(vm) < 0 || ioctl(vm->vcpu, KVM_GET_SREGS, &sr) < 0)
        return -errno;
    seg_kernel(&sr.cs, KL_SEL_KCODE, 1);
    seg_kernel(&sr.ss, KL_SEL_KDATA, 0);
    sr.ds = sr.es = sr.ss;
    if (ioctl(vm->vcpu, KVM_SET_SREGS, &sr) < 0)
        return -errno;
    memset(&regs, 0, sizeof(regs));
    regs.rip = rip;
    regs.rsp = rsp;
    regs.rsi = rsi;
    regs.rdx = rdx;
    regs.rflags = 0x2;
    if (ioctl(vm->vcpu, KVM_SET_REGS, &regs) < 0)
        return -errno;
    return 0;
}

static void kvm_destroy(struct kl_vm *vm)
{
    if (!vm)
        return;
    kvm_drop_timer(vm);
    if (vm->run)
        munmap(vm->run, vm->run_size);
    if (vm->vcpu >= 0)
        close(vm->vcpu);
    if (vm->vm >= 0)
        close(vm->vm);
    if (vm->kvm >= 0)
        close(vm->kvm);
    free(vm);
}

/* Usable when /dev/kvm opens, speaks our API version and creates a VM. */
static int kvm_probe(struct kl_err *err)
{
    struct kl_vm *vm = NULL;
    int rc = vm_create_now(&vm, err);

    if (rc == 0)
        kvm_destroy(vm);
    return rc;
}

static void *reserve(uint64_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/*
 * Linear memory of a VM with large pages: 2 MiB-aligned, so KVM can back a
 * 2 MiB guest page with one transparent huge page, and asking for those
 * past the first 2 MiB (this host's THP mode is madvise). The first 2 MiB
 * stay small: a program that needs little memory pays no 2 MiB zeroing.
 */
static void *reserve_large(uint64_t bytes)
{
    uint8_t *raw = reserve(bytes + KL_HUGE_SIZE), *p;
    uint64_t head;

    if (!raw)
        return NULL;
    p = (uint8_t *)(((uintptr_t)raw + KL_HUGE_SIZE - 1) & ~(uintptr_t)(KL_HUGE_SIZE - 1));
    head = (uint64_t)(p - raw);
    if (head)
        munmap(raw, head);
    munmap(p + bytes, KL_HUGE_SIZE - head);
    if (bytes > KL_HUGE_SIZE)
        madvise(p + KL_HUGE_SIZE, bytes - KL_HUGE_SIZE, MADV_HUGEPAGE);   /* a hint only */
    return p;
}

/* Anonymous memory: KVM maps it into the guest through memory slots. The
 * low area also holds the descriptor and page tables (kvm_mem_x86_64.c). */
static int kvm_map_ram(struct kl_vm *vm, int which, uint64_t bytes, uint8_t **host,
                       struct kl_err *err)
{
    void *p;
    int rc;

    if (which == KL_VM_RAM_LOW ? bytes != KL_LOW_END || vm->low
                               : which < 0 || which >= (int)KL_MAX_MEMORIES || vm->mems[which].host)
        return kl_errf(err, -EINVAL, "guest memory %d is mapped once", which);
    p = which == KL_VM_RAM_LOW || !vm->large ? reserve(bytes) : reserve_large(bytes);
    if (!p)
        return kl_errf(err, -ENOMEM, "cannot reserve %llu bytes of guest memory",
                       (unsigned long long)bytes);
    if ((rc = kl_vm_ram_private(p, bytes)) < 0) {
        munmap(p, bytes);
        return kl_errf(err, rc, "cannot keep guest memory out of core dumps: %s", strerror(-rc));
    }
    *host = p;
    if (which != KL_VM_RAM_LOW) {
        vm->mems[which].host = p;
        vm->mems[which].reserved = bytes;
        return 0;
    }
    return kl_kvm_low_init(vm, p, err);
}

/* Before any linear memory is reserved: the reservation depends on it. */
static void kvm_large_pages(struct kl_vm *vm)
{
    int none = 1;

    for (unsigned i = 0; i < KL_MAX_MEMORIES; i++)
        none &= !vm->mems[i].host;
    if (none)
        vm->large = 1;
}

static unsigned kvm_large_count(struct kl_vm *vm) { return vm->large_count; }

const struct kl_vm_ops kl_vm_kvm_ops = {
    .name = "kvm",
    .kind = KL_ISOLATION_KVM,
    .auto_rank = 0,
    .hint = "load the kvm module and run as a user with access to /dev/kvm, or use "
            "--isolation process",
    .probe = kvm_probe,
    .spares_start = kvm_spares_start,
    .create = kvm_create,
    .map_ram = kvm_map_ram,
    .map = kl_kvm_map,
    .unmap = kl_kvm_unmap,
    .dirty_log = kl_kvm_dirty_log,
    .enter = kvm_enter,
    .run = kl_kvm_run,
    .fault = kvm_fault,
    .tsc_khz = kvm_tsc_khz,
    .arm_timeout = kvm_arm_timeout,
    .disarm_timeout = kvm_disarm_timeout,
    .state_alloc = kvm_state_alloc,
    .save = kvm_save,
    .restore = kvm_restore,
    .destroy = kvm_destroy,
    .large_pages = kvm_large_pages,
    .large_count = kvm_large_count,
};

/* Selectable from start-up on: vm.c names no backend (layers.txt). */
__attribute__((constructor)) static void kvm_register(void)
{
    kl_vm_backend_register(&kl_vm_kvm_ops);
}
