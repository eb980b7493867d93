/* fuzz_wasi_fs.c - libFuzzer target: the host side of the KL_HC_FS hostcall with arbitrary argument structs and a fake guest memory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inst/gmem.h"
#include "host/wasi_dispatch.h"
#include "host/wasi_handles.h"

/*
 * Real files: every input opens a fresh handle table on a sandbox folder
 * and runs its calls against the real kernel, as a guest would. The folder
 * sits next to a canary file and holds symlinks pointing out of it, so an
 * escape (a path that leaves the preopen) shows up as a changed or new
 * entry beside the sandbox. RLIMIT_FSIZE keeps writes and fallocate small.
 */

#define GUEST_GVA 0x10000ull
#define GUEST_SIZE 1024u

static char outer[PATH_MAX], root[PATH_MAX];
static int base_fds;

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Open fds that refer to something in the sandbox (libFuzzer and the
 * sanitizers open pipes of their own, e.g. to the symbolizer). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    char p[PATH_MAX + 32], t[PATH_MAX];
    size_t ol = strlen(outer);
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        ssize_t l;
        snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
        if (e->d_name[0] != '.' && (l = readlink(p, t, sizeof(t) - 1)) > 0) {
            t[l] = 0;
            n += strncmp(t, outer, ol) == 0;
        }
    }
    closedir(d);
    return n;
}

static void setup(void)
{
    struct rlimit rl = {1u << 20, 1u << 20};
    const char *b = getenv("KL_FUZZ_FS_DIR");
    char p[PATH_MAX + 32];
    int fd;

    snprintf(outer, sizeof(outer), "%s", b && *b ? b : "/tmp/kl-fuzz-fs");
    snprintf(p, sizeof(p), "rm -rf '%s' && mkdir -p '%s/root/d'", outer, outer);
    if (system(p) != 0)
        abort();
    snprintf(root, sizeof(root), "%s/root", outer);
    snprintf(p, sizeof(p), "%s/canary", outer);
    if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || write(fd, "canary", 6) != 6)
        abort();
    close(fd);
    snprintf(p, sizeof(p), "%s/f", root);
    if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || write(fd, "hello", 5) != 5)
        abort();
    close(fd);
    snprintf(p, sizeof(p), "%s/up", root);
    if (symlink("..", p) < 0)
        abort();
    snprintf(p, sizeof(p), "%s/c", root);
    if (symlink("../canary", p) < 0)
        abort();
    snprintf(p, sizeof(p), "%s/abs", root);
    if (symlink("/etc", p) < 0)
        abort();
    signal(SIGXFSZ, SIG_IGN);   /* over RLIMIT_FSIZE: EFBIG, not death */
    setrlimit(RLIMIT_FSIZE, &rl);
    base_fds = count_fds();
}

/* Nothing beside the sandbox changed: two entries, canary intact. */
static void check_outside(void)
{
    char p[PATH_MAX + 16], buf[16];
    struct stat st;
    int fd, n;

    if (count_entries(outer) != 2) {
        fprintf(stderr, "fuzz_wasi_fs: a new entry appeared beside the sandbox\n");
        abort();
    }
    snprintf(p, sizeof(p), "%s/canary", outer);
    if ((fd = open(p, O_RDONLY)) < 0)
        abort();
    n = (int)read(fd, buf, sizeof(buf));
    if (fstat(fd, &st) < 0 || n != 6 || memcmp(buf, "canary", 6) != 0 || st.st_size != 6) {
        fprintf(stderr, "fuzz_wasi_fs: the canary beside the sandbox changed\n");
        abort();
    }
    close(fd);
}

/*
 * Input: GUEST_SIZE bytes of guest memory (short inputs are zero-padded),
 * then one struct kl_hc_fs per call (a short last one is zero-padded).
 */
/** libFuzzer entry. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static uint8_t guest[GUEST_SIZE];
    struct kl_run_config cfg;
    struct kl_preopen pre[2];
    struct kl_gmem gm;
    struct kl_fs *fs;
    struct kl_err err = {0};
    size_t k;

    if (!ready) {
        setup();
        ready = 1;
    }
    memset(guest, 0, sizeof(guest));
    k = size < GUEST_SIZE ? size : GUEST_SIZE;
    memcpy(guest, data, k);
    data += k, size -= k;

    memset(&cfg, 0, sizeof(cfg));   /* only the preopens matter here */
    pre[0] = (struct kl_preopen){root, "/", 0};
    pre[1] = (struct kl_preopen){root, "/ro", 1};
    cfg.npreopens = 2;
    cfg.preopens = pre;
    memset(&gm, 0, sizeof(gm));
    if (kl_wasi_host_open(&fs, &cfg, &err) < 0)
        abort();
    kl_gmem_set(&gm, "memory 0", GUEST_GVA, sizeof(guest), guest, 1);
    for (int calls = 0; size > 0 && calls < 16; calls++) {
        struct kl_hc_fs a;

        memset(&a, 0, sizeof(a));
        k = size < sizeof(a) ? size : sizeof(a);
        memcpy(&a, data, k);
        data += k, size -= k;
        /* Addresses are mostly meant to land in guest memory: fold them
         * there unless the top bit asks for the raw (hostile) value. */
        if (!(a.path >> 63)) a.path = GUEST_GVA + a.path % GUEST_SIZE;
        if (!(a.path2 >> 63)) a.path2 = GUEST_GVA + a.path2 % GUEST_SIZE;
        if (!(a.buf >> 63)) a.buf = GUEST_GVA + a.buf % GUEST_SIZE;
        for (unsigned i = 0; i < KL_FS_MAX_IOV; i++)
            if (!(a.iov[i].buf >> 63))
                a.iov[i].buf = GUEST_GVA + a.iov[i].buf % GUEST_SIZE;
        /* Handles: mostly the few that exist, sometimes anything. */
        if (!(a.h >> 31)) a.h %= 8;
        if (!(a.h2 >> 31)) a.h2 %= 8;
        /* A bad guest buffer would end the run (kl_hc_fs). */
        if (kl_wasi_fs_call(fs, &gm, &a, &err) < 0)
            break;
    }
    kl_wasi_host_close(fs);
    if (count_fds() != base_fds) {
        fprintf(stderr, "fuzz_wasi_fs: %d sandbox fds open after the run, %d before\n", count_fds(), base_fds);
        abort();   /* a host fd outlived the run */
    }
    check_outside();
    return 0;
}
