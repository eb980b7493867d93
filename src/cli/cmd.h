/* cmd.h - one subcommand of the `kernless` binary: each lives in its own cmd_<name>.c and is listed once in commands.c. */
#ifndef KL_CLI_CMD_H
#define KL_CLI_CMD_H

/**
 * A subcommand. `run` takes the arguments after `kernless` (argv[0] is the
 * command's name) and returns the process exit status; errors print one
 * line "kernless: ..." on stderr. `usage` is printed, and 0 returned, for
 * `kernless NAME --help` (or -h) before `run` is called, so a command never
 * parses --help itself.
 */
struct kl_cmd {
    const char *name;
    const char *summary;  /* one line for `kernless --help` */
    const char *usage;    /* "usage: kernless NAME ...\n" plus option lines */
    int (*run)(int argc, char **argv);
};

/**
 * Run the subcommand argv[1] (src/cli/commands.c); `kernless --help` lists
 * them. Returns the process exit status.
 */
int kl_cmd_dispatch(int argc, char **argv);

#endif
