/* deploy.h - the server's side of Python and JavaScript deploys: source upload -> engine module + code folder. */
#ifndef KL_LANG_DEPLOY_H
#define KL_LANG_DEPLOY_H

#include <stddef.h>

struct kl_buf;
struct kl_fn_config;
struct kl_image;

/**
 * Turn a source upload (lang/bundle.h) into what the rest of a deploy
 * expects: unpack its files into <data_dir>/code/<sha256>/, add that folder
 * to `cfg` as the read-only preopen /app, and replace `module`'s bytes with
 * the language's engine module (compiled once, then a cache hit for every
 * function of that language). Returns 0, -EINVAL (a bad upload or a clash
 * with the function's own folders: 422) or another -errno (500), with the
 * reason in `why`.
 */
int kl_lang_deploy_prepare(const char *data_dir, struct kl_buf *module, struct kl_fn_config *cfg,
                           char *why, size_t why_len);

/**
 * Pre-initialise the function once, as each of its warm VMs will: the
 * engine loads the entry and runs its top level. Returns 0, or -EINVAL with
 * the engine's last line (e.g. "app.py:3: SyntaxError: ...") in `why` when
 * that fails, so the deploy is refused and the old version keeps serving.
 */
int kl_lang_deploy_check(const struct kl_image *img, const struct kl_fn_config *cfg,
                         char *why, size_t why_len);

#endif
