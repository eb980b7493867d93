/* script.c - turn a .wast into commands: Debian's wast2json writes JSON and module files, jansson reads them. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "compile/subproc.h"
#include "wast/internal.h"

#define WAST2JSON_TIMEOUT_S 120
#define MAX_JSON_BYTES (256u << 20)
#define MAX_MODULE_BYTES (64u << 20)
#define MAX_COMMANDS 1000000u

static const struct { const char *name; enum wcmd_kind kind; } kinds[] = {
    {"module", W_MODULE}, {"register", W_REGISTER}, {"action", W_ACTION},
    {"assert_return", W_RETURN}, {"assert_trap", W_TRAP},
    {"assert_exhaustion", W_EXHAUSTION}, {"assert_invalid", W_INVALID},
    {"assert_malformed", W_MALFORMED}, {"assert_unlinkable", W_UNLINKABLE},
    {"assert_uninstantiable", W_UNINSTANTIABLE},
};

static enum wcmd_kind kind_of(const char *s)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(kinds[i].name, s))
            return kinds[i].kind;
    return W_UNKNOWN;
}

static int run_wast2json(struct wscript *s, struct kl_err *err)
{
    char json[PATH_MAX + 16], line[256];
    const char *tmp = getenv("TMPDIR");
    struct kl_subproc sp = {.timeout_s = WAST2JSON_TIMEOUT_S};

    snprintf(s->tmpdir, sizeof(s->tmpdir), "%s/kernless-wast-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->tmpdir)) {
        s->tmpdir[0] = 0;
        return kl_errf(err, -errno, "cannot create a temporary folder: %s", strerror(errno));
    }
    snprintf(json, sizeof(json), "%s/s.json", s->tmpdir);
    const char *argv[] = {"wast2json", s->path, "-o", json, NULL};
    int rc = kl_subproc_run(argv, &sp);
    if (rc < 0)
        return kl_errf(err, rc, "cannot run wast2json: %s", strerror(-rc));
    if (sp.timed_out || sp.signaled || sp.exit_status != 0)
        return kl_errf(err, -EINVAL, "wast2json failed: %s",
                       sp.timed_out ? "timeout" : kl_subproc_first_line(&sp, line, sizeof(line)));
    return 0;
}

/* A malloc'd copy of a JSON string member (may contain NUL); NULL if absent. */
static char *str_member(json_t *o, const char *key, size_t *len)
{
    json_t *v = json_object_get(o, key);
    size_t n;
    char *s;

    if (!json_is_string(v))
        return NULL;
    n = json_string_length(v);
    if (!(s = malloc(n + 1)))
        return NULL;
    memcpy(s, json_string_value(v), n);
    s[n] = 0;
    if (len)
        *len = n;
    return s;
}

static int parse_values(json_t *arr, int expected, uint32_t *n, struct wval **out,
                        struct kl_err *err)
{
    size_t count;
    int rc;

    *n = 0;
    *out = NULL;
    if (!arr)
        return 0;
    if (!json_is_array(arr) || (count = json_array_size(arr)) > KL_INVOKE_MAX_VALS)
        return kl_errf(err, -EINVAL, "bad value list");
    if (count == 0)
        return 0;
    if (!(*out = calloc(count, sizeof(**out))))
        return kl_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        if ((rc = w_value_parse(json_array_get(arr, i), expected, &(*out)[i], err)) < 0)
            return rc;
    *n = (uint32_t)count;
    return 0;
}

/* Module names map to module indexes in plan.c; here the raw names stay in
 * the action (field "module") and are resolved there. */
static int parse_action(json_t *a, struct wact *act, char **modname, struct kl_err *err)
{
    const char *type = json_string_value(json_object_get(a, "type"));

    if (!json_is_object(a) || !type)
        return kl_errf(err, -EINVAL, "action without a type");
    act->is_get = !strcmp(type, "get");
    if (!act->is_get && strcmp(type, "invoke"))
        return kl_errf(err, -EINVAL, "unknown action type %s", type);
    *modname = str_member(a, "module", NULL);
    if (!(act->field = str_member(a, "field", &act->field_len)))
        return kl_errf(err, -EINVAL, "action without a field");
    return parse_values(json_object_get(a, "args"), 0, &act->nargs, &act->args, err);
}

/* Read one command; module names are kept in *name for plan.c. */
static int parse_command(struct wscript *s, json_t *c, struct wcmd *w, char **name, char **as,
                         char **modname, struct kl_err *err)
{
    const char *type = json_string_value(json_object_get(c, "type"));
    json_t *line = json_object_get(c, "line"), *act = json_object_get(c, "action");
    int rc;

    if (!json_is_object(c) || !type || !json_is_integer(line))
        return kl_errf(err, -EINVAL, "command without type or line");
    w->kind = kind_of(type);
    w->line = (uint32_t)json_integer_value(line);
    w->mod = w->reg_src = -1;
    w->act.target = -1;
    *name = str_member(c, "name", NULL);
    *as = str_member(c, "as", NULL);
    w->expect_text = str_member(c, "text", NULL);
    if (act && (rc = parse_action(act, &w->act, modname, err)) < 0)
        return rc;
    if (w->kind == W_RETURN || w->kind == W_ACTION)
        return parse_values(json_object_get(c, "expected"), 1, &w->nexp, &w->exp, err);
    if (json_object_get(c, "filename")) {
        struct wmod *m = &s->mods[s->nmods];
        const char *mt = json_string_value(json_object_get(c, "module_type"));
        char *f = str_member(c, "filename", NULL);

        if (!f || strchr(f, '/'))
            return free(f), kl_errf(err, -EINVAL, "bad module file name");
        memset(m, 0, sizeof(*m));
        m->cmd = (uint32_t)(w - s->cmds);
        m->text = mt && !strcmp(mt, "text");
        m->vm = m->inst = -1;
        if (!(m->file = malloc(strlen(s->tmpdir) + strlen(f) + 2)))
            return free(f), kl_errf(err, -ENOMEM, "out of memory");
        sprintf(m->file, "%s/%s", s->tmpdir, f);
        free(f);
        w->mod = (int)s->nmods++;
    }
    return 0;
}

/* Names are resolved here, in command order, exactly as the script sees them. */
struct names {
    char **key;
    int *val;
    size_t n;
};

static int names_get(const struct names *t, const char *k)
{
    for (size_t i = t->n; i-- > 0;)
        if (!strcmp(t->key[i], k))
            return t->val[i];
    return -1;
}

static int names_put(struct names *t, char *k, int v)
{
    char **nk = realloc(t->key, (t->n + 1) * sizeof(*nk));
    int *nv;

    if (!nk)
        return -ENOMEM;
    t->key = nk;
    if (!(nv = realloc(t->val, (t->n + 1) * sizeof(*nv))))
        return -ENOMEM;
    t->val = nv;
    t->key[t->n] = k;
    t->val[t->n++] = v;
    return 0;
}

static void names_free(struct names *t, int free_keys)
{
    for (size_t i = 0; free_keys && i < t->n; i++)
        free(t->key[i]);
    free(t->key);
    free(t->val);
}

/* Bind names: $module names, the current module and action targets. The
 * registry of `register` names is plan.c's business (it needs the order
 * too), so register commands just record their source module. */
static int parse_commands(struct wscript *s, json_t *cmds, struct kl_err *err)
{
    struct names modnames = {0};
    int current = -1, rc = 0;

    for (uint32_t i = 0; i < s->ncmds && rc == 0; i++) {
        struct wcmd *w = &s->cmds[i];
        char *name = NULL, *as = NULL, *modname = NULL;

        rc = parse_command(s, json_array_get(cmds, i), w, &name, &as, &modname, err);
        if (rc == -ENOTSUP || (rc == -EINVAL && w->line)) {
            /* One command this runner cannot take: judge it, go on. */
            if (!(*(rc == -ENOTSUP ? &w->skip : &w->bad) = strdup(err->msg)))
                rc = kl_errf(err, -ENOMEM, "out of memory");
            else
                rc = 0;
        }
        if (rc == 0 && w->kind == W_MODULE) {
            current = w->mod;
            if (name && names_put(&modnames, name, w->mod) == 0)
                name = NULL;
        }
        if (rc == 0 && w->kind == W_REGISTER) {
            w->reg_src = name ? names_get(&modnames, name) : current;
            w->reg_as = as;
            as = NULL;
        }
        if (rc == 0 && w->act.field)
            w->act.target = modname ? names_get(&modnames, modname) : current;
        free(name);
        free(as);
        free(modname);
    }
    names_free(&modnames, 1);
    return rc;
}

static int read_modules(struct wscript *s, struct kl_err *err)
{
    for (uint32_t i = 0; i < s->nmods; i++) {
        struct wmod *m = &s->mods[i];
        if (m->text)
            continue;
        if (kl_read_file(m->file, MAX_MODULE_BYTES, &m->wasm, &m->len, err) < 0)
            return kl_err_prefix(err, "line %u: ", s->cmds[m->cmd].line);
    }
    return 0;
}

int w_script_load(struct wscript *s, const char *path, struct kl_err *err)
{
    char json[PATH_MAX + 16];
    json_error_t jerr;
    json_t *root = NULL, *cmds;
    uint8_t *text = NULL;
    size_t len = 0;
    int rc;

    memset(s, 0, sizeof(*s));
    if (!(s->path = strdup(path)))
        return kl_errf(err, -ENOMEM, "out of memory");
    s->base = strrchr(s->path, '/') ? strrchr(s->path, '/') + 1 : s->path;
    if ((rc = run_wast2json(s, err)) < 0)
        return rc;
    snprintf(json, sizeof(json), "%s/s.json", s->tmpdir);
    if ((rc = kl_read_file(json, MAX_JSON_BYTES, &text, &len, err)) < 0)
        return kl_err_prefix(err, "wast2json output: ");
    root = json_loadb((const char *)text, len, JSON_ALLOW_NUL, &jerr);
    free(text);
    if (!root)
        return kl_errf(err, -EINVAL, "wast2json output: %s (line %d)", jerr.text, jerr.line);
    cmds = json_object_get(root, "commands");
    if (!json_is_array(cmds) || json_array_size(cmds) > MAX_COMMANDS) {
        rc = kl_errf(err, -EINVAL, "wast2json output has no command list");
        goto out;
    }
    s->ncmds = (uint32_t)json_array_size(cmds);
    s->cmds = calloc(s->ncmds + 1, sizeof(*s->cmds));
    s->mods = calloc(s->ncmds + 1, sizeof(*s->mods));
    if (!s->cmds || !s->mods) {
        rc = kl_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = parse_commands(s, cmds, err)) == 0)
        rc = read_modules(s, err);
out:
    json_decref(root);
    kl_rmdir_flat(s->tmpdir);   /* everything needed is in memory now */
    s->tmpdir[0] = 0;
    return rc;
}

void w_script_free(struct wscript *s)
{
    for (uint32_t i = 0; i < s->nvms; i++)
        kl_invoker_free(s->vms[i].inv);
    for (uint32_t i = 0; s->mods && i < s->nmods; i++) {
        free(s->mods[i].file);
        free(s->mods[i].wasm);
        free(s->mods[i].binds);
        kl_wasm_module_free(&s->mods[i].m);
    }
    for (uint32_t i = 0; s->cmds && i < s->ncmds; i++) {
        free(s->cmds[i].expect_text);
        free(s->cmds[i].reg_as);
        free(s->cmds[i].skip);
        free(s->cmds[i].bad);
        free(s->cmds[i].act.field);
        free(s->cmds[i].act.args);
        free(s->cmds[i].exp);
    }
    if (s->tmpdir[0])
        kl_rmdir_flat(s->tmpdir);
    kl_image_free(s->img);
    free(s->vms);
    free(s->mods);
    free(s->cmds);
    free(s->path);
    memset(s, 0, sizeof(*s));
}
