/* cmd_info.c - `kernless info NAME`: a function, its config and its versions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client_cmd.h"
#include "cli/client_svc.h"
#include "cli/cmd.h"
#include "client/client.h"

/* "tier: optimised (swapped in at ..., compiled in N s, or built by another
 * node)" or why it is not. */
static void print_tier(json_t *o)
{
    const char *tier = json_string_value(json_object_get(o, "tier"));
    const char *why = json_string_value(json_object_get(o, "optimise_error"));
    json_t *at = json_object_get(o, "tier_swapped_at");
    char when[32];

    if (tier == NULL)
        return;
    printf("tier:       %s", tier);
    if (at != NULL && strcmp(tier, "optimised") == 0) {
        kl_client_fmt_time(json_integer_value(at), when, sizeof(when));
        if (json_object_get(o, "optimise_seconds") != NULL)
            printf(" (swapped in at %s, compiled in %.1f s)", when,
                   json_number_value(json_object_get(o, "optimise_seconds")));
        else    /* tier_source "registry": another node of the cluster built it */
            printf(" (swapped in at %s, built by another node)", when);
    }
    if (why != NULL)
        printf(" (optimise failed: %s)", why);
    printf("\n");
}

static void print_info(json_t *o)
{
    json_t *cfg = json_object_get(o, "config"), *v;
    size_t i;
    char when[32];

    printf("name:       %s\n", json_string_value(json_object_get(o, "name")));
    printf("version:    %d (active)\n", (int)json_integer_value(json_object_get(o, "active")));
    printf("route:      %s\n", json_string_value(json_object_get(o, "route")));
    print_tier(o);
    printf("timeout:    %d ms\n", (int)json_integer_value(json_object_get(cfg, "timeout_ms")));
    printf("memory:     %d MiB max\n", (int)json_integer_value(json_object_get(cfg, "max_memory_mb")));
    printf("body:       %d KiB max\n", (int)json_integer_value(json_object_get(cfg, "max_body_kb")));
    printf("response:   %d KiB max\n", (int)json_integer_value(json_object_get(cfg, "max_response_kb")));
    printf("open files: %d max\n", (int)json_integer_value(json_object_get(cfg, "max_open_files")));
    json_array_foreach(json_object_get(cfg, "env"), i, v)
        printf("env:        %s\n", json_string_value(v));
    json_array_foreach(json_object_get(cfg, "dirs"), i, v)
        printf("dir (ro):   %s -> %s\n", json_string_value(json_object_get(v, "host")),
               json_string_value(json_object_get(v, "guest")));
    kl_client_svc_print(cfg);
    printf("versions:\n");
    json_array_foreach(json_object_get(o, "history"), i, v) {
        kl_client_fmt_time(json_integer_value(json_object_get(v, "created")), when, sizeof(when));
        printf("  %c v%-4d %s  %-24s sha256:%.12s  %lld bytes\n",
               json_integer_value(json_object_get(v, "version")) ==
               json_integer_value(json_object_get(o, "active")) ? '*' : ' ',
               (int)json_integer_value(json_object_get(v, "version")), when,
               json_string_value(json_object_get(v, "route")),
               json_string_value(json_object_get(v, "sha256")),
               (long long)json_integer_value(json_object_get(v, "module_size")));
    }
}

static int cmd_info(const struct kl_client *c, int argc, char **argv)
{
    char path[128];
    json_t *o;
    int st;

    if (argc != 2)
        return kl_cli_usage_fail("kernless info NAME [--json]");
    if (kl_cli_fn_name(argv[1]) < 0)
        return 2;
    snprintf(path, sizeof(path), "/v1/functions/%s", argv[1]);
    if ((o = kl_client_call_json(c, "info", "GET", path, NULL, &st)) == NULL)
        return st;
    if (c->json)
        kl_client_print_json(o);
    else
        print_info(o);
    json_decref(o);
    return 0;
}

static int run(int argc, char **argv)
{
    return kl_cli_client_main(argc, argv, cmd_info);
}

const struct kl_cmd kl_cmd_info = {
    .name = "info",
    .summary = "show a function and its versions",
    .usage =
    "usage: kernless info NAME [--json]\n"
    "  the function's route, limits, env, folders and every version kept\n"
    "  (* marks the active one)\n",
    .run = run,
};
