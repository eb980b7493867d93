/* main.c - the `kernless` binary: park /dev/null on closed stdio, then dispatch to a subcommand (commands.c). */
#include <fcntl.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "host/svc.h"
#include "host/wasi_service.h"
#include "wast/invoke.h"

/* If we start with a stdio descriptor closed (CI runs us with no stdin),
 * the next open() would take its number and, e.g., /dev/kvm would become
 * the guest's stdin. Park /dev/null there first. */
static void ensure_stdio(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
            _exit(127);
}

int main(int argc, char **argv)
{
    ensure_stdio();
    /* The services guests may call, registered once before any instance
     * exists (the core hostcalls are inst's own). */
    if (kl_wasi_host_register() < 0 || kl_svc_register() < 0 || kl_invoke_register() < 0)
        return kl_cli_fail("cannot register the hostcall services");
    return kl_cmd_dispatch(argc, argv);
}
