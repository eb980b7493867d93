/* proc_chan.h - the shared page between the process backend's supervisor and its tender (proc_x86_64.c, src/sandbox/). */
#ifndef KL_VMM_PROC_CHAN_H
#define KL_VMM_PROC_CHAN_H

/*
 * The tender is the small static program a process sandbox runs
 * (src/sandbox/): it maps the guest's regions, locks itself down with
 * seccomp and enters the image at CPL 3 like a vCPU would. The guest
 * reaches the supervisor only through this channel, which both map from the
 * same memfd: the tender at KL_CHAN_GVA, the supervisor in its view of the
 * low area. Neither trusts the other's writes beyond this layout: the
 * supervisor re-checks every hostcall exactly as for KVM.
 *
 * The handshake is one futex word, `state`. The side that waits spins
 * briefly, then announces itself in *_sleeps and blocks in FUTEX_WAIT; the
 * side that changes `state` wakes only an announced sleeper, so a quick
 * round trip costs no system call at all (DESIGN-NOTES 0B: a wake-up costs
 * ~11 us, a spin round trip ~0.1-1.4 us).
 */
#include "kernless/abi.h"

#define KL_CHAN_GVA 0x3FF0000             /* in the tender area; low memfd offset too */
#define KL_CHAN_SIZE 0x10000

/*
 * Parking: between requests the tender must provably run no code, since
 * `state` is a word the guest (or code that escaped it) can write as well
 * as the tender: a fake CALL proves nothing. So the host answers PARK, and
 * the tender enters kl_tender_park (tender_x86_64.S), which ends in one
 * `syscall` instruction at KL_TENDER_PARK_GVA. A seccomp filter installed
 * before exec turns exactly that call (futex, returning to
 * KL_TENDER_PARKED_GVA) into a user notification for the host
 * (SECCOMP_RET_USER_NOTIF). The kernel reports the instruction pointer, so
 * only a call from that one instruction can produce it; while the host
 * holds it unanswered the process is blocked in the kernel and runs
 * nothing; and when answered, execution continues at KL_TENDER_PARKED_GVA,
 * whose code depends on nothing but immediates and the channel (no stack,
 * no register), so it cannot return into code that set up the call. A
 * sandbox whose tender does not park within the grace period is discarded.
 * Why not stop it (SIGSTOP) and read /proc/PID/syscall instead: that needs
 * ptrace rights over a non-dumpable process of another uid, and a stop and
 * a continue per request; the notification costs one wake-up (~10 us) and
 * holds the process blocked for as long as it sits in the pool.
 */
#define KL_TENDER_PARK_GVA 0x2000800      /* the `syscall` (tender.ld places it) */
#define KL_TENDER_PARKED_GVA (KL_TENDER_PARK_GVA + 2)
/* The values the park code compares (checked against the enums below). */
#define KL_CHAN_ASM_RUNNING 0
#define KL_CHAN_ASM_REPLY 2
#define KL_CHAN_ASM_RESUME 1
#define KL_CHAN_ASM_EXIT 3

/* Offsets the tender's assembly uses (checked below). */
#define KL_CHAN_OFF_STATE 0
#define KL_CHAN_OFF_REPLY 24
#define KL_CHAN_OFF_AT_CALL 32
#define KL_CHAN_OFF_RESUME 120
#define KL_REGS_RIP 0
#define KL_REGS_RSP 8
#define KL_REGS_RBX 16
#define KL_REGS_RBP 24
#define KL_REGS_R12 32
#define KL_REGS_R13 40
#define KL_REGS_R14 48
#define KL_REGS_R15 56
#define KL_REGS_RDI 64
#define KL_REGS_RSI 72
#define KL_REGS_MXCSR 80
#define KL_REGS_FCW 84

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

enum kl_chan_state {
    KL_CHAN_RUNNING = 0,  /* the guest (or tender setup) runs */
    KL_CHAN_CALL = 1,     /* the tender posted an event and waits */
    KL_CHAN_REPLY = 2,    /* the supervisor answered */
};

/* Why the tender stopped (kl_chan.event). */
enum kl_chan_event {
    KL_CHAN_EV_HOSTCALL = 0, /* nr, arg */
    KL_CHAN_EV_FAULT = 1,    /* fault */
    KL_CHAN_EV_KICKED = 2,   /* the timeout signal interrupted the guest */
    KL_CHAN_EV_SPAWNED = 3,  /* started; waits for the layout (reply SETUP) */
    KL_CHAN_EV_LOCKED = 4,   /* layout mapped, seccomp on; waits for RESUME */
    KL_CHAN_EV_CONFINED = 5, /* uid, rlimits, fds dropped: a spare; waits for SETUP */
};

/* What the supervisor answered (kl_chan.reply). */
enum kl_chan_reply {
    KL_CHAN_RETURN = 0,   /* return from the hostcall */
    KL_CHAN_RESUME = 1,   /* load `resume` and jump there */
    KL_CHAN_SETUP = 2,    /* the layout is written: map it and lock down */
    KL_CHAN_EXIT = 3,     /* end the process */
    KL_CHAN_CONFINE = 4,  /* drop privileges and fds, then wait as a spare (after SPAWNED) */
    KL_CHAN_PARK = 5,     /* scrub, then block in the park call (below) until RESUME or EXIT */
};


/** The registers a hostcall preserves, and where execution continues. */
struct kl_chan_regs {
    uint64_t rip, rsp, rbx, rbp, r12, r13, r14, r15, rdi, rsi;
    uint32_t mxcsr;
    uint16_t fcw;
    uint16_t pad;
};

/** One mapping of the guest's low area: [gva, gva+len) at low memfd offset gva. */
struct kl_chan_map {
    uint64_t gva, len;
    uint32_t prot;        /* PROT_* */
    uint32_t pad;
};

#define KL_CHAN_MAX_MAPS 64u
#define KL_CHAN_MAX_FILTER 1024u

/** A classic BPF instruction, as struct sock_filter. */
struct kl_chan_bpf {
    uint16_t code;
    uint8_t jt, jf;
    uint32_t k;
};

struct kl_chan {
    /* The handshake. */
    uint32_t state;               /* enum kl_chan_state: the futex word */
    uint32_t host_sleeps;         /* the supervisor is in (or entering) FUTEX_WAIT */
    uint32_t guest_sleeps;        /* the tender is in (or entering) FUTEX_WAIT */
    uint32_t event;               /* enum kl_chan_event */
    uint32_t nr, arg;             /* KL_CHAN_EV_HOSTCALL */
    uint32_t reply;               /* enum kl_chan_reply */
    uint32_t spin_cycles_k;       /* tender's spin before it sleeps, in 1000 TSC cycles */
    struct kl_chan_regs at_call;  /* the gate's caller, saved on entry */
    struct kl_chan_regs resume;   /* loaded on KL_CHAN_RESUME */
    struct {
        int32_t signo, code;
        uint64_t addr, rip, trapno, err;
    } fault;                      /* KL_CHAN_EV_FAULT */
    /* Set up by the supervisor before exec. */
    int32_t mem_fds[KL_MAX_MEMORIES];
    int32_t parent_fd;            /* pidfd of the spawner thread: has it died? */
    uint32_t dirty_wp;            /* set by the tender: its guest memory tracks writes (proc_dirty.c) */
    uint32_t drop_uid, drop_gid;  /* when started as root, become these */
    uint32_t filter_len;
    struct kl_chan_bpf filter[KL_CHAN_MAX_FILTER];
    /* The layout, before KL_CHAN_SETUP. */
    uint32_t nmaps;
    uint32_t pad;
    struct kl_chan_map maps[KL_CHAN_MAX_MAPS];
};
_Static_assert(sizeof(struct kl_chan) <= KL_CHAN_SIZE, "kl_chan fits its pages");
_Static_assert(KL_CHAN_ASM_RUNNING == KL_CHAN_RUNNING && KL_CHAN_ASM_REPLY == KL_CHAN_REPLY &&
               KL_CHAN_ASM_RESUME == KL_CHAN_RESUME && KL_CHAN_ASM_EXIT == KL_CHAN_EXIT,
               "the park code's constants");
_Static_assert(offsetof(struct kl_chan, state) == KL_CHAN_OFF_STATE &&
               offsetof(struct kl_chan, reply) == KL_CHAN_OFF_REPLY &&
               offsetof(struct kl_chan, at_call) == KL_CHAN_OFF_AT_CALL &&
               offsetof(struct kl_chan, resume) == KL_CHAN_OFF_RESUME, "kl_chan asm offsets");
_Static_assert(offsetof(struct kl_chan_regs, rsp) == KL_REGS_RSP &&
               offsetof(struct kl_chan_regs, r15) == KL_REGS_R15 &&
               offsetof(struct kl_chan_regs, rsi) == KL_REGS_RSI &&
               offsetof(struct kl_chan_regs, mxcsr) == KL_REGS_MXCSR &&
               offsetof(struct kl_chan_regs, fcw) == KL_REGS_FCW, "kl_chan_regs asm offsets");
_Static_assert((uint64_t)KL_CHAN_GVA >= KL_TENDER_GVA && (uint64_t)KL_CHAN_GVA + KL_CHAN_SIZE <= KL_TENDER_END,
               "the channel lies in the tender area");

#endif /* !__ASSEMBLER__ */

#endif
