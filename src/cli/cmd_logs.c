/* cmd_logs.c - `kernless logs NAME [-f]`: a function's log, from one node or every node of a cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client_cmd.h"
#include "cli/cmd.h"
#include "client/client.h"

/* Print a batch of log lines; returns the next cursor. */
static long long print_logs(const struct kl_client *c, json_t *o)
{
    json_t *l;
    size_t i;

    json_array_foreach(json_object_get(o, "lines"), i, l)
        kl_client_print_log(c, l, NULL);
    fflush(stdout);
    return (long long)json_integer_value(json_object_get(o, "next"));
}

static int cmd_logs(const struct kl_client *c, int argc, char **argv)
{
    long long after = 0;
    int follow = 0, st;
    char path[200];
    json_t *o;

    if (argc == 3 && (strcmp(argv[2], "-f") == 0 || strcmp(argv[2], "--follow") == 0))
        follow = 1;
    else if (argc != 2)
        return kl_cli_usage_fail("kernless logs NAME [-f] [--json]");
    if (kl_cli_fn_name(argv[1]) < 0)
        return 2;
    /* A cluster: every live node has its own lines. */
    if ((st = kl_client_logs_cluster(c, argv[1], follow)) >= 0)
        return st;
    do {
        snprintf(path, sizeof(path), "/v1/functions/%s/logs?after=%lld&wait=%d",
                 argv[1], after, follow ? 25 : 0);
        if ((o = kl_client_call_json(c, "logs", "GET", path, NULL, &st)) == NULL)
            return st;
        after = print_logs(c, o);
        json_decref(o);
    } while (follow);
    return 0;
}

static int run(int argc, char **argv)
{
    return kl_cli_client_main(argc, argv, cmd_logs);
}

const struct kl_cmd kl_cmd_logs = {
    .name = "logs",
    .summary = "show a function's log (-f to follow)",
    .usage =
    "usage: kernless logs NAME [-f|--follow] [--json]\n"
    "  -f  keep printing new lines as they come (from every live node of a cluster)\n",
    .run = run,
};
