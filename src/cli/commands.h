/* commands.h - the subcommands of the `kernless` binary. */
#ifndef KL_CLI_COMMANDS_H
#define KL_CLI_COMMANDS_H

/* Each takes the arguments after the subcommand name (argv[0] is the
 * subcommand) and returns the process exit status. Errors print one line
 * "kernless: ..." on stderr. */
int kl_cmd_run(int argc, char **argv);
int kl_cmd_compile(int argc, char **argv);
int kl_cmd_serve(int argc, char **argv);
int kl_cmd_client(int argc, char **argv); /* deploy, ls, info, rm, logs, rollback, invoke */
int kl_cmd_wast(int argc, char **argv);
int kl_cmd_dashboard(int argc, char **argv); /* the web dashboard's log-in address */
int kl_cmd_new(int argc, char **argv);    /* new TEMPLATE NAME | new --list */
int kl_cmd_up(int argc, char **argv);     /* up [-f kernless.toml] [--listen A] [--watch] */

#endif
