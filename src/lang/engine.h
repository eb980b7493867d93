/* engine.h - Python and JavaScript sources as functions and commands: which engine serves a file, and where it is. */
#ifndef KL_LANG_ENGINE_H
#define KL_LANG_ENGINE_H

#include <stddef.h>

/** Where a function's code is mounted (read-only) in the engine's view. */
#define KL_LANG_APP_DIR "/app"

/** "js" for *.js / *.mjs / *.cjs, "python" for *.py, else NULL. */
const char *kl_lang_of(const char *path);

/**
 * The engine module for `lang`: $KERNLESS_ENGINES/<lang>.wasm, else
 * engines/<lang>.wasm beside the kernless binary (make builds it there).
 * Returns 0, or -ENOENT with a one-line reason in `why`.
 */
int kl_lang_engine_path(const char *lang, char *out, size_t len, char *why, size_t why_len);

/** Where the Python engine's stdlib is mounted (it looks there by default). */
#define KL_LANG_PY_LIB_GUEST "/usr/local/lib"

/**
 * The read-only folder an engine needs besides the user's code: for
 * Python, python-lib/ beside python.wasm (its stdlib), mounted at
 * KL_LANG_PY_LIB_GUEST. Returns 1 with host/guest filled, 0 if the engine
 * needs none, -ENOENT with a reason in `why` if the folder is missing.
 */
int kl_lang_engine_libdir(const char *lang, const char *engine_path, char *host, size_t len,
                          const char **guest, char *why, size_t why_len);

struct kl_preopen;

/**
 * `kernless run script.py|script.js args...`: when *module names a source
 * file, switch it to its engine, make argv [engine, /app/<file>, args...]
 * and add the script's folder, read-only, as the preopen /app (dirs has
 * room for max_dirs). Returns 1 if rewritten, 0 if *module is not a source
 * file, or -1 after printing one `kernless: ...` line.
 */
int kl_lang_run_prepare(const char **module, int *argc, char ***argv,
                        struct kl_preopen *dirs, int *ndirs, int max_dirs);

#endif
