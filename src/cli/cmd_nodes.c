/* cmd_nodes.c - `kernless nodes`: the nodes of a cluster with their health. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/client_cmd.h"
#include "cli/cmd.h"

static int cmd_nodes(const struct kl_client *c, int argc, char **argv)
{
    json_t *o, *n;
    size_t i;
    const char *a;
    char when[32];
    time_t t;
    struct tm tm;
    int st;

    if (argc != 1) {
        fprintf(stderr, "kernless: usage: kernless nodes [--json]\n");
        return 2;
    }
    if ((o = kl_client_call_json(c, "nodes", "GET", "/v1/nodes", NULL, &st)) == NULL)
        return st;
    if (c->json) {
        char *s = json_dumps(o, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
        return 0;
    }
    printf("%-24s %-22s %-22s %-10s %-8s %-20s %s\n", "NAME", "ADDRESS", "ADMIN", "ISOLATION",
           "VERSION", "LAST SEEN", "HEALTH");
    json_array_foreach(json_object_get(o, "nodes"), i, n) {
        t = (time_t)(json_integer_value(json_object_get(n, "last_seen_ms")) / 1000);
        localtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        a = json_string_value(json_object_get(n, "admin_address"));
        printf("%-24s %-22s %-22s %-10s %-8s %-20s %s\n",
               json_string_value(json_object_get(n, "name")),
               json_string_value(json_object_get(n, "address")), a && *a ? a : "-",
               json_string_value(json_object_get(n, "isolation")),
               json_string_value(json_object_get(n, "version")), when,
               json_is_true(json_object_get(n, "healthy")) ? "healthy" : "down");
    }
    json_decref(o);
    return 0;
}

static int run(int argc, char **argv)
{
    return kl_cli_client_main(argc, argv, cmd_nodes);
}

const struct kl_cmd kl_cmd_nodes = {
    .name = "nodes",
    .summary = "list the nodes of a cluster with their health",
    .usage =
    "usage: kernless nodes [--json]\n"
    "  one line per node: name, addresses, isolation, version, last heartbeat, health\n",
    .run = run,
};
