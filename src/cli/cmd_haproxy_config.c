/* cmd_haproxy_config.c - `kernless haproxy-config`: an HAProxy config for the live nodes of a cluster. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli/client_cmd.h"
#include "cli/cmd.h"

/* HAProxy names allow letters, digits and "-_.:"; anything else becomes '_'. */
static void hap_name(const char *in, char *out, size_t len)
{
    size_t i;

    for (i = 0; in[i] && i + 1 < len; i++)
        out[i] = isalnum((unsigned char)in[i]) || strchr("-_.:", in[i]) ? in[i] : '_';
    out[i] = 0;
}

static const char hap_head[] =
    "# HAProxy in front of a Kernless cluster; made by `kernless haproxy-config`.\n"
    "# Run: haproxy -f THIS_FILE. Make it again when nodes join or leave.\n"
    "# It fronts the nodes' function listeners (serve --listen). Their management\n"
    "# API and dashboard (serve --admin-listen) are another origin: proxied only\n"
    "# by the kernless_admin frontend that `haproxy-config --admin-listen ADDR`\n"
    "# adds; bind that one to an internal address.\n"
    "global\n"
    "    maxconn 4096\n"
    "\n"
    "defaults\n"
    "    mode http\n"
    "    timeout connect 2s\n"
    "    timeout client 60s\n"
    "    # A deploy's compile may take minutes (serve --compile-timeout-s).\n"
    "    timeout server 15m\n"
    "    timeout http-request 10s\n"
    "    # A node that is gone (refused, reset, no answer): try another one.\n"
    "    retries 3\n"
    "    option redispatch 1\n"
    "    retry-on conn-failure empty-response response-timeout\n"
    "\n"
    "frontend kernless\n"
    "    bind %s\n"
    "    default_backend kernless_nodes\n"
    "\n"
    "backend kernless_nodes\n"
    "    # Consistent hashing on the first path segment, where a function's route\n"
    "    # starts: one function's requests land on one node and find its VMs warm,\n"
    "    # and a node joining or leaving moves only its own share of functions.\n"
    "    balance uri depth 1\n"
    "    hash-type consistent\n"
    "    # Only idempotent requests are ever sent twice.\n"
    "    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }\n"
    "    option httpchk GET /healthz\n"
    "    http-check expect status 200\n"
    "    default-server check inter 1s fall 2 rise 2\n";

/* The admin side: any node answers for the shared registry (logs are
 * gathered from each node by the CLI); never retried unless idempotent. */
static const char hap_admin[] =
    "\n"
    "frontend kernless_admin\n"
    "    bind %s\n"
    "    default_backend kernless_admin_nodes\n"
    "\n"
    "backend kernless_admin_nodes\n"
    "    balance roundrobin\n"
    "    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }\n"
    "    option httpchk GET /healthz\n"
    "    http-check expect status 200\n"
    "    default-server check inter 1s fall 2 rise 2\n";

/* One "server" line per healthy node, at its address under `key`. */
static void hap_servers(json_t *nodes, const char *key)
{
    char name[128];
    const char *a;
    json_t *n;
    size_t i;

    json_array_foreach(nodes, i, n) {
        if (!json_is_true(json_object_get(n, "healthy")))
            continue;
        a = json_string_value(json_object_get(n, key));
        if (a == NULL || *a == 0)   /* a node older than the admin listener */
            a = json_string_value(json_object_get(n, "address"));
        hap_name(json_string_value(json_object_get(n, "name")), name, sizeof(name));
        printf("    server %s %s\n", name, a ? a : "");
    }
}

static int cmd_haproxy(const struct kl_client *c, int argc, char **argv)
{
    const char *listen = ":8000", *admin = NULL;
    json_t *o, *n;
    size_t i, live = 0;
    int st, a;

    for (a = 1; a < argc; a += 2) {
        if (a + 1 < argc && strcmp(argv[a], "--listen") == 0) {
            listen = argv[a + 1];
        } else if (a + 1 < argc && strcmp(argv[a], "--admin-listen") == 0) {
            admin = argv[a + 1];
        } else {
            fprintf(stderr, "kernless: usage: kernless haproxy-config [--listen ADDR] "
                    "[--admin-listen ADDR]\n");
            return 2;
        }
    }
    if ((o = kl_client_call_json(c, "haproxy-config", "GET", "/v1/nodes", NULL, &st)) == NULL)
        return st;
    json_array_foreach(json_object_get(o, "nodes"), i, n)
        live += json_is_true(json_object_get(n, "healthy"));
    if (live == 0) {
        fprintf(stderr, "kernless: haproxy-config: no live node in the cluster\n");
        json_decref(o);
        return 1;
    }
    printf(hap_head, listen);
    hap_servers(json_object_get(o, "nodes"), "address");
    if (admin != NULL) {
        printf(hap_admin, admin);
        hap_servers(json_object_get(o, "nodes"), "admin_address");
    }
    json_decref(o);
    return 0;
}

static int run(int argc, char **argv)
{
    return kl_cli_client_main(argc, argv, cmd_haproxy);
}

const struct kl_cmd kl_cmd_haproxy_config = {
    .name = "haproxy-config",
    .summary = "print an HAProxy config for the cluster's live nodes",
    .usage =
    "usage: kernless haproxy-config [--listen ADDR] [--admin-listen ADDR]\n"
    "  --listen        where HAProxy serves functions (default :8000)\n"
    "  --admin-listen  also proxy the management API and dashboard there\n"
    "                  (bind it to an internal address)\n",
    .run = run,
};
