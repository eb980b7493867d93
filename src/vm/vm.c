/* vm.c - choose the isolation backend once per process and dispatch the kl_vm interface to it. */
#include "vm/backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Every backend's struct kl_vm starts with its ops pointer (backend.h). */
struct kl_vm_hdr {
    const struct kl_vm_ops *ops;
};
#define OPS(vm) (((const struct kl_vm_hdr *)(vm))->ops)

static pthread_mutex_t sel_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct kl_vm_ops *selected;
static char note[300];

/* The registered backends, by auto_rank. Written by constructors only,
 * before main and before any other thread. */
#define MAX_BACKENDS 4
static const struct kl_vm_ops *backends[MAX_BACKENDS];
static unsigned nbackends;

void kl_vm_backend_register(const struct kl_vm_ops *ops)
{
    unsigned i = nbackends;

    if (nbackends == MAX_BACKENDS)
        return;
    for (; i > 0 && backends[i - 1]->auto_rank > ops->auto_rank; i--)
        backends[i] = backends[i - 1];
    backends[i] = ops;
    nbackends++;
}

static const struct kl_vm_ops *find(enum kl_isolation kind)
{
    for (unsigned i = 0; i < nbackends; i++)
        if (backends[i]->kind == kind)
            return backends[i];
    return NULL;
}

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

/* An explicit choice: its probe's error, with the backend's hint if any. */
static int choose_one(enum kl_isolation want, struct kl_err *err)
{
    const struct kl_vm_ops *b = find(want);
    struct kl_err kerr = {0};

    if (!b)
        return kl_errf(err, -ENODEV, "this build has no such isolation backend");
    selected = b;
    if (!b->hint)
        return b->probe(err);
    if (b->probe(&kerr) == 0)
        return 0;
    return kl_errf(err, -ENODEV, "--isolation %s: %s (%s)", b->name, kerr.msg, b->hint);
}

/* Pick under sel_lock. AUTO takes the first backend by rank whose probe
 * succeeds, the last one whatever its probe says, and remembers why the
 * first was passed over. */
static int choose(enum kl_isolation want, struct kl_err *err)
{
    struct kl_err kerr = {0};

    if (want != KL_ISOLATION_AUTO)
        return choose_one(want, err);
    if (!nbackends)
        return kl_errf(err, -ENODEV, "this build has no isolation backend");
    for (unsigned i = 0; i + 1 < nbackends; i++) {
        if (backends[i]->probe(&kerr) == 0) {
            selected = backends[i];
            return 0;
        }
        if (!note[0])
            snprintf(note, sizeof(note), "%s", kerr.msg);
    }
    selected = backends[nbackends - 1];
    return selected->probe(err);
}

int kl_isolation_select(enum kl_isolation want, struct kl_err *err)
{
    int rc = 0;

    pthread_mutex_lock(&sel_lock);
    if (selected) {
        if (want != KL_ISOLATION_AUTO && want != selected->kind)
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

const char *kl_vm_name(const struct kl_vm *vm) { return OPS(vm)->name; }

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

int kl_vm_map(struct kl_vm *vm, uint64_t gva, uint8_t *host, uint64_t size, unsigned prot,
              struct kl_err *err)
{
    return OPS(vm)->map(vm, gva, host, size, prot, err);
}

int kl_vm_unmap(struct kl_vm *vm, uint64_t gva, uint64_t size)
{
    return OPS(vm)->unmap(vm, gva, size);
}

int kl_vm_dirty_log(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap)
{
    return OPS(vm)->dirty_log(vm, gva, len, bitmap);
}

int kl_vm_write_tracking(void)
{
    static int on = -1;

    if (on < 0) {
        const char *e = getenv("KERNLESS_DIRTY_WP");
        on = !(e && strcmp(e, "0") == 0);
    }
    return on;
}

int kl_vm_enter(struct kl_vm *vm, uint64_t rip, uint64_t rsp, struct kl_err *err)
{
    return OPS(vm)->enter(vm, rip, rsp, err);
}

int kl_vm_run(struct kl_vm *vm, struct kl_vm_exit *exit) { return OPS(vm)->run(vm, exit); }
int kl_vm_fault(struct kl_vm *vm, struct kl_vm_fault *f) { return OPS(vm)->fault(vm, f); }
uint64_t kl_vm_tsc_khz(struct kl_vm *vm) { return OPS(vm)->tsc_khz(vm); }
int kl_vm_arm_timeout(struct kl_vm *vm, uint64_t ms) { return OPS(vm)->arm_timeout(vm, ms); }
void kl_vm_disarm_timeout(struct kl_vm *vm) { OPS(vm)->disarm_timeout(vm); }

struct kl_vm_state *kl_vm_state_alloc(void)
{
    const struct kl_vm_ops *b = backend(NULL);
    return b ? b->state_alloc() : NULL;
}

int kl_vm_save(struct kl_vm *vm, struct kl_vm_state *st) { return OPS(vm)->save(vm, st); }

int kl_vm_restore(struct kl_vm *vm, const struct kl_vm_state *st)
{
    return OPS(vm)->restore(vm, st);
}

int kl_vm_quiesce(struct kl_vm *vm) { return OPS(vm)->quiesce ? OPS(vm)->quiesce(vm) : 0; }

void kl_vm_destroy(struct kl_vm *vm)
{
    if (vm)
        OPS(vm)->destroy(vm);
}

void kl_vm_large_pages(struct kl_vm *vm)
{
    const char *e = getenv("KERNLESS_LARGE_PAGES");

    if (OPS(vm)->large_pages && !(e && strcmp(e, "0") == 0))
        OPS(vm)->large_pages(vm);
}

unsigned kl_vm_large_count(struct kl_vm *vm)
{
    return OPS(vm)->large_count ? OPS(vm)->large_count(vm) : 0;
}

int kl_vm_ram_private(void *p, size_t len)
{
    return madvise(p, len, MADV_DONTDUMP) < 0 ? -errno : 0;
}
