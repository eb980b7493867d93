/* wasi_guest.c - guest arguments of KL_HC_FS calls: buffers, paths (strict UTF-8), file attributes and times. */
#include "host/wasi_guest.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- guest memory and paths ---- */

void *kl_fs_guest(struct kl_fs_call *c, kl_gptr_t gva, uint64_t len, int access, const char *what)
{
    static uint8_t empty;
    void *p;

    if (len == 0)
        return &empty;   /* nothing is touched; any address will do */
    if (!(p = kl_gmem_at(c->gm, gva, len, access, what, &c->err)))
        c->bad = 1;
    return p;
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t b = s[i];
        size_t k = b < 0x80 ? 0 : b >= 0xC2 && b <= 0xDF ? 1 : b >= 0xE0 && b <= 0xEF ? 2
                 : b >= 0xF0 && b <= 0xF4 ? 3 : 4;
        if (k == 4 || n - i <= k)
            return k == 0;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
        if ((b == 0xE0 && s[i + 1] < 0xA0) || (b == 0xED && s[i + 1] > 0x9F) ||
            (b == 0xF0 && s[i + 1] < 0x90) || (b == 0xF4 && s[i + 1] > 0x8F))
            return 0;
        i += k + 1;
    }
    return 1;
}

int kl_fs_path(struct kl_fs_call *c, kl_gptr_t gva, uint32_t len, char *out)
{
    const char *p;

    if (len >= KL_FS_PATH_MAX)
        return -ENAMETOOLONG;
    if (!(p = kl_fs_guest(c, gva, len, KL_GMEM_READ, "hostcall fs: path")))
        return -EFAULT;
    memcpy(out, p, len);   /* copy first: the guest cannot change it under us */
    out[len] = 0;
    if (memchr(out, 0, len))
        return -EINVAL;    /* an embedded NUL would silently cut the path */
    if (!utf8_valid((const uint8_t *)out, len))
        return -EILSEQ;
    return 0;
}

/* ---- attributes ---- */

static uint8_t filetype(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return KL_WASI_FILETYPE_REG;
    case S_IFDIR: return KL_WASI_FILETYPE_DIR;
    case S_IFLNK: return KL_WASI_FILETYPE_SYMLINK;
    case S_IFCHR: return KL_WASI_FILETYPE_CHAR;
    case S_IFBLK: return KL_WASI_FILETYPE_BLOCK;
    case S_IFSOCK: return KL_WASI_FILETYPE_SOCK_STREAM;
    default: return KL_WASI_FILETYPE_UNKNOWN;   /* FIFOs have no WASI type */
    }
}

static uint64_t ts_ns(struct timespec t)
{
    return t.tv_sec < 0 ? 0 : (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void kl_fs_stat_fill(struct kl_fs_stat *o, const struct stat *st)
{
    memset(o, 0, sizeof(*o));
    o->dev = st->st_dev;
    o->ino = st->st_ino;
    o->filetype = filetype(st->st_mode);
    o->nlink = st->st_nlink;
    o->size = (uint64_t)st->st_size;
    o->atim = ts_ns(st->st_atim);
    o->mtim = ts_ns(st->st_mtim);
    o->ctim = ts_ns(st->st_ctim);
}

static struct timespec ns_ts(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
}

int kl_fs_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2])
{
    if (fst & ~0xFu)
        return -EINVAL;
    if ((fst & KL_WASI_ATIM && fst & KL_WASI_ATIM_NOW) || (fst & KL_WASI_MTIM && fst & KL_WASI_MTIM_NOW))
        return -EINVAL;
    ts[0] = fst & KL_WASI_ATIM_NOW ? (struct timespec){0, UTIME_NOW}
          : fst & KL_WASI_ATIM ? ns_ts(atim) : (struct timespec){0, UTIME_OMIT};
    ts[1] = fst & KL_WASI_MTIM_NOW ? (struct timespec){0, UTIME_NOW}
          : fst & KL_WASI_MTIM ? ns_ts(mtim) : (struct timespec){0, UTIME_OMIT};
    return 0;
}
