/* client_cmd.c - the setup and small checks every client command shares. */
#include "cli/client_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/fnconfig.h"

/* Remove a "--json" flag anywhere in argv; returns whether it was there. */
static int take_json(int *argc, char **argv)
{
    int i, j, found = 0;

    for (i = j = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            found = 1;
        else
            argv[j++] = argv[i];
    }
    *argc = j;
    return found;
}

int kl_cli_client_main(int argc, char **argv, kl_client_cmd_fn fn)
{
    struct kl_client c;
    int rc;

    kl_client_init(&c);
    c.json = take_json(&argc, argv);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = fn(&c, argc, argv);
    curl_global_cleanup();
    return rc;
}

int kl_cli_usage_fail(const char *usage)
{
    fprintf(stderr, "kernless: usage: %s\n", usage);
    return 2;
}

int kl_cli_fn_name(const char *name)
{
    if (kl_fn_name_ok(name))
        return 0;
    fprintf(stderr, "kernless: bad function name \"%s\" (1-63 of a-z 0-9 _ -)\n", name);
    return -1;
}
