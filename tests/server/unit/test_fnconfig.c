/* test_fnconfig.c - unit tests for function names, config validation and the token helpers. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/datadir.h"
#include "server/fnconfig.h"

/* Parse a config string; returns the parser's result and frees on success. */
static int parse(const char *json, char *why)
{
    struct kl_fn_config c;
    int rc = kl_fn_config_parse(json, strlen(json), 1, &c, why, 256);

    if (rc == 0)
        kl_fn_config_free(&c);
    return rc;
}

static void test_names(void)
{
    CHECK(kl_fn_name_ok("hello"));
    CHECK(kl_fn_name_ok("a-b_c9"));
    CHECK(!kl_fn_name_ok(""));
    CHECK(!kl_fn_name_ok("-x"));
    CHECK(!kl_fn_name_ok("Hello"));
    CHECK(!kl_fn_name_ok("a/b"));
    CHECK(!kl_fn_name_ok("../x"));
    CHECK(!kl_fn_name_ok("0123456789012345678901234567890123456789012345678901234567890123"));
}

static void test_config(void)
{
    struct kl_fn_config c;
    const char *j = "{\"route\":\"/api/...\",\"env\":[\"A=1\",\"B_2=x=y\"],"
                    "\"timeout_ms\":500,\"dirs\":[{\"host\":\"/tmp\",\"guest\":\"/data\"}]}";
    char why[256], *dump;

    CHECK(kl_fn_config_parse(j, strlen(j), 1, &c, why, sizeof(why)) == 0);
    CHECK_STR(c.route, "/api/...");
    CHECK(c.env.n == 2 && strcmp(c.env.v[1], "B_2=x=y") == 0);
    CHECK(c.timeout_ms == 500);
    CHECK(c.max_memory_mb == KL_FN_MEMORY_DEFAULT);
    CHECK(c.max_open_files == KL_FN_OPEN_FILES_DEFAULT);
    CHECK(c.ndirs == 1 && strcmp(c.dirs[0].guest, "/data") == 0);
    dump = kl_fn_config_dump(&c);
    CHECK(dump != NULL && strstr(dump, "\"timeout_ms\":500") != NULL);
    kl_fn_config_free(&c);
    if (dump != NULL) {
        CHECK(parse(dump, why) == 0);
        free(dump);
    }
    CHECK(parse("{\"route\":\"/x\"}", why) == 0);
    CHECK(parse("[]", why) == -EINVAL);
    CHECK(parse("{}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"x\"}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/v1/x\"}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"env\":[\"1A=2\"]}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"env\":[\"NOEQ\"]}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"timeout_ms\":0}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"timeout_ms\":\"5\"}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"max_memory_mb\":99999}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"max_open_files\":0}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"max_open_files\":1025}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"max_open_files\":1024}", why) == 0);
    CHECK(parse("{\"route\":\"/x\",\"dirs\":[{\"host\":\"rel\",\"guest\":\"/d\"}]}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"dirs\":[{\"host\":\"/no/such/dir\",\"guest\":\"/d\"}]}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/x\",\"route\":\"/y\"}", why) == -EINVAL);
}

static void test_tokens(void)
{
    char hex[65], hex2[65];

    CHECK(kl_random_hex(hex, 32) == 0);
    CHECK(strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64);
    CHECK(kl_random_hex(hex2, 32) == 0 && strcmp(hex, hex2) != 0);
    CHECK(kl_token_equal(hex, 64, hex));
    CHECK(!kl_token_equal(hex2, 64, hex));
    CHECK(!kl_token_equal(hex, 63, hex));
    CHECK(!kl_token_equal("", 0, hex));
    CHECK(!kl_token_equal(hex, 64, ""));
}

/* Declared services: each refusal next to the form that is accepted. */
static void test_services(void)
{
    struct kl_fn_config c;
    const char *j = "{\"route\":\"/s\",\"allowed_outbound_hosts\":[\"http://localhost:*\"],"
                    "\"key_value_stores\":[\"default\"],"
                    "\"variables\":{\"greeting\":\"hi\",\"key\":{\"secret\":\"api_key\"}}}";
    char why[256], *dump;

    CHECK(kl_fn_config_parse(j, strlen(j), 1, &c, why, sizeof(why)) == 0);
    CHECK(c.svc.outbound.n == 1 && c.svc.stores.n == 1 && c.svc.nvars == 2);
    CHECK(c.svc.nvars == 2 && c.svc.vars[1].secret && strcmp(c.svc.vars[1].value, "api_key") == 0);
    dump = kl_fn_config_dump(&c);
    CHECK(dump && strstr(dump, "\"key\":{\"secret\":\"api_key\"}"));
    free(dump);
    kl_fn_config_free(&c);
    CHECK(parse("{\"route\":\"/s\"}", why) == 0);   /* none declared */
    CHECK(parse("{\"route\":\"/s\",\"allowed_outbound_hosts\":[\"http://*.example.com\"]}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/s\",\"allowed_outbound_hosts\":[\"http://u@example.com\"]}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/s\",\"allowed_outbound_hosts\":[\"http://example.com\"]}", why) == 0);
    CHECK(parse("{\"route\":\"/s\",\"key_value_stores\":[\"a/b\"]}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/s\",\"variables\":{\"Bad\":\"x\"}}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/s\",\"variables\":{\"k\":{\"secret\":\"a\",\"x\":1}}}", why) == -EINVAL);
    CHECK(parse("{\"route\":\"/s\",\"variables\":{\"k\":1}}", why) == -EINVAL);
}

int main(void)
{
    test_names();
    test_services();
    test_config();
    test_tokens();
    UNIT_DONE();
}
