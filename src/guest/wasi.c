/* wasi.c - WASI preview 1 calls served inside the guest: args, environ, clocks, random, stdio, exit. */
#include <string.h>

#include "wasi.h"

#define W(name) Z_wasi_snapshot_preview1Z_##name

static uint64_t stdin_pos;

u32 wasi_store32(wasi_t *w, u32 ptr, u32 v)
{
    uint8_t *p = wasi_mem(w, ptr, 4);
    if (!p)
        return WASI_EFAULT;
    wasi_put32(p, v);
    return WASI_ESUCCESS;
}

u32 wasi_store64(wasi_t *w, u32 ptr, u64 v)
{
    uint8_t *p = wasi_mem(w, ptr, 8);
    if (!p)
        return WASI_EFAULT;
    wasi_put64(p, v);
    return WASI_ESUCCESS;
}

/** Reset per-request state; called after every READY. */
void kl_wasi_init(void)
{
    stdin_pos = 0;
    kl_wasi_fs_init();
}

/* ---- args and environ: packed NUL-terminated strings from the host ---- */

static u32 strings_get(wasi_t *w, u32 count, const char *buf, u32 len, u32 vec_ptr, u32 buf_ptr)
{
    uint8_t *vec = wasi_mem(w, vec_ptr, (u64)count * 4);
    uint8_t *dst = wasi_mem(w, buf_ptr, len);
    u32 off = 0;

    if (!vec || !dst)
        return WASI_EFAULT;
    memcpy(dst, buf, len);
    for (u32 i = 0; i < count && off < len; i++) {
        wasi_put32(vec + 4 * i, buf_ptr + off);
        off += (u32)strlen(buf + off) + 1;
    }
    return WASI_ESUCCESS;
}

static u32 sizes_get(wasi_t *w, u32 count, u32 len, u32 count_ptr, u32 len_ptr)
{
    u32 r = wasi_store32(w, count_ptr, count);
    return r ? r : wasi_store32(w, len_ptr, len);
}

u32 W(args_get)(wasi_t *w, u32 argv, u32 buf)
{
    return strings_get(w, KL_BOOT->argc, (const char *)(uintptr_t)KL_BOOT->argv_buf,
                       KL_BOOT->argv_len, argv, buf);
}

u32 W(args_sizes_get)(wasi_t *w, u32 argc_ptr, u32 len_ptr)
{
    return sizes_get(w, KL_BOOT->argc, KL_BOOT->argv_len, argc_ptr, len_ptr);
}

u32 W(environ_get)(wasi_t *w, u32 env, u32 buf)
{
    return strings_get(w, KL_BOOT->envc, (const char *)(uintptr_t)KL_BOOT->env_buf,
                       KL_BOOT->env_len, env, buf);
}

u32 W(environ_sizes_get)(wasi_t *w, u32 count_ptr, u32 len_ptr)
{
    return sizes_get(w, KL_BOOT->envc, KL_BOOT->env_len, count_ptr, len_ptr);
}

/* ---- clocks ---- */

enum { CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS = 2, CLOCK_THREAD = 3 };

static int clock_now(u32 id, uint64_t *ns)
{
    switch (id) {
    case CLOCK_REALTIME: *ns = kl_clock_realtime_ns(); return 0;
    case CLOCK_MONOTONIC: *ns = kl_clock_monotonic_ns(); return 0;
    case CLOCK_PROCESS:
    case CLOCK_THREAD:   /* CPU time of a single-threaded guest: time since entry */
        *ns = kl_clock_monotonic_ns() - KL_BOOT->monotonic_ns;
        return 0;
    }
    return -1;
}

u32 W(clock_res_get)(wasi_t *w, u32 id, u32 res_ptr)
{
    if (id > CLOCK_THREAD)
        return WASI_EINVAL;
    return wasi_store64(w, res_ptr, kl_clock_resolution_ns());
}

u32 W(clock_time_get)(wasi_t *w, u32 id, u64 precision, u32 time_ptr)
{
    uint64_t ns;
    (void)precision;
    if (clock_now(id, &ns) < 0)
        return WASI_EINVAL;
    return wasi_store64(w, time_ptr, ns);
}

/* ---- random ---- */

u32 W(random_get)(wasi_t *w, u32 buf, u32 len)
{
    uint8_t *p = wasi_mem(w, buf, len);
    if (!p)
        return WASI_EFAULT;
    kl_random_fill(p, len);
    return WASI_ESUCCESS;
}

/* ---- process ---- */

void W(proc_exit)(wasi_t *w, u32 code)
{
    (void)w;
    kl_exit(KL_EXIT_NORMAL, code);
}

u32 W(proc_raise)(wasi_t *w, u32 sig) { (void)w; (void)sig; return WASI_ENOSYS; }
u32 W(sched_yield)(wasi_t *w) { (void)w; return WASI_ESUCCESS; }

/* ---- stdio ---- */


/** Write iovecs to stdout/stderr. Other fds are served by wasi_fs.c. */
u32 kl_wasi_stdio_write(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nwritten)
{
    uint8_t *v = wasi_mem(w, iovs, (u64)n * 8);
    u64 total = 0;

    if (!v || !wasi_mem(w, nwritten, 4) || wasi_iovs_check(w, v, n))
        return WASI_EFAULT;   /* before any output, as for files */
    if (fd == 0)
        return WASI_EBADF;
    for (u32 i = 0; i < n; i++) {
        u32 ptr = wasi_get32(v + 8 * i), len = wasi_get32(v + 8 * i + 4);
        uint8_t *p = wasi_mem(w, ptr, len);
        if (!p)
            return WASI_EFAULT;
        if (kl_io_write((int)fd, p, len) < 0)
            return WASI_EIO;
        total += len;
    }
    return wasi_store32(w, nwritten, (u32)total);
}

/* Read stdin: from the preloaded request body, or through the host. */
static int64_t stdin_read(uint8_t *p, u32 len)
{
    if (KL_BOOT->flags & KL_BOOT_STDIN_HOST) {
        volatile struct kl_hc_read *r = &KL_HCALL->read;
        kl_io_flush();   /* an interactive program expects its prompt shown */
        r->buf = (kl_gptr_t)(uintptr_t)p;
        r->len = len;
        r->ret = 0;
        kl_hostcall(KL_HC_READ, (void *)r);
        return r->ret;
    }
    uint64_t avail = KL_BOOT->stdin_len > stdin_pos ? KL_BOOT->stdin_len - stdin_pos : 0;
    uint64_t k = len < avail ? len : avail;
    memcpy(p, (const uint8_t *)(uintptr_t)KL_BOOT->stdin_buf + stdin_pos, k);
    stdin_pos += k;
    return (int64_t)k;
}

/** Read iovecs from stdin. Stops at the first short read, as POSIX readv does. */
u32 kl_wasi_stdio_read(wasi_t *w, u32 fd, u32 iovs, u32 n, u32 nread)
{
    uint8_t *v = wasi_mem(w, iovs, (u64)n * 8);
    u64 total = 0;

    /* Checked before any byte is consumed, so EFAULT leaves stdin unread. */
    if (!v || !wasi_mem(w, nread, 4) || wasi_iovs_check(w, v, n))
        return WASI_EFAULT;
    if (fd != 0)
        return WASI_EBADF;
    for (u32 i = 0; i < n; i++) {
        u32 ptr = wasi_get32(v + 8 * i), len = wasi_get32(v + 8 * i + 4);
        uint8_t *p = wasi_mem(w, ptr, len);
        /* Checked again: the data just read may have rewritten this iovec. */
        if (!p)
            return total ? wasi_store32(w, nread, (u32)total) : WASI_EFAULT;
        int64_t got = stdin_read(p, len);
        if (got < 0)
            return total ? wasi_store32(w, nread, (u32)total) : WASI_EIO;
        total += (u64)got;
        if ((u32)got < len)
            break;
    }
    return wasi_store32(w, nread, (u32)total);
}

/** Flush stdout/stderr being closed; wasi_fs.c drops the fd from its table, so later use gets EBADF. */
u32 kl_wasi_stdio_close(u32 fd)
{
    if (fd == 1 || fd == 2)
        kl_io_flush();
    return WASI_ESUCCESS;
}

/* ---- poll_oneoff: clocks sleep through the host; stdio is always ready ---- */

#define SUB_SIZE 48
#define EVENT_SIZE 32

static void sleep_ns(uint64_t ns)
{
    volatile struct kl_hc_sleep *s = &KL_HCALL->sleep;
    kl_io_flush();
    s->ns = ns;
    kl_hostcall(KL_HC_SLEEP, (void *)s);
}

/*
 * Deadline in monotonic ns of a clock subscription, or UINT64_MAX if its
 * clock is invalid. Layout: userdata @0, tag @8, clock id @16, timeout @24,
 * precision @32, flags @40.
 */
static uint64_t sub_deadline(const uint8_t *sub, uint64_t now_mono)
{
    u32 id = wasi_get32(sub + 16);
    uint64_t timeout = wasi_get64(sub + 24), now;
    uint16_t flags;

    memcpy(&flags, sub + 40, 2);

    if (clock_now(id, &now) < 0)
        return UINT64_MAX;
    if (flags & 1)   /* ABSTIME: how far ahead, on the subscription's own clock */
        timeout = timeout > now ? timeout - now : 0;
    /* Saturate: a timeout near 2^64 must mean "far", never wrap to "now".
     * UINT64_MAX - 1 at most, as UINT64_MAX marks an invalid clock. */
    return timeout >= UINT64_MAX - 1 - now_mono ? UINT64_MAX - 1 : now_mono + timeout;
}

u32 kl_wasi_poll_fd_ready(u32 fd, int want_write);   /* wasi_fs.c */

u32 W(poll_oneoff)(wasi_t *w, u32 in, u32 out, u32 nsubs, u32 nevents_ptr)
{
    uint8_t *subs = wasi_mem(w, in, (u64)nsubs * SUB_SIZE);
    uint8_t *evs = wasi_mem(w, out, (u64)nsubs * EVENT_SIZE);
    uint64_t now = kl_clock_monotonic_ns(), soonest = UINT64_MAX;
    u32 nev = 0;

    if (!subs || !evs)
        return WASI_EFAULT;
    if (nsubs == 0)
        return WASI_EINVAL;
    /* Descriptors never block here (stdio is buffered, files are host
     * files), so any fd subscription is ready at once. */
    for (u32 i = 0; i < nsubs; i++) {
        const uint8_t *s = subs + i * SUB_SIZE;
        uint8_t *e = evs + nev * EVENT_SIZE;
        uint8_t type = s[8];
        if (type == 1 || type == 2) {   /* FD_READ / FD_WRITE */
            u32 fd = wasi_get32(s + 16);
            memset(e, 0, EVENT_SIZE);
            wasi_put64(e, wasi_get64(s));              /* userdata */
            e[10] = type;
            uint16_t err = (uint16_t)kl_wasi_poll_fd_ready(fd, type == 2);
            memcpy(e + 8, &err, 2);
            if (err == 0 && type == 1 && fd == 0 && !(KL_BOOT->flags & KL_BOOT_STDIN_HOST))
                wasi_put64(e + 16, KL_BOOT->stdin_len > stdin_pos ? KL_BOOT->stdin_len - stdin_pos : 0);
            nev++;
        } else if (type != 0) {
            return WASI_EINVAL;
        }
    }
    if (nev == 0) {
        /* Only clocks: sleep until the soonest deadline, then report it. */
        u32 which = 0;
        for (u32 i = 0; i < nsubs; i++) {
            const uint8_t *s = subs + i * SUB_SIZE;
            uint64_t d = sub_deadline(s, now);
            if (d < soonest) {
                soonest = d;
                which = i;
            }
        }
        if (soonest == UINT64_MAX)
            return WASI_EINVAL;
        uint64_t t = kl_clock_monotonic_ns();
        if (soonest > t)
            sleep_ns(soonest - t);
        memset(evs, 0, EVENT_SIZE);
        wasi_put64(evs, wasi_get64(subs + which * SUB_SIZE));
        evs[10] = 0;   /* EVENTTYPE_CLOCK */
        nev = 1;
    }
    return wasi_store32(w, nevents_ptr, nev);
}
