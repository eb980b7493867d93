/* vm_kvm_x86_64.c - the micro-VM on Linux KVM, x86-64: VM, memory slots, one vCPU, long mode at CPL 3. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kernless/abi.h"

#define KICK_SIGNAL SIGUSR2

struct kl_vm {
    int kvm, vm, vcpu;
    struct kvm_run *run;
    size_t run_size;
    timer_t timer;
    int timer_armed;
};

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
        return kl_errf(err, -e, "cannot open /dev/kvm: %s (Kernless needs KVM: load the kvm "
                       "module and run as a user with access to /dev/kvm)", strerror(e));
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

int kl_vm_spares_start(unsigned n)
{
    pthread_t t;

    spare_target = n < 64 ? n : 64;
    if (pthread_create(&t, NULL, spare_maker, NULL) != 0)
        return -EAGAIN;
    pthread_detach(t);
    return 0;
}

int kl_vm_create(struct kl_vm **out, struct kl_err *err)
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
    *out = vm;
    return 0;

err_close:
    kl_vm_destroy(vm);
    return rc;
err_free:
    free(vm);
    return rc;
}

int kl_vm_set_memory(struct kl_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
                     void *host, struct kl_err *err)
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

int kl_vm_enter_user64(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t cr3,
                       struct kl_err *err)
{
    struct kvm_sregs sr;
    struct kvm_regs regs;

    if (ioctl(vm->vcpu, KVM_GET_SREGS, &sr) < 0)
        return kl_errf(err, -errno, "KVM_GET_SREGS: %s", strerror(errno));
    /* PE|MP|ET|NE|WP|PG; EM clear so SSE works (DESIGN-NOTES 2.7). */
    sr.cr0 = 0x1 | 0x2 | 0x10 | 0x20 | 0x10000 | 0x80000000;
    sr.cr4 = 0x20 | 0x200 | 0x400;   /* PAE | OSFXSR | OSXMMEXCPT */
    sr.cr3 = cr3;
    sr.efer = 0x100 | 0x400 | 0x800; /* LME | LMA | NXE */
    seg_user(&sr.cs, KL_SEL_UCODE, 1);
    seg_user(&sr.ds, KL_SEL_UDATA, 0);
    sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
    memset(&sr.tr, 0, sizeof(sr.tr));
    sr.tr.selector = KL_SEL_TSS;
    sr.tr.base = KL_TSS_GPA;
    sr.tr.limit = 104 + 8192;
    sr.tr.type = 0xB;                /* busy 64-bit TSS */
    sr.tr.present = 1;
    memset(&sr.ldt, 0, sizeof(sr.ldt));
    sr.ldt.unusable = 1;
    sr.gdt.base = KL_GDT_GPA;
    sr.gdt.limit = 7 * 8 - 1;
    sr.idt.base = KL_IDT_GPA;
    sr.idt.limit = 32 * 16 - 1;
    if (ioctl(vm->vcpu, KVM_SET_SREGS, &sr) < 0)
        return kl_errf(err, -errno, "KVM_SET_SREGS: %s", strerror(errno));
    memset(&regs, 0, sizeof(regs));
    regs.rip = rip;
    regs.rsp = rsp;
    regs.rflags = 0x2;               /* IF=0, IOPL=0: ports only via the TSS bitmap */
    if (ioctl(vm->vcpu, KVM_SET_REGS, &regs) < 0)
        return kl_errf(err, -errno, "KVM_SET_REGS: %s", strerror(errno));
    return 0;
}

int kl_vm_run(struct kl_vm *vm, struct kl_vm_exit *exit)
{
    struct kvm_run *run = vm->run;
    int rc;

    memset(exit, 0, sizeof(*exit));
    current_run = run;
    rc = ioctl(vm->vcpu, KVM_RUN, 0);
    current_run = NULL;
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

int kl_vm_fault_regs(struct kl_vm *vm, struct kl_vm_fault_regs *r)
{
    struct kvm_regs regs;
    struct kvm_sregs sr;

    if (ioctl(vm->vcpu, KVM_GET_REGS, &regs) < 0 || ioctl(vm->vcpu, KVM_GET_SREGS, &sr) < 0)
        return -errno;
    r->rip = regs.rip;
    r->rsp = regs.rsp;
    r->cr2 = sr.cr2;
    return 0;
}

uint64_t kl_vm_tsc_khz(struct kl_vm *vm)
{
    int khz = ioctl(vm->vcpu, KVM_GET_TSC_KHZ, 0);
    return khz > 0 ? (uint64_t)khz : 0;
}

int kl_vm_arm_timeout(struct kl_vm *vm, uint64_t ms)
{
    struct sigevent sev;
    struct itimerspec its;

    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = KICK_SIGNAL;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);   /* only this vCPU thread */
    if (timer_create(CLOCK_MONOTONIC, &sev, &vm->timer) < 0)
        return -errno;
    vm->timer_armed = 1;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(ms / 1000);
    its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
    /* Re-kick every 10 ms in case a kick lands between two KVM_RUNs. */
    its.it_interval.tv_nsec = 10 * 1000000L;
    if (timer_settime(vm->timer, 0, &its, NULL) < 0)
        return -errno;
    return 0;
}

void kl_vm_disarm_timeout(struct kl_vm *vm)
{
    if (vm->timer_armed) {
        timer_delete(vm->timer);
        vm->timer_armed = 0;
    }
}

struct kl_vm_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
};

struct kl_vm_state *kl_vm_state_alloc(void)
{
    return calloc(1, sizeof(struct kl_vm_state));
}

int kl_vm_complete_io(struct kl_vm *vm)
{
    int rc;

    vm->run->immediate_exit = 1;
    rc = ioctl(vm->vcpu, KVM_RUN, 0);
    vm->run->immediate_exit = 0;
    return rc < 0 && errno != EINTR ? -errno : 0;
}

int kl_vm_save(struct kl_vm *vm, struct kl_vm_state *st)
{
    if (ioctl(vm->vcpu, KVM_GET_REGS, &st->regs) < 0 ||
        ioctl(vm->vcpu, KVM_GET_SREGS, &st->sregs) < 0 ||
        ioctl(vm->vcpu, KVM_GET_FPU, &st->fpu) < 0)
        return -errno;
    return 0;
}

int kl_vm_restore(struct kl_vm *vm, const struct kl_vm_state *st)
{
    if (ioctl(vm->vcpu, KVM_SET_SREGS, &st->sregs) < 0 ||
        ioctl(vm->vcpu, KVM_SET_REGS, &st->regs) < 0 ||
        ioctl(vm->vcpu, KVM_SET_FPU, &st->fpu) < 0)
        return -errno;
    return 0;
}

static void seg_kernel(struct kvm_segment *s, uint16_t sel, int code)
{
    seg_user(s, sel, code);
    s->dpl = 0;
}

int kl_vm_enter_ring0(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t rsi, uint64_t rdx)
{
    struct kvm_sregs sr;
    struct kvm_regs regs;

    if (ioctl(vm->vcpu, KVM_GET_SREGS, &sr) < 0)
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

void kl_vm_destroy(struct kl_vm *vm)
{
    if (!vm)
        return;
    kl_vm_disarm_timeout(vm);
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
