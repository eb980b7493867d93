/* cmd_rollback.c - `kernless rollback NAME [VERSION]`: serve an earlier version again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client_cmd.h"
#include "cli/cmd.h"
#include "cli/opts.h"
#include "client/client.h"

static int cmd_rollback(const struct kl_client *c, int argc, char **argv)
{
    char path[128], body[64] = "{}";
    uint32_t v;
    json_t *o;
    int st;

    if (argc != 2 && argc != 3)
        return kl_cli_usage_fail("kernless rollback NAME [VERSION] [--json]");
    if (kl_cli_fn_name(argv[1]) < 0)
        return 2;
    if (argc == 3) {
        if (kl_cli_u32("VERSION", argv[2], 1, 1000000000, &v) < 0)
            return 2;
        snprintf(body, sizeof(body), "{\"version\": %u}", v);
    }
    snprintf(path, sizeof(path), "/v1/functions/%s/rollback", argv[1]);
    if ((o = kl_client_call_json(c, "rollback", "POST", path, body, &st)) == NULL)
        return st;
    if (c->json)
        kl_client_print_json(o);
    else
        printf("%s now serves version %d\n", argv[1],
               (int)json_integer_value(json_object_get(o, "version")));
    json_decref(o);
    return 0;
}

static int run(int argc, char **argv)
{
    return kl_cli_client_main(argc, argv, cmd_rollback);
}

const struct kl_cmd kl_cmd_rollback = {
    .name = "rollback",
    .summary = "switch a function back to an earlier version",
    .usage =
    "usage: kernless rollback NAME [VERSION] [--json]\n"
    "  VERSION: the version to serve (default: the one before the active one)\n",
    .run = run,
};
