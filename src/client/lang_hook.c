/* lang_hook.c - Python/JavaScript sources become a bundle upload (src/lang/bundle.c) that the server runs on its shared engine. */
#include "client/lang_hook.h"

#include "lang/bundle.h"

/* The CLI does not compile Python or JavaScript: it packs the source files
 * into bundle.json, and the server (src/lang/deploy.c) unpacks them, checks
 * them with the language's engine and runs them pre-initialised. `lang` and
 * `config` need nothing here: the bundle names its language, and the server
 * mounts the code itself. */
int kl_lang_module(const char *lang, const char *source, const char *entry, const char *workdir,
                   json_t *config, char *module, size_t module_len,
                   char *why, size_t why_len)
{
    (void)lang, (void)config;
    return kl_bundle_write(source, entry, workdir, module, module_len, why, why_len);
}
