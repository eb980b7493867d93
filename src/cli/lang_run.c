/* lang_run.c - `kernless run app.py|script.js`: run a source file as a command in its engine. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "inst/run.h"
#include "lang/engine.h"

/* The rewritten argv: lives as long as the process (reachable, not leaked). */
static char **volatile run_argv;

int kl_lang_run_prepare(const char **module, int *argc, char ***argv,
                        struct kl_preopen *dirs, int *ndirs, int max_dirs)
{
    const char *lang = kl_lang_of(*module);
    static char engine[PATH_MAX], dir[PATH_MAX], base[PATH_MAX], guest[PATH_MAX + 8],
        lib[PATH_MAX];
    const char *lib_guest;
    int rc;
    char why[PATH_MAX + 100], tmp[PATH_MAX];
    char **nv;

    if (!lang)
        return 0;
    if (kl_lang_engine_path(lang, engine, sizeof(engine), why, sizeof(why)) < 0)
        return kl_cli_fail("%s", why), -1;
    if (!realpath(*module, tmp))
        return kl_cli_fail("%s: %s", *module, strerror(errno)), -1;
    char *slash = strrchr(tmp, '/');   /* realpath: absolute, so there is one */
    snprintf(base, sizeof(base), "%s", slash + 1);
    *slash = 0;
    snprintf(dir, sizeof(dir), "%s", tmp[0] ? tmp : "/");
    snprintf(guest, sizeof(guest), KL_LANG_APP_DIR "/%s", base);
    if ((rc = kl_lang_engine_libdir(lang, engine, lib, sizeof(lib), &lib_guest, why,
                                    sizeof(why))) < 0)
        return kl_cli_fail("%s", why), -1;
    if (*ndirs + 1 + rc > max_dirs)
        return kl_cli_fail("too many --dir options"), -1;
    dirs[(*ndirs)++] = (struct kl_preopen){dir, KL_LANG_APP_DIR, 1};
    if (rc == 1)
        dirs[(*ndirs)++] = (struct kl_preopen){lib, lib_guest, 1};
    /* argv for the engine: its name, the script as the engine sees it, the
     * script's own arguments. Lives as long as the process. */
    if (!(nv = calloc((size_t)*argc + 2, sizeof(*nv))))
        return kl_cli_fail("out of memory"), -1;
    nv[0] = engine;
    nv[1] = guest;
    for (int i = 1; i < *argc; i++)
        nv[i + 1] = (*argv)[i];
    *argc += 1;
    *argv = run_argv = nv;
    *module = engine;
    return 1;
}
