/* test_landlock.c - vcpu_thread_opens_only_its_preopens: a vCPU thread could open any path the server can (issue 20: admin.token); Landlock confines it to its run's preopens. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unit.h"
#include "vm/landlock.h"
#include "vm/seccomp.h"

static char pre[256], outside[256];

struct result {
    int rc, in_fd, out_fd, out_errno, write_fd, write_errno;
    char key[KL_LANDLOCK_KEY_LEN];
};

static void *vcpu_thread(void *arg)
{
    struct result *r = arg;
    struct kl_preopen p = {pre, "/data", 1};
    struct kl_run_config cfg;
    char path[300];

    kl_run_config_init(&cfg);
    cfg.npreopens = 1;
    cfg.preopens = &p;
    kl_seccomp_vcpu_thread();
    r->rc = kl_seccomp_vcpu_enter(&cfg);
    snprintf(path, sizeof(path), "%s/a", pre);
    r->in_fd = open(path, O_RDONLY | O_CLOEXEC);
    errno = 0;
    r->write_fd = open(path, O_WRONLY | O_CLOEXEC);   /* a read-only preopen */
    r->write_errno = errno;
    snprintf(path, sizeof(path), "%s/admin.token", outside);
    errno = 0;
    r->out_fd = open(path, O_RDONLY | O_CLOEXEC);
    r->out_errno = errno;
    for (int *fd = &r->in_fd; fd <= &r->write_fd; fd++)
        if (*fd >= 0)
            close(*fd);
    snprintf(r->key, sizeof(r->key), "%s", kl_landlock_thread_key());
    return NULL;
}

static struct result in_thread(void)
{
    struct result r;
    pthread_t t;

    memset(&r, 0, sizeof(r));
    r.in_fd = r.out_fd = r.write_fd = -2;
    if (pthread_create(&t, NULL, vcpu_thread, &r) == 0)
        pthread_join(t, NULL);
    return r;
}

static void touch(const char *dir, const char *name)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
}

int main(void)
{
    char root[] = "/tmp/kl-landlock.XXXXXX", want[KL_LANDLOCK_KEY_LEN];
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */);
    struct kl_preopen p;
    struct kl_run_config cfg;
    struct result r;

    if (!mkdtemp(root))
        return 1;
    snprintf(pre, sizeof(pre), "%s/pre", root);
    snprintf(outside, sizeof(outside), "%s/data", root);
    mkdir(pre, 0755);
    mkdir(outside, 0755);
    touch(pre, "a");
    touch(outside, "admin.token");
    unsetenv("KERNLESS_NO_SECCOMP");

    r = in_thread();
    CHECK(r.rc == 0);
    CHECK(r.in_fd >= 0);   /* its preopen: readable */
    if (abi >= 1) {
        CHECK(r.out_fd == -1 && r.out_errno == EACCES);       /* the rest of the host: not */
        CHECK(r.write_fd == -1 && r.write_errno == EACCES);   /* read-only stays read-only */
        /* The key names the preopens, so the server lends the thread only
         * to runs with the same ones. */
        p = (struct kl_preopen){pre, "/data", 1};
        kl_run_config_init(&cfg);
        cfg.npreopens = 1;
        cfg.preopens = &p;
        kl_landlock_key(&cfg, want);
        CHECK_STR(r.key, want);
        p.readonly = 0;
        kl_landlock_key(&cfg, want);
        CHECK(strcmp(r.key, want) != 0);
    } else {
        printf("test_landlock: this kernel has no Landlock (%ld): only the fallback was checked\n", abi);
    }

    /* Control: unconfined (the debug switch), the same thread opens the
     * token, so the check above can fail. */
    setenv("KERNLESS_NO_SECCOMP", "1", 1);
    r = in_thread();
    CHECK(r.rc == 0 && r.out_fd >= 0 && r.key[0] == 0);
    unsetenv("KERNLESS_NO_SECCOMP");

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    if (system(cmd) != 0)
        fprintf(stderr, "test_landlock: could not remove %s\n", root);
    UNIT_DONE();
}
