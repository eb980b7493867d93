/* mfdeploy.c - deploy -f: build and deploy each function of a manifest with the client's deploy. */
#include "cli/mfdeploy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/client.h"
#include "cli/lang_hook.h"

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

int kl_mf_deploy(const struct kl_client *c, int argc, char **argv)
{
    struct kl_manifest m;
    int i, build = 1, failed = 0;
    const char *path = NULL;
    size_t k;

    for (i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--file") == 0) && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--no-build") == 0)
            build = 0;
        else
            path = NULL, i = argc;
    }
    if (path == NULL) {
        fprintf(stderr, "kernless: usage: kernless deploy -f kernless.toml [--no-build] [--json]\n");
        return 2;
    }
    if (kl_manifest_load(path, &m) < 0)
        return 1;
    for (k = 0; k < m.n; k++) {
        const struct kl_mf_fn *f = &m.fns[k];
        if ((build ? kl_manifest_build(&m, f) : kl_manifest_check_source(&m, f)) < 0) {
            failed++;
            continue;
        }
        if (kl_mf_deploy_fn(c, &m, f, NULL) != 0)
            failed++;
    }
    if (failed)
        fprintf(stderr, "kernless: deploy -f %s: %d of %zu function(s) failed\n", path, failed, m.n);
    kl_manifest_free(&m);
    return failed ? 1 : 0;
}
