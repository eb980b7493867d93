/* wasi_handles.c - the host files of one instance: preopened directories and the table of open handles. */
#include "host/wasi_handles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* ---- preopens ---- */

static int table_grow(struct kl_fs *fs, uint32_t want)
{
    uint32_t cap = fs->cap ? fs->cap : 16;
    struct kl_fs_handle *h;

    while (cap < want)
        cap *= 2;
    if (cap <= fs->cap)
        return 0;
    if (!(h = realloc(fs->h, cap * sizeof(*h))))
        return -ENOMEM;
    for (uint32_t i = fs->cap; i < cap; i++)
        h[i] = (struct kl_fs_handle){.fd = -1, .rfd = -1};
    fs->h = h;
    fs->cap = cap;
    return 0;
}

/* Open one preopen as an O_PATH directory and remember its identity. */
static int open_preopen(struct kl_fs *fs, uint32_t i, const struct kl_preopen *p, struct kl_err *err)
{
    struct stat st;
    int fd = open(p->host_path, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return kl_errf(err, -errno, "--dir %s: %s", p->host_path, strerror(errno));
    fd = kl_fs_fd_high(fd);
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return kl_errf(err, e, "--dir %s: %s", p->host_path, strerror(-e));
    }
    /* O_PATH opens without read permission; the guest could not list it. */
    if (faccessat(fd, ".", R_OK | X_OK, AT_EACCESS) < 0) {
        int e = -errno;
        close(fd);
        return kl_errf(err, e, "--dir %s: %s", p->host_path, strerror(-e));
    }
    fs->h[i] = (struct kl_fs_handle){.fd = fd, .rfd = -1, .preopen = i, .dir = 1, .opath = 1,
                                     .readonly = p->readonly ? 1 : 0};
    fs->roots[i] = (struct kl_fs_root){st.st_dev, st.st_ino};
    return 0;
}

int kl_wasi_host_open(struct kl_fs **out, const struct kl_run_config *cfg, struct kl_err *err)
{
    struct kl_fs *fs = calloc(1, sizeof(*fs));
    uint32_t n = cfg->npreopens > 0 ? (uint32_t)cfg->npreopens : 0;
    int rc;

    *out = NULL;
    if (!fs)
        return kl_errf(err, -ENOMEM, "out of memory");
    if (n > KL_FS_MAX_PREOPENS) {
        rc = kl_errf(err, -E2BIG, "too many preopened directories (%u)", n);
        goto err_free;
    }
    fs->max_open = cfg->max_open_files == 0 ? KL_FS_OPEN_DEFAULT
                 : cfg->max_open_files < KL_FS_OPEN_MAX ? cfg->max_open_files : KL_FS_OPEN_MAX;
    if ((rc = table_grow(fs, n ? n : 1)) < 0 || !(fs->roots = calloc(n ? n : 1, sizeof(*fs->roots)))) {
        rc = kl_errf(err, -ENOMEM, "out of memory");
        goto err_free;
    }
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = open_preopen(fs, i, &cfg->preopens[i], err)) < 0)
            goto err_free;
        fs->n = fs->npre = i + 1;
    }
    *out = fs;
    return 0;
err_free:
    kl_wasi_host_close(fs);
    return rc;
}

void kl_wasi_host_close(struct kl_fs *fs)
{
    if (!fs)
        return;
    for (uint32_t i = 0; i < fs->n; i++)
        kl_fs_handle_close(&fs->h[i]);
    free(fs->h);
    free(fs->roots);
    free(fs);
}

/* ---- handles ---- */

int kl_fs_fd_high(int fd)
{
    int hi;

    if (fd < 0 || fd >= KL_FS_FD_FLOOR)
        return fd;
    if ((hi = fcntl(fd, F_DUPFD_CLOEXEC, KL_FS_FD_FLOOR)) < 0)
        return fd;   /* RLIMIT_NOFILE at or under the floor: keep the low number */
    close(fd);
    return hi;
}

struct kl_fs_handle *kl_fs_handle(struct kl_fs *fs, uint32_t h)
{
    if (!fs || h >= fs->n || fs->h[h].fd < 0)
        return NULL;
    return &fs->h[h];
}

int kl_fs_handle_add(struct kl_fs *fs, int fd, int dir, const struct kl_fs_handle *parent)
{
    /* Copy first: growing the table may move `parent`, which points into it. */
    uint32_t i, preopen = parent->preopen;
    uint8_t readonly = parent->readonly;

    /* Lowest free slot above the preopens keeps the table dense. */
    for (i = fs->npre; i < fs->n && fs->h[i].fd >= 0; i++)
        ;
    fd = kl_fs_fd_high(fd);
    if (i - fs->npre >= fs->max_open || table_grow(fs, i + 1) < 0) {
        close(fd);
        return i - fs->npre >= fs->max_open ? -EMFILE : -ENOMEM;
    }
    fs->h[i] = (struct kl_fs_handle){.fd = fd, .rfd = -1, .preopen = preopen,
                                     .dir = dir ? 1 : 0, .readonly = readonly};
    if (i == fs->n)
        fs->n++;
    return (int)i;
}

int kl_fs_dir(struct kl_fs_call *c, uint32_t h, struct kl_fs_handle **out)
{
    struct kl_fs_handle *d = kl_fs_handle(c->fs, h);

    if (!d)
        return -EBADF;
    if (!d->dir)
        return -ENOTDIR;
    *out = d;
    return 0;
}

int kl_fs_io_fd(struct kl_fs_handle *h)
{
    if (!h->opath)
        return h->fd;
    if (h->rfd < 0)
        h->rfd = kl_fs_fd_high(openat(h->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return h->rfd < 0 ? -errno : h->rfd;
}

void kl_fs_handle_close(struct kl_fs_handle *h)
{
    if (h->dirp)
        closedir(h->dirp);
    if (h->rfd >= 0)
        close(h->rfd);
    if (h->fd >= 0)
        close(h->fd);
    *h = (struct kl_fs_handle){.fd = -1, .rfd = -1};
}
