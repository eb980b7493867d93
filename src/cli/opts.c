/* opts.c - small argument-parsing helpers shared by the CLI subcommands. */
#include "cli/opts.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/compile.h"
#include "vm/vm.h"

int kl_cli_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("kernless: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int kl_cli_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || *s == '-' || v < min || v > max) {
        kl_cli_fail("%s needs a number from %u to %u, got '%s'", opt, min, max, s ? s : "");
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

int kl_cli_isolation(const char *value)
{
    const char *env = value ? NULL : getenv("KERNLESS_ISOLATION");
    enum kl_isolation want = KL_ISOLATION_AUTO;
    struct kl_err err = {0};

    if (env && env[0])   /* set but empty: as if unset */
        value = env;
    else
        env = NULL;
    if (value && kl_isolation_parse(value, &want) < 0) {
        kl_cli_fail("%s must be auto, kvm or process, got '%s'",
                    env ? "KERNLESS_ISOLATION" : "--isolation", value);
        return 2;
    }
    if (kl_isolation_select(want, &err) < 0) {
        if (env)
            return kl_cli_fail("%s (from KERNLESS_ISOLATION=%s)", err.msg, env);
        return kl_cli_fail("%s", err.msg);
    }
    return 0;
}

const char *kl_cli_isolation_desc(char *buf, size_t size)
{
    const char *note = kl_isolation_note();

    if (note[0])
        snprintf(buf, size, "%s (KVM not usable: %s)", kl_isolation_name(), note);
    else
        snprintf(buf, size, "%s", kl_isolation_name());
    return buf;
}

/* Ctrl-C or a kill during a compile: clean up the build, then die of the
 * signal as if there were no handler. */
static void on_stop_signal(int sig)
{
    kl_compile_interrupted();
    signal(sig, SIG_DFL);
    raise(sig);
}

void kl_cli_stop_signals(int on)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], on ? on_stop_signal : SIG_DFL);
}
