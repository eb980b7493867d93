/* secrets.c - sealing secrets with AES-256-GCM (nettle): a random 96-bit nonce per value, the name as associated data. */
#include "server/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/gcm.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define NONCE 12
#define TAG 16

static int unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -EINVAL;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* Write a fresh key to `path`, failing if the file exists. */
static int key_create(const char *path, struct kl_secret_key *key, struct kl_err *err)
{
    char hex[2 * KL_SECRET_KEY_LEN + 2];
    int fd;

    if (getrandom(key->k, sizeof(key->k), 0) != (ssize_t)sizeof(key->k))
        return kl_errf(err, -EIO, "getrandom failed");
    kl_hex(key->k, sizeof(key->k), hex);
    strcat(hex, "\n");
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        return -errno;
    if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return kl_errf(err, -e, "writing %s: %s", path, strerror(e));
    }
    close(fd);
    return 0;
}

int kl_secret_key_load(const char *path, int create, struct kl_secret_key *key, struct kl_err *err)
{
    uint8_t *data = NULL;
    size_t n = 0;
    int rc;

    if (create && (rc = key_create(path, key, err)) != -EEXIST)
        return rc < 0 ? kl_errf(err, rc, "cannot create the secrets key %s: %s", path,
                                strerror(-rc)) : 0;
    if ((rc = kl_read_file(path, 256, &data, &n, err)) < 0)
        return kl_errf(err, rc, "cannot read the secrets key %s", path);
    while (n && (data[n - 1] == '\n' || data[n - 1] == ' '))
        n--;
    rc = n == 2 * KL_SECRET_KEY_LEN ? unhex((const char *)data, KL_SECRET_KEY_LEN, key->k) : -EINVAL;
    free(data);
    if (rc < 0)
        return kl_errf(err, -EINVAL, "the secrets key %s is not 64 hex digits", path);
    return 0;
}

char *kl_secret_seal(const struct kl_secret_key *key, const char *name, const uint8_t *val,
                     size_t len)
{
    size_t n = NONCE + len + TAG;
    uint8_t *raw = malloc(n);
    char *hex = malloc(2 * n + 1);
    struct gcm_aes256_ctx ctx;

    if (!raw || !hex || getrandom(raw, NONCE, 0) != NONCE) {
        free(raw);
        free(hex);
        return NULL;
    }
    gcm_aes256_set_key(&ctx, key->k);
    gcm_aes256_set_iv(&ctx, NONCE, raw);
    gcm_aes256_update(&ctx, strlen(name), (const uint8_t *)name);
    gcm_aes256_encrypt(&ctx, len, raw + NONCE, val);
    gcm_aes256_digest(&ctx, TAG, raw + NONCE + len);
    kl_hex(raw, n, hex);
    memset(&ctx, 0, sizeof(ctx));
    free(raw);
    return hex;
}

int kl_secret_open(const struct kl_secret_key *key, const char *name, const char *sealed,
                   char **val, size_t *len)
{
    size_t hn = strlen(sealed), n = hn / 2;
    uint8_t tag[TAG], *raw;
    struct gcm_aes256_ctx ctx;
    char *out;
    int ok;

    if (hn % 2 || n < NONCE + TAG)
        return -EBADMSG;
    if (!(raw = malloc(n)) || !(out = malloc(n - NONCE - TAG + 1))) {
        free(raw);
        return -ENOMEM;
    }
    if (unhex(sealed, n, raw) < 0) {
        free(raw);
        free(out);
        return -EBADMSG;
    }
    *len = n - NONCE - TAG;
    gcm_aes256_set_key(&ctx, key->k);
    gcm_aes256_set_iv(&ctx, NONCE, raw);
    gcm_aes256_update(&ctx, strlen(name), (const uint8_t *)name);
    gcm_aes256_decrypt(&ctx, *len, (uint8_t *)out, raw + NONCE);
    gcm_aes256_digest(&ctx, TAG, tag);
    ok = memeql_sec(tag, raw + NONCE + *len, TAG);
    memset(&ctx, 0, sizeof(ctx));
    free(raw);
    if (!ok) {
        memset(out, 0, *len);
        free(out);
        return -EBADMSG;
    }
    out[*len] = 0;
    *val = out;
    return 0;
}
