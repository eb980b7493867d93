/* compile.c - the AOT pipeline: check the module, wasm2c, cc, link with the guest runtime, pack, cache. */
#include "compile/compile.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/isa.h"
#include "common/util.h"
#include "compile/glue.h"
#include "compile/imports.h"
#include "compile/kimg_write.h"
#include "compile/split.h"
#include "compile/subproc.h"
#include "compile/tier.h"
#include "compile/wasm_module.h"
#include "inst/image.h"

#define KL_MAX_MODULE_BYTES (64u << 20)      /* a module upload is bounded */
#define KL_MAX_C_BYTES (512u << 20)          /* wasm2c output we are willing to patch */
#define KL_CC_MAX_AS (8ull << 30)            /* address-space cap for cc */
#define KL_CACHE_VERSION "kernless-cache-7"

/*
 * Compile limits, tighter than the reader's (JS API) caps because here the
 * cost is ours: wasm2c turns every function, local, global and segment into
 * C, and gcc's time and memory grow faster than linearly in them (a C
 * function with tens of thousands of locals is quadratic in the register
 * allocator). The numbers sit well above what real toolchains emit (large
 * Rust or C++ programs have ~100k functions, a few thousand locals in their
 * biggest -O0 function, a handful of globals, and tens of segments) so no
 * honest module is refused, while a crafted module cannot make one compile
 * run for hours or claim gigabytes.
 */
#define KL_COMPILE_MAX_FUNCS 250000u          /* imported + defined */
#define KL_COMPILE_MAX_FUNC_LOCALS 20000u     /* declared locals in one body */
#define KL_COMPILE_MAX_GLOBALS 100000u        /* imported + defined; each a C variable */
#define KL_COMPILE_MAX_ELEM_SEGMENTS 10000u   /* each an initializer table in C */
#define KL_COMPILE_MAX_DATA_SEGMENTS 50000u   /* each a C array */
/* Table entries are allocated at instantiation in the guest heap (tens of
 * bytes each): 1M entries is ~32 MiB; real tables hold a few thousand. */
#define KL_COMPILE_MAX_TABLE_SIZE 1000000u
/* Whole pipeline (validate, wasm2c, two cc runs, link), on top of each
 * tool's own timeout, so six slow steps cannot add up to an hour. */
#define KL_COMPILE_MAX_SECONDS 900u
#define KL_TOOL_MAX_SECONDS 600u

void kl_compile_opts_init(struct kl_compile_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->opt_level = 2;
    o->tier = kl_tier_default();
}

int kl_default_cache_dir(char *buf, size_t len)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;

    if (x && *x)
        n = snprintf(buf, len, "%s/kernless", x);
    else if (home && *home)
        n = snprintf(buf, len, "%s/.cache/kernless", home);
    else
        n = snprintf(buf, len, "/tmp/kernless-cache-%d", (int)getuid());
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void progress(const struct kl_compile_opts *o, const char *stage)
{
    if (o->progress)
        o->progress(o->progress_ctx, stage);
}

/* Find `name` in PATH and fold its size and mtime into the hash input. */
void kl_compile_tool_stamp(const char *name, char *buf, size_t len)
{
    const char *path = getenv("PATH");
    char full[PATH_MAX];
    struct stat st;

    snprintf(buf, len, "%s:missing", name);
    for (const char *p = path ? path : "/usr/bin"; p && *p;) {
        size_t n = strcspn(p, ":");
        snprintf(full, sizeof(full), "%.*s/%s", (int)n, p, name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            snprintf(buf, len, "%s:%lld:%lld", full, (long long)st.st_size,
                     (long long)st.st_mtime);
            return;
        }
        p += n + (p[n] == ':');
    }
}

/* Resolve the guest runtime, the C compiler and their identity hash. */
int kl_toolchain_get(struct kl_toolchain *tc, struct kl_err *err)
{
    char lib[PATH_MAX + 32], stamp[3][PATH_MAX + 64];
    const char *cc = getenv("KERNLESS_CC");
    uint8_t *rt = NULL;
    size_t rtlen = 0;
    int rc;

    memset(tc, 0, sizeof(*tc));
    memset(stamp, 0, sizeof(stamp));   /* hashed whole: no stack garbage in the key */
    if ((rc = kl_guest_dir(tc->guest_dir, sizeof(tc->guest_dir), err)) < 0)
        return rc;
    snprintf(tc->cc, sizeof(tc->cc), "%s", cc && *cc ? cc : "gcc");
    snprintf(lib, sizeof(lib), "%s/libkguest.a", tc->guest_dir);
    if ((rc = kl_read_file(lib, 64u << 20, &rt, &rtlen, err)) < 0)
        return kl_err_prefix(err, "guest runtime missing (build it with make): ");
    kl_compile_tool_stamp(tc->cc, stamp[0], sizeof(stamp[0]));
    kl_compile_tool_stamp("wasm2c", stamp[1], sizeof(stamp[1]));
    /* The ISA level is in the key: an image built for x86-64-v3 is not
     * found (and so is rebuilt) on a CPU without it, e.g. a copied cache. */
    tc->isa_level = kl_isa_host();
    snprintf(stamp[2], sizeof(stamp[2]), "%s isa=%u", KL_CACHE_VERSION, tc->isa_level);
    size_t n = rtlen + sizeof(stamp);
    uint8_t *all = malloc(n);
    if (!all) {
        free(rt);
        return kl_errf(err, -ENOMEM, "out of memory");
    }
    memcpy(all, rt, rtlen);
    memcpy(all + rtlen, stamp, sizeof(stamp));
    kl_sha256(all, n, tc->identity);
    free(all);
    free(rt);
    return kl_tier_identity(tc, err);
}

/* The C compiler's own header folder (stddef.h etc.); only a real compile
 * needs it, so a cache hit does not pay for this subprocess. */
int kl_toolchain_cc_include(struct kl_toolchain *tc, struct kl_err *err)
{
    const char *argv[] = {tc->cc, "-print-file-name=include", NULL};
    struct kl_subproc sp = {.timeout_s = 30};
    char line[PATH_MAX];

    if (kl_subproc_run(argv, &sp) < 0 || sp.exit_status != 0)
        return kl_errf(err, -ENOENT, "cannot run the C compiler %s", tc->cc);
    snprintf(tc->cc_include, sizeof(tc->cc_include), "%s",
             kl_subproc_first_line(&sp, line, sizeof(line)));
    return 0;
}

/* Run one tool; turn any failure into one clear line. */
static int run_tool(const char *stage, const char *const argv[], uint32_t timeout_s,
                    uint64_t max_as, struct kl_err *err)
{
    struct kl_subproc sp = {.timeout_s = timeout_s, .max_as_bytes = max_as};
    char line[256];
    int rc = kl_subproc_run(argv, &sp);

    if (rc < 0)
        return kl_errf(err, rc, "%s: cannot start %s: %s", stage, argv[0], strerror(-rc));
    if (sp.timed_out)
        return kl_errf(err, -ETIMEDOUT, "%s: %s took longer than %u s", stage, argv[0], timeout_s);
    if (sp.signaled)
        return kl_errf(err, -EINVAL, "%s: %s crashed on this module", stage, argv[0]);
    if (sp.exit_status != 0)
        return kl_errf(err, -EINVAL, "%s: %s", stage, kl_subproc_first_line(&sp, line, sizeof(line)));
    return 0;
}

/* One line when a count is over its compile limit. */
static int over(struct kl_err *err, const char *what, uint64_t n, uint64_t max)
{
    return kl_errf(err, -EFBIG, "module has %llu %s, over the limit of %llu",
                   (unsigned long long)n, what, (unsigned long long)max);
}

/* The compile limits above, on the counts the reader already took. */
static int check_limits(const struct kl_wasm_module *m, struct kl_err *err)
{
    uint64_t funcs = (uint64_t)m->nimported_funcs + m->nfuncs;
    uint64_t globals = (uint64_t)m->nimported_globals + m->nglobals;

    if (funcs > KL_COMPILE_MAX_FUNCS)
        return over(err, "functions", funcs, KL_COMPILE_MAX_FUNCS);
    if (m->max_func_locals > KL_COMPILE_MAX_FUNC_LOCALS)
        return over(err, "locals in one function", m->max_func_locals,
                    KL_COMPILE_MAX_FUNC_LOCALS);
    if (globals > KL_COMPILE_MAX_GLOBALS)
        return over(err, "globals", globals, KL_COMPILE_MAX_GLOBALS);
    if (m->nelems > KL_COMPILE_MAX_ELEM_SEGMENTS)
        return over(err, "element segments", m->nelems, KL_COMPILE_MAX_ELEM_SEGMENTS);
    if (m->ndatas > KL_COMPILE_MAX_DATA_SEGMENTS)
        return over(err, "data segments", m->ndatas, KL_COMPILE_MAX_DATA_SEGMENTS);
    for (uint32_t i = 0; i < m->ntables; i++)
        if (m->tables[i].limits.min > KL_COMPILE_MAX_TABLE_SIZE)
            return over(err, "table entries", m->tables[i].limits.min, KL_COMPILE_MAX_TABLE_SIZE);
    for (uint32_t i = 0; i < m->nimports; i++)
        if (m->imports[i].kind == KL_EXT_TABLE &&
            m->imports[i].limits.min > KL_COMPILE_MAX_TABLE_SIZE)
            return over(err, "table entries", m->imports[i].limits.min,
                        KL_COMPILE_MAX_TABLE_SIZE);
    return 0;
}

int kl_compile_check_features(const struct kl_wasm_module *m, struct kl_err *err)
{
    if (m->uses_v128)
        return kl_errf(err, -ENOTSUP, "module uses SIMD (v128), which Kernless does not support");
    if (m->nmemories + m->nimported_memories > 1)
        return kl_errf(err, -ENOTSUP, "module uses multiple memories, which Kernless does not "
                       "support");
    for (uint32_t i = 0; i < m->nmemories; i++)
        if (m->memories[i].shared || m->memories[i].is64)
            return kl_errf(err, -ENOTSUP, "module uses %s memory, which Kernless does not support",
                           m->memories[i].shared ? "shared (threads)" : "64-bit");
    return 0;
}

/* Structural checks and the features wasm2c 1.0.32 cannot handle. */
static int check_module(const uint8_t *wasm, size_t len, struct kl_wasm_module *m,
                        struct kl_err *err)
{
    int rc;

    if (len > KL_MAX_MODULE_BYTES)
        return kl_errf(err, -EFBIG, "module is %zu bytes, over the %u byte limit", len,
                       KL_MAX_MODULE_BYTES);
    if ((rc = kl_wasm_parse(wasm, len, m, err)) < 0)
        return kl_err_prefix(err, "invalid module: ");
    if ((rc = check_limits(m, err)) < 0)
        return rc;
    if ((rc = kl_compile_check_features(m, err)) < 0)
        return rc;
    return kl_imports_check_wasi(m, err);
}

/* wasm-validate catches what the structural reader does not: bad code, and
 * SIMD instructions hidden inside function bodies. */
static int validate(const char *wasm_path, uint32_t timeout_s, struct kl_err *err)
{
    const char *plain[] = {"wasm-validate", wasm_path, NULL};
    const char *nosimd[] = {"wasm-validate", "--disable-simd", wasm_path, NULL};
    int rc;

    /* Without SIMD first: a valid module (the usual case) needs one run;
     * only a refusal needs the second, to tell invalid from SIMD. */
    if (run_tool("validate", nosimd, timeout_s, KL_CC_MAX_AS, err) == 0)
        return 0;
    if ((rc = run_tool("invalid module", plain, timeout_s, KL_CC_MAX_AS, err)) < 0)
        return rc;
    return kl_errf(err, -ENOTSUP, "module uses SIMD instructions, which Kernless does not support");
}

static int write_text(const char *path, const void *data, size_t len, struct kl_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return kl_errf(err, -errno, "%s: %s", path, strerror(errno));
    size_t n = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || n != len)
        return kl_errf(err, -EIO, "%s: write failed", path);
    return 0;
}

/* kernless's patches to wasm2c's output, in memory (*buf grows by up to
 * 1 KiB: it is realloc'd). */
static int patch_generated(uint8_t **buf, size_t *len, struct kl_err *err)
{
    uint8_t *big = realloc(*buf, *len + 1024);

    if (!big)
        return kl_errf(err, -ENOMEM, "out of memory");
    *buf = big;
    size_t cap = *len + 1024;
    const char *what = kl_glue_patch_call_indirect((char *)big, len, cap) < 0 ? "CALL_INDIRECT"
                       : kl_glue_patch_table_traps((char *)big, len, cap) < 0 ? "table helpers"
                       : kl_glue_patch_mem_base((char *)big, len, cap) < 0 ? "memory helpers"
                       : NULL;
    if (what)
        return kl_errf(err, -EPROTO, "wasm2c output is not what this kernless expects "
                       "(%s); is wabt 1.0.32 installed?", what);
    return 0;
}

static int write_glue(const char *path, const struct kl_wasm_module *m, struct kl_err *err)
{
    FILE *f = fopen(path, "w");
    int rc;

    if (!f)
        return kl_errf(err, -errno, "%s: %s", path, strerror(errno));
    rc = kl_glue_write_command(f, m, err);
    if (fclose(f) != 0 && rc == 0)
        rc = kl_errf(err, -EIO, "%s: write failed", path);
    return rc;
}

/*
 * cc -c with the flags the guest runtime was built with (see Makefile), but
 * for this CPU's ISA level (x86-64-v3 where it has AVX2, BMI2, FMA): module
 * code runs at CPL 3 with the host's (process) or the VM's XSAVE state (KVM
 * enables it). -ffp-contract=off: Wasm float ops round one by one, so no
 * a*b+c may become an FMA, which rounds once.
 */
static int cc_compile(const struct kl_toolchain *tc, const char *src, const char *obj, int opt,
                      int tier, uint64_t max_as, uint32_t timeout_s, struct kl_err *err)
{
    char optflag[8], inc[PATH_MAX + 8];

    if (tier == KL_TIER_BASELINE)
        return kl_tier_tcc_compile(tc, src, obj, timeout_s, err);
    snprintf(optflag, sizeof(optflag), "-O%d", opt < 0 ? 0 : opt > 3 ? 3 : opt);
    snprintf(inc, sizeof(inc), "-I%s/include", tc->guest_dir);
    /* -pipe: no assembler temp file in $TMPDIR that a killed compile would
     * leave behind (kl_compile_interrupted removes only our own folder). */
    const char *argv[] = {tc->cc, "-c", "-pipe", optflag, "-std=gnu11", "-ffreestanding", "-fno-pic",
                          "-fno-pie", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
                          kl_isa_march(tc->isa_level), "-ffp-contract=off",
                          "-mcmodel=small", "-fno-math-errno", "-nostdinc",
                          /* Keep every Wasm call a real call: gcc otherwise turns
                           * some recursions into loops, and endless recursion must
                           * hit the stack guard ("call stack exhausted"). */
                          "-fno-optimize-sibling-calls",
                          "-isystem", tc->cc_include, inc,
                          "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1", "-w", src, "-o", obj, NULL};
    return run_tool("cc", argv, timeout_s, max_as ? max_as : KL_CC_MAX_AS, err);
}

/* Link the module's objects (m.o, or m0.o .. m<parts-1>.o) with the glue
 * and the guest runtime into m.elf. */
static int link_image(const struct kl_toolchain *tc, const char *dir, unsigned parts,
                      uint32_t timeout_s, struct kl_err *err)
{
    char ld[PATH_MAX + 16], lib[PATH_MAX + 16], tlib[PATH_MAX + 16], g_o[PATH_MAX],
        elf[PATH_MAX], objs[KL_SPLIT_MAX_PARTS][PATH_MAX];
    const char *argv[16 + KL_SPLIT_MAX_PARTS];
    size_t k = 0;

    snprintf(ld, sizeof(ld), "-Wl,-T,%s/guest.ld", tc->guest_dir);
    snprintf(lib, sizeof(lib), "%s/libkguest.a", tc->guest_dir);
    /* The baseline tier's helpers; an optimised image references none. */
    snprintf(tlib, sizeof(tlib), "%s/libkltcc.a", tc->guest_dir);
    snprintf(g_o, sizeof(g_o), "%s/glue.o", dir);
    snprintf(elf, sizeof(elf), "%s/m.elf", dir);
    const char *head[] = {tc->cc, "-nostdlib", "-static", "-no-pie", ld, "-Wl,-u,_start",
                          "-Wl,--build-id=none", "-Wl,-z,noexecstack", "-o", elf};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        argv[k++] = head[i];
    for (unsigned i = 0; i < (parts > 1 ? parts : 1); i++) {
        if (parts > 1)
            snprintf(objs[i], sizeof(objs[i]), "%s/m%u.o", dir, i);
        else
            snprintf(objs[i], sizeof(objs[i]), "%s/m.o", dir);
        argv[k++] = objs[i];
    }
    argv[k++] = g_o;
    argv[k++] = tlib;
    argv[k++] = lib;
    argv[k++] = "-lgcc";
    argv[k] = NULL;
    return run_tool("link", argv, timeout_s, KL_CC_MAX_AS, err);
}

/* One part of a split module, for kl_split_compile. */
struct part_cc {
    const struct kl_toolchain *tc;
    const char *dir;
    const struct kl_compile_opts *o;
    uint32_t timeout_s;
};

static int compile_part(void *ctx, unsigned k, struct kl_err *err)
{
    const struct part_cc *p = ctx;
    char src[PATH_MAX], obj[PATH_MAX];

    snprintf(src, sizeof(src), "%s/m%u.c", p->dir, k);
    snprintf(obj, sizeof(obj), "%s/m%u.o", p->dir, k);
    return cc_compile(p->tc, src, obj, p->o->opt_level, p->o->tier, p->o->max_as_bytes,
                      p->timeout_s, err);
}

/* C smaller than this is compiled whole; KERNLESS_SPLIT_MIN_BYTES lowers
 * it so tests can cut small modules (a split must not change behaviour). */
static size_t split_min(void)
{
    const char *env = getenv("KERNLESS_SPLIT_MIN_BYTES");

    return env && atol(env) > 0 ? (size_t)atol(env) : (size_t)1 << 20;
}

/* Translation units for `len` bytes of C, at least one per core once it is
 * big enough, at most KL_SPLIT_MAX_PARTS, so `jobs` compilers run at once.
 * gcc: one per 4 MiB as well, so each holds a share of the module's memory.
 * tcc: one per job; it needs little memory and its time is linear in the C.
 * KERNLESS_CC_JOBS caps jobs. */
static unsigned split_parts(size_t len, int tier, unsigned *jobs)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("KERNLESS_CC_JOBS");
    unsigned n;

    *jobs = env && atoi(env) > 0 ? (unsigned)atoi(env) : cores > 0 ? (unsigned)cores : 1;
    if (len < split_min())
        return 1;
    n = tier == KL_TIER_BASELINE ? 1 : (unsigned)(len / (4 << 20)) + 1;
    if (n < *jobs)
        n = *jobs;
    return n > KL_SPLIT_MAX_PARTS ? KL_SPLIT_MAX_PARTS : n;
}

/*
 * wasm2c's output made ready for the compiler, read once and written once
 * (each pass over the C of a 6 MB module costs a good part of a second):
 * kernless's patches, the baseline's tcc patch, then cut into m0.c ..
 * (compile/split.c) or written back whole as m.c. *parts: 1 for m.c.
 */
static int prepare_c(const char *dir, const char *c, int tier, unsigned *parts, unsigned *jobs,
                     struct kl_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    if ((rc = kl_read_file(c, KL_MAX_C_BYTES, &buf, &len, err)) < 0)
        return rc;
    if ((rc = patch_generated(&buf, &len, err)) < 0 ||
        (tier == KL_TIER_BASELINE && (rc = kl_tier_patch_buf((char **)&buf, &len, err)) < 0))
        goto out;
    rc = kl_split_buf((const char *)buf, len, dir, split_parts(len, tier, jobs), err);
    if (rc == 1) {
        rc = write_text(c, buf, len, err);
    } else if (rc > 1) {
        *parts = (unsigned)rc;
        rc = 0;
    }
out:
    free(buf);
    return rc;
}

/* The module's C, as prepare_c left it, into object(s): `parts` compiles,
 * `jobs` at a time, or one for m.c. */
static int compile_module_c(const struct kl_toolchain *tc, const char *dir, const char *c,
                            const char *mo, const struct kl_compile_opts *o, uint32_t t,
                            unsigned parts, unsigned jobs, struct kl_err *err)
{
    if (parts == 1)
        return cc_compile(tc, c, mo, o->opt_level, o->tier, o->max_as_bytes, t, err);
    struct part_cc p = {tc, dir, o, t};
    struct kl_split_cc cc = {parts, jobs, compile_part, &p};
    return kl_split_compile(&cc, err);
}

/* The front of the pipeline: wasm-validate and wasm2c both read m.wasm, at
 * once (wasm2c is the longest step of a baseline build, validate the
 * next). wasm2c's output is used only if validate passes, and validate's
 * error comes first, so a bad module is refused as before. */
struct front {
    const struct kl_compile_opts *o;
    const char *w, *c;
    uint32_t t;
};

static int front_step(void *ctx, unsigned k, struct kl_err *err)
{
    const struct front *f = ctx;
    const char *w2c[] = {"wasm2c", "-n", KL_GLUE_MODNAME, f->w, "-o", f->c, NULL};
    int rc;

    if (k == 1)
        return run_tool("wasm2c", w2c, f->t, KL_CC_MAX_AS, err);
    if ((rc = validate(f->w, f->t, err)) == 0)
        progress(f->o, "wasm2c");   /* valid; what is left is the translation */
    return rc;
}

/* A step's timeout: its own, cut to what is left of the whole compile
 * (at least 1 s, so a step past the deadline fails as a timeout). */
static uint32_t budget(uint64_t end, uint32_t t)
{
    uint64_t now = kl_now_ns(), left = now < end ? (end - now + 999999999ull) / 1000000000ull : 1;

    return left < t ? (uint32_t)(left ? left : 1) : t;
}

/* Everything after the module checks, inside a private temp folder. */
static int build_in(const char *dir, const struct kl_toolchain *tc, const uint8_t *wasm, size_t len,
                    const struct kl_wasm_module *m, const struct kl_compile_opts *o,
                    const char *out_path, struct kl_err *err)
{
    char w[PATH_MAX], c[PATH_MAX], g[PATH_MAX], mo[PATH_MAX], go[PATH_MAX], elf[PATH_MAX];
    uint32_t total = o->timeout_s && o->timeout_s < KL_COMPILE_MAX_SECONDS ? o->timeout_s
                     : KL_COMPILE_MAX_SECONDS;
    uint32_t t = total < KL_TOOL_MAX_SECONDS ? total : KL_TOOL_MAX_SECONDS;
    uint64_t end = kl_now_ns() + (uint64_t)total * 1000000000ull;
    uint8_t sha[32], *elfdata = NULL, *img = NULL;
    size_t elflen = 0, imglen = 0;
    unsigned parts = 1, jobs = 1;
    int rc;

    snprintf(w, sizeof(w), "%s/m.wasm", dir);
    snprintf(c, sizeof(c), "%s/m.c", dir);
    snprintf(g, sizeof(g), "%s/glue.c", dir);
    snprintf(mo, sizeof(mo), "%s/m.o", dir);
    snprintf(go, sizeof(go), "%s/glue.o", dir);
    snprintf(elf, sizeof(elf), "%s/m.elf", dir);
    if ((rc = write_text(w, wasm, len, err)) < 0)
        return rc;
    progress(o, "validate");
    struct front f = {o, w, c, budget(end, t)};
    struct kl_split_cc front = {2, 2, front_step, &f};
    if ((rc = kl_split_compile(&front, err)) < 0 || (rc = write_glue(g, m, err)) < 0 ||
        (rc = prepare_c(dir, c, o->tier, &parts, &jobs, err)) < 0)
        return rc;
    progress(o, "cc");
    if ((rc = compile_module_c(tc, dir, c, mo, o, budget(end, t), parts, jobs, err)) < 0 ||
        (rc = cc_compile(tc, g, go, 1, o->tier, o->max_as_bytes, budget(end, t), err)) < 0)
        return rc;
    progress(o, "link");
    if ((rc = link_image(tc, dir, parts, budget(end, t), err)) < 0 ||
        (rc = kl_read_file(elf, KL_IMAGE_MAX, &elfdata, &elflen, err)) < 0)
        return rc;
    kl_sha256(wasm, len, sha);
    rc = kl_kimg_from_elf(elfdata, elflen, sha, tc->isa_level, &img, &imglen, err);
    free(elfdata);
    if (rc == 0)
        rc = kl_write_file_atomic(out_path, img, imglen, 0644, err);
    free(img);
    return rc;
}

/* The build folder of the compile in progress, for kl_compile_interrupted;
 * a process compiles one module at a time (the server under its lock). */
static char live_dir[PATH_MAX];
static volatile sig_atomic_t live_dir_set;

/* dst = a + "/" + b, without stdio (signal handlers call this). */
static void join_path(char *dst, size_t cap, const char *a, const char *b)
{
    size_t i = 0;

    while (*a && i + 1 < cap)
        dst[i++] = *a++;
    if (i + 1 < cap)
        dst[i++] = '/';
    while (*b && i + 1 < cap)
        dst[i++] = *b++;
    dst[i] = 0;
}

void kl_compile_interrupted(void)
{
    /* Every file build_in and wasm2c write, by name: opendir is not
     * async-signal-safe, unlink and rmdir are. */
    static const char *const files[] = {"m.wasm", "m.c", "m.h", "glue.c", "m.o", "glue.o",
                                        "m.elf", "m0.c", "m0.o", "m1.c", "m1.o", "m2.c", "m2.o",
                                        "m3.c", "m3.o", "m4.c", "m4.o", "m5.c", "m5.o", "m6.c",
                                        "m6.o", "m7.c", "m7.o", "m8.c", "m8.o", "m9.c", "m9.o",
                                        "m10.c", "m10.o", "m11.c", "m11.o", "m12.c", "m12.o",
                                        "m13.c", "m13.o", "m14.c", "m14.o", "m15.c", "m15.o"};
    char p[PATH_MAX + 16];

    kl_subproc_kill_live();
    if (!live_dir_set)
        return;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        join_path(p, sizeof(p), live_dir, files[i]);
        unlink(p);
    }
    rmdir(live_dir);
}

static int compile_with(struct kl_toolchain *tc, const uint8_t *wasm, size_t len,
                        const struct kl_compile_opts *o, const char *out_path, struct kl_err *err)
{
    struct kl_wasm_module m;
    char dir[PATH_MAX];
    const char *tmp = o->build_dir ? o->build_dir : getenv("TMPDIR");
    int rc;

    memset(&m, 0, sizeof(m));
    progress(o, "check");
    /* Each tier asks only its own compiler where its headers are (the link
     * runs the cc driver, which needs none). */
    if ((rc = check_module(wasm, len, &m, err)) < 0 ||
        (o->tier != KL_TIER_BASELINE && (rc = kl_toolchain_cc_include(tc, err)) < 0) ||
        (o->tier == KL_TIER_BASELINE && (rc = kl_tier_tcc_include(tc, err)) < 0))
        goto out;
    snprintf(dir, sizeof(dir), "%s/kernless-build-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        rc = kl_errf(err, -errno, "cannot create a build folder: %s", strerror(errno));
        goto out;
    }
    memcpy(live_dir, dir, sizeof(live_dir));
    live_dir_set = 1;
    rc = build_in(dir, tc, wasm, len, &m, o, out_path, err);
    if (rc == -ETIMEDOUT)
        kl_err_prefix(err, "over the compile time limit: ");
    live_dir_set = 0;
    kl_rmdir_flat(dir);   /* nothing half-written stays behind */
out:
    kl_wasm_module_free(&m);
    return rc;
}

int kl_compile_to(const uint8_t *wasm, size_t len, const struct kl_compile_opts *o,
                  const char *out_path, struct kl_err *err)
{
    struct kl_toolchain tc;
    int rc = kl_toolchain_get(&tc, err);

    return rc < 0 ? rc : compile_with(&tc, wasm, len, o, out_path, err);
}

/* The cache path of a module (by its hash) under this toolchain and options. */
static int cache_path_sha(const struct kl_toolchain *tc, const uint8_t sha[32],
                          const struct kl_compile_opts *o, char *out_path, size_t out_path_len,
                          struct kl_err *err)
{
    char dir[PATH_MAX], hex[65];
    uint8_t key[32], in[32 + 32 + 4];
    int rc, base = o->tier == KL_TIER_BASELINE, opt = base ? KL_TIER_BASELINE_KEY : o->opt_level;

    if (o->cache_dir)
        snprintf(dir, sizeof(dir), "%s", o->cache_dir);
    else if (kl_default_cache_dir(dir, sizeof(dir)) < 0)
        return kl_errf(err, -ENAMETOOLONG, "cache folder path too long");
    if ((rc = kl_mkdir_p(dir, 0700)) < 0)
        return kl_errf(err, rc, "cannot create cache folder %s: %s", dir, strerror(-rc));
    /* Our own default folder is tightened even if an older version (or a
     * umask) left it open: it holds images we later load and run. A folder
     * the caller named is theirs to set up, and may be shared on purpose. */
    if (!o->cache_dir && chmod(dir, 0700) < 0)
        return kl_errf(err, -errno, "cannot restrict cache folder %s: %s", dir, strerror(errno));
    /* key = H(H(module) || toolchain identity || opt level); the baseline
     * tier's identity adds tcc and its level is KL_TIER_BASELINE_KEY, so the
     * optimised tier's keys are what they were before tiers existed. */
    memcpy(in, sha, 32);
    memcpy(in + 32, base ? tc->identity_baseline : tc->identity, 32);
    memcpy(in + 64, &opt, 4);
    kl_sha256(in, sizeof(in), key);
    kl_hex(key, 32, hex);
    if (snprintf(out_path, out_path_len, "%s/%s.kimg", dir, hex) >= (int)out_path_len)
        return kl_errf(err, -ENAMETOOLONG, "cache path too long");
    return 0;
}

static int cache_path(const struct kl_toolchain *tc, const uint8_t *wasm, size_t len,
                      const struct kl_compile_opts *o, char *out_path, size_t out_path_len,
                      struct kl_err *err)
{
    uint8_t sha[32];

    kl_sha256(wasm, len, sha);
    return cache_path_sha(tc, sha, o, out_path, out_path_len, err);
}

int kl_compile_cache_path(const struct kl_toolchain *tc, const uint8_t module_sha[32],
                          const struct kl_compile_opts *o, char *out_path, size_t out_path_len,
                          struct kl_err *err)
{
    struct kl_toolchain own;
    int rc;

    if (tc == NULL && (rc = kl_toolchain_get(&own, err)) < 0)
        return rc;
    return cache_path_sha(tc ? tc : &own, module_sha, o, out_path, out_path_len, err);
}

int kl_compile_image(const uint8_t *wasm, size_t len, const struct kl_compile_opts *o,
                     struct kl_image **img, char *path, size_t path_len, int *cached,
                     struct kl_err *err)
{
    struct kl_toolchain tc;
    char p[PATH_MAX];
    int rc;

    *cached = 0;
    if ((rc = kl_toolchain_get(&tc, err)) < 0 || (rc = cache_path(&tc, wasm, len, o, p, sizeof(p), err)) < 0)
        return rc;
    if (path)
        snprintf(path, path_len, "%s", p);
    if (!o->no_cache && o->fetch != NULL && access(p, F_OK) != 0)
        o->fetch(o->fetch_ctx, p);
    /* A cached image is used only if it verifies; a corrupt or tampered one
     * is rebuilt rather than trusted or left in the way. */
    if (!o->no_cache && access(p, R_OK) == 0 && kl_image_load(p, img, NULL) == 0) {
        *cached = 1;
        return 0;
    }
    if ((rc = compile_with(&tc, wasm, len, o, p, err)) < 0)
        return rc;
    return kl_image_load(p, img, err);
}

int kl_compile(const uint8_t *wasm, size_t len, const struct kl_compile_opts *o,
               char *out_path, size_t out_path_len, int *cached, struct kl_err *err)
{
    struct kl_image *img = NULL;
    int rc = kl_compile_image(wasm, len, o, &img, out_path, out_path_len, cached, err);

    kl_image_free(img);
    return rc;
}

/* ---- the pieces, for pipelines that build other kinds of images ---- */

int kl_compile_run_tool(const char *stage, const char *const argv[], uint32_t timeout_s,
                        struct kl_err *err)
{
    return run_tool(stage, argv, timeout_s, KL_CC_MAX_AS, err);
}

int kl_compile_validate(const char *wasm_path, uint32_t timeout_s, struct kl_err *err)
{
    return validate(wasm_path, timeout_s, err);
}

int kl_compile_cc(const struct kl_toolchain *tc, const char *src, const char *obj, int opt,
                  int tier, uint32_t timeout_s, struct kl_err *err)
{
    return cc_compile(tc, src, obj, opt, tier, 0, timeout_s, err);
}
