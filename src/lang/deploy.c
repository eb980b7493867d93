/* deploy.c - a Python/JavaScript deploy on the server: unpack the code, swap in the engine, try the start-up once. */
#include "lang/deploy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "kernless/abi.h"
#include "lang/bundle.h"
#include "lang/engine.h"
#include "common/buf.h"
#include "server/fnconfig.h"
#include "inst/run.h"
#include "inst/warm.h"

/* Add {host, guest} to the config's folders (guest: /app or the stdlib's). */
static int add_app_dir(struct kl_fn_config *cfg, const char *dir, const char *guest, char *why,
                       size_t why_len)
{
    struct kl_fn_dir *d;

    for (size_t i = 0; i < cfg->ndirs; i++)
        if (strcmp(cfg->dirs[i].guest, guest) == 0) {
            snprintf(why, why_len, "the folder %s is the engine's own; mount --dir-ro "
                     "elsewhere", guest);
            return -EINVAL;
        }
    if (cfg->ndirs >= KL_FN_MAX_DIRS) {
        snprintf(why, why_len, "too many folders (%d at most, one is the code)", KL_FN_MAX_DIRS);
        return -EINVAL;
    }
    if (!(d = realloc(cfg->dirs, (cfg->ndirs + 1) * sizeof(*d))))
        return -ENOMEM;
    cfg->dirs = d;
    d[cfg->ndirs].host = strdup(dir);
    d[cfg->ndirs].guest = strdup(guest);
    if (!d[cfg->ndirs].host || !d[cfg->ndirs].guest) {
        free(d[cfg->ndirs].host);
        free(d[cfg->ndirs].guest);
        return -ENOMEM;
    }
    cfg->ndirs++;
    return 0;
}

int kl_lang_deploy_prepare(const char *data_dir, struct kl_buf *module, struct kl_fn_config *cfg,
                           char *why, size_t why_len)
{
    struct kl_bundle_info info;
    struct kl_err err = {0};
    char root[PATH_MAX], dir[PATH_MAX + 80], engine[PATH_MAX], lib[PATH_MAX];
    const char *lib_guest = NULL;
    uint8_t *wasm = NULL;
    size_t len = 0;
    int rc;

    snprintf(root, sizeof(root), "%s/code", data_dir);
    if ((rc = kl_mkdir_p(root, 0755)) < 0) {
        snprintf(why, why_len, "cannot create %s: %s", root, strerror(-rc));
        return rc;
    }
    if ((rc = kl_bundle_unpack(module->data, module->len, root, &info, dir, sizeof(dir), why,
                               why_len)) < 0)
        return rc;
    if ((rc = kl_lang_engine_path(info.lang, engine, sizeof(engine), why, why_len)) < 0 ||
        (rc = kl_lang_engine_libdir(info.lang, engine, lib, sizeof(lib), &lib_guest, why,
                                    why_len)) < 0)
        return rc;
    if ((rc = kl_read_file(engine, 512u << 20, &wasm, &len, &err)) < 0) {
        snprintf(why, why_len, "%s", err.msg);
        return rc;
    }
    if ((rc = add_app_dir(cfg, dir, KL_LANG_APP_DIR, why, why_len)) < 0 ||
        (lib_guest && (rc = add_app_dir(cfg, lib, lib_guest, why, why_len)) < 0)) {
        free(wasm);
        return rc;
    }
    /* The engine replaces the upload: the compile cache finds its image. */
    free(module->data);
    module->data = wasm;
    module->len = module->alloc = len;
    return 0;
}

/* warm.c says "instantiation failed: <the guest's last stderr line>"; for
 * an engine that line is its one-line summary (file:line: error). */
static void last_line(const char *msg, char *why, size_t why_len)
{
    static const char prefix[] = "instantiation failed: ";

    if (strncmp(msg, prefix, sizeof(prefix) - 1) == 0)
        msg += sizeof(prefix) - 1;
    snprintf(why, why_len, "start-up failed: %s", msg);
}

int kl_lang_deploy_check(const struct kl_image *img, const struct kl_fn_config *cfg,
                         char *why, size_t why_len)
{
    struct kl_preopen pre[KL_FN_MAX_DIRS];
    struct kl_run_config rc_cfg;
    struct kl_warm *w = NULL;
    struct kl_err err = {0};
    size_t i;
    int rc;

    kl_run_config_init(&rc_cfg);
    rc_cfg.timeout_ms = cfg->timeout_ms;
    rc_cfg.max_memory_pages = cfg->max_memory_mb * 16u;
    if (rc_cfg.max_memory_pages > KL_MEM_MAX_PAGES)
        rc_cfg.max_memory_pages = KL_MEM_MAX_PAGES;
    for (i = 0; i < cfg->ndirs && i < KL_FN_MAX_DIRS; i++)
        pre[i] = (struct kl_preopen){cfg->dirs[i].host, cfg->dirs[i].guest, 1};
    rc_cfg.npreopens = (int)i;
    rc_cfg.preopens = pre;
    rc_cfg.stdin_fd = rc_cfg.stdout_fd = rc_cfg.stderr_fd = -1;
    if ((rc = kl_warm_create(img, &rc_cfg, &w, &err)) < 0) {
        last_line(err.msg, why, why_len);
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    kl_warm_destroy(w);
    return 0;
}
