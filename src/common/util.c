/* util.c - small host helpers: bounded file reading, hashing, time, atomic file writes. */
#include "common/util.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define KL_ASAN 1
#endif
#ifdef KL_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int kl_read_file(const char *path, size_t max, uint8_t **data, size_t *size,
                 struct kl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    int rc;

    if (fd < 0)
        return kl_errf(err, -errno, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        rc = kl_errf(err, -errno, "%s: %s", path, strerror(errno));
        goto err_close;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = kl_errf(err, -EINVAL, "%s: not a regular file", path);
        goto err_close;
    }
    if ((uint64_t)st.st_size > max) {
        rc = kl_errf(err, -EFBIG, "%s: %lld bytes is over the limit of %zu", path,
                     (long long)st.st_size, max);
        goto err_close;
    }
    if (!(buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
        rc = kl_errf(err, -ENOMEM, "%s: out of memory", path);
        goto err_close;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = kl_errf(err, n < 0 ? -errno : -EIO, "%s: short read", path);
            goto err_free;
        }
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *size = got;
    return 0;

err_free:
    free(buf);
err_close:
    close(fd);
    return rc;
}

/* Make a rename in `path`'s folder durable: without this a crash right after
 * the rename can bring back the old name, while a registry row committed
 * next already points at the new one. */
int kl_fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd, rc = 0;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path + (slash == path)),
                      path) >= (int)sizeof(dir))
        return -ENAMETOOLONG;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int kl_write_file_atomic(const char *path, const void *data, size_t size, int mode,
                         struct kl_err *err)
{
    static unsigned long seq;
    char tmp[4096];
    const uint8_t *p = data;
    int fd, rc;

    /* Unique per process and call, so two threads writing the same name
     * never share a temp file; KL_TMP_MARK lets a restart sweep leftovers. */
    if (snprintf(tmp, sizeof(tmp), "%s" KL_TMP_MARK "%d.%lu", path, (int)getpid(),
                 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED)) >= (int)sizeof(tmp))
        return kl_errf(err, -ENAMETOOLONG, "%s: path too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return kl_errf(err, -errno, "%s: %s", tmp, strerror(errno));
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = kl_errf(err, -errno, "%s: %s", tmp, strerror(errno));
            goto err_unlink;
        }
        p += n;
        size -= (size_t)n;
    }
    if (fsync(fd) < 0) {
        rc = kl_errf(err, -errno, "%s: fsync: %s", tmp, strerror(errno));
        goto err_unlink;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        rc = kl_errf(err, -errno, "%s: rename: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    if ((rc = kl_fsync_parent(path)) < 0)
        return kl_errf(err, rc, "%s: fsync of its folder: %s", path, strerror(-rc));
    return 0;

err_unlink:
    close(fd);
    unlink(tmp);
    return rc;
}

/* nettle, not OpenSSL: OpenSSL 3 spends ~0.85 ms initialising on the first
 * digest, which is most of a cached `kernless run` start. */
void kl_sha256(const void *data, size_t len, uint8_t out[32])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, len, data);
    sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

void kl_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

uint64_t kl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int kl_mkdir_p(const char *path, int mode)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

void kl_rmdir_flat(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4096 + 256];

    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

void kl_wait_status_describe(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d (%s)%s", WTERMSIG(status),
                 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
                 WTERMSIG(status) == SIGSYS ? ": a system call outside the sandbox's allow-list" : "");
    else
        snprintf(buf, n, "wait status 0x%x", (unsigned)status);
}

int kl_guest_dir(char *out, size_t len, struct kl_err *err)
{
    const char *env = getenv("KERNLESS_GUEST_DIR");
    char exe[PATH_MAX];
    ssize_t n;

    if (env && *env) {
        snprintf(out, len, "%s", env);
        return 0;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0)
        return kl_errf(err, -errno, "cannot find the kernless binary");
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    if (snprintf(out, len, "%s/guest", exe) >= (int)len)
        return kl_errf(err, -ENAMETOOLONG, "guest runtime path too long");
    return 0;
}

int kl_munmap(void *p, size_t len)
{
#ifdef KL_ASAN
    /* Drop the shadow pages lying wholly inside the range, as newer
     * libasan's munmap interceptor does (gcc 12's has none). On kernels
     * without a shared zero page (PVM), every shadow read makes a page
     * resident, and guest memory lands at new addresses every time, so the
     * ASan server's RSS would only grow (tests/hostile). Shadow of mmapped
     * memory is never poisoned, so reading back zeroes changes nothing. */
    size_t scale, off;
    __asan_get_shadow_mapping(&scale, &off);
    uintptr_t b = (((uintptr_t)p >> scale) + off + 4095) & ~(uintptr_t)4095;
    uintptr_t e = ((((uintptr_t)p + len) >> scale) + off) & ~(uintptr_t)4095;
    if (e > b)
        madvise((void *)b, e - b, MADV_DONTNEED);
#endif
    return munmap(p, len) < 0 ? -errno : 0;
}
