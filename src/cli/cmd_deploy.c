/* cmd_deploy.c - `kernless deploy`: one module or source as a new version of a function, or every function of a kernless.toml (-f). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client_cmd.h"
#include "cli/client_svc.h"
#include "cli/cmd.h"
#include "cli/opts.h"
#include "cli/wait_tier.h"
#include "client/client.h"
#include "client/manifest.h"
#include "client/mfdeploy.h"
#include "compile/compile.h"
#include "server/fnconfig.h"

/* What the command line says; `config` becomes the deploy config. */
struct deploy_args {
    const char *name;
    const char *module;
    const char *entry;    /* --entry: a source folder's handler file */
    json_t *config;
    int wait_optimised;   /* --wait-optimised (cli/wait_tier.c) */
};

/* --dir-ro HOST::GUEST, relative to the current folder. */
static int add_dir(json_t *dirs, const char *spec)
{
    char why[PATH_MAX + 64];

    if (kl_client_dir_add(dirs, spec, NULL, why, sizeof(why)) == 0)
        return 0;
    fprintf(stderr, "kernless: --dir-ro: %s\n", why);
    return -1;
}

static int parse_deploy(int argc, char **argv, struct deploy_args *a)
{
    json_t *env = json_array(), *dirs = json_array();
    const char *route = NULL;
    uint32_t v;
    int i, pos = 0, sv;

    a->config = json_object();
    for (i = 1; i < argc; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-' || o[1] == 0) {
            if (pos == 0) a->name = o;
            else if (pos == 1) a->module = o;
            else goto bad;
            pos++;
            continue;
        }
        if (strcmp(o, "--wait-optimised") == 0 || strcmp(o, "--wait-optimized") == 0) {
            a->wait_optimised = 1;
            continue;
        }
        if (val == NULL)
            goto bad;
        i++;
        if (strcmp(o, "--route") == 0) {
            route = val;
        } else if (strcmp(o, "--entry") == 0) {
            a->entry = val;
        } else if (strcmp(o, "--env") == 0) {
            if (strchr(val, '=') == NULL) {
                fprintf(stderr, "kernless: --env wants K=V, got %s\n", val);
                goto err;
            }
            json_array_append_new(env, json_string(val));
        } else if (strcmp(o, "--timeout-ms") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_TIMEOUT_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "timeout_ms", json_integer(v));
        } else if (strcmp(o, "--max-memory-mb") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_MEMORY_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "max_memory_mb", json_integer(v));
        } else if (strcmp(o, "--max-body-kb") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_BODY_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "max_body_kb", json_integer(v));
        } else if (strcmp(o, "--max-response-kb") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_RESPONSE_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "max_response_kb", json_integer(v));
        } else if (strcmp(o, "--max-open-files") == 0) {
            if (kl_cli_u32(o, val, 1, KL_FN_OPEN_FILES_MAX, &v) < 0) goto err;
            json_object_set_new(a->config, "max_open_files", json_integer(v));
        } else if (strcmp(o, "--dir-ro") == 0) {
            if (add_dir(dirs, val) < 0) goto err;
        } else if ((sv = kl_client_svc_flag(a->config, o, val)) != 0) {
            if (sv < 0) goto err;
        } else {
            goto bad;
        }
    }
    if (pos != 2 || route == NULL)
        goto bad;
    json_object_set_new(a->config, "route", json_string(route));
    json_object_set_new(a->config, "env", env);
    json_object_set_new(a->config, "dirs", dirs);
    return kl_cli_fn_name(a->name);
bad:
    kl_cli_usage_fail("kernless deploy NAME module.wasm|app.py|handler.js|DIR --route /path "
               "[--entry FILE] [--env K=V]... "
               "[--timeout-ms N] [--max-memory-mb N] [--max-body-kb N] [--max-response-kb N] "
               "[--max-open-files N] "
               "[--dir-ro HOST::GUEST]... [--allow-outbound URL]... [--kv STORE]... "
               "[--var NAME=VALUE|NAME=secret:SECRET]... [--wait-optimised] [--json]  |  "
               "kernless deploy -f kernless.toml "
               "[--no-build]");
err:
    json_decref(env);
    json_decref(dirs);
    return -1;
}

/* `kernless deploy -f kernless.toml [--no-build]`: build and deploy every
 * function, one line each; 0 when all were deployed, else 1 (2: bad usage). */
static int deploy_file(const struct kl_client *c, int argc, char **argv)
{
    struct kl_manifest m;
    int i, build = 1, failed = 0;
    const char *path = NULL;
    size_t k;

    for (i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--file") == 0) && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--no-build") == 0)
            build = 0;
        else
            path = NULL, i = argc;
    }
    if (path == NULL) {
        fprintf(stderr, "kernless: usage: kernless deploy -f kernless.toml [--no-build] [--json]\n");
        return 2;
    }
    if (kl_manifest_load(path, &m) < 0)
        return 1;
    for (k = 0; k < m.n; k++) {
        const struct kl_mf_fn *f = &m.fns[k];
        if ((build ? kl_manifest_build(&m, f) : kl_manifest_check_source(&m, f)) < 0) {
            failed++;
            continue;
        }
        if (kl_mf_deploy_fn(c, &m, f, NULL) != 0)
            failed++;
    }
    if (failed)
        fprintf(stderr, "kernless: deploy -f %s: %d of %zu function(s) failed\n", path, failed, m.n);
    kl_manifest_free(&m);
    return failed ? 1 : 0;
}

static int cmd_deploy(const struct kl_client *c, int argc, char **argv)
{
    struct deploy_args a = {0};
    int rc;

    if (argc >= 2 && (strcmp(argv[1], "-f") == 0 || strcmp(argv[1], "--file") == 0))
        return deploy_file(c, argc, argv);
    if (parse_deploy(argc, argv, &a) < 0) {
        json_decref(a.config);
        return 2;
    }
    if (a.entry != NULL && !kl_deploy_needs_lang(a.module)) {
        json_decref(a.config);
        fprintf(stderr, "kernless: deploy %s: --entry names the handler file of a source folder; "
                "%s is a module\n", a.name, a.module);
        return 2;
    }
    if (kl_deploy_needs_lang(a.module)) {
        /* Python/JavaScript: the hook's work files go to the user's cache. */
        char work[PATH_MAX];
        if (kl_default_cache_dir(work, sizeof(work) - 80) < 0)
            snprintf(work, sizeof(work), "/tmp");
        snprintf(work + strlen(work), 80, "/lang/%s", a.name);
        rc = kl_deploy_source(c, a.name, a.module, a.entry, a.config, work, 0, NULL);
    } else {
        rc = kl_client_deploy(c, a.name, a.module, a.config, 0, NULL);
    }
    json_decref(a.config);
    if (rc == 0 && a.wait_optimised)
        rc = kl_client_wait_optimised(c, a.name, c->json);
    return rc;
}

static int run(int argc, char **argv)
{
    return kl_cli_client_main(argc, argv, cmd_deploy);
}

const struct kl_cmd kl_cmd_deploy = {
    .name = "deploy",
    .summary = "deploy a module as an HTTP function (new version)",
    .usage =
    "usage: kernless deploy NAME module.wasm|app.py|handler.js|DIR --route /path\n"
    "                       [--entry FILE] [--env K=V]... [--timeout-ms N]\n"
    "                       [--max-memory-mb N] [--max-body-kb N] [--max-response-kb N]\n"
    "                       [--max-open-files N] [--dir-ro HOST::GUEST]...\n"
    "                       [--allow-outbound URL]... [--kv STORE]...\n"
    "                       [--var NAME=VALUE|NAME=secret:SECRET]... [--wait-optimised] [--json]\n"
    "       kernless deploy -f kernless.toml [--no-build]\n"
    "  Uploads a module (or a Python/JavaScript source, packed with its folder),\n"
    "  which the server compiles and serves at --route as a new version.\n"
    "  --entry     a folder source's handler file (default app.py, main.py, ...)\n"
    "  --env       an environment variable of every request\n"
    "  --dir-ro    a host folder the function may read, at GUEST\n"
    "  --allow-outbound an origin the function may call (scheme://host[:port|:*])\n"
    "  --kv        a key-value store the function may use\n"
    "  --var       a variable the function may read, a value or a secret's name\n"
    "  --wait-optimised  after the deploy (served on the baseline tier at once),\n"
    "              wait until the optimised tier is swapped in; 1 if it fails\n"
    "  -f          build and deploy every function of a kernless.toml\n",
    .run = run,
};
