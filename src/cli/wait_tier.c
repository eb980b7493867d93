/* wait_tier.c - `deploy --wait-optimised`: poll a function's info until the optimised tier serves it, or its optimise failed. */
#include "cli/wait_tier.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/client_http.h"

#define POLL_MS 250

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&t, NULL);
}

int kl_client_wait_optimised(const struct kl_client *c, const char *name, int quiet)
{
    char path[128];
    int st;

    snprintf(path, sizeof(path), "/v1/functions/%s", name);
    for (;;) {
        json_t *o = kl_client_call_json(c, "info", "GET", path, NULL, &st);
        const char *tier, *why;

        if (o == NULL)
            return st;
        tier = json_string_value(json_object_get(o, "tier"));
        why = json_string_value(json_object_get(o, "optimise_error"));
        if (tier != NULL && strcmp(tier, "optimised") == 0) {
            if (!quiet)
                printf("%s now serves the optimised tier (compiled in %.1f s)\n", name,
                       json_number_value(json_object_get(o, "optimise_seconds")));
            json_decref(o);
            return 0;
        }
        if (why != NULL || tier == NULL || strcmp(tier, "optimising") != 0) {
            fprintf(stderr, "kernless: %s: not optimised: %s\n", name,
                    why ? why : "the server builds no optimised tier (KERNLESS_TIER fixes one)");
            json_decref(o);
            return 1;
        }
        json_decref(o);
        sleep_ms(POLL_MS);
    }
}
