/* lang_hook.c - Python/JavaScript sources for deploy -f and up: not available in this build yet. */
#include "cli/lang_hook.h"

#include <errno.h>
#include <stdio.h>

/* The pre-initialised Python and JavaScript engines are built elsewhere
 * (issue: Python/JS pre-initialised engines); until they land, every
 * .py/.js/folder source gets this one clear refusal. */
int kl_lang_module(const char *lang, const char *source, const char *workdir,
                   json_t *config, char *module, size_t module_len,
                   char *why, size_t why_len)
{
    (void)lang, (void)source, (void)workdir, (void)config, (void)module, (void)module_len;
    snprintf(why, why_len, "Python/JavaScript functions are not available in this build");
    return -ENOSYS;
}
