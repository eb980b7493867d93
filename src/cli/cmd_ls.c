/* cmd_ls.c - `kernless ls`: the deployed functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client_cmd.h"
#include "cli/cmd.h"
#include "client/client.h"

static int cmd_ls(const struct kl_client *c, int argc, char **argv)
{
    json_t *o, *f;
    size_t i;
    char when[32];
    int st;

    if (argc != 1)
        return kl_cli_usage_fail("kernless ls [--json]");
    if ((o = kl_client_call_json(c, "ls", "GET", "/v1/functions", NULL, &st)) == NULL)
        return st;
    if (c->json) {
        kl_client_print_json(o);
    } else {
        printf("%-24s %-8s %-9s %-20s %-11s %s\n", "NAME", "VERSION", "VERSIONS", "UPDATED",
               "TIER", "ROUTE");
        json_array_foreach(json_object_get(o, "functions"), i, f) {
            kl_client_fmt_time(json_integer_value(json_object_get(f, "updated")), when, sizeof(when));
            printf("%-24s %-8d %-9d %-20s %-11s %s\n",
                   json_string_value(json_object_get(f, "name")),
                   (int)json_integer_value(json_object_get(f, "version")),
                   (int)json_integer_value(json_object_get(f, "versions")), when,
                   json_string_value(json_object_get(f, "tier")) ?: "-",
                   json_string_value(json_object_get(f, "route")));
        }
    }
    json_decref(o);
    return 0;
}

static int run(int argc, char **argv)
{
    return kl_cli_client_main(argc, argv, cmd_ls);
}

const struct kl_cmd kl_cmd_ls = {
    .name = "ls",
    .summary = "list deployed functions",
    .usage =
    "usage: kernless ls [--json]\n"
    "  one line per function: name, active version, versions kept, last update,\n"
    "  tier (baseline, optimising, optimised), route\n",
    .run = run,
};
