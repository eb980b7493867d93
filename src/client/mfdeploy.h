/* mfdeploy.h - deploy a source or a kernless.toml's function through the client (deploy, deploy -f, up). */
#ifndef KL_CLIENT_MFDEPLOY_H
#define KL_CLIENT_MFDEPLOY_H

#include "client/client_http.h"
#include "client/manifest.h"

/**
 * Deploy `source` as function `name` with a deploy config (borrowed): a
 * .wasm file as is; a .py or .js file or a folder through kl_lang_module
 * (src/client/lang_hook.c), which may write into `workdir`; `entry` (NULL:
 * the default) names a folder's handler file. quiet: no compiler
 * progress. Prints one result line; returns 0, or 1 after one
 * "kernless: ..." line; the new version in *version when not NULL.
 */
int kl_deploy_source(const struct kl_client *c, const char *name, const char *source,
                     const char *entry, json_t *config, const char *workdir, int quiet, int *version);

/** Whether `source` goes through the Python/JavaScript hook: a .py or .js file, or a folder. */
int kl_deploy_needs_lang(const char *source);

/**
 * Deploy one function of a manifest (already built): its .wasm source as
 * is; a .py, .js or folder source through kl_lang_module. Prints one result
 * line. Returns 0, or 1 after one "kernless: ..." line; the new version in
 * *version when not NULL.
 */
int kl_mf_deploy_fn(const struct kl_client *c, const struct kl_manifest *m,
                    const struct kl_mf_fn *f, int *version);

#endif
