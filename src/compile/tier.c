/* tier.c - the baseline tier: tcc's compile of wasm2c output, its identity, and the tier names users see. */
#include "compile/tier.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "compile/compile.h"
#include "compile/subproc.h"

const char *kl_tier_name(int tier)
{
    return tier == KL_TIER_BASELINE ? "baseline" : "optimised";
}

int kl_tier_parse(const char *name)
{
    if (name == NULL)
        return -EINVAL;
    if (strcmp(name, "baseline") == 0)
        return KL_TIER_BASELINE;
    if (strcmp(name, "optimised") == 0 || strcmp(name, "optimized") == 0)
        return KL_TIER_OPTIMISED;
    return -EINVAL;
}

int kl_tier_default(void)
{
    int t = kl_tier_parse(getenv("KERNLESS_TIER"));

    return t < 0 ? KL_TIER_OPTIMISED : t;
}

/* tcc -print-search-dirs starts with "install: <dir>"; its headers are in
 * <dir>/include. Asked, not assumed, because the folder is per-distribution. */
int kl_tier_tcc_include(struct kl_toolchain *tc, struct kl_err *err)
{
    const char *argv[] = {"tcc", "-print-search-dirs", NULL};
    struct kl_subproc sp = {.timeout_s = 30};
    char line[PATH_MAX];
    const char *dir;

    if (tc->tcc_include[0])
        return 0;
    if (kl_subproc_run(argv, &sp) < 0 || sp.signaled || sp.timed_out || sp.exit_status != 0)
        return kl_errf(err, -ENOENT, "cannot run tcc (the baseline tier's compiler; "
                       "run scripts/deps.sh)");
    kl_subproc_first_line(&sp, line, sizeof(line));
    if (strncmp(line, "install: ", 9) != 0)
        return kl_errf(err, -EPROTO, "tcc -print-search-dirs said \"%s\", not \"install: DIR\"",
                       line);
    dir = line + 9;
    snprintf(tc->tcc_include, sizeof(tc->tcc_include), "%s/include", dir);
    return 0;
}

/* Bump when the baseline's patches (kl_tier_patch_c) change. */
#define KL_TIER_BASELINE_VERSION "kl-baseline-1"

/* The files a baseline compile reads besides the module's C: the helpers'
 * archive and the headers whose tcc branches only it sees. */
static const char *const baseline_inputs[] = {"libkltcc.a", "tcc/kl_tcc.h", "tcc/stdint.h",
                                              "include/string.h", "include/math.h"};

int kl_tier_identity(struct kl_toolchain *tc, struct kl_err *err)
{
    char path[PATH_MAX + 32], stamp[PATH_MAX + 64];
    uint8_t in[32 + 32 + sizeof(stamp) + 32], *data;
    size_t len, i;
    int rc;

    /* h = identity; per input: h = H(h || version || tcc stamp || H(file)) */
    memset(in, 0, sizeof(in));
    memcpy(in, tc->identity, 32);
    snprintf((char *)in + 32, 32, "%s", KL_TIER_BASELINE_VERSION);
    memset(stamp, 0, sizeof(stamp));
    kl_compile_tool_stamp("tcc", stamp, sizeof(stamp));
    memcpy(in + 64, stamp, sizeof(stamp));
    for (i = 0; i < sizeof(baseline_inputs) / sizeof(baseline_inputs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tc->guest_dir, baseline_inputs[i]);
        if ((rc = kl_read_file(path, 16u << 20, &data, &len, err)) < 0)
            return kl_err_prefix(err, "baseline-tier runtime missing (build it with make): ");
        kl_sha256(data, len, in + 64 + sizeof(stamp));
        free(data);
        kl_sha256(in, sizeof(in), in);
    }
    memcpy(tc->identity_baseline, in, 32);
    return 0;
}

/*
 * tcc with the guest's own headers and none of the host's: -nostdinc, then
 * guest/tcc (stdint.h, which tcc lacks, and kl_tcc.h, the builtins as calls),
 * the guest headers and tcc's stddef.h/stdarg.h. tcc emits plain x86-64
 * SSE2 code; it never contracts a*b+c into an FMA, keeps every call a call
 * (so endless recursion still meets the stack guard) and has no -O levels.
 */
int kl_tier_tcc_compile(const struct kl_toolchain *tc, const char *src, const char *obj,
                        uint32_t timeout_s, struct kl_err *err)
{
    char tinc[PATH_MAX + 8], ginc[PATH_MAX + 16], cinc[PATH_MAX + 8], pre[PATH_MAX + 16];

    snprintf(tinc, sizeof(tinc), "-I%s/tcc", tc->guest_dir);
    snprintf(ginc, sizeof(ginc), "-I%s/include", tc->guest_dir);
    snprintf(cinc, sizeof(cinc), "-I%s", tc->tcc_include);
    snprintf(pre, sizeof(pre), "%s/tcc/kl_tcc.h", tc->guest_dir);
    const char *argv[] = {"tcc", "-c", "-nostdinc", tinc, ginc, cinc, "-include", pre,
                          "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1", "-w", src, "-o", obj, NULL};
    return kl_compile_run_tool("tcc", argv, timeout_s, err);
}

/* Does `p` start "-(w2c_f<digits>)" or "-(w2c_d<digits>)"? Returns 'f', 'd' or 0. */
static int neg_at(const char *p, const char *end)
{
    const char *q = p + 7;

    if (end - p < 9 || memcmp(p, "-(w2c_", 6) != 0 || (p[6] != 'f' && p[6] != 'd'))
        return 0;
    if (q >= end || *q < '0' || *q > '9')
        return 0;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    return q < end && *q == ')' ? p[6] : 0;
}

/*
 * wasm2c writes f32.neg/f64.neg as -(w2c_fN) / -(w2c_dN) (its float stack
 * temporaries; nothing else is named so). gcc flips the sign bit; tcc
 * computes 0 - x, which quiets a NaN and keeps its sign, where Wasm's neg
 * only flips the sign. Baseline code calls kl_tcc_negf/negd instead.
 */
int kl_tier_patch_buf(char **buf, size_t *len, struct kl_err *err)
{
    const char *p = *buf, *end = p + *len;
    char *out, *o;
    size_t n = 0;

    for (const char *q = p; (q = memchr(q, '-', (size_t)(end - q))) != NULL; q++)
        n += neg_at(q, end) != 0;
    if (n == 0)
        return 0;
    if (!(out = o = malloc(*len + n * 16)))
        return kl_errf(err, -ENOMEM, "out of memory");
    while (p < end) {
        int k = *p == '-' ? neg_at(p, end) : 0;
        if (k) {
            o += sprintf(o, "kl_tcc_neg%c(", k);
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    free(*buf);
    *buf = out;
    *len = (size_t)(o - out);
    return 0;
}

int kl_tier_patch_c(const char *path, struct kl_err *err)
{
    uint8_t *src = NULL;
    char *c;
    size_t len = 0, was;
    int rc;

    if ((rc = kl_read_file(path, 512u << 20, &src, &len, err)) < 0)
        return rc;
    c = (char *)src;
    was = len;
    if ((rc = kl_tier_patch_buf(&c, &len, err)) == 0 && len != was)   /* every patch lengthens */
        rc = kl_write_file_atomic(path, c, len, 0644, err);
    free(c);
    return rc;
}
