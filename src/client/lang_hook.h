/* lang_hook.h - the one hook that turns a Python or JavaScript function source into a deployable module. */
#ifndef KL_CLIENT_LANG_HOOK_H
#define KL_CLIENT_LANG_HOOK_H

#include <jansson.h>
#include <stddef.h>

/**
 * Make the WebAssembly module that serves a Python or JavaScript function,
 * for `kernless deploy -f` and `kernless up` (src/client/mfdeploy.c is the only
 * caller).
 *
 * lang:    "python" for a .py source, "js" for a .js source, NULL for a
 *          folder source (the hook decides from the folder's contents).
 * source:  absolute path of the .py/.js file or of the folder. The handler
 *          API: Python `def handle(request): return "..."`, JavaScript
 *          `function handle(request) { return "..."; }`.
 * entry:   a folder source's handler file (relative path), or NULL for
 *          the first of app.py, main.py, handler.py, handler.js, index.js,
 *          main.js it holds; must be NULL for a .py/.js file.
 * workdir: a folder the hook may write into (created; kept between runs,
 *          so it can cache: <manifest folder>/.kernless/lang/<function>).
 * config:  the function's deploy config (route, env, timeout_ms,
 *          max_memory_mb, dirs); the hook may add to it, e.g. an env value
 *          or a read-only folder in "dirs" holding the script.
 *
 * Returns 0 with the path of the .wasm to upload in `module`, or a negative
 * errno with one line (no "kernless: " prefix, no newline) in `why`.
 */
int kl_lang_module(const char *lang, const char *source, const char *entry, const char *workdir,
                   json_t *config, char *module, size_t module_len,
                   char *why, size_t why_len);

#endif
