/* vm.c - choose the isolation backend once per process and dispatch the kl_vm interface to it. */
#include "vmm/vm_backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Every backend's struct kl_vm starts with its ops pointer (vm_backend.h). */
struct kl_vm_hdr {
    const struct kl_vm_ops *ops;
};
#define OPS(vm) (((const struct kl_vm_hdr *)(vm))->ops)

static pthread_mutex_t sel_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct kl_vm_ops *selected;
static char note[300];

int kl_isolation_parse(const char *s, enum kl_isolation *out)
{
    static const char *const names[] = {"auto", "kvm", "process"};

    for (unsigned i = 0; i < 3; i++)
        if (s && !strcmp(s, names[i])) {
            *out = (enum kl_isolation)i;
            return 0;
        }
    return -EINVAL;
}

/* Pick under sel_lock. AUTO remembers why KVM was passed over. */
static int choose(enum kl_isolation want, struct kl_err *err)
{
    struct kl_err kerr = {0};

    if (want == KL_ISOLATION_PROCESS) {
        selected = &kl_vm_proc_ops;
        return kl_vm_proc_ops.probe(err);
    }
    if (kl_vm_kvm_ops.probe(&kerr) == 0) {
        selected = &kl_vm_kvm_ops;
        return 0;
    }
    if (want == KL_ISOLATION_KVM)
        return kl_errf(err, -ENODEV, "--isolation kvm: %s (load the kvm module and run as a "
                       "user with access to /dev/kvm, or use --isolation process)", kerr.msg);
    snprintf(note, sizeof(note), "%s", kerr.msg);
    selected = &kl_vm_proc_ops;
    return kl_vm_proc_ops.probe(err);
}

int kl_isolation_select(enum kl_isolation want, struct kl_err *err)
{
    int rc = 0;

    pthread_mutex_lock(&sel_lock);
    if (selected) {
        const struct kl_vm_ops *w = want == KL_ISOLATION_KVM ? &kl_vm_kvm_ops
                                    : want == KL_ISOLATION_PROCESS ? &kl_vm_proc_ops : NULL;
        if (w && w != selected)
            rc = kl_errf(err, -EBUSY, "isolation is already %s", selected->name);
    } else {
        rc = choose(want, err);
        if (rc < 0)
            selected = NULL;
    }
    pthread_mutex_unlock(&sel_lock);
    return rc;
}

/* The backend, selecting AUTO on first use. NULL only if no backend works. */
static const struct kl_vm_ops *backend(struct kl_err *err)
{
    const struct kl_vm_ops *b;

    pthread_mutex_lock(&sel_lock);
    b = selected;
    pthread_mutex_unlock(&sel_lock);
    if (b || kl_isolation_select(KL_ISOLATION_AUTO, err) < 0)
        return b;
    pthread_mutex_lock(&sel_lock);
    b = selected;
    pthread_mutex_unlock(&sel_lock);
    return b;
}

const char *kl_isolation_name(void)
{
    const struct kl_vm_ops *b = backend(NULL);
    return b ? b->name : "none";
}

const char *kl_isolation_note(void)
{
    backend(NULL);
    return note;
}

unsigned kl_vm_caps(const struct kl_vm *vm) { return OPS(vm)->caps; }

int kl_vm_spares_start(unsigned n)
{
    const struct kl_vm_ops *b = backend(NULL);
    return b ? b->spares_start(n) : -ENODEV;
}

int kl_vm_create(struct kl_vm **out, struct kl_err *err)
{
    const struct kl_vm_ops *b = backend(err);
    return b ? b->create(out, err) : -ENODEV;
}

int kl_vm_map_ram(struct kl_vm *vm, int which, uint64_t bytes, uint8_t **host, struct kl_err *err)
{
    return OPS(vm)->map_ram(vm, which, bytes, host, err);
}

int kl_vm_set_memory(struct kl_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
                     struct kl_err *err)
{
    return OPS(vm)->set_memory(vm, slot, gpa, size, host, err);
}

int kl_vm_mem_resize(struct kl_vm *vm, unsigned idx, uint64_t bytes)
{
    return OPS(vm)->mem_resize ? OPS(vm)->mem_resize(vm, idx, bytes) : -ENOTSUP;
}

int kl_vm_dirty_log(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap)
{
    return OPS(vm)->dirty_log ? OPS(vm)->dirty_log(vm, gva, len, bitmap) : -ENOTSUP;
}

int kl_vm_enter_user64(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t cr3,
                       struct kl_err *err)
{
    return OPS(vm)->enter_user64(vm, rip, rsp, cr3, err);
}

int kl_vm_run(struct kl_vm *vm, struct kl_vm_exit *exit) { return OPS(vm)->run(vm, exit); }

int kl_vm_fault(struct kl_vm *vm, const uint8_t *low, struct kl_vm_fault *f)
{
    return OPS(vm)->fault(vm, low, f);
}

uint64_t kl_vm_tsc_khz(struct kl_vm *vm) { return OPS(vm)->tsc_khz(vm); }
int kl_vm_arm_timeout(struct kl_vm *vm, uint64_t ms) { return OPS(vm)->arm_timeout(vm, ms); }
void kl_vm_disarm_timeout(struct kl_vm *vm) { OPS(vm)->disarm_timeout(vm); }

struct kl_vm_state *kl_vm_state_alloc(void)
{
    const struct kl_vm_ops *b = backend(NULL);
    return b ? b->state_alloc() : NULL;
}

int kl_vm_complete_io(struct kl_vm *vm) { return OPS(vm)->complete_io(vm); }
int kl_vm_save(struct kl_vm *vm, struct kl_vm_state *st) { return OPS(vm)->save(vm, st); }

int kl_vm_restore(struct kl_vm *vm, const struct kl_vm_state *st)
{
    return OPS(vm)->restore(vm, st);
}

int kl_vm_quiesce(struct kl_vm *vm) { return OPS(vm)->quiesce ? OPS(vm)->quiesce(vm) : 0; }

int kl_vm_enter_ring0(struct kl_vm *vm, uint64_t rip, uint64_t rsp, uint64_t rsi, uint64_t rdx)
{
    return OPS(vm)->enter_ring0 ? OPS(vm)->enter_ring0(vm, rip, rsp, rsi, rdx) : -ENOTSUP;
}

void kl_vm_destroy(struct kl_vm *vm)
{
    if (vm)
        OPS(vm)->destroy(vm);
}
