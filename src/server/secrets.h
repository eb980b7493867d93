/* secrets.h - secrets sealed at rest (AES-256-GCM, nettle) with a key kept outside the database. */
#ifndef KL_SERVER_SECRETS_H
#define KL_SERVER_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define KL_SECRET_KEY_LEN 32
#define KL_SECRET_MAX (64u << 10)   /* bytes in a secret's value */

/** The key that seals every secret. */
struct kl_secret_key {
    uint8_t k[KL_SECRET_KEY_LEN];
};

/**
 * Load the key from `path` (64 hex digits), creating it (0600, O_EXCL)
 * with a fresh random key when `create` and it does not exist. Every node
 * of a cluster must be given the same file (--secrets-key).
 */
int kl_secret_key_load(const char *path, int create, struct kl_secret_key *key, struct kl_err *err);

/**
 * Seal `val` for secret `name` (the name is authenticated, so a sealed
 * value cannot be moved to another name): malloc'd hex text of
 * nonce || ciphertext || tag.
 */
char *kl_secret_seal(const struct kl_secret_key *key, const char *name, const uint8_t *val,
                     size_t len);

/** Open a sealed text: 0 and a malloc'd NUL-terminated value, or -EBADMSG (wrong key, tampered). */
int kl_secret_open(const struct kl_secret_key *key, const char *name, const char *sealed,
                   char **val, size_t *len);

#endif
