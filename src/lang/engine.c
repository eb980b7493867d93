/* engine.c - which engine serves a .py or .js file, and where the built engines are. */
#include "lang/engine.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

const char *kl_lang_of(const char *path)
{
    if (ends_with(path, ".js") || ends_with(path, ".mjs") || ends_with(path, ".cjs"))
        return "js";
    if (ends_with(path, ".py"))
        return "python";
    return NULL;
}

int kl_lang_engine_path(const char *lang, char *out, size_t len, char *why, size_t why_len)
{
    const char *dir = getenv("KERNLESS_ENGINES");
    char exe[PATH_MAX];
    ssize_t n;

    if (dir && *dir) {
        snprintf(out, len, "%s/%s.wasm", dir, lang);
    } else {
        /* Beside the binary: build/engines for build/kernless (build/san
         * links its engines folder to the same one). */
        if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
            n = 0;
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        snprintf(out, len, "%s/engines/%s.wasm", slash ? exe : ".", lang);
    }
    if (access(out, R_OK) != 0) {
        snprintf(why, why_len, "the %s engine is not built (%s is missing: `make engines` "
                 "builds it)", strcmp(lang, "js") == 0 ? "JavaScript" : "Python", out);
        return -ENOENT;
    }
    return 0;
}

int kl_lang_engine_libdir(const char *lang, const char *engine_path, char *host, size_t len,
                          const char **guest, char *why, size_t why_len)
{
    const char *slash = strrchr(engine_path, '/');

    if (strcmp(lang, "python") != 0)
        return 0;
    snprintf(host, len, "%.*s/python-lib", slash ? (int)(slash - engine_path) : 1,
             slash ? engine_path : ".");
    *guest = KL_LANG_PY_LIB_GUEST;
    if (access(host, R_OK | X_OK) != 0) {
        snprintf(why, why_len, "the Python engine's stdlib %s is missing (`make engines` "
                 "builds it)", host);
        return -ENOENT;
    }
    return 1;
}
