/* cmd_compile.c - `kernless compile`: a module compiled ahead of time into a .kimg image. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "common/util.h"
#include "compile/compile.h"
#include "compile/tier.h"

static int cmd_compile(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    uint32_t opt = 2;
    int tier = kl_tier_default();
    uint8_t *data = NULL;
    size_t len = 0;
    struct kl_err err = {0};
    struct kl_compile_opts o;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--opt") && i + 1 < argc) {
            if (kl_cli_u32("--opt", argv[++i], 0, 3, &opt) < 0)
                return 1;
        } else if (!strcmp(argv[i], "--tier") && i + 1 < argc) {
            if ((tier = kl_tier_parse(argv[++i])) < 0)
                return kl_cli_fail("--tier must be baseline or optimised, got '%s'", argv[i]);
        } else if (argv[i][0] == '-' || in)
            return kl_cli_fail("usage: kernless compile [--opt 0|1|2] [--tier baseline|optimised] "
                               "module.wasm -o module.kimg");
        else
            in = argv[i];
    }
    if (!in || !out)
        return kl_cli_fail("usage: kernless compile [--opt 0|1|2] [--tier baseline|optimised] "
                           "module.wasm -o module.kimg");
    if (kl_read_file(in, 64u << 20, &data, &len, &err) < 0)
        return kl_cli_fail("%s", err.msg);
    kl_compile_opts_init(&o);
    o.opt_level = (int)opt;
    o.tier = tier;
    kl_cli_stop_signals(1);
    int rc = kl_compile_to(data, len, &o, out, &err);
    kl_cli_stop_signals(0);
    free(data);
    if (rc < 0)
        return kl_cli_fail("%s: %s", in, err.msg);
    return 0;
}

const struct kl_cmd kl_cmd_compile = {
    .name = "compile",
    .summary = "compile a module ahead of time into a .kimg",
    .usage = 
    "usage: kernless compile [--opt 0|1|2] [--tier baseline|optimised] module.wasm -o module.kimg\n"
    "  --opt  the C compiler's optimisation level for the module (default 2)\n"
    "  --tier baseline: tcc, compiled in a blink, runs like -O0; optimised: gcc\n"
    "         (default: KERNLESS_TIER, else optimised)\n"
    "  -o     where to write the image (kernless run takes it as is)\n",
    .run = cmd_compile,
};
