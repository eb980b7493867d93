/* manifest.h - kernless.toml: one [[function]] table per function, checked, as deploy configs. */
#ifndef KL_CLIENT_MANIFEST_H
#define KL_CLIENT_MANIFEST_H

#include <jansson.h>
#include <stddef.h>

#define KL_MANIFEST_DEFAULT "kernless.toml"
#define KL_MANIFEST_MAX_BYTES (1u << 20)
#define KL_MANIFEST_MAX_FNS 256

/** One [[function]] table. Paths are absolute (resolved against the manifest's folder). */
struct kl_mf_fn {
    char *name;
    char *route;
    char *source;        /* a .wasm, .py or .js file, or a folder */
    char *source_arg;    /* `source` as written, for messages */
    char *build;         /* shell command run in the manifest's folder; NULL: none */
    json_t *config;      /* the deploy config: route, env, timeout_ms, max_memory_mb, dirs */
    char **watch;        /* what `up --watch` looks at: files or folders */
    size_t nwatch;
    int line;            /* the [[function]] header's line */
    int source_line;
};

/** A loaded manifest. */
struct kl_manifest {
    char *path;          /* as given, for messages */
    char *dir;           /* its folder, absolute */
    struct kl_mf_fn *fns;
    size_t n;
};

/**
 * Read and check a manifest: TOML syntax (toml++), unknown keys, wrong
 * types, out-of-range limits, bad routes or names, duplicate names or routes,
 * missing folders in `files`, and a missing `source` of a function that has
 * no `build` (one with a build is checked by kl_manifest_build). On error
 * prints one line "kernless: PATH:LINE: ..." naming the key and returns -1.
 */
int kl_manifest_load(const char *path, struct kl_manifest *m);

/** Free a manifest loaded by kl_manifest_load (a zeroed one too). */
void kl_manifest_free(struct kl_manifest *m);

/**
 * Run a function's `build` command (if any) with /bin/sh in the manifest's
 * folder, its output on stderr, then check that `source` exists. Returns 0,
 * or prints one "kernless: ..." line and returns -1.
 */
int kl_manifest_build(const struct kl_manifest *m, const struct kl_mf_fn *f);

/** Check that a function's `source` exists; else one "kernless: PATH:LINE: ..." line and -1. */
int kl_manifest_check_source(const struct kl_manifest *m, const struct kl_mf_fn *f);

/** The function called `name`, or NULL. */
const struct kl_mf_fn *kl_manifest_find(const struct kl_manifest *m, const char *name);

#endif
