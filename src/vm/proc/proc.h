/* proc.h - the process backend's sandbox state, shared by proc_x86_64.c, proc_spawn.c and proc_dirty.c (internal). */
#ifndef KL_VMM_PROC_H
#define KL_VMM_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "vm/proc/proc_chan.h"
#include "vm/backend.h"

/* What the next kl_vm_run answers the parked tender. */
enum proc_pending {
    PROC_NONE = 0,    /* nothing to continue with (after a fault): "halted" */
    PROC_RETURN,      /* return from the hostcall it is in */
    PROC_RESUME,      /* jump to vm->resume */
};

/* Low-area regions kl_vm_map may record: boot/I/O, heap, stack and the
 * image's segments. */
#define PROC_MAX_REGIONS (8 + KL_IMAGE_MAX_SEGS)

/** One sandbox process: the process backend's `struct kl_vm`. */
struct kl_vm {
    const struct kl_vm_ops *ops;       /* first: vm.c dispatches on it */
    pid_t pid;
    int pidfd;                         /* -1 once reaped */
    int pagemap_fd;                    /* /proc/<pid>/pagemap, opened before it dropped privileges */
    int notif_fd;                      /* seccomp notifications: the park call (proc_chan.h) */
    int parked;                        /* the host holds the park call's notification park_id */
    uint64_t park_id;
    int low_fd;                        /* until the tender mapped its layout */
    int mem_fds[KL_MAX_MEMORIES];
    uint8_t *mem_host[KL_MAX_MEMORIES];    /* our view of each (kl_vm_map_ram) */
    uint64_t mem_reserved[KL_MAX_MEMORIES];
    struct kl_chan_map regions[PROC_MAX_REGIONS];  /* the user layout, until the first entry */
    unsigned nregions;
    uint8_t *low;                      /* our view of the low area memfd */
    int low_given;                     /* kl_vm_map_ram handed `low` to the caller */
    volatile struct kl_chan *chan;     /* inside low */
    int locked;                        /* the tender runs the guest's layout under seccomp */
    int dirty_wp;                      /* write tracking (proc_dirty.c), as the tender said at LOCKED */
    int wp_next;                       /* the next scans protect what they report (proc_dirty.c) */
    uint64_t wp_reported;              /* pages reported since the last restore */
    int dead;                          /* the process ended (or was killed) */
    int wait_status;                   /* how, as a wait(2) status */
    enum proc_pending pending;
    struct kl_chan_regs resume;
    uint64_t deadline_ns;              /* 0: none */
};

/** The ops table; proc_spawn.c sets it in every new sandbox. */
extern const struct kl_vm_ops kl_vm_proc_ops;

/* proc_spawn.c */

/** One-time set-up (tender binary, seccomp program, spawner thread). 0 or -errno. */
int kl_proc_init(struct kl_err *err);

/** A fresh sandbox waiting for its layout: a spare, or one spawned now. */
int kl_proc_take(struct kl_vm **out, struct kl_err *err);

/** Keep n spare sandboxes spawned ahead. */
int kl_proc_spares(unsigned n);

/** Kill (if alive) and reap the process, close every fd, unmap what was not handed out. */
void kl_proc_free(struct kl_vm *vm);

/** TSC frequency in kHz, measured once. */
uint64_t kl_proc_tsc_khz(void);

/** The tender's spin before it sleeps (KERNLESS_SPIN_US), in 1000 TSC cycles. */
uint32_t kl_proc_spin_cycles_k(void);

/* proc_dirty.c */

/** kl_vm_dirty_log for a sandbox: pages written since the last call (PAGEMAP_SCAN), or present. */
int kl_proc_dirty_log(struct kl_vm *vm, uint64_t gva, uint64_t len, uint64_t *bitmap);

/** At a restore: decide whether the next reset's scans protect again. */
void kl_proc_dirty_round(struct kl_vm *vm);

/* proc_x86_64.c */

/**
 * Answer the parked tender with `reply` (unless reply < 0) and wait for its
 * next event, until `deadline_ns` (0: none). Returns 0 with the channel
 * holding the event, -ETIMEDOUT at the deadline, -ECHILD once it died
 * (vm->dead, vm->wait_status set).
 */
int kl_proc_exchange(struct kl_vm *vm, int reply, uint64_t deadline_ns);

/**
 * kl_proc_exchange with a 5 s limit, expecting `event`; otherwise an error
 * "the sandbox <what>: <why>" (how it died, or that it did not answer).
 */
int kl_proc_await(struct kl_vm *vm, int reply, uint32_t event, const char *what,
                  struct kl_err *err);

/** Has the process ended? Reaps it and records how (non-blocking). */
int kl_proc_check_dead(struct kl_vm *vm);

#endif
