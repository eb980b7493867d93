/* mfdeploy.c - deploy a function's source (a module, or Python/JavaScript through the lang hook) and a manifest's functions with the client's deploy. */
#include "client/mfdeploy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "client/client.h"
#include "client/lang_hook.h"

/* mkdir -p for the hook's work folder under the manifest's .kernless/. */
static int make_dirs(char *path)
{
    char *p;

    for (p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int kl_deploy_source(const struct kl_client *c, const char *name, const char *source,
                     const char *entry, json_t *config, const char *workdir, int quiet, int *version)
{
    char module[PATH_MAX], work[PATH_MAX], why[512];
    json_t *cfg;
    struct stat st;
    const char *lang;
    int rc;

    if (!kl_deploy_needs_lang(source))
        return kl_client_deploy(c, name, source, config, quiet, version);
    lang = ends_with(source, ".py") ? "python" : ends_with(source, ".js") ? "js" : NULL;
    snprintf(work, sizeof(work), "%s", workdir);
    if (make_dirs(work) < 0 || stat(work, &st) < 0) {
        fprintf(stderr, "kernless: deploy %s: cannot make %s: %s\n", name, workdir,
                strerror(errno));
        return 1;
    }
    /* The hook may add to the config, so it gets a copy. */
    if ((cfg = json_deep_copy(config)) == NULL)
        return 1;
    rc = kl_lang_module(lang, source, entry, work, cfg, module, sizeof(module), why, sizeof(why));
    if (rc < 0)
        fprintf(stderr, "kernless: deploy %s: %s: %s\n", name, source, why);
    else
        rc = kl_client_deploy(c, name, module, cfg, quiet, version);
    json_decref(cfg);
    return rc < 0 ? 1 : rc;
}

int kl_deploy_needs_lang(const char *source)
{
    struct stat st;

    if (ends_with(source, ".py") || ends_with(source, ".js"))
        return 1;
    return stat(source, &st) == 0 && S_ISDIR(st.st_mode);
}

int kl_mf_deploy_fn(const struct kl_client *c, const struct kl_manifest *m,
                    const struct kl_mf_fn *f, int *version)
{
    char work[PATH_MAX];

    snprintf(work, sizeof(work), "%s/.kernless/lang/%s", m->dir, f->name);
    return kl_deploy_source(c, f->name, f->source, NULL, f->config, work, 1, version);
}
