/* deploy.h - compile an uploaded module and commit it as a function's new active version. */
#ifndef KL_SERVER_DEPLOY_H
#define KL_SERVER_DEPLOY_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "common/buf.h"

struct kl_server;
struct kl_deploy;

/**
 * Create a deploy job for function `name` from a config JSON text and the
 * module bytes (both buffers are taken over and emptied). Returns NULL when
 * out of memory.
 */
struct kl_deploy *kl_deploy_new(struct kl_server *s, const char *name,
                                const char *request_id, struct kl_buf *config,
                                struct kl_buf *module);

/** Run the job in the calling thread; returns the HTTP status of the outcome. */
int kl_deploy_run(struct kl_deploy *d);

/** Run the job on its own thread, so progress can be streamed meanwhile. */
int kl_deploy_spawn(struct kl_deploy *d);

/** The outcome object (borrowed): {"ok", "name", "version", ...} or {"ok":false, "error"}. */
json_t *kl_deploy_result(struct kl_deploy *d);

/**
 * Copy the next bytes of the NDJSON progress stream into buf, waiting until
 * there are some. Returns the count, or -1 at the end of the stream.
 */
long kl_deploy_read(struct kl_deploy *d, char *buf, size_t max);

/** Drop a reference (the job starts with one per owner: caller and thread). */
void kl_deploy_put(struct kl_deploy *d);

/**
 * Compile the stored module <modules>/<sha256>.wasm again into the image
 * cache; the image path goes to `out`.
 */
int kl_deploy_rebuild(struct kl_server *s, const char *sha256, char *out,
                      size_t out_len, struct kl_err *err);

#endif
