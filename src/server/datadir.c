/* datadir.c - data folder layout and its clean-up after a crash, admin token creation and constant-time token checks. */
#include "server/datadir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

int kl_data_dir_default(char *buf, size_t len)
{
    const char *v = getenv("KERNLESS_DATA");
    int n;

    if (v != NULL && v[0] != 0)
        n = snprintf(buf, len, "%s", v);
    else if ((v = getenv("XDG_DATA_HOME")) != NULL && v[0] == '/')
        n = snprintf(buf, len, "%s/kernless", v);
    else if ((v = getenv("HOME")) != NULL && v[0] != 0)
        n = snprintf(buf, len, "%s/.local/share/kernless", v);
    else
        return -ENOENT;
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* mkdir -p with mode 0700 for every folder we create; an existing final
 * folder is tightened to 0700 because it holds the token and images. */
static int mkdir_p(const char *dir, struct kl_err *err)
{
    char tmp[PATH_MAX];
    size_t i, n = strlen(dir);

    if (n == 0 || n >= sizeof(tmp))
        return kl_errf(err, -ENAMETOOLONG, "data folder path too long");
    memcpy(tmp, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != 0)
            continue;
        tmp[i] = 0;
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return kl_errf(err, -errno, "mkdir %s: %s", tmp, strerror(errno));
        tmp[i] = i == n ? 0 : '/';
    }
    if (chmod(dir, 0700) < 0)
        return kl_errf(err, -errno, "chmod %s: %s", dir, strerror(errno));
    return 0;
}

int kl_data_dir_prepare(const char *dir, struct kl_err *err)
{
    static const char *const subs[] = {"images", "modules", "build"};
    char path[PATH_MAX];
    size_t i;
    int rc;

    if ((rc = mkdir_p(dir, err)) < 0)
        return rc;
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (snprintf(path, sizeof(path), "%s/%s", dir, subs[i]) >= (int)sizeof(path))
            return kl_errf(err, -ENAMETOOLONG, "data folder path too long");
        if ((rc = mkdir_p(path, err)) < 0)
            return rc;
    }
    return 0;
}

/* Remove the entries of `sub` that a crash left: temp files (by their
 * mark) or, with all = 1, every entry (flat folders included). Names
 * starting with '.' are never ours: "." and ".." and whatever a user keeps. */
static int sweep_sub(const char *dir, const char *sub, int all)
{
    char path[PATH_MAX], p[PATH_MAX + 256];
    struct dirent *e;
    struct stat st;
    int n = 0;
    DIR *d;

    if (snprintf(path, sizeof(path), "%s/%s", dir, sub) >= (int)sizeof(path) ||
        (d = opendir(path)) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || (!all && strstr(e->d_name, KL_TMP_MARK) == NULL))
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            kl_rmdir_flat(p);
        else
            unlink(p);
        n++;
    }
    closedir(d);
    return n;
}

/* Does process `pid`'s command line mention `needle`? */
static int cmdline_has(const char *pid, const char *needle)
{
    char path[64], buf[8192];
    ssize_t n;
    int fd, hit = 0;

    snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    for (ssize_t i = 0; i < n; i++)   /* arguments are NUL-separated */
        if (buf[i] == 0)
            buf[i] = ' ';
    if (n > 0) {
        buf[n] = 0;
        hit = strstr(buf, needle) != NULL;
    }
    return hit;
}

/* A compiler a killed server started may outlive it: the driver dies with
 * the server (PR_SET_PDEATHSIG), but cc1, as and ld are its children and do
 * not. Any process still working in our build folder is one of those. */
static int kill_orphan_compilers(const char *dir, const char *sub)
{
    char needle[PATH_MAX + 16];
    struct dirent *e;
    DIR *d;
    int n = 0;

    if (snprintf(needle, sizeof(needle), "%s/%s/", dir, sub) >= (int)sizeof(needle) ||
        (d = opendir("/proc")) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == (int)getpid() ||
            !cmdline_has(e->d_name, needle))
            continue;
        n += kill((pid_t)atoi(e->d_name), SIGKILL) == 0;
    }
    closedir(d);
    return n;
}

int kl_data_dir_sweep(const char *dir)
{
    /* build/: deploys' compiles; optimiser/: the background -O2 builds. */
    int killed = kill_orphan_compilers(dir, "build") + kill_orphan_compilers(dir, "optimiser");

    return killed + sweep_sub(dir, ".", 0) + sweep_sub(dir, "images", 0) +
           sweep_sub(dir, "modules", 0) + sweep_sub(dir, "build", 1) +
           sweep_sub(dir, "optimiser", 1);
}

int kl_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    size_t i;

    if (nbytes > sizeof(b))
        return -EINVAL;
    if (getrandom(b, nbytes, 0) != (ssize_t)nbytes)
        return -EIO;
    for (i = 0; i < nbytes; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * nbytes] = 0;
    return 0;
}

int kl_admin_token_read(const char *dir, char *tok, size_t len,
                        struct kl_err *err)
{
    char path[PATH_MAX];
    ssize_t n;
    int fd;

    if (len < KL_TOKEN_HEX + 1)
        return kl_errf(err, -EINVAL, "token buffer too small");
    snprintf(path, sizeof(path), "%s/admin.token", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kl_errf(err, -errno, "cannot read %s: %s", path, strerror(errno));
    n = read(fd, tok, KL_TOKEN_HEX + 1);
    close(fd);
    while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
        n--;
    if (n != KL_TOKEN_HEX || strspn(tok, "0123456789abcdef") < KL_TOKEN_HEX)
        return kl_errf(err, -EINVAL, "%s is not a kernless token", path);
    tok[n] = 0;
    return 0;
}

/* Write a new token to a temp file, then link() it into place: link fails
 * with EEXIST if another server won the race, and a crash can never leave
 * an empty or half-written admin.token that would stop the next start. */
static int token_create(const char *path, char *tok, struct kl_err *err)
{
    char line[KL_TOKEN_HEX + 2], tmp[PATH_MAX + 32];
    int fd, rc;

    if ((rc = kl_random_hex(tok, KL_TOKEN_HEX / 2)) < 0)
        return kl_errf(err, rc, "no randomness for the admin token");
    if (access(path, F_OK) == 0)
        return -EEXIST;
    snprintf(tmp, sizeof(tmp), "%s" KL_TMP_MARK "%d", path, (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return kl_errf(err, -errno, "create %s: %s", tmp, strerror(errno));
    snprintf(line, sizeof(line), "%s\n", tok);
    if (write(fd, line, KL_TOKEN_HEX + 1) != KL_TOKEN_HEX + 1 || fsync(fd) < 0) {
        rc = kl_errf(err, -EIO, "write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (link(tmp, path) < 0) {
        rc = errno == EEXIST ? -EEXIST
             : kl_errf(err, -errno, "create %s: %s", path, strerror(errno));
        goto out;
    }
    rc = kl_fsync_parent(path);
    if (rc < 0)
        kl_errf(err, rc, "fsync of %s's folder: %s", path, strerror(-rc));
out:   /* the temp name goes either way: on success path is the second link */
    close(fd);
    unlink(tmp);
    return rc;
}

int kl_admin_token_ensure(const char *dir, char *tok, int *created,
                          struct kl_err *err)
{
    char path[PATH_MAX];
    int rc;

    snprintf(path, sizeof(path), "%s/admin.token", dir);
    *created = 0;
    rc = token_create(path, tok, err);
    if (rc == -EEXIST) {
        if (chmod(path, 0600) < 0)
            return kl_errf(err, -errno, "chmod %s: %s", path, strerror(errno));
        return kl_admin_token_read(dir, tok, KL_TOKEN_HEX + 1, err);
    }
    if (rc == 0)
        *created = 1;
    return rc;
}

int kl_token_equal(const char *given, size_t given_len, const char *real)
{
    size_t i, n = strlen(real);
    volatile unsigned char diff = 0;

    /* Always walk the real token's length so timing depends on neither
     * the position of the first difference nor the given length. */
    diff |= (unsigned char)(given_len != n);
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(real[i] ^ (i < given_len ? given[i] : 0));
    return diff == 0;
}
