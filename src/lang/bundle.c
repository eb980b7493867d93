/* bundle.c - pack a function's source files into one JSON upload (CLI), check and unpack it (server). */
#include "lang/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"
#include "lang/engine.h"

/* ---- building (the CLI) ---- */

struct walk {
    json_t *files;
    size_t bytes, count;
    char *why;
    size_t why_len;
};

static int add_file(struct walk *w, const char *path, const char *rel)
{
    struct kl_err err = {0};
    uint8_t *data = NULL;
    size_t len = 0;
    char *b64;

    if (++w->count > KL_BUNDLE_MAX_FILES) {
        snprintf(w->why, w->why_len, "more than %d files", KL_BUNDLE_MAX_FILES);
        return -E2BIG;
    }
    if (kl_read_file(path, KL_BUNDLE_MAX_BYTES - w->bytes, &data, &len, &err) < 0) {
        snprintf(w->why, w->why_len, "%s", err.msg);
        return -EIO;
    }
    w->bytes += len;
    if (!(b64 = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1))) {
        free(data);
        return -ENOMEM;
    }
    base64_encode_raw(b64, len, data);
    b64[BASE64_ENCODE_RAW_LENGTH(len)] = 0;
    json_object_set_new(w->files, rel, json_string(b64));
    free(b64);
    free(data);
    return 0;
}

/* Add every regular file under dir (rel: its name in the bundle, "" at the top). */
static int add_dir(struct walk *w, const char *dir, const char *rel, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;

    if (!d) {
        snprintf(w->why, w->why_len, "%s: %s", dir, strerror(errno));
        return -errno;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char path[PATH_MAX], name[PATH_MAX];
        struct stat st;

        if (e->d_name[0] == '.' || !strcmp(e->d_name, "__pycache__") ||
            !strcmp(e->d_name, "node_modules"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        snprintf(name, sizeof(name), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        if (stat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 16)
            rc = add_dir(w, path, name, depth + 1);
        else if (S_ISREG(st.st_mode))
            rc = add_file(w, path, name);
    }
    closedir(d);
    return rc;
}

int kl_bundle_build(const char *src, const char *entry, char **out, size_t *out_len,
                    char *why, size_t why_len)
{
    struct walk w = {json_object(), 0, 0, why, why_len};
    struct stat st;
    const char *lang;
    char *slash;
    int rc;

    if (stat(src, &st) < 0) {
        snprintf(why, why_len, "%s: %s", src, strerror(errno));
        rc = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        if (!entry) {
            snprintf(why, why_len, "deploying the folder %s needs --entry FILE (e.g. app.py)", src);
            rc = -EINVAL;
            goto out;
        }
        rc = add_dir(&w, src, "", 0);
    } else {
        slash = strrchr(src, '/');
        entry = slash ? slash + 1 : src;
        rc = add_file(&w, src, entry);
    }
    if (rc < 0)
        goto out;
    if (!(lang = kl_lang_of(entry))) {
        snprintf(why, why_len, "%s is neither a .py nor a .js file", entry);
        rc = -EINVAL;
        goto out;
    }
    if (!json_object_get(w.files, entry)) {
        snprintf(why, why_len, "%s has no file %s", src, entry);
        rc = -ENOENT;
        goto out;
    }
    json_t *b = json_pack("{s:i,s:s,s:s,s:O}", "kernless_bundle", 1, "lang", lang, "entry", entry,
                          "files", w.files);
    *out = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!*out) {
        rc = -ENOMEM;
        goto out;
    }
    *out_len = strlen(*out);
out:
    json_decref(w.files);
    return rc;
}

int kl_bundle_write(const char *src, const char *entry, const char *workdir, char *module,
                    size_t module_len, char *why, size_t why_len)
{
    static const char *const entries[] = {"app.py", "main.py", "handler.py", "handler.js",
                                          "index.js", "main.js"};
    struct kl_err err = {0};
    struct stat st;
    char *b = NULL, probe[PATH_MAX];
    size_t n = 0;
    int rc;

    if (!entry && stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
        for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]) && !entry; i++) {
            snprintf(probe, sizeof(probe), "%s/%s", src, entries[i]);
            if (access(probe, R_OK) == 0)
                entry = entries[i];
        }
        if (!entry) {
            snprintf(why, why_len, "the folder has none of app.py, main.py, handler.py, "
                     "handler.js, index.js, main.js");
            return -ENOENT;
        }
    }
    if ((rc = kl_bundle_build(src, entry, &b, &n, why, why_len)) < 0)
        return rc;
    if ((rc = kl_mkdir_p(workdir, 0755)) < 0) {
        snprintf(why, why_len, "cannot create %s: %s", workdir, strerror(-rc));
        free(b);
        return rc;
    }
    snprintf(module, module_len, "%s/bundle.json", workdir);
    rc = kl_write_file_atomic(module, b, n, 0600, &err);
    if (rc < 0)
        snprintf(why, why_len, "%s", err.msg);
    free(b);
    return rc;
}

/* ---- unpacking (the server) ---- */

int kl_bundle_is(const uint8_t *data, size_t len)
{
    return len > 0 && data[0] == '{';
}

/* A plain relative path: components of [A-Za-z0-9._-] (no empty, ".", ".."
 * or dot-first component), at most 16 deep. */
static int name_ok(const char *n)
{
    int depth = 0;

    if (!*n || strlen(n) > 240)
        return 0;
    for (const char *c = n; *c; ) {
        const char *end = strchrnul(c, '/');
        if (end == c || c[0] == '.' || ++depth > 16)
            return 0;
        for (const char *p = c; p < end; p++)
            if (!(*p == '.' || *p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
                  (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                return 0;
        c = *end ? end + 1 : end;
    }
    return 1;
}

/* Decode one base64 file and write it under root (folders made as needed). */
static int write_one(const char *root, const char *name, const char *b64, char *why,
                     size_t why_len)
{
    struct base64_decode_ctx ctx;
    struct kl_err err = {0};
    size_t n = strlen(b64), out_len = BASE64_DECODE_LENGTH(n);
    uint8_t *buf = malloc(out_len + 1);
    char path[PATH_MAX];
    int rc = -EINVAL;

    if (!buf)
        return -ENOMEM;
    base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &out_len, buf, n, b64) || !base64_decode_final(&ctx)) {
        snprintf(why, why_len, "file %s is not valid base64", name);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/%s", root, name);
    char *slash = strrchr(path, '/');
    *slash = 0;
    if ((rc = kl_mkdir_p(path, 0755)) < 0) {
        snprintf(why, why_len, "cannot create %s: %s", path, strerror(-rc));
        goto out;
    }
    *slash = '/';
    if ((rc = kl_write_file_atomic(path, buf, out_len, 0644, &err)) < 0)
        snprintf(why, why_len, "%s", err.msg);
out:
    free(buf);
    return rc;
}

/* Check the bundle's fields; files and entry are borrowed from b. */
static int check(json_t *b, struct kl_bundle_info *info, json_t **files, char *why,
                 size_t why_len)
{
    const char *lang = json_string_value(json_object_get(b, "lang"));
    const char *entry = json_string_value(json_object_get(b, "entry"));
    const char *name;
    json_t *v;

    *files = json_object_get(b, "files");
    if (!json_is_object(*files) || !lang || !entry) {
        snprintf(why, why_len, "a source upload needs \"lang\", \"entry\" and \"files\"");
        return -EINVAL;
    }
    if (strcmp(lang, "js") != 0 && strcmp(lang, "python") != 0) {
        snprintf(why, why_len, "unknown language \"%.20s\" (js or python)", lang);
        return -EINVAL;
    }
    if (json_object_size(*files) > KL_BUNDLE_MAX_FILES) {
        snprintf(why, why_len, "more than %d files", KL_BUNDLE_MAX_FILES);
        return -EINVAL;
    }
    json_object_foreach(*files, name, v) {
        if (!name_ok(name) || !json_is_string(v)) {
            snprintf(why, why_len, "bad file name \"%.80s\" (plain relative paths only)", name);
            return -EINVAL;
        }
    }
    if (!name_ok(entry) || !json_object_get(*files, entry) || !kl_lang_of(entry) ||
        strcmp(kl_lang_of(entry), lang) != 0) {
        snprintf(why, why_len, "the entry \"%.80s\" is not one of the bundle's %s files", entry,
                 lang);
        return -EINVAL;
    }
    snprintf(info->lang, sizeof(info->lang), "%s", lang);
    snprintf(info->entry, sizeof(info->entry), "%s", entry);
    return 0;
}

int kl_bundle_unpack(const uint8_t *data, size_t len, const char *code_root,
                     struct kl_bundle_info *info, char *dir, size_t dir_len,
                     char *why, size_t why_len)
{
    json_error_t jerr;
    json_t *b = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr), *files, *v;
    struct kl_err err = {0};
    char tmp[PATH_MAX], entry_path[PATH_MAX + 32];
    const char *name;
    uint8_t md[32];
    int rc;

    if (!b) {
        snprintf(why, why_len, "the source upload is not JSON: %s", jerr.text);
        return -EINVAL;
    }
    if ((rc = check(b, info, &files, why, why_len)) < 0)
        goto out;
    kl_sha256(data, len, md);
    kl_hex(md, sizeof(md), info->sha256);
    snprintf(dir, dir_len, "%s/%s", code_root, info->sha256);
    if (access(dir, F_OK) == 0)   /* the same upload was unpacked before */
        goto out;
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-%d", code_root, info->sha256, (int)getpid());
    if ((rc = kl_mkdir_p(tmp, 0755)) < 0) {
        snprintf(why, why_len, "cannot create %s: %s", tmp, strerror(-rc));
        goto out;
    }
    json_object_foreach(files, name, v)
        if ((rc = write_one(tmp, name, json_string_value(v), why, why_len)) < 0)
            goto out;
    snprintf(entry_path, sizeof(entry_path), "%s/" KL_BUNDLE_ENTRY_FILE, tmp);
    if ((rc = kl_write_file_atomic(entry_path, info->entry, strlen(info->entry), 0644, &err)) < 0) {
        snprintf(why, why_len, "%s", err.msg);
        goto out;
    }
    if (rename(tmp, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
        rc = -errno;
        snprintf(why, why_len, "cannot rename %s: %s", tmp, strerror(errno));
    }
out:
    json_decref(b);
    return rc;
}
