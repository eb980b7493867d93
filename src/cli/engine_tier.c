/* engine_tier.c - an engine's first run on the baseline tier, with the optimised image built by a detached background process. */
#include "cli/engine_tier.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "compile/compile.h"
#include "compile/tier.h"
#include "inst/image.h"

/* A lock older than this is a build that died without removing it. */
#define STALE_LOCK_S 3600

/* O_EXCL lock beside the image; a stale one is taken over. 0 when held. */
static int take_lock(const char *lock)
{
    struct stat st;
    int fd = open(lock, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);

    if (fd < 0 && errno == EEXIST && stat(lock, &st) == 0 &&
        time(NULL) - st.st_mtime > STALE_LOCK_S && unlink(lock) == 0)
        fd = open(lock, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* The grandchild: detached from the terminal and our output, below
 * everything else in priority; builds the optimised image, then exits. */
static void optimise_detached(const uint8_t *wasm, size_t len, const char *cache_dir,
                              const char *lock)
{
    struct kl_compile_opts o;
    char path[PATH_MAX + 80];
    int fd = open("/dev/null", O_RDWR), cached;

    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
    }
    if (nice(10) < 0 && errno != 0)
        errno = 0;   /* still runs, at normal priority */
    if (take_lock(lock) < 0)
        _exit(0);    /* another run is building it */
    kl_compile_opts_init(&o);
    o.tier = KL_TIER_OPTIMISED;
    o.cache_dir = cache_dir;
    kl_compile(wasm, len, &o, path, sizeof(path), &cached, NULL);
    unlink(lock);
    _exit(0);
}

int kl_engine_tier(const uint8_t *wasm, size_t len, const char *cache_dir)
{
    struct kl_compile_opts o;
    char path[PATH_MAX + 80], lock[PATH_MAX + 96];
    const char *env = getenv("KERNLESS_TIER");
    uint8_t sha[32];
    pid_t pid;

    if (env != NULL && *env)
        return kl_tier_default();
    kl_compile_opts_init(&o);
    o.tier = KL_TIER_OPTIMISED;
    o.cache_dir = cache_dir;
    kl_sha256(wasm, len, sha);
    if (kl_compile_cache_path(NULL, sha, &o, path, sizeof(path), NULL) < 0 ||
        access(path, R_OK) == 0)
        return KL_TIER_OPTIMISED;
    snprintf(lock, sizeof(lock), "%s.optimising", path);
    /* Double fork: the build outlives this run and is never our zombie. */
    pid = fork();
    if (pid == 0) {
        setsid();
        if (fork() == 0)
            optimise_detached(wasm, len, cache_dir, lock);
        _exit(0);
    }
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    return KL_TIER_BASELINE;
}
