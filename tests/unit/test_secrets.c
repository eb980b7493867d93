/* test_secrets.c - sealed secrets: a round trip, and every way a sealed value must fail to open (each next to the case that opens). */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/secrets.h"

static void test_round_trip(void)
{
    struct kl_secret_key k, other;
    char *sealed, *val = NULL, *again;
    size_t n = 0;

    memset(k.k, 7, sizeof(k.k));
    memset(other.k, 8, sizeof(other.k));
    sealed = kl_secret_seal(&k, "api_key", (const uint8_t *)"s3cr3t", 6);
    CHECK(sealed != NULL);
    CHECK(sealed && !strstr(sealed, "s3cr3t"));
    CHECK(kl_secret_open(&k, "api_key", sealed, &val, &n) == 0 && n == 6 && !strcmp(val, "s3cr3t"));
    free(val);
    /* Another key, another name, a flipped byte, a cut text: never opened. */
    CHECK(kl_secret_open(&other, "api_key", sealed, &val, &n) == -EBADMSG);
    CHECK(kl_secret_open(&k, "other", sealed, &val, &n) == -EBADMSG);
    sealed[30] = sealed[30] == '0' ? '1' : '0';
    CHECK(kl_secret_open(&k, "api_key", sealed, &val, &n) == -EBADMSG);
    CHECK(kl_secret_open(&k, "api_key", "00", &val, &n) == -EBADMSG);
    /* Two seals of one value differ (a fresh nonce each). */
    again = kl_secret_seal(&k, "api_key", (const uint8_t *)"s3cr3t", 6);
    CHECK(again && strcmp(again, sealed) != 0);
    free(sealed);
    free(again);
}

static void test_key_file(void)
{
    char dir[] = "/tmp/kl-secrets-XXXXXX", path[64];
    struct kl_secret_key a, b;
    struct kl_err err;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/secrets.key", dir);
    CHECK(kl_secret_key_load(path, 0, &a, &err) < 0);           /* named: must exist */
    CHECK(kl_secret_key_load(path, 1, &a, &err) == 0);          /* made on first start */
    CHECK(access(path, R_OK) == 0);
    CHECK(kl_secret_key_load(path, 1, &b, &err) == 0 && !memcmp(a.k, b.k, sizeof(a.k)));
    CHECK(kl_secret_key_load(path, 0, &b, &err) == 0 && !memcmp(a.k, b.k, sizeof(a.k)));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_round_trip();
    test_key_file();
    UNIT_DONE();
}
