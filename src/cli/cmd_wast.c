/* cmd_wast.c - `kernless wast FILE.wast...`: run spec test scripts like `wasmtime wast`, every module compiled and run in a micro-VM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "wast/wast.h"

static const char wast_usage[] =
    "usage: kernless wast [-j N] [--opt 0|1|2] [--timeout-ms N] [--cache-dir DIR]\n"
    "                     [--isolation auto|kvm|process] [-v] FILE.wast...\n"
    "  One line per failed check (FILE:LINE: what, expected, got), then\n"
    "  \"N passed, N failed, N skipped\". Checks are assertions, module definitions\n"
    "  and actions. -v also lists skips (with their reason) and per-file totals.\n"
    "  --isolation as for kernless run (default auto, or $KERNLESS_ISOLATION);\n"
    "  -v names the backend used.";

static int default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

static int cmd_wast(int argc, char **argv)
{
    struct kl_wast_opts o = {.jobs = default_jobs(), .opt_level = 0, .timeout_ms = 20000,
                             .out = stdout};
    struct kl_wast_totals t = {0};
    struct kl_err err = {0};
    const char *isolation = NULL;
    uint32_t v;
    int i, rc;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o.verbose = 1;
        } else if (!strncmp(a, "-j", 2) && a[2]) {
            if (kl_cli_u32("-j", a + 2, 1, 64, &v) < 0)
                return 2;
            o.jobs = (int)v;
        } else if (!strcmp(a, "-j") && val) {
            if (kl_cli_u32(a, val, 1, 64, &v) < 0)
                return 2;
            o.jobs = (int)v;
            i++;
        } else if (!strcmp(a, "--opt") && val) {
            if (kl_cli_u32(a, val, 0, 3, &v) < 0)
                return 2;
            o.opt_level = (int)v;
            i++;
        } else if (!strcmp(a, "--timeout-ms") && val) {
            if (kl_cli_u32(a, val, 1, 3600000, &o.timeout_ms) < 0)
                return 2;
            i++;
        } else if (!strcmp(a, "--isolation") && val) {
            isolation = val;
            i++;
        } else if (!strcmp(a, "--cache-dir") && val) {
            o.cache_dir = val;
            i++;
        } else {
            kl_cli_fail("unknown or incomplete option '%s'\n%s", a, wast_usage);
            return 2;
        }
    }
    if (i >= argc) {
        kl_cli_fail("no script given\n%s", wast_usage);
        return 2;
    }
    /* The backend, before any VM and before any seccomp filter. */
    if ((rc = kl_cli_isolation(isolation)) != 0)
        return rc;
    if (o.verbose) {
        char desc[700];
        fprintf(stderr, "kernless wast: isolation: %s\n", kl_cli_isolation_desc(desc, sizeof(desc)));
    }
    if (kl_wast_run((const char *const *)argv + i, (size_t)(argc - i), &o, &t, &err) < 0)
        return kl_cli_fail("%s", err.msg);
    printf("%llu passed, %llu failed, %llu skipped\n", (unsigned long long)t.passed,
           (unsigned long long)t.failed, (unsigned long long)t.skipped);
    return t.failed ? 1 : 0;
}

const struct kl_cmd kl_cmd_wast = {
    .name = "wast",
    .summary = "run WebAssembly spec test scripts (.wast) in micro-VMs",
    .usage = wast_usage,
    .run = cmd_wast,
};
