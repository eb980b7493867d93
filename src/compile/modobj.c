/* modobj.c - per-module cached objects for invoke images: check, validate, wasm2c, glue, cc; and the image link. */
#include "compile/modobj.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "compile/glue_invoke.h"
#include "compile/kimg_write.h"
#include "compile/subproc.h"
#include "compile/tier.h"
#include "kernless/abi.h"

/* Bump when the glue or the patches change: objects are keyed by it. */
#define OBJ_VERSION "kl-invoke-obj-4"
#define IMG_VERSION "kl-invoke-img-3"
#define VERDICT_VERSION "kl-invoke-verdict-2"
#define MAX_C_BYTES (512u << 20)

static uint32_t timeout_of(const struct kl_modobj_opts *o)
{
    return o->timeout_s ? o->timeout_s : 600;
}

/* <cache>/invoke/<sub>, created. */
static int cache_subdir(const struct kl_modobj_opts *o, const char *sub, char *out, size_t len,
                        struct kl_err *err)
{
    char base[PATH_MAX];
    int rc;

    if (o->cache_dir)
        snprintf(base, sizeof(base), "%s", o->cache_dir);
    else if (kl_default_cache_dir(base, sizeof(base)) < 0)
        return kl_errf(err, -ENAMETOOLONG, "cache folder path too long");
    if (snprintf(out, len, "%s/invoke/%s", base, sub) >= (int)len)
        return kl_errf(err, -ENAMETOOLONG, "cache folder path too long");
    if ((rc = kl_mkdir_p(out, 0700)) < 0)
        return kl_errf(err, rc, "cannot create cache folder %s: %s", out, strerror(-rc));
    return 0;
}

/* H(version || H(module) || toolchain identity || opt level); the baseline
 * tier (opt KL_TIER_BASELINE_KEY) is keyed by the identity that adds tcc. */
static void module_key(const char *version, const struct kl_toolchain *tc, const uint8_t *wasm,
                       size_t len, int opt, uint8_t key[32])
{
    uint8_t in[32 + 32 + 4 + 32];

    memset(in, 0, sizeof(in));
    kl_sha256(wasm, len, in);
    memcpy(in + 32, opt == KL_TIER_BASELINE_KEY ? tc->identity_baseline : tc->identity, 32);
    memcpy(in + 64, &opt, 4);
    snprintf((char *)in + 68, 32, "%s", version);
    kl_sha256(in, sizeof(in), key);
}

int kl_modobj_init(struct kl_modobj *o, const struct kl_toolchain *tc, const uint8_t *wasm,
                   size_t len, const struct kl_modobj_opts *opts, struct kl_err *err)
{
    char dir[PATH_MAX], hex[65];
    int rc;

    memset(o, 0, sizeof(*o));
    module_key(OBJ_VERSION, tc, wasm, len,
               opts->tier == KL_TIER_BASELINE ? KL_TIER_BASELINE_KEY : opts->opt_level, o->key);
    kl_hex(o->key, 32, hex);
    snprintf(o->cname, sizeof(o->cname), "k%.16s", hex);
    if ((rc = cache_subdir(opts, "obj", dir, sizeof(dir), err)) < 0)
        return rc;
    if (snprintf(o->path, sizeof(o->path), "%s/%s.o", dir, hex) >= (int)sizeof(o->path))
        return kl_errf(err, -ENAMETOOLONG, "cache path too long");
    o->cached = access(o->path, R_OK) == 0;
    return 0;
}

/* ---- a private temp folder holding a fixed set of file names ---- */

static const char *const tmp_files[] = {"m.wasm", "m.c", "m.h", "m.o", "img.c", "img.o", "m.elf"};

static int tmp_make(char *dir, size_t len, struct kl_err *err)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, len, "%s/kernless-obj-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return kl_errf(err, -errno, "cannot create a temporary folder: %s", strerror(errno));
    return 0;
}

static void tmp_remove(const char *dir)
{
    char p[PATH_MAX];

    for (size_t i = 0; i < sizeof(tmp_files) / sizeof(tmp_files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, tmp_files[i]);
        unlink(p);
    }
    rmdir(dir);
}

static int write_bytes(const char *path, const void *data, size_t len, struct kl_err *err)
{
    FILE *f = fopen(path, "w");
    size_t n;

    if (!f)
        return kl_errf(err, -errno, "%s: %s", path, strerror(errno));
    n = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || n != len)
        return kl_errf(err, -EIO, "%s: write failed", path);
    return 0;
}

/* Copy a finished file into the cache atomically. */
static int publish(const char *from, const char *to, size_t max, struct kl_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = kl_read_file(from, max, &data, &len, err);

    if (rc == 0)
        rc = kl_write_file_atomic(to, data, len, 0644, err);
    free(data);
    return rc;
}

/* ---- one module ---- */

/* Does the module hold an instruction with the SIMD prefix 0xfd? wabt
 * 1.0.32's validator lets some through with SIMD disabled (the extending
 * loads), and wasm2c then aborts; its disassembler knows them all. */
static int has_simd_opcodes(const char *wasm_path, uint32_t t)
{
    const char *argv[] = {"sh", "-c", "wasm-objdump -d \"$1\" | grep -c '^ *[0-9a-f]*: fd '",
                          "sh", wasm_path, NULL};
    struct kl_subproc sp = {.timeout_s = t};

    return kl_subproc_run(argv, &sp) == 0 && !sp.signaled && !sp.timed_out &&
           atoi(sp.output) > 0;
}

static int wasm2c(const char *dir, const char *cname, uint32_t t, struct kl_err *err)
{
    char w[PATH_MAX], c[PATH_MAX];
    int rc;

    snprintf(w, sizeof(w), "%s/m.wasm", dir);
    snprintf(c, sizeof(c), "%s/m.c", dir);
    const char *argv[] = {"wasm2c", "-n", cname, w, "-o", c, NULL};
    if ((rc = kl_compile_run_tool("wasm2c", argv, t, err)) < 0 && has_simd_opcodes(w, t))
        return kl_errf(err, -ENOTSUP, "module uses SIMD instructions, which wasm2c 1.0.32 "
                       "cannot compile");
    return rc;
}

/* m.c = prologue + patched wasm2c output + epilogue. */
static int frame_output(const char *dir, const struct kl_wasm_module *m, const char *cname,
                        struct kl_err *err)
{
    char c[PATH_MAX];
    uint8_t *src = NULL;
    size_t len = 0;
    FILE *f;
    int rc;

    snprintf(c, sizeof(c), "%s/m.c", dir);
    if ((rc = kl_read_file(c, MAX_C_BYTES, &src, &len, err)) < 0)
        return rc;
    if ((rc = kl_glue_invoke_patch((char **)&src, &len, err)) < 0)
        goto out;
    if (!(f = fopen(c, "w"))) {
        rc = kl_errf(err, -errno, "%s: %s", c, strerror(errno));
        goto out;
    }
    rc = kl_glue_invoke_prologue(f, m, cname, err);
    if (rc == 0 && fwrite(src, 1, len, f) != len)
        rc = kl_errf(err, -EIO, "%s: write failed", c);
    if (rc == 0)
        rc = kl_glue_invoke_epilogue(f, m, cname, err);
    if (fclose(f) != 0 && rc == 0)
        rc = kl_errf(err, -EIO, "%s: write failed", c);
out:
    free(src);
    return rc;
}

static int build_in(const char *dir, struct kl_modobj *o, const struct kl_toolchain *tc,
                    const uint8_t *wasm, size_t len, const struct kl_wasm_module *m,
                    const struct kl_modobj_opts *opts, struct kl_err *err)
{
    char w[PATH_MAX], c[PATH_MAX], obj[PATH_MAX];
    uint32_t t = timeout_of(opts);
    int rc;

    snprintf(w, sizeof(w), "%s/m.wasm", dir);
    snprintf(c, sizeof(c), "%s/m.c", dir);
    snprintf(obj, sizeof(obj), "%s/m.o", dir);
    if ((rc = write_bytes(w, wasm, len, err)) < 0 || (rc = kl_compile_validate(w, t, err)) < 0 ||
        (rc = wasm2c(dir, o->cname, t, err)) < 0 || (rc = frame_output(dir, m, o->cname, err)) < 0 ||
        (opts->tier == KL_TIER_BASELINE && (rc = kl_tier_patch_c(c, err)) < 0) ||
        (rc = kl_compile_cc(tc, c, obj, opts->opt_level, opts->tier, t, err)) < 0)
        return rc;
    return publish(obj, o->path, KL_IMAGE_MAX, err);
}

int kl_modobj_build(struct kl_modobj *o, const struct kl_toolchain *tc, const uint8_t *wasm,
                    size_t len, const struct kl_wasm_module *m,
                    const struct kl_modobj_opts *opts, struct kl_err *err)
{
    char dir[PATH_MAX];
    int rc;

    if (o->cached)
        return 0;
    if ((rc = kl_compile_check_features(m, err)) < 0 || (rc = tmp_make(dir, sizeof(dir), err)) < 0)
        return rc;
    rc = build_in(dir, o, tc, wasm, len, m, opts, err);
    tmp_remove(dir);
    if (rc == 0)
        o->cached = 1;
    return rc;
}

/* ---- the image ---- */

static int link_in(const char *dir, const struct kl_toolchain *tc, const struct kl_modobj *objs,
                   size_t n, const struct kl_modobj_opts *opts, const uint8_t key[32],
                   const char *img_path, struct kl_err *err)
{
    char src[PATH_MAX], io[PATH_MAX], elf[PATH_MAX], ld[PATH_MAX + 16], lib[PATH_MAX + 16],
        tlib[PATH_MAX + 16];
    const char **argv = calloc(n + 16, sizeof(*argv)), **names = calloc(n + 1, sizeof(*names));
    uint8_t *elfdata = NULL, *img = NULL;
    size_t elflen = 0, imglen = 0, k = 0;
    FILE *f;
    int rc;

    if (!argv || !names) {
        rc = kl_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    snprintf(src, sizeof(src), "%s/img.c", dir);
    snprintf(io, sizeof(io), "%s/img.o", dir);
    snprintf(elf, sizeof(elf), "%s/m.elf", dir);
    for (size_t i = 0; i < n; i++)
        names[i] = objs[i].cname;
    if (!(f = fopen(src, "w"))) {
        rc = kl_errf(err, -errno, "%s: %s", src, strerror(errno));
        goto out;
    }
    rc = kl_glue_invoke_image(f, names, n, err);
    if (fclose(f) != 0 && rc == 0)
        rc = kl_errf(err, -EIO, "%s: write failed", src);
    if (rc < 0 || (rc = kl_compile_cc(tc, src, io, 1, KL_TIER_OPTIMISED, timeout_of(opts), err)) < 0)
        goto out;
    snprintf(ld, sizeof(ld), "-Wl,-T,%s/guest.ld", tc->guest_dir);
    snprintf(lib, sizeof(lib), "%s/libkguest.a", tc->guest_dir);
    snprintf(tlib, sizeof(tlib), "%s/libkltcc.a", tc->guest_dir);   /* baseline objects' helpers */
    const char *head[] = {tc->cc, "-nostdlib", "-static", "-no-pie", ld, "-Wl,-u,_start",
                          "-Wl,--build-id=none", "-Wl,-z,noexecstack", "-o", elf, io};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        argv[k++] = head[i];
    for (size_t i = 0; i < n; i++)
        argv[k++] = objs[i].path;
    argv[k++] = tlib;
    argv[k++] = lib;
    argv[k++] = "-lgcc";
    if ((rc = kl_compile_run_tool("link", argv, timeout_of(opts), err)) < 0 ||
        (rc = kl_read_file(elf, KL_IMAGE_MAX, &elfdata, &elflen, err)) < 0 ||
        (rc = kl_kimg_from_elf(elfdata, elflen, key, tc->isa_level, &img, &imglen, err)) < 0)
        goto out;
    rc = kl_write_file_atomic(img_path, img, imglen, 0644, err);
out:
    free(elfdata);
    free(img);
    free(argv);
    free(names);
    return rc;
}

int kl_modobj_link(const struct kl_toolchain *tc, const struct kl_modobj *objects, size_t n,
                   const struct kl_modobj_opts *opts, char *img_path, size_t img_path_len,
                   int *cached, struct kl_err *err)
{
    char dir[PATH_MAX], cdir[PATH_MAX], hex[65];
    uint8_t key[32];
    size_t inlen = 64 + n * 32;
    uint8_t *in = malloc(inlen);
    int rc;

    if (!in)
        return kl_errf(err, -ENOMEM, "out of memory");
    memset(in, 0, 64);
    memcpy(in, tc->identity, 32);
    snprintf((char *)in + 32, 32, "%s", IMG_VERSION);
    for (size_t i = 0; i < n; i++)
        memcpy(in + 64 + i * 32, objects[i].key, 32);
    kl_sha256(in, inlen, key);
    free(in);
    kl_hex(key, 32, hex);
    *cached = 0;
    if ((rc = cache_subdir(opts, "img", cdir, sizeof(cdir), err)) < 0)
        return rc;
    if (snprintf(img_path, img_path_len, "%s/%s.kimg", cdir, hex) >= (int)img_path_len)
        return kl_errf(err, -ENAMETOOLONG, "cache path too long");
    if (access(img_path, R_OK) == 0) {
        *cached = 1;
        return 0;
    }
    if ((rc = tmp_make(dir, sizeof(dir), err)) < 0)
        return rc;
    rc = link_in(dir, tc, objects, n, opts, key, img_path, err);
    tmp_remove(dir);
    return rc;
}

/* ---- the front end alone ---- */

/* The external tools' verdict (wasm-validate, then wasm2c). */
static int tools_verdict(const char *dir, const uint8_t *wasm, size_t len, int simd, uint32_t t,
                         int *rejected, struct kl_err *err)
{
    char w[PATH_MAX];
    int rc;

    *rejected = 1;
    snprintf(w, sizeof(w), "%s/m.wasm", dir);
    if ((rc = write_bytes(w, wasm, len, err)) < 0)
        return rc;
    rc = kl_compile_validate(w, t, err);
    if (rc == -EINVAL)
        return 0;
    if (rc == -ENOTSUP)
        simd = 1;
    else if (rc < 0)
        return rc;
    /* Valid as far as wabt can tell; wasm2c would abort on SIMD, which is a
     * limit of the tool, not a verdict on the module. */
    if (!simd && wasm2c(dir, "m", t, err) == -EINVAL)
        return 0;
    *rejected = 0;
    return kl_errf(err, 0, "the module was accepted");
}

/* Verdict file: "1 <reason>" (rejected) or "0 <note>". */
static int verdict_load(const char *path, int *rejected, struct kl_err *err)
{
    uint8_t *d = NULL;
    size_t n = 0;

    if (access(path, R_OK) != 0 || kl_read_file(path, 4096, &d, &n, NULL) < 0)
        return -ENOENT;
    if (n < 2 || (d[0] != '0' && d[0] != '1')) {
        free(d);
        return -ENOENT;
    }
    *rejected = d[0] == '1';
    kl_errf(err, 0, "%.*s", (int)(n - 2), (const char *)d + 2);
    free(d);
    return 0;
}

int kl_modobj_front_end(const struct kl_toolchain *tc, const uint8_t *wasm, size_t len,
                        const struct kl_modobj_opts *opts, int *rejected, struct kl_err *err)
{
    char cdir[PATH_MAX], path[PATH_MAX + 80], dir[PATH_MAX], hex[65], line[600];
    struct kl_wasm_module m;
    uint8_t key[32];
    int rc, simd;

    /* Our own reader first, never cached: it is part of this binary. */
    *rejected = 1;
    if (kl_wasm_parse(wasm, len, &m, err) < 0)
        return kl_err_prefix(err, "malformed: "), 0;
    simd = m.uses_v128;
    kl_wasm_module_free(&m);
    /* The tools' verdict is cached by module and tool identity. */
    module_key(VERDICT_VERSION, tc, wasm, len, 0, key);
    kl_hex(key, 32, hex);
    if ((rc = cache_subdir(opts, "verdict", cdir, sizeof(cdir), err)) < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", cdir, hex);
    if (verdict_load(path, rejected, err) == 0)
        return 0;
    if ((rc = tmp_make(dir, sizeof(dir), err)) < 0)
        return rc;
    rc = tools_verdict(dir, wasm, len, simd, timeout_of(opts), rejected, err);
    tmp_remove(dir);
    if (rc < 0)
        return rc;
    snprintf(line, sizeof(line), "%d %s", *rejected, err->msg);
    kl_write_file_atomic(path, line, strlen(line), 0644, NULL);   /* a cache miss next time is fine */
    return 0;
}
