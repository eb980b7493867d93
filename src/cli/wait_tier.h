/* wait_tier.h - `deploy --wait-optimised`: block until a function's optimised tier serves. */
#ifndef KL_CLI_WAIT_TIER_H
#define KL_CLI_WAIT_TIER_H

struct kl_client;

/**
 * Poll GET /v1/functions/NAME until its "tier" is "optimised" (0, with one
 * line unless `quiet`), or the optimise failed or none runs (1, one line
 * "kernless: NAME: not optimised: ..."). For CI pipelines that benchmark.
 */
int kl_client_wait_optimised(const struct kl_client *c, const char *name, int quiet);

#endif
