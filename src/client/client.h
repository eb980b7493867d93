/* client.h - client operations on the management API: deploy a module, folders, list, remove, output helpers. */
#ifndef KL_CLIENT_CLIENT_H
#define KL_CLIENT_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "client/client_http.h"

/**
 * Parse a "HOST::GUEST" folder spec (deploy's --dir-ro, the manifest's
 * `files`) and append {"host", "guest"} to `dirs`. A relative HOST is taken
 * against `base` (NULL: the current folder) and made absolute when it
 * exists. Returns 0, or -1 with the reason in `why`.
 */
int kl_client_dir_add(json_t *dirs, const char *spec, const char *base, char *why,
                      size_t why_len);

/**
 * Deploy the module file `module` as function `name` with a deploy config
 * (borrowed). quiet: no compiler progress lines. Prints one result line
 * ("deployed NAME version N at ROUTE ..." on stdout, or "kernless: ..." on
 * stderr). Returns the exit status (0 or 1); the version in *version when
 * not NULL.
 */
int kl_client_deploy(const struct kl_client *c, const char *name, const char *module,
                     json_t *config, int quiet, int *version);

/** The names of the deployed functions (a JSON array of strings), or NULL after one error line. */
json_t *kl_client_names(const struct kl_client *c);

/** Remove function `name`; returns 0, or 1 after one error line. */
int kl_client_remove(const struct kl_client *c, const char *name);

/** Print a JSON value, indented, on stdout (--json). */
void kl_client_print_json(json_t *o);

/** Format a Unix time `t` as local "YYYY-MM-DD HH:MM:SS" into `out`. */
void kl_client_fmt_time(json_int_t t, char *out, size_t len);

#endif
