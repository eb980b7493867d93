/* fuzz_fnconfig.c - libFuzzer target: a deploy's function config (JSON) through parse, the canonical dump and parse again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/fnconfig.h"

/*
 * Input: one mode byte (bit 0: check that host folders exist, as at
 * deploy; this only stats paths), then the JSON text. An accepted config
 * must satisfy its own limits, and its canonical dump (what the registry
 * stores and a restart parses) must parse back to the same dump.
 */
/** libFuzzer entry. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kl_fn_config c, again;
    char why[256];
    char *dump, *dump2;

    if (size < 1)
        return 0;
    memset(&c, 0, sizeof(c));
    if (kl_fn_config_parse((const char *)data + 1, size - 1, data[0] & 1, &c, why,
                           sizeof(why)) != 0) {
        if (why[0] == 0)
            abort();   /* a refusal says why */
        return 0;
    }
    if (c.timeout_ms == 0 || c.timeout_ms > KL_FN_TIMEOUT_MAX ||
        c.max_memory_mb == 0 || c.max_memory_mb > KL_FN_MEMORY_MAX ||
        c.max_body_kb > KL_FN_BODY_MAX || c.max_response_kb > KL_FN_RESPONSE_MAX ||
        c.max_open_files == 0 || c.max_open_files > KL_FN_OPEN_FILES_MAX ||
        c.ndirs > KL_FN_MAX_DIRS || c.env.n > KL_FN_MAX_ENV || c.route[0] != '/')
        abort();
    dump = kl_fn_config_dump(&c);
    if (dump == NULL)
        abort();
    memset(&again, 0, sizeof(again));
    if (kl_fn_config_parse(dump, strlen(dump), 0, &again, why, sizeof(why)) != 0)
        abort();   /* the registry's own text must load at restart */
    dump2 = kl_fn_config_dump(&again);
    if (dump2 == NULL || strcmp(dump, dump2) != 0)
        abort();
    free(dump), free(dump2);
    kl_fn_config_free(&again);
    kl_fn_config_free(&c);
    return 0;
}
