/* exec.c - run one request of a function in a fresh VM through kl_run (the only call site). */
#include "server/exec.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "server/server.h"
#include "vmm/image.h"

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kl_img_ref *cache;
static sem_t slots;

void kl_exec_init(unsigned max_running)
{
    sem_init(&slots, 0, max_running ? max_running : 1);
}

int kl_exec_image_get(const char *path, struct kl_img_ref **out,
                      struct kl_err *err)
{
    struct kl_img_ref *r;
    int rc = 0;

    pthread_mutex_lock(&cache_lock);
    for (r = cache; r != NULL; r = r->next)
        if (strcmp(r->path, path) == 0)
            break;
    if (r != NULL) {
        r->refs++;
        goto out;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL || (r->path = strdup(path)) == NULL) {
        rc = kl_errf(err, -ENOMEM, "out of memory");
        goto err_free;
    }
    /* Loading under the lock is fine: it happens at deploy and start-up only. */
    if ((rc = kl_image_load(path, &r->img, err)) < 0)
        goto err_free;
    r->refs = 1;
    r->next = cache;
    cache = r;
out:
    *out = r;
    pthread_mutex_unlock(&cache_lock);
    return 0;

err_free:
    if (r != NULL)
        free(r->path);
    free(r);
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

void kl_exec_image_put(struct kl_img_ref *ref)
{
    struct kl_img_ref **pp;

    if (ref == NULL)
        return;
    pthread_mutex_lock(&cache_lock);
    if (--ref->refs > 0) {
        pthread_mutex_unlock(&cache_lock);
        return;
    }
    for (pp = &cache; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == ref) {
            *pp = ref->next;
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    kl_image_free(ref->img);
    free(ref->path);
    free(ref);
}

/* Wait for a VM slot for at most `ms`; 0 or -EBUSY. */
static int take_slot(uint32_t ms)
{
    struct timespec t;

    if (sem_trywait(&slots) == 0)
        return 0;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    while (sem_timedwait(&slots, &t) < 0)
        if (errno != EINTR)
            return -EBUSY;
    return 0;
}

/* A body too big for the guest's stdin buffer goes through a memfd the
 * guest reads with hostcalls instead. Returns the fd or -errno. */
static int body_memfd(const uint8_t *body, size_t len)
{
    size_t off = 0;
    ssize_t n;
    int fd = memfd_create("kl-stdin", MFD_CLOEXEC);

    if (fd < 0)
        return -errno;
    while (off < len) {
        n = write(fd, body + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -EIO;
        }
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        return -errno;
    }
    return fd;
}

int kl_exec_run(const struct kl_fn *fn, const struct kl_exec_in *in,
                struct kl_run_result *res, struct kl_err *err)
{
    struct kl_preopen pre[KL_FN_MAX_DIRS];
    struct kl_run_config cfg;
    size_t i;
    int rc, fd = -1;

    memset(res, 0, sizeof(*res));
    kl_run_config_init(&cfg);
    cfg.timeout_ms = fn->cfg.timeout_ms;
    cfg.max_memory_pages = fn->cfg.max_memory_mb * 16u;
    if (cfg.max_memory_pages > KL_MEM_MAX_PAGES)
        cfg.max_memory_pages = KL_MEM_MAX_PAGES;
    cfg.argc = in->argc;
    cfg.argv = in->argv;
    cfg.envc = in->envc;
    cfg.envp = in->envp;
    for (i = 0; i < fn->cfg.ndirs && i < KL_FN_MAX_DIRS; i++) {
        pre[i].host_path = fn->cfg.dirs[i].host;
        pre[i].guest_path = fn->cfg.dirs[i].guest;
        pre[i].readonly = 1;
    }
    cfg.npreopens = (int)i;
    cfg.preopens = pre;
    cfg.stdin_fd = -1;
    cfg.stdin_buf = in->body;
    cfg.stdin_len = in->body_len;
    if (in->body_len > KL_STDIN_SIZE) {
        if ((fd = body_memfd(in->body, in->body_len)) < 0)
            return kl_errf(err, fd, "cannot stage the request body: %s", strerror(-fd));
        cfg.stdin_fd = fd;
        cfg.stdin_buf = NULL;
        cfg.stdin_len = 0;
    }
    cfg.stdout_fd = -1;
    cfg.stderr_fd = -1;
    if ((rc = take_slot(fn->cfg.timeout_ms)) < 0) {
        rc = kl_errf(err, rc, "every VM slot stayed busy for %u ms", fn->cfg.timeout_ms);
        goto out;
    }
    rc = kl_run(fn->img->img, &cfg, res, err);
    sem_post(&slots);
out:
    if (fd >= 0)
        close(fd);
    return rc;
}
