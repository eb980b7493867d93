/* registry_tier.c - optimised images shared by a cluster: who builds a module's optimised image, and the image once published. */
#include "server/registry_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

/* A claim is the meta row "optimising/<sha256>/<image>" = "<unix time> <node>":
 * meta exists in every schema version, so no new table (nor a schema bump)
 * is needed, and the claim goes with the module (pg_blob_gc). */
#define KEY_MAX 400

static int row_first(void *ctx, int n, const char *const *c)
{
    char *out = ctx;

    if (out[0] == 0 && n > 0 && c[0] != NULL)
        snprintf(out, 300, "%s", c[0]);
    return 0;
}

static int row_name(void *ctx, int n, const char *const *c)
{
    struct kl_strv *names = ctx;

    if (n > 0 && c[0] != NULL && kl_strv_addn(names, c[0], strlen(c[0])) < 0)
        return -ENOMEM;
    return 0;
}

static int key_of(char *out, size_t len, const char *what, const char *sha256,
                  const char *image)
{
    /* Content addresses only: a name with a slash would reach other keys. */
    if (strlen(sha256) != 64 || strchr(image, '/') != NULL || image[0] == 0)
        return -EINVAL;
    snprintf(out, len, "%s/%s/%s", what, sha256, image);
    return 0;
}

/* Is the claim `value` another node's, younger than `ttl_s`? Its wait then. */
static unsigned claim_wait(const char *value, const char *node, unsigned ttl_s)
{
    char *end;
    long long at = strtoll(value, &end, 10);
    long long age = (long long)time(NULL) - at;

    if (end == value || *end != ' ' || strcmp(end + 1, node) == 0 || age < 0 ||
        age >= (long long)ttl_s)
        return 0;
    return (unsigned)(ttl_s - age);
}

int kl_reg_optimise_claim(struct kl_registry *r, const char *sha256, const char *image,
                          const char *node, unsigned ttl_s, int must_exist,
                          unsigned *wait_s, struct kl_err *err)
{
    char key[KEY_MAX], value[300] = "", mine[300];
    int rc;

    *wait_s = 0;
    if (!kl_reg_is_shared(r))
        return 1;
    if (key_of(key, sizeof(key), "optimising", sha256, image) < 0)
        return kl_errf(err, -EINVAL, "bad optimised image name %s", image);
    snprintf(mine, sizeof(mine), "%lld %s", (long long)time(NULL), node);
    pthread_mutex_lock(&r->lock);
    /* In the write transaction: two nodes never both see no claim. */
    if ((rc = r->ops->begin(r, err)) < 0)
        goto out;
    /* A module no version uses was removed: its claim would outlive it (a
     * deploy's claim, made before its commit, goes at the next removal). */
    if ((rc = r->ops->query(r, "SELECT sha256 FROM versions WHERE sha256 = ?1", 1,
                            (const char *const[]){sha256}, row_first, value, err)) < 0 ||
        (must_exist && value[0] == 0 &&
         (rc = kl_errf(err, -ENOENT, "module %.12s was removed", sha256)) < 0))
        goto rollback;
    value[0] = 0;
    if ((rc = r->ops->query(r, "SELECT value FROM meta WHERE key = ?1", 1,
                            (const char *const[]){key}, row_first, value, err)) < 0)
        goto rollback;
    if ((*wait_s = claim_wait(value, node, ttl_s)) > 0) {
        r->ops->rollback(r);
        rc = 0;
        goto out;
    }
    if ((rc = r->ops->query(r, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key)"
                            " DO UPDATE SET value = excluded.value", 2,
                            (const char *const[]){key, mine}, NULL, NULL, err)) < 0 ||
        (rc = r->ops->commit(r, err)) < 0)
        goto rollback;
    rc = 1;
    goto out;
rollback:
    r->ops->rollback(r);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* Tell every node about each function whose active version runs `sha256`. */
static int notify_users(struct kl_registry *r, const struct kl_strv *names,
                        struct kl_err *err)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < names->n; i++)
        rc = r->ops->notify(r, names->v[i], err);
    return rc;
}

int kl_reg_optimised_publish(struct kl_registry *r, const char *sha256, const char *image,
                             const char *path, struct kl_err *err)
{
    char key[KEY_MAX], claim[KEY_MAX], used[300] = "";
    struct kl_strv names = {0};
    int rc;

    if (!kl_reg_is_shared(r) || r->ops->blob_put == NULL)
        return kl_errf(err, -ENOTSUP, "no shared registry to publish to");
    if (key_of(key, sizeof(key), "optimised", sha256, image) < 0 ||
        key_of(claim, sizeof(claim), "optimising", sha256, image) < 0)
        return kl_errf(err, -EINVAL, "bad optimised image name %s", image);
    pthread_mutex_lock(&r->lock);
    if ((rc = r->ops->begin(r, err)) < 0)
        goto out;
    /* A module no version uses was removed meanwhile: its blob would leak. */
    if ((rc = r->ops->query(r, "SELECT sha256 FROM versions WHERE sha256 = ?1", 1,
                            (const char *const[]){sha256}, row_first, used, err)) < 0 ||
        (used[0] == 0 && (rc = kl_errf(err, -ENOENT, "module %.12s was removed", sha256)) < 0))
        goto rollback;
    if ((rc = kl_reg_put_file(r, key, path, err)) < 0 ||
        (rc = r->ops->query(r, "DELETE FROM meta WHERE key = ?1", 1,
                            (const char *const[]){claim}, NULL, NULL, err)) < 0 ||
        (rc = r->ops->query(r, "SELECT f.name FROM functions f JOIN versions v ON"
                            " v.name = f.name AND v.version = f.active WHERE v.sha256 = ?1",
                            1, (const char *const[]){sha256}, row_name, &names, err)) < 0 ||
        (rc = notify_users(r, &names, err)) < 0 || (rc = r->ops->commit(r, err)) < 0)
        goto rollback;
    goto out;
rollback:
    r->ops->rollback(r);
out:
    pthread_mutex_unlock(&r->lock);
    kl_strv_free(&names);
    return rc;
}

int kl_reg_optimised_fetch(struct kl_registry *r, const char *sha256, const char *image,
                           const char *path, struct kl_err *err)
{
    char key[KEY_MAX];

    if (key_of(key, sizeof(key), "optimised", sha256, image) < 0)
        return kl_errf(err, -EINVAL, "bad optimised image name %s", image);
    return kl_reg_blob_fetch(r, key, path, (size_t)1 << 30, err);
}
