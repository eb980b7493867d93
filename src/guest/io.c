/* io.c - buffered stdout/stderr in the shared output area; one exit flushes both. */
#include <string.h>

#include "guest.h"

/* The pending counts live in the boot block so the host can read them even
 * after a CPU fault (see kl_boot_info.out_pending). */
#define PENDING_OUT (KL_BOOT->out_pending)
#define PENDING_ERR (KL_BOOT->err_pending)

static void flush_now(void)
{
    volatile struct kl_hc_write *w = &KL_HCALL->write;

    w->out_len = PENDING_OUT;
    w->err_len = PENDING_ERR;
    w->ret = 0;
    kl_hostcall(KL_HC_WRITE, (void *)w);
    PENDING_OUT = PENDING_ERR = 0;
}

/**
 * Append to the stdout (fd 1) or stderr (fd 2) buffer, flushing through the
 * host when a buffer fills. Returns 0, or -1 if the host refused the output
 * (an output limit was hit), in which case the host ends the run.
 */
int kl_io_write(int fd, const uint8_t *p, size_t n)
{
    uint8_t *buf = (uint8_t *)(uintptr_t)(fd == 1 ? KL_OUT_GVA : KL_ERR_GVA);
    uint32_t cap = fd == 1 ? KL_BOOT->out_cap : KL_BOOT->err_cap;
    volatile uint32_t *len = fd == 1 ? &PENDING_OUT : &PENDING_ERR;

    if (cap > (fd == 1 ? KL_OUT_SIZE : KL_ERR_SIZE) || cap == 0)
        cap = fd == 1 ? KL_OUT_SIZE : KL_ERR_SIZE;
    while (n > 0) {
        size_t room = cap - *len, k = n < room ? n : room;
        memcpy(buf + *len, p, k);
        *len += k;
        p += k;
        n -= k;
        if (*len == cap) {
            flush_now();
            if (KL_HCALL->write.ret < 0)
                return -1;
        }
    }
    return 0;
}

/** Flush both buffers if anything is pending. */
void kl_io_flush(void)
{
    if (PENDING_OUT || PENDING_ERR)
        flush_now();
}

/** Final exit: hands the pending output over in the same hostcall. */
void kl_exit(uint32_t kind, uint32_t code)
{
    volatile struct kl_hc_exit *e = &KL_HCALL->exit;

    e->kind = kind;
    e->code = code;
    e->out_len = PENDING_OUT;
    e->err_len = PENDING_ERR;
    for (;;)
        kl_hostcall(KL_HC_EXIT, (void *)e);
}

void kl_fatal(const char *msg)
{
    kl_io_write(2, (const uint8_t *)"kernless runtime: ", 18);
    kl_io_write(2, (const uint8_t *)msg, strlen(msg));
    kl_io_write(2, (const uint8_t *)"\n", 1);
    kl_exit(KL_EXIT_ERROR, 1);
}
