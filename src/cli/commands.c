/* commands.c - the one table of `kernless` subcommands, and the dispatcher that picks one. */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/opts.h"
#include "cli/version.h"

/* Each defined in its own cmd_<name>.c. */
extern const struct kl_cmd kl_cmd_run, kl_cmd_compile, kl_cmd_wast, kl_cmd_serve,
    kl_cmd_deploy, kl_cmd_ls, kl_cmd_info, kl_cmd_rm, kl_cmd_logs, kl_cmd_rollback,
    kl_cmd_invoke, kl_cmd_dashboard, kl_cmd_new, kl_cmd_up, kl_cmd_nodes,
    kl_cmd_haproxy_config, kl_cmd_kv, kl_cmd_secret;

/* In the order `kernless --help` lists them. */
static const struct kl_cmd *const commands[] = {
    &kl_cmd_run, &kl_cmd_compile, &kl_cmd_wast, &kl_cmd_serve, &kl_cmd_deploy, &kl_cmd_ls,
    &kl_cmd_info, &kl_cmd_rm, &kl_cmd_logs, &kl_cmd_rollback, &kl_cmd_invoke,
    &kl_cmd_dashboard, &kl_cmd_new, &kl_cmd_up, &kl_cmd_nodes, &kl_cmd_haproxy_config,
    &kl_cmd_kv, &kl_cmd_secret,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The command list: on stdout for --help (status 0), on stderr when no
 * command was given (status 2). */
static int usage(FILE *f)
{
    fprintf(f, "usage: kernless COMMAND [ARGS...]\n"
               "       kernless COMMAND --help   (that command's options)\n"
               "       kernless --version        (release, image ABI, backends)\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    return f == stderr ? 2 : 0;
}

/* Whether the arguments ask for help: -h or --help among the options before
 * the first operand (after which they may be the guest's own, as in
 * `kernless run app.wasm --help`) or "--". */
static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

/* A command's usage on stdout, ending in one newline. */
static int command_help(const struct kl_cmd *c)
{
    size_t n = strlen(c->usage);

    fputs(c->usage, stdout);
    if (n == 0 || c->usage[n - 1] != '\n')
        putchar('\n');
    return 0;
}

/**
 * Run the subcommand named by argv[1] with the arguments after `kernless`
 * (so the command sees its own name as argv[0]); returns the process exit
 * status.
 */
int kl_cmd_dispatch(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return usage(stdout);
    if (!strcmp(argv[1], "--version"))
        return kl_cli_version();
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i]->name) != 0)
            continue;
        if (wants_help(argc - 1, argv + 1))
            return command_help(commands[i]);
        return commands[i]->run(argc - 1, argv + 1);
    }
    kl_cli_fail("unknown command '%s' (see kernless --help)", argv[1]);
    return 2;
}
