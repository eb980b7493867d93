/* optimiser.h - tiered deploys: serve the baseline image at once, build the optimised one in the background, swap it in. */
#ifndef KL_SERVER_OPTIMISER_H
#define KL_SERVER_OPTIMISER_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"

struct kl_server;
struct kl_fn;

/*
 * A deploy compiles with tcc (compile/tier.h, about a second per MB) and
 * serves that image; one background job at a time then compiles the same
 * module with gcc -O2 under a time and memory limit (KERNLESS_OPTIMISE_
 * TIMEOUT_S, KERNLESS_OPTIMISE_MEM_MB) into the same content-addressed
 * cache and republishes the table. The table prefers a module's optimised
 * image wherever it is cached, so new requests take it while requests in
 * flight finish on the table (and image) they started with, and a restart
 * or a second deploy of the module starts on it directly.
 * KERNLESS_TIER=optimised turns tiering off: deploys compile -O2 at once.
 *
 * In a cluster (a shared registry) a module is optimised once: the job
 * first takes an image another node published, else claims the module in
 * the registry (a node that finds another's claim waits for its image,
 * looking again every 30 s until the claim expires), builds it and
 * publishes it (registry.h: kl_reg_optimised_publish), which tells every
 * node serving the module to reload; a node's table fetches a published
 * image wherever it lacks the optimised one (table.c).
 * KERNLESS_SHARE_OPTIMISED=0 makes every node optimise for itself.
 */

/** Are optimised images shared through the registry (see above)? */
int kl_optimiser_shared(struct kl_server *s);

/**
 * Fetch the optimised image `opt` (its cache path) of module `sha256` (hex)
 * from the registry: the one a node published, or one a version was
 * deployed with. -ENOENT when the registry has neither, -ENOTSUP when
 * images are not shared.
 */
int kl_optimiser_fetch_published(struct kl_server *s, const char *sha256, const char *opt);

/**
 * The table took module `sha256`'s optimised image another node published:
 * its tier is optimised, swapped now, and no job of this node builds it.
 */
void kl_optimiser_note_fetched(const char *sha256);

/**
 * The tier a deploy of `wasm` compiles now: optimised when tiering is off
 * or that image is already cached in `cache_dir` (NULL: the per-user
 * cache), else baseline.
 */
int kl_optimiser_deploy_tier(const unsigned char *wasm, size_t len, const char *cache_dir);

/**
 * Before a deploy of `wasm` compiles into the images folder of a cluster
 * node: fetch its optimised image if another node built it, so the deploy
 * starts on that tier (kl_optimiser_deploy_tier) instead of compiling.
 */
void kl_optimiser_deploy_fetch(struct kl_server *s, const unsigned char *wasm, size_t len);

/**
 * A deploy of `wasm` on the baseline tier into the images folder of a
 * cluster node: claim its optimised build for this node before the commit
 * tells the others, so the node that received the deploy builds it and
 * the others wait for its image. `timeout_s`: the job's, as enqueued.
 */
void kl_optimiser_deploy_claim(struct kl_server *s, const unsigned char *wasm, size_t len,
                               unsigned timeout_s);

/**
 * Queue the optimised build of stored module <modules>/<sha256>.wasm, whose
 * images live in `cache_dir` (NULL: the per-user cache, for engines). A
 * module already queued, running or optimised is not queued again.
 * KERNLESS_OPTIMISE_TIMEOUT_S overrides `timeout_s` (0: 900 s). Nothing is
 * queued when KERNLESS_TIER fixes the tier.
 */
void kl_optimiser_enqueue(struct kl_server *s, const char *sha256, const char *cache_dir,
                          unsigned timeout_s);

/**
 * The optimised image path of the module `sha256` (hex) whose recorded
 * image is `image_path`: same folder, the optimised tier's key. -errno if
 * it cannot be named (no toolchain).
 */
int kl_optimiser_image_path(const char *sha256, const char *image_path, char *out, size_t len);

/**
 * Stop the optimiser before the server closes its registry and tables: no
 * job starts or swaps after it returns, and a running job's compilers are
 * killed, so it returns within about a second, not after the build.
 */
void kl_optimiser_stop(void);

/** Record a deploy's compile seconds by tier, for /metrics. */
void kl_optimiser_count_compile(int tier, double seconds);

/**
 * Add "tier" ("baseline", "optimising", "optimised") and, when known,
 * "tier_swapped_at" (Unix seconds), "tier_source" ("local", or "registry" when
 * another node built it), "optimise_seconds" and "optimise_error"
 * to a function's JSON object (`o` has "name"), from the served table.
 */
void kl_optimiser_describe(struct kl_server *s, json_t *o);

/** kl_optimiser_describe on `o`, or on each element when `o` is an array (ls). */
void kl_optimiser_describe_all(struct kl_server *s, json_t *o);

/** Append the swap and compile-seconds counters in Prometheus text format. */
void kl_optimiser_metrics(struct kl_buf *out);

#endif
