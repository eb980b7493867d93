/* landlock.c - a vCPU thread may open files only beneath its run's preopens (Landlock, where the kernel has it). */
#include "vm/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

/*
 * Why: the vCPU threads' seccomp filter (seccomp.c) must allow openat and
 * read, since hostcalls open files beneath the preopens. A bug in a host
 * path (a traversal the guest steers) could then open anything the server
 * can, admin.token included. Landlock makes the kernel refuse any path
 * outside the thread's preopens, whatever the bug. Its rules only ever
 * narrow, so a thread is confined once, for the preopens of the function
 * it runs first, and the server hands a thread only functions with the same
 * preopens (its key: src/server/exec.c).
 */

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* Rights newer than some headers: ABI 3 and 5. */
#define FS_TRUNCATE (1ULL << 14)
#define FS_IOCTL_DEV (1ULL << 15)

static __thread char thread_key[KL_LANDLOCK_KEY_LEN];

const char *kl_landlock_thread_key(void) { return thread_key; }

void kl_landlock_key(const struct kl_run_config *cfg, char *out)
{
    uint8_t sum[32], buf[8192];
    size_t n = 0;

    for (int i = 0; cfg && i < cfg->npreopens; i++) {
        int w = snprintf((char *)buf + n, sizeof(buf) - n, "%s%c%d%c", cfg->preopens[i].host_path,
                         0, cfg->preopens[i].readonly ? 1 : 0, 0);
        if (w < 0 || (size_t)w >= sizeof(buf) - n)
            break;   /* the hash of what fits still tells functions apart in practice */
        n += (size_t)w;
    }
    kl_sha256(buf, n, sum);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", sum[i]);
}

/* What the kernel's Landlock ABI `abi` can restrict on files. */
static uint64_t handled_rights(long abi)
{
    uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;   /* ABI 1 */

    if (abi >= 2)
        r |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        r |= FS_TRUNCATE;
    if (abi >= 5)
        r |= FS_IOCTL_DEV;
    return r;
}

static int allow(int ruleset, const char *path, uint64_t rights)
{
    struct landlock_path_beneath_attr pb = {.allowed_access = rights};
    int rc = 0;

    if ((pb.parent_fd = open(path, O_PATH | O_CLOEXEC)) < 0)
        return 0;   /* missing: nothing to allow (its run fails on its own) */
    if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
        rc = -errno;
    close(pb.parent_fd);
    return rc;
}

int kl_landlock_vcpu(const struct kl_run_config *cfg)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    uint64_t all, ro = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    struct landlock_ruleset_attr attr;
    int ruleset, rc = 0;

    if (thread_key[0])
        return 0;
    if (abi < 1)
        return 0;   /* no Landlock here (ENOSYS, EOPNOTSUPP): the seccomp filter alone */
    all = handled_rights(abi);
    memset(&attr, 0, sizeof(attr));
    attr.handled_access_fs = all;
    if ((ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)) < 0)
        return -errno;
    for (int i = 0; cfg && i < cfg->npreopens && rc == 0; i++)
        rc = allow(ruleset, cfg->preopens[i].host_path, cfg->preopens[i].readonly ? ro : all);
    if (rc == 0)
        rc = allow(ruleset, "/dev/kvm", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                            (abi >= 5 ? FS_IOCTL_DEV : 0));
    if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        rc = -errno;
    if (rc == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
        rc = -errno;
    close(ruleset);
    if (rc == 0)
        kl_landlock_key(cfg, thread_key);
    return rc;
}
