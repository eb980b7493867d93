/* version.c - `kernless --version`: the release, the image ABI and the backends this host offers. */
#include <stdio.h>
#include <string.h>

#include "cli/version.h"
#include "common/err.h"
#include "kernless/abi.h"
#include "kernless/version.h"
#include "vm/vm.h"

/*
 * The backends come from the same choice `run` and `serve` make with
 * --isolation auto: KVM when a VM can be created (else the reason it
 * cannot), the process sandbox as the fallback. When auto picks KVM the
 * process sandbox is not probed (probing it needs nothing from the host
 * that KVM does not, and would select it for this process).
 */
int kl_cli_version(void)
{
    struct kl_err err = {0};
    int rc = kl_isolation_select(KL_ISOLATION_AUTO, &err);
    const char *name = rc < 0 ? "none" : kl_isolation_name();
    const char *note = kl_isolation_note();

    printf("kernless %s\n", KL_VERSION);
    printf("image ABI version %u\n", KL_ABI_VERSION);
    if (strcmp(name, "kvm") == 0)
        printf("backend kvm: available\n");
    else
        printf("backend kvm: unavailable (%s)\n", note[0] ? note : err.msg);
    if (strcmp(name, "process") == 0)
        printf("backend process: available\n");
    else if (rc < 0)
        printf("backend process: unavailable (%s)\n", err.msg);
    else
        printf("backend process: built in (not probed: kvm is used)\n");
    printf("default isolation: %s\n", name);
    return 0;
}
