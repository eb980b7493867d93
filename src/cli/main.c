/* main.c - the `kernless` binary: dispatch to a subcommand. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/opts.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"run", kl_cmd_run, "run a wasm32-wasi command module in a micro-VM"},
    {"compile", kl_cmd_compile, "compile a module ahead of time into a .kimg"},
    {"wast", kl_cmd_wast, "run WebAssembly spec test scripts (.wast) in micro-VMs"},
    {"serve", kl_cmd_serve, "start the HTTP gateway and management API"},
    {"deploy", kl_cmd_client, "deploy a module as an HTTP function (new version)"},
    {"ls", kl_cmd_client, "list deployed functions"},
    {"info", kl_cmd_client, "show a function and its versions"},
    {"rm", kl_cmd_client, "remove a function"},
    {"logs", kl_cmd_client, "show a function's log (-f to follow)"},
    {"rollback", kl_cmd_client, "switch a function back to an earlier version"},
    {"invoke", kl_cmd_client, "call a function through the server"},
    {"dashboard", kl_cmd_dashboard, "print the web dashboard's address, with a log-in token"},
    {"new", kl_cmd_new, "create a project from a template (new --list shows them)"},
    {"up", kl_cmd_up, "build and serve the functions of kernless.toml locally (--watch)"},
    {"nodes", kl_cmd_client, "list the nodes of a cluster with their health"},
    {"haproxy-config", kl_cmd_client, "print an HAProxy config for the cluster's live nodes"},
};

static int usage(FILE *f)
{
    fprintf(f, "usage: kernless COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    return f == stderr ? 2 : 0;
}

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
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return usage(stdout);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    kl_cli_fail("unknown command '%s' (see kernless --help)", argv[1]);
    return 2;
}
