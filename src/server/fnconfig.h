/* fnconfig.h - a function version's settings (route, env, limits, folders) and their JSON form. */
#ifndef KL_SERVER_FNCONFIG_H
#define KL_SERVER_FNCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "server/fnconfig_svc.h"
#include "server/router.h"

#define KL_FN_NAME_MAX 63
#define KL_FN_TIMEOUT_DEFAULT 10000u   /* ms */
#define KL_FN_TIMEOUT_MAX 300000u
#define KL_FN_MEMORY_DEFAULT 128u      /* MiB */
#define KL_FN_MEMORY_MAX 4096u
#define KL_FN_BODY_DEFAULT 8192u       /* KiB: a function's largest request body */
#define KL_FN_BODY_MAX (1024u * 1024u)
#define KL_FN_RESPONSE_DEFAULT 4096u   /* KiB: a function's largest stdout (the guest buffer) */
#define KL_FN_RESPONSE_MAX 4096u
#define KL_FN_OPEN_FILES_DEFAULT 64u   /* files a run may hold open besides its folders */
#define KL_FN_OPEN_FILES_MAX 1024u
#define KL_FN_MAX_ENV 256
#define KL_FN_MAX_DIRS 16

/** A host folder the function sees read-only. */
struct kl_fn_dir {
    char *host;
    char *guest;
};

/** Settings of one deployed version. */
struct kl_fn_config {
    char route[KL_ROUTE_MAX + 1];
    struct kl_strv env;          /* "K=V" */
    uint32_t timeout_ms;
    uint32_t max_memory_mb;
    uint32_t max_body_kb;        /* larger request bodies get 413 */
    uint32_t max_response_kb;    /* more stdout ends the run: 502 output_limit */
    uint32_t max_open_files;     /* more open handles get EMFILE in the guest */
    struct kl_fn_dir *dirs;
    size_t ndirs;
    struct kl_fn_svc svc;        /* outbound hosts, key-value stores, variables */
};

/** Function names: 1..63 of [a-z0-9_-], starting with a letter or digit. */
int kl_fn_name_ok(const char *name);

/**
 * Parse and validate a config object {"route", "env": ["K=V"...],
 * "timeout_ms", "max_memory_mb", "max_body_kb", "max_response_kb",
 * "dirs": [{"host", "guest"}]}. Missing
 * limits get the defaults. check_dirs: also require each host folder to
 * exist (at deploy time). Returns 0 or -EINVAL with the reason in `why`.
 */
int kl_fn_config_parse(const char *json, size_t len, int check_dirs,
                       struct kl_fn_config *c, char *why, size_t why_len);

/** The canonical JSON text of a config (malloc'd), or NULL. */
char *kl_fn_config_dump(const struct kl_fn_config *c);

/** Free the config's allocations. */
void kl_fn_config_free(struct kl_fn_config *c);

#endif
