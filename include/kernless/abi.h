/* abi.h - the one versioned contract between the Kernless host (VMM) and the guest runtime. */
#ifndef KERNLESS_ABI_H
#define KERNLESS_ABI_H

/*
 * Everything the host and the guest agree on lives here and nowhere else:
 * the guest memory map, the hostcall ports and their argument structs, the
 * boot/request block and the compiled-image header.
 *
 * Rules (after Solo5's hvt_abi.h):
 *  - A hostcall is a call of the gate at KL_GATE_GVA, with the SysV calling
 *    convention: edi = nr, esi = the guest address of the call's struct; it
 *    clobbers only caller-saved registers. Each backend puts its own
 *    instruction there, so one image runs on all of them: KVM's gate does
 *    `outl %eax, (%dx)` on port KL_HC_PORT(nr); the process sandbox's gate
 *    hands the call to its supervisor through shared memory. The struct must
 *    lie entirely in the hostcall area (KL_HCALL_GVA) and start
 *    KL_HC_ALIGN-aligned.
 *  - Each hostcall has exactly one struct; fields are marked IN (guest to
 *    host) or OUT (host to guest). Layouts are fixed by _Static_assert.
 *  - Guest pointers are kl_gptr_t: opaque 64-bit integers on the host side,
 *    resolved only through the host's checked accessor (src/inst/gmem.c).
 *  - Bump KL_ABI_VERSION on any change to this file.
 */

#define KL_ABI_VERSION 5u

#ifndef __ASSEMBLER__
#include <stdint.h>

/** A guest virtual address. The host never dereferences one directly. */
typedef uint64_t kl_gptr_t;
#endif

/* ------------------------------------------------------------------------
 * Guest memory map (x86-64, 4-level paging). Low addresses are identity
 * mapped (guest virtual == guest physical). Linear memories are not.
 * ---------------------------------------------------------------------- */
#define KL_PAGE_SIZE 0x1000ull
#define KL_HUGE_SIZE 0x200000ull          /* 2 MiB page */
#define KL_WASM_PAGE 0x10000ull           /* 64 KiB WebAssembly page */

/* Supervisor-only system area (never user-accessible). */
#define KL_GDT_GPA 0x1000ull
#define KL_IDT_GPA 0x2000ull
#define KL_TSS_GPA 0x3000ull              /* TSS + I/O bitmap: 3 pages */
#define KL_STUBS_GPA 0x6000ull            /* ring-0 trap stubs, 1 page */
#define KL_KSTACK_GPA 0x7000ull           /* ring-0 stack, 2 pages */
#define KL_KSTACK_TOP 0x9000ull
#define KL_RESETLIST_GPA 0xA000ull        /* ring-0 reset work list, 6 pages */
#define KL_RESETLIST_END 0x10000ull
#define KL_PT_GPA 0x100000ull             /* page-table pool */
#define KL_PT_END 0x1000000ull            /* 15 MiB: 3840 table pages */

/* User-accessible request and I/O area, read-write for the guest. */
#define KL_BOOT_GVA 0x1000000ull          /* struct kl_boot_info */
#define KL_HCALL_GVA 0x1001000ull         /* hostcall argument structs */
#define KL_HCALL_SIZE 0x1000ull
#define KL_REQ_GVA 0x1002000ull           /* args, env, preopen blobs */
#define KL_REQ_SIZE 0xFE000ull            /* up to 0x1100000 */
#define KL_STDIN_GVA 0x1100000ull         /* preloaded stdin (server mode) */
#define KL_STDIN_SIZE 0x700000ull         /* 7 MiB */
#define KL_OUT_GVA 0x1800000ull           /* stdout buffer */
#define KL_OUT_SIZE 0x400000ull           /* 4 MiB */
#define KL_ERR_GVA 0x1C00000ull           /* stderr buffer */
#define KL_ERR_SIZE 0x400000ull           /* 4 MiB */
#define KL_IO_END 0x2000000ull

/* The backend's own user-mode area: the hostcall gate first. KVM maps just
 * the gate page (read-execute); the process sandbox loads its tender (the
 * gate, fault handlers and the channel to its supervisor) here. */
#define KL_GATE_GVA 0x2000000ull          /* void gate(uint32_t nr, void *arg) */
#define KL_TENDER_GVA 0x2000000ull
#define KL_TENDER_END 0x4000000ull

/* The compiled image (runtime + module) is linked at this address. */
#define KL_IMAGE_GVA 0x4000000ull         /* 64 MiB */
#define KL_IMAGE_MAX 0x1C000000ull        /* up to 512 MiB */

/* Guest runtime heap (tables, type registry, instance structs). */
#define KL_HEAP_GVA 0x40000000ull         /* 1 GiB */
#define KL_HEAP_SIZE 0x8000000ull         /* 128 MiB */

/* Guest stack; everything between the heap end and the stack bottom is
 * unmapped, so a stack overflow faults in a guard region of ~1.9 GiB. */
#define KL_STACK_SIZE 0x800000ull         /* 8 MiB */
#define KL_STACK_TOP 0xC0000000ull
#define KL_STACK_GVA (KL_STACK_TOP - KL_STACK_SIZE)
#define KL_GUARD_GVA (KL_HEAP_GVA + KL_HEAP_SIZE)
#define KL_LOW_END KL_STACK_TOP           /* end of the identity-mapped slot */

/*
 * Linear memory i occupies the virtual window
 * [KL_MEM_GVA(i), KL_MEM_GVA(i) + KL_MEM_WINDOW). Only its current size is
 * mapped; the rest of the 8 GiB window is the guard region that turns any
 * 32-bit index + 32-bit offset beyond the end into a page fault.
 * Its guest-physical backing starts at KL_MEM_GPA(i).
 */
#define KL_MEM_WINDOW 0x200000000ull      /* 8 GiB */
#define KL_MEM_GVA(i) (0x10000000000ull + (uint64_t)(i) * KL_MEM_WINDOW)
#define KL_MEM_GPA(i) (0x100000000ull + (uint64_t)(i) * 0x100000000ull)
#define KL_MAX_MEMORIES 16u
#define KL_MEM_MAX_PAGES 65535u           /* wasm_rt_memory_t.size is 32-bit */

/* GDT selectors. */
#define KL_SEL_KCODE 0x08
#define KL_SEL_KDATA 0x10
#define KL_SEL_UDATA 0x1B                 /* 0x18 | RPL 3 */
#define KL_SEL_UCODE 0x23                 /* 0x20 | RPL 3 */
#define KL_SEL_TSS 0x28

/* ------------------------------------------------------------------------
 * Hostcalls
 * ---------------------------------------------------------------------- */
#define KL_HC_PORT_BASE 0x500u
#define KL_HC_PORT(nr) (KL_HC_PORT_BASE + (nr))
#define KL_HC_ALIGN 8u   /* a hostcall struct's address; the widest field is 8 bytes */
/* The ring-0 trap stubs report CPU exceptions on this port (not a hostcall:
 * the TSS I/O bitmap denies it to CPL 3). */
#define KL_FAULT_PORT 0x4FF
/* The ring-0 reset stub reports completion here (also closed to CPL 3). */
#define KL_RESET_PORT 0x4FE

/* Only the constants above are usable from assembly. */
#ifndef __ASSEMBLER__

enum kl_hostcall_nr {
    KL_HC_EXIT = 0,     /* finished: exit status or trap; final flush */
    KL_HC_WRITE = 1,    /* flush buffered stdout/stderr */
    KL_HC_READ = 2,     /* read from the host's stdin */
    KL_HC_MEMGROW = 3,  /* map pages of a linear memory */
    KL_HC_SLEEP = 4,    /* block for a number of nanoseconds */
    KL_HC_READY = 5,    /* instantiated; host may snapshot, then sends work */
    KL_HC_FS = 6,       /* a WASI filesystem operation (see kl_hc_fs) */
    KL_HC_INVOKE = 7,   /* report an invoke result, fetch the next command */
    KL_HC_SVC = 8,      /* a host service: outbound HTTP, key-value, variables (kl_hc_svc) */
    KL_HC_COUNT
};

/* Why the guest stopped (kl_hc_exit.kind). */
enum kl_exit_kind {
    KL_EXIT_NORMAL = 0, /* returned from _start or proc_exit(status) */
    KL_EXIT_TRAP = 1,   /* a Wasm trap; code is a kl_trap */
    KL_EXIT_ERROR = 2,  /* the runtime failed (e.g. instantiation) */
};

/* Trap codes: values of wasm2c's wasm_rt_trap_t plus our own. */
enum kl_trap {
    KL_TRAP_NONE = 0,
    KL_TRAP_OOB = 1,
    KL_TRAP_INT_OVERFLOW = 2,
    KL_TRAP_DIV_BY_ZERO = 3,
    KL_TRAP_INVALID_CONVERSION = 4,
    KL_TRAP_UNREACHABLE = 5,
    KL_TRAP_CALL_INDIRECT = 6,
    KL_TRAP_UNCAUGHT_EXCEPTION = 7,
    KL_TRAP_EXHAUSTION = 8,
    KL_TRAP_OOB_TABLE = 9,       /* table access out of bounds */
    KL_TRAP_NULL_CALL = 10,      /* call_indirect of a null entry */
    KL_TRAP_TABLE_ACCESS = 11,   /* table.get/set/fill/copy/init or an elem segment out of bounds */
    KL_TRAP_COUNT
};

/** KL_HC_EXIT. The guest never resumes after it (unless the host restarts it). */
struct kl_hc_exit {
    uint32_t kind;      /* IN: enum kl_exit_kind */
    uint32_t code;      /* IN: exit status, or enum kl_trap */
    uint32_t out_len;   /* IN: bytes pending in the stdout buffer */
    uint32_t err_len;   /* IN: bytes pending in the stderr buffer */
};
_Static_assert(sizeof(struct kl_hc_exit) == 16, "kl_hc_exit layout");

/** KL_HC_WRITE: the host consumes both buffers; the guest then empties them. */
struct kl_hc_write {
    uint32_t out_len;   /* IN: bytes pending in the stdout buffer */
    uint32_t err_len;   /* IN: bytes pending in the stderr buffer */
    int32_t ret;        /* OUT: 0, or -errno (e.g. output limit reached) */
    uint32_t pad;
};
_Static_assert(sizeof(struct kl_hc_write) == 16, "kl_hc_write layout");

/** KL_HC_READ: read up to len bytes of the host's stdin into buf. */
struct kl_hc_read {
    kl_gptr_t buf;      /* IN */
    uint32_t len;       /* IN */
    int32_t ret;        /* OUT: bytes read, 0 at EOF, or -errno */
};
_Static_assert(sizeof(struct kl_hc_read) == 16, "kl_hc_read layout");

/** KL_HC_MEMGROW: make linear memory `mem` have `new_pages` pages. */
struct kl_hc_memgrow {
    uint32_t mem;       /* IN: memory index */
    uint32_t new_pages; /* IN: total pages wanted */
    uint32_t max_pages; /* IN: the module's declared maximum */
    int32_t ret;        /* OUT: 0, or -ENOMEM when over a limit */
};
_Static_assert(sizeof(struct kl_hc_memgrow) == 16, "kl_hc_memgrow layout");

/** KL_HC_SLEEP */
struct kl_hc_sleep {
    uint64_t ns;        /* IN */
};
_Static_assert(sizeof(struct kl_hc_sleep) == 8, "kl_hc_sleep layout");

/** KL_HC_READY: the module is instantiated. OUT fields come from the host. */
struct kl_hc_ready {
    uint32_t mode;      /* OUT: enum kl_run_mode */
    uint32_t pad;
};
_Static_assert(sizeof(struct kl_hc_ready) == 8, "kl_hc_ready layout");

enum kl_run_mode {
    KL_MODE_COMMAND = 0, /* run the module's _start as a WASI command */
    KL_MODE_INVOKE = 1,  /* loop on KL_HC_INVOKE commands */
};

/* ------------------------------------------------------------------------
 * KL_HC_FS: one WASI preview 1 file or directory operation per exit.
 *
 * The host keeps a table of open host files ("handles"); handle i < npreopens
 * is preopen i. The guest keeps the WASI fd table (rights, flags, prestat
 * names) itself and names host objects only by handle; the host re-checks
 * every handle, path and buffer, resolves every path beneath its preopen and
 * refuses writes under read-only preopens. Flag fields carry WASI encodings
 * (oflags, fdflags, lookupflags, fstflags, whence, advice).
 * ---------------------------------------------------------------------- */
enum kl_fs_op {
    KL_FS_CLOSE = 0,      /* h */
    KL_FS_READ = 1,       /* h, iov -> result = bytes read */
    KL_FS_WRITE = 2,      /* h, iov -> result = bytes written */
    KL_FS_PREAD = 3,      /* h, iov, a = offset -> result */
    KL_FS_PWRITE = 4,     /* h, iov, a = offset -> result */
    KL_FS_SEEK = 5,       /* h, a = (int64) offset, flags = whence -> result = offset */
    KL_FS_SYNC = 6,       /* h */
    KL_FS_DATASYNC = 7,   /* h */
    KL_FS_ADVISE = 8,     /* h, a = offset, b = len, flags = advice */
    KL_FS_ALLOCATE = 9,   /* h, a = offset, b = len */
    KL_FS_FILESTAT = 10,  /* h -> stat */
    KL_FS_SET_SIZE = 11,  /* h, a = size */
    KL_FS_SET_TIMES = 12, /* h, a = atim, b = mtim, flags = fstflags */
    KL_FS_SET_FLAGS = 13, /* h, flags = fdflags */
    KL_FS_READDIR = 14,   /* h, a = cookie, buf/buf_len -> result = bytes used */
    KL_FS_OPEN = 15,      /* h, path, lookup, flags = oflags, flags2 = fdflags,
                             access -> result = new handle, filetype */
    KL_FS_MKDIR = 16,     /* h, path */
    KL_FS_RMDIR = 17,     /* h, path */
    KL_FS_UNLINK = 18,    /* h, path */
    KL_FS_RENAME = 19,    /* h, path -> h2, path2 */
    KL_FS_LINK = 20,      /* h, path, lookup -> h2, path2 */
    KL_FS_SYMLINK = 21,   /* path = link contents; h, path2 = new link */
    KL_FS_READLINK = 22,  /* h, path, buf/buf_len -> result = bytes used */
    KL_FS_PATH_STAT = 23, /* h, path, lookup -> stat */
    KL_FS_PATH_TIMES = 24,/* h, path, lookup, a = atim, b = mtim, flags = fstflags */
    KL_FS_OP_COUNT
};

/* kl_hc_fs.access for KL_FS_OPEN: what the new handle may do. */
enum kl_fs_access { KL_FS_ACCESS_READ = 1, KL_FS_ACCESS_WRITE = 2 };

#define KL_FS_MAX_IOV 64u     /* iovecs per call; the guest loops for more */
#define KL_FS_PATH_MAX 4096u  /* bytes in a path, NUL included */

/** One buffer of a read or write: a guest address and a length. */
struct kl_fs_iov {
    kl_gptr_t buf;
    uint64_t len;
};
_Static_assert(sizeof(struct kl_fs_iov) == 16, "kl_fs_iov layout");

/** File attributes, laid out exactly as WASI's filestat. */
struct kl_fs_stat {
    uint64_t dev;
    uint64_t ino;
    uint8_t filetype;   /* WASI filetype */
    uint8_t pad[7];
    uint64_t nlink;
    uint64_t size;
    uint64_t atim;      /* ns since the epoch */
    uint64_t mtim;
    uint64_t ctim;
};
_Static_assert(sizeof(struct kl_fs_stat) == 64, "kl_fs_stat layout");

/** KL_HC_FS. Paths are (address, length) in guest memory, not NUL-terminated. */
struct kl_hc_fs {
    uint32_t op;        /* IN: enum kl_fs_op */
    uint32_t err;       /* OUT: 0, or a WASI preview 1 errno */
    uint32_t h;         /* IN: handle (the directory for path operations) */
    uint32_t h2;        /* IN: second directory (rename, link, symlink) */
    uint64_t a;         /* IN: op argument (see kl_fs_op) */
    uint64_t b;         /* IN: op argument */
    uint32_t flags;     /* IN: op flags (see kl_fs_op) */
    uint32_t flags2;    /* IN: open: fdflags */
    uint32_t lookup;    /* IN: WASI lookupflags */
    uint32_t access;    /* IN: open: enum kl_fs_access */
    kl_gptr_t path;     /* IN */
    kl_gptr_t path2;    /* IN */
    uint32_t path_len;  /* IN */
    uint32_t path2_len; /* IN */
    kl_gptr_t buf;      /* IN: readdir/readlink destination */
    uint32_t buf_len;   /* IN */
    uint32_t niov;      /* IN: entries used in iov */
    uint64_t result;    /* OUT: see kl_fs_op */
    uint32_t filetype;  /* OUT: open: WASI filetype of the new handle */
    uint32_t pad;
    struct kl_fs_stat stat;                /* OUT: filestat, path_stat */
    struct kl_fs_iov iov[KL_FS_MAX_IOV];   /* IN */
};
_Static_assert(sizeof(struct kl_hc_fs) == 1192, "kl_hc_fs layout");
_Static_assert(sizeof(struct kl_hc_fs) <= KL_HCALL_SIZE, "kl_hc_fs fits the hostcall area");

/* ------------------------------------------------------------------------
 * KL_HC_INVOKE (run mode KL_MODE_INVOKE): the image holds several compiled
 * modules; the host instantiates them and calls their exports one command
 * at a time. Each exit reports the outcome of the previous command and
 * fetches the next one in the same struct, so a command costs one exit.
 *
 * Values travel as 64-bit words: i32 zero-extended, i64 as is, f32/f64 as
 * their bit patterns (NaN payloads kept), references as 0 for null and an
 * opaque non-zero word otherwise (externref words are the host's own and
 * come back unchanged; a funcref word only says "not null").
 *
 * After a CPU fault inside a command (out-of-bounds access through the
 * guard pages, stack overflow) the host reports the trap itself and resumes
 * the guest at `recover` with a fresh stack; the guest's next exit then
 * carries KL_INV_RECOVERED.
 * ---------------------------------------------------------------------- */
#define KL_INVOKE_MAX_VALS 200u           /* arguments, results or imports per command */
#define KL_INVOKE_SPECTEST 0xFFFFFFFFu    /* import source: the built-in spectest module */

enum kl_invoke_op {
    KL_INV_OP_INSTANTIATE = 1, /* instantiate module `index` of the image as instance `inst`;
                                * vals[i] binds import i: source instance << 32 | export
                                * index (source KL_INVOKE_SPECTEST: a kl_spectest_item) */
    KL_INV_OP_CALL = 2,        /* call function export `index` of `inst` with nvals args */
    KL_INV_OP_GET = 3,         /* read global export `index` of `inst` */
    KL_INV_OP_SIZE = 4,        /* current size of memory (pages) or table (elements) export
                                * `index` of `inst` (inst KL_INVOKE_SPECTEST: spectest item) */
    KL_INV_OP_STOP = 5,        /* leave the loop: the guest exits normally */
};

enum kl_invoke_status {
    KL_INV_READY = 0,          /* the loop started; there was no previous command */
    KL_INV_OK = 1,             /* done; nvals results in vals */
    KL_INV_TRAPPED = 2,        /* a Wasm trap; code is a kl_trap */
    KL_INV_REFUSED = 3,        /* the command did not fit the image (bad index, arity,
                                * binding or a runtime limit); code is a kl_invoke_refusal */
    KL_INV_RECOVERED = 4,      /* resumed at `recover` after a fault the host reported */
};

enum kl_invoke_refusal {
    KL_INV_BAD_MODULE = 1, KL_INV_BAD_INSTANCE = 2, KL_INV_BAD_EXPORT = 3,
    KL_INV_BAD_ARITY = 4, KL_INV_BAD_IMPORT = 5, KL_INV_LIMIT = 6, KL_INV_BAD_OP = 7,
};

/* Exports of the spectest host module, in this order. */
enum kl_spectest_item {
    KL_SPECTEST_PRINT = 0, KL_SPECTEST_PRINT_I32, KL_SPECTEST_PRINT_I64, KL_SPECTEST_PRINT_F32,
    KL_SPECTEST_PRINT_F64, KL_SPECTEST_PRINT_I32_F32, KL_SPECTEST_PRINT_F64_F64,
    KL_SPECTEST_GLOBAL_I32, KL_SPECTEST_GLOBAL_I64, KL_SPECTEST_GLOBAL_F32,
    KL_SPECTEST_GLOBAL_F64, KL_SPECTEST_TABLE, KL_SPECTEST_MEMORY, KL_SPECTEST_COUNT
};

/** KL_HC_INVOKE */
struct kl_hc_invoke {
    uint32_t status;    /* IN: enum kl_invoke_status of the previous command */
    uint32_t code;      /* IN: kl_trap or kl_invoke_refusal */
    uint32_t nvals;     /* IN: results; OUT: arguments or imports */
    uint32_t op;        /* OUT: enum kl_invoke_op */
    uint32_t inst;      /* OUT: instance (numbered 0, 1, ... in instantiation order) */
    uint32_t index;     /* OUT: module index or export index */
    kl_gptr_t recover;  /* IN: CPL-3 entry point to resume at after a fault */
    uint64_t vals[KL_INVOKE_MAX_VALS]; /* IN/OUT */
};
_Static_assert(sizeof(struct kl_hc_invoke) == 32 + 8 * KL_INVOKE_MAX_VALS, "kl_hc_invoke layout");
_Static_assert(sizeof(struct kl_hc_invoke) <= KL_HCALL_SIZE, "kl_hc_invoke fits the hostcall area");
/* ------------------------------------------------------------------------
 * KL_HC_SVC: the host services a function declared (outbound HTTP, key-value
 * stores, variables), one call per exit. The semantics follow
 * wasi:http/outgoing-handler, wasi:keyvalue/store and wasi:config/store.
 *
 * Core modules reach it through the import `kernless.svc` (type i32 -> i32):
 * its argument is the linear-memory address of a struct kl_svc_wasm, its
 * result the call's kl_svc_err. The guest runtime turns that struct into a
 * kl_hc_svc (linear-memory offsets into guest addresses) and back. The
 * layout is versioned by its own field `version` (KL_SVC_VERSION).
 *
 * Everything is denied unless the function declared it (allowed outbound
 * hosts, key-value stores, variables). A data-returning call leaves its
 * whole result with the host until the next call: the host copies what
 * fits in `out`, says how much there is in `result_len`, and KL_SVC_RESULT
 * copies more of it from `offset`, so no call ever has to be repeated.
 * ---------------------------------------------------------------------- */
#define KL_SVC_VERSION 1u
#define KL_SVC_KEY_MAX 256u               /* bytes in a key-value key */
#define KL_SVC_VALUE_MAX (1u << 20)       /* bytes in a key-value value */
#define KL_SVC_REASON_MAX 256u            /* bytes of a reason, NUL included */

enum kl_svc_op {
    KL_SVC_HTTP = 1,      /* a = method, b = URL, c = request headers ("Name: value\n" lines),
                             d = body -> status = HTTP status, result = response headers
                             (hdr_len bytes of lower-case "name: value\n" lines), then the body */
    KL_SVC_KV_GET = 2,    /* a = store, b = key -> result = value (KL_SVC_ENOENT: none) */
    KL_SVC_KV_SET = 3,    /* a = store, b = key, d = value */
    KL_SVC_KV_DELETE = 4, /* a = store, b = key (deleting a missing key is not an error) */
    KL_SVC_KV_EXISTS = 5, /* a = store, b = key -> status = 1 or 0 */
    KL_SVC_KV_KEYS = 6,   /* a = store, b = prefix -> result = the keys, each followed by NUL */
    KL_SVC_VAR_GET = 7,   /* a = name -> result = the value (KL_SVC_ENOENT: not declared) */
    KL_SVC_RESULT = 8,    /* copy the last result from `offset` into out */
    KL_SVC_OP_END
};

enum kl_svc_err {
    KL_SVC_OK = 0,
    KL_SVC_EDENIED = 1,   /* not declared: host not allowed, store or variable not listed */
    KL_SVC_ENOENT = 2,    /* no such key or variable */
    KL_SVC_ELIMIT = 3,    /* a limit: calls per request, response bytes, key/value size, quota */
    KL_SVC_EINVAL = 4,    /* a malformed call: bad URL, method, header, op or version */
    KL_SVC_EFAILED = 5,   /* the service failed: connection refused, database error */
    KL_SVC_ETIMEOUT = 6,  /* the request's deadline passed */
};

/** A guest buffer: an address and a length. */
struct kl_svc_buf {
    kl_gptr_t ptr;
    uint64_t len;
};
_Static_assert(sizeof(struct kl_svc_buf) == 16, "kl_svc_buf layout");

/** KL_HC_SVC */
struct kl_hc_svc {
    uint32_t version;   /* IN: KL_SVC_VERSION */
    uint32_t op;        /* IN: enum kl_svc_op */
    uint32_t err;       /* OUT: enum kl_svc_err */
    uint32_t status;    /* OUT: see kl_svc_op */
    struct kl_svc_buf a, b, c, d;   /* IN: see kl_svc_op */
    struct kl_svc_buf out;          /* IN: where the result goes */
    uint64_t offset;    /* IN: KL_SVC_RESULT: first byte wanted */
    uint64_t result_len;/* OUT: bytes in the whole result */
    uint64_t copied;    /* OUT: bytes written to out */
    uint64_t hdr_len;   /* OUT: KL_SVC_HTTP: bytes of headers at the result's start */
    char reason[KL_SVC_REASON_MAX]; /* OUT: why, when err != 0 (NUL-terminated) */
};
_Static_assert(sizeof(struct kl_hc_svc) == 128 + KL_SVC_REASON_MAX, "kl_hc_svc layout");
_Static_assert(sizeof(struct kl_hc_svc) <= KL_HCALL_SIZE, "kl_hc_svc fits the hostcall area");

/**
 * The argument of the import kernless.svc, in linear memory (wasm32
 * offsets). Fields as in kl_hc_svc; `reason` receives the reason
 * (truncated to reason_cap bytes, NUL included).
 */
struct kl_svc_wasm {
    uint32_t version, op, err, status;
    uint32_t a, a_len, b, b_len, c, c_len, d, d_len;
    uint32_t out, out_cap;
    uint32_t offset;        /* IN */
    uint32_t result_len;    /* OUT */
    uint32_t copied;        /* OUT */
    uint32_t hdr_len;       /* OUT */
    uint32_t reason, reason_cap;
};
_Static_assert(sizeof(struct kl_svc_wasm) == 80, "kl_svc_wasm layout");

_Static_assert(_Alignof(struct kl_hc_exit) <= KL_HC_ALIGN && _Alignof(struct kl_hc_write) <= KL_HC_ALIGN &&
               _Alignof(struct kl_hc_read) <= KL_HC_ALIGN && _Alignof(struct kl_hc_memgrow) <= KL_HC_ALIGN &&
               _Alignof(struct kl_hc_sleep) <= KL_HC_ALIGN && _Alignof(struct kl_hc_ready) <= KL_HC_ALIGN &&
               _Alignof(struct kl_hc_fs) <= KL_HC_ALIGN && _Alignof(struct kl_hc_invoke) <= KL_HC_ALIGN &&
               _Alignof(struct kl_hc_svc) <= KL_HC_ALIGN,
               "KL_HC_ALIGN covers every hostcall struct");

/* ------------------------------------------------------------------------
 * Boot / request block at KL_BOOT_GVA, written by the host before entry
 * (and before every request). All pointers point into the request area.
 * ---------------------------------------------------------------------- */
#define KL_BOOT_MAGIC 0x544f4f424c4bull   /* "KLBOOT" */

enum kl_boot_flags {
    KL_BOOT_STDIN_HOST = 1u << 0, /* stdin via KL_HC_READ, not the buffer */
};

struct kl_boot_info {
    uint64_t magic;
    uint32_t abi_version;
    uint32_t flags;                /* enum kl_boot_flags */
    uint64_t tsc_khz;              /* guest TSC frequency */
    uint64_t realtime_ns;          /* CLOCK_REALTIME at entry */
    uint64_t monotonic_ns;         /* CLOCK_MONOTONIC at entry */
    uint8_t seed[32];              /* CSPRNG seed for random_get */
    uint32_t argc;
    uint32_t envc;
    kl_gptr_t argv_buf;            /* argc NUL-terminated strings */
    uint32_t argv_len;
    uint32_t env_len;
    kl_gptr_t env_buf;             /* envc "K=V\0" strings */
    kl_gptr_t stdin_buf;           /* preloaded stdin (if !STDIN_HOST) */
    uint32_t stdin_len;
    uint32_t max_memory_pages;     /* host limit on any linear memory */
    uint32_t npreopens;            /* directories: see kl_hc_fs */
    uint32_t pad;
    kl_gptr_t preopen_buf;         /* npreopens NUL-terminated guest paths */
    uint32_t preopen_len;
    uint32_t out_cap;              /* capacity of the stdout buffer */
    uint32_t err_cap;              /* capacity of the stderr buffer */
    /* Written by the guest: bytes pending in the stdout/stderr buffers, so
     * the host can still deliver them when a CPU fault ends the run. */
    uint32_t out_pending;
    uint32_t err_pending;
    uint32_t pad2;
};
_Static_assert(sizeof(struct kl_boot_info) == 160, "kl_boot_info layout");

/* ------------------------------------------------------------------------
 * Compiled image (.kimg): this header, then nseg segment descriptors, then
 * the segment bytes. sha256 covers every byte after the header.
 * ---------------------------------------------------------------------- */
#define KL_IMAGE_MAGIC "KLIMG\0\0\0"
#define KL_IMAGE_MAX_SEGS 8u

enum kl_seg_flags { KL_SEG_R = 1, KL_SEG_W = 2, KL_SEG_X = 4 };

struct kl_image_seg {
    uint64_t gva;       /* load address (page aligned) */
    uint64_t memsz;     /* bytes in guest memory (zero-filled past filesz) */
    uint64_t filesz;    /* bytes present in the file */
    uint64_t offset;    /* file offset of the bytes */
    uint32_t flags;     /* enum kl_seg_flags */
    uint32_t pad;
};
_Static_assert(sizeof(struct kl_image_seg) == 40, "kl_image_seg layout");

struct kl_image_hdr {
    char magic[8];
    uint32_t abi_version;
    uint32_t hdr_size;          /* sizeof(struct kl_image_hdr) */
    uint64_t entry;             /* guest entry point (CPL 3) */
    uint32_t nseg;
    uint32_t mem_initial;       /* memory 0: initial pages (0 if none) */
    uint32_t mem_max;           /* memory 0: maximum pages */
    uint32_t has_memory;        /* memory 0 exists (defined, not imported) */
    uint64_t total_size;        /* file size, header included */
    uint8_t module_sha256[32];  /* hash of the source .wasm */
    uint8_t sha256[32];         /* hash of bytes [hdr_size, total_size) */
    uint32_t isa_level;         /* x86-64 level the code was built for (common/isa.h) */
    uint32_t pad;
};
_Static_assert(sizeof(struct kl_image_hdr) == 120, "kl_image_hdr layout");

#endif /* !__ASSEMBLER__ */

#endif /* KERNLESS_ABI_H */
