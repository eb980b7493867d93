/* engine_tier.h - `kernless run app.py|script.js` on a fresh machine: the engine's baseline image now, its optimised one built in the background. */
#ifndef KL_CLI_ENGINE_TIER_H
#define KL_CLI_ENGINE_TIER_H

#include <stddef.h>
#include <stdint.h>

/**
 * The tier to build a language engine's image on now. KERNLESS_TIER wins;
 * else the optimised tier if its image is cached, else the baseline, and a
 * detached, niced process builds the optimised image into the cache (one
 * per engine at a time: a lock file beside the image), so the first run of
 * a Python or JavaScript file takes seconds, not minutes, and later runs
 * take the optimised engine.
 */
int kl_engine_tier(const uint8_t *wasm, size_t len, const char *cache_dir);

#endif
