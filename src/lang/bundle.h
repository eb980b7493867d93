/* bundle.h - a Python or JavaScript function's source files as one JSON upload, and their unpacking on the server. */
#ifndef KL_LANG_BUNDLE_H
#define KL_LANG_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define KL_BUNDLE_MAX_FILES 2000
#define KL_BUNDLE_MAX_BYTES (64u << 20)      /* source bytes in all */
#define KL_BUNDLE_ENTRY_FILE ".kernless-entry" /* written by the server: the entry's path */

/**
 * Build the upload for `src`: a .py/.js file, or a folder whose `entry`
 * (relative path) is the handler file. The result is the JSON text
 * {"kernless_bundle":1,"lang":"js"|"python","entry":"app.py",
 *  "files":{"app.py":"<base64>", "lib/util.py": ...}} (malloc'd, *out).
 * Folders skip dot-files, __pycache__ and node_modules. Returns 0, or -errno
 * with one line in `why`.
 */
int kl_bundle_build(const char *src, const char *entry, char **out, size_t *out_len,
                    char *why, size_t why_len);

/**
 * The same upload written to <workdir>/bundle.json (its path in `module`),
 * for callers that upload a file: `kl_lang_module` in src/cli/lang_hook.c
 * (deploy -f, up) is `return kl_bundle_write(source, NULL, workdir, module,
 * module_len, why, why_len);`. A folder without `entry` uses the first of
 * app.py, main.py, handler.py, handler.js, index.js, main.js it holds.
 * The server tells a bundle from a .wasm by its first byte.
 */
int kl_bundle_write(const char *src, const char *entry, const char *workdir, char *module,
                    size_t module_len, char *why, size_t why_len);

/** 1 if the upload looks like a bundle (a JSON object), not a .wasm. */
int kl_bundle_is(const uint8_t *data, size_t len);

/** What kl_bundle_unpack found. */
struct kl_bundle_info {
    char lang[16];        /* "js" or "python" */
    char entry[256];      /* relative path of the handler file */
    char sha256[65];      /* of the upload: names the code folder */
};

/**
 * Check a bundle and write its files into <code_root>/<sha256>/ (once: an
 * existing folder is reused), with KL_BUNDLE_ENTRY_FILE naming the entry.
 * Every name must be a plain relative path (no "..", no absolute path, no
 * dot-file at the top); sizes and counts are bounded. Returns 0, -EINVAL
 * (a bad bundle, reason in `why`) or another -errno.
 */
int kl_bundle_unpack(const uint8_t *data, size_t len, const char *code_root,
                     struct kl_bundle_info *info, char *dir, size_t dir_len,
                     char *why, size_t why_len);

#endif
