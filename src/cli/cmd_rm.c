/* cmd_rm.c - `kernless rm NAME`: remove a function. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client_cmd.h"
#include "cli/cmd.h"
#include "client/client.h"

static int cmd_rm(const struct kl_client *c, int argc, char **argv)
{
    char path[128];
    json_t *o;
    int st;

    if (argc != 2)
        return kl_cli_usage_fail("kernless rm NAME [--json]");
    if (kl_cli_fn_name(argv[1]) < 0)
        return 2;
    snprintf(path, sizeof(path), "/v1/functions/%s", argv[1]);
    if ((o = kl_client_call_json(c, "rm", "DELETE", path, NULL, &st)) == NULL)
        return st;
    if (c->json)
        kl_client_print_json(o);
    else
        printf("removed %s\n", argv[1]);
    json_decref(o);
    return 0;
}

static int run(int argc, char **argv)
{
    return kl_cli_client_main(argc, argv, cmd_rm);
}

const struct kl_cmd kl_cmd_rm = {
    .name = "rm",
    .summary = "remove a function",
    .usage =
    "usage: kernless rm NAME [--json]\n",
    .run = run,
};
