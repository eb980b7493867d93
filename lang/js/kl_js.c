/* kl_js.c - the JavaScript engine image: QuickJS, a node-like prelude, `run` commands and pre-initialised handlers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#include "quickjs.h"

#include "kernless/sdk.h"

/* The prelude (prelude.js), embedded by build.sh as a byte array. */
#include "prelude.h"

/* Where a deployed function's code is (a read-only preopen) and the file
 * naming its entry, written by the server at deploy. */
#define KL_APP_DIR "/app"
#define KL_ENTRY_FILE KL_APP_DIR "/.kernless-entry"
#define KL_MAX_FILE (64u << 20)
/* QuickJS checks its own C stack use against this limit; the shadow stack
 * is 1 MiB (build.sh), so a deep recursion is a RangeError, not a trap. */
#define KL_JS_STACK (768u * 1024u)

/* Imported from the Kernless guest runtime: "snapshot me now". Everything
 * before this call (engine start, prelude, the user's top level) is in the
 * snapshot every request starts from. */
__attribute__((import_module("kernless"), import_name("ready"))) void kl_ready(void);

/* Read a whole file (or stdin when path is NULL) into a malloc'd buffer. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = path ? fopen(path, "rb") : stdin;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);

    if (!f || !buf)
        goto err;
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        if (cap >= KL_MAX_FILE)
            goto err;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb)
            goto err;
        buf = nb;
        cap *= 2;
    }
    if (ferror(f))
        goto err;
    if (path)
        fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
err:
    if (f && path)
        fclose(f);
    free(buf);
    return NULL;
}

/* __kl_write(fd, string|ArrayBuffer|typed array): raw bytes to stdout/stderr. */
static JSValue js_write(JSContext *ctx, JSValueConst this, int argc, JSValueConst *argv)
{
    int32_t fd = 1;
    FILE *f;
    size_t len, off = 0, elt;
    const char *s;
    uint8_t *p;

    (void)this;
    if (argc < 2 || JS_ToInt32(ctx, &fd, argv[0]))
        return JS_EXCEPTION;
    f = fd == 2 ? stderr : stdout;
    if (JS_IsString(argv[1])) {
        if (!(s = JS_ToCStringLen(ctx, &len, argv[1])))
            return JS_EXCEPTION;
        fwrite(s, 1, len, f);
        JS_FreeCString(ctx, s);
        return JS_UNDEFINED;
    }
    if ((p = JS_GetArrayBuffer(ctx, &len, argv[1]))) {
        fwrite(p, 1, len, f);
        return JS_UNDEFINED;
    }
    JS_FreeValue(ctx, JS_GetException(ctx));
    JSValue ab = JS_GetTypedArrayBuffer(ctx, argv[1], &off, &len, &elt);
    if (JS_IsException(ab))
        return JS_EXCEPTION;
    p = JS_GetArrayBuffer(ctx, &elt, ab);
    if (p)
        fwrite(p + off, 1, len, f);
    JS_FreeValue(ctx, ab);
    return JS_UNDEFINED;
}

/* __kl_read(path | 0): the file's bytes as an ArrayBuffer, stdin for 0, null if unreadable. */
static JSValue js_read(JSContext *ctx, JSValueConst this, int argc, JSValueConst *argv)
{
    const char *path = NULL;
    size_t len = 0;
    char *buf;
    JSValue v;

    (void)this;
    if (argc > 0 && JS_IsString(argv[0]) && !(path = JS_ToCString(ctx, argv[0])))
        return JS_EXCEPTION;
    buf = read_all(path, &len);
    if (path)
        JS_FreeCString(ctx, path);
    if (!buf)
        return JS_NULL;
    v = JS_NewArrayBufferCopy(ctx, (uint8_t *)buf, len);
    free(buf);
    return v;
}

/* __kl_utf8_decode(ArrayBuffer|typed array): a string (bad bytes become U+FFFD). */
static JSValue js_utf8_decode(JSContext *ctx, JSValueConst this, int argc, JSValueConst *argv)
{
    size_t len, off = 0, elt;
    uint8_t *p;

    (void)this;
    if (argc < 1)
        return JS_NewString(ctx, "");
    if ((p = JS_GetArrayBuffer(ctx, &len, argv[0])))
        return JS_NewStringLen(ctx, (const char *)p, len);
    JS_FreeValue(ctx, JS_GetException(ctx));
    JSValue ab = JS_GetTypedArrayBuffer(ctx, argv[0], &off, &len, &elt);
    if (JS_IsException(ab))
        return JS_EXCEPTION;
    p = JS_GetArrayBuffer(ctx, &elt, ab);
    JSValue s = p ? JS_NewStringLen(ctx, (const char *)p + off, len) : JS_NewString(ctx, "");
    JS_FreeValue(ctx, ab);
    return s;
}

/* __kl_utf8_encode(string): its UTF-8 bytes as an ArrayBuffer. */
static JSValue js_utf8_encode(JSContext *ctx, JSValueConst this, int argc, JSValueConst *argv)
{
    size_t len;
    const char *s;
    JSValue v;

    (void)this;
    if (argc < 1 || !(s = JS_ToCStringLen(ctx, &len, argv[0])))
        return JS_EXCEPTION;
    v = JS_NewArrayBufferCopy(ctx, (const uint8_t *)s, len);
    JS_FreeCString(ctx, s);
    return v;
}

/* The bytes of a string, ArrayBuffer or typed array argument (undefined: none).
 * A string's UTF-8 copy is kept in *str for the caller to free. */
static int svc_arg(JSContext *ctx, JSValueConst v, const uint8_t **p, size_t *n, const char **str)
{
    size_t off, elt;

    *p = NULL;
    *n = 0;
    *str = NULL;
    if (JS_IsUndefined(v) || JS_IsNull(v))
        return 0;
    if (JS_IsString(v)) {
        if (!(*str = JS_ToCStringLen(ctx, n, v)))
            return -1;
        *p = (const uint8_t *)*str;
        return 0;
    }
    if ((*p = JS_GetArrayBuffer(ctx, n, v)))
        return 0;
    JS_FreeValue(ctx, JS_GetException(ctx));
    JSValue ab = JS_GetTypedArrayBuffer(ctx, v, &off, n, &elt);
    if (JS_IsException(ab))
        return -1;
    *p = JS_GetArrayBuffer(ctx, &elt, ab);
    if (*p)
        *p += off;
    JS_FreeValue(ctx, ab);   /* the typed array keeps its buffer alive */
    return 0;
}

/* __kl_svc(op, a, b, c, d): one call of the host's kernless.svc (kernless/sdk.h);
 * [err, status, reason, result ArrayBuffer, hdr_len]. */
static JSValue js_svc(JSContext *ctx, JSValueConst this, int argc, JSValueConst *argv)
{
    static uint8_t first[65536];
    const uint8_t *p[4];
    const char *str[4] = {0};
    size_t n[4];
    char reason[KL_SDK_REASON_CAP] = "";
    struct kl_svc_wasm w = {0};
    uint32_t op = 0;
    JSValue out = JS_UNDEFINED, arr;
    uint8_t *res = NULL;
    int i;

    (void)this;
    if (argc < 5 || JS_ToUint32(ctx, &op, argv[0]) < 0)
        return JS_ThrowTypeError(ctx, "__kl_svc(op, a, b, c, d)");
    for (i = 0; i < 4; i++)
        if (svc_arg(ctx, argv[1 + i], &p[i], &n[i], &str[i]) < 0)
            goto err;
    w.version = KL_SVC_VERSION;
    w.op = op;
    w.a = (uint32_t)(uintptr_t)p[0]; w.a_len = (uint32_t)n[0];
    w.b = (uint32_t)(uintptr_t)p[1]; w.b_len = (uint32_t)n[1];
    w.c = (uint32_t)(uintptr_t)p[2]; w.c_len = (uint32_t)n[2];
    w.d = (uint32_t)(uintptr_t)p[3]; w.d_len = (uint32_t)n[3];
    w.out = (uint32_t)(uintptr_t)first; w.out_cap = sizeof(first);
    w.reason = (uint32_t)(uintptr_t)reason; w.reason_cap = sizeof(reason);
    kl_svc_import(&w);
    if (!w.err && w.copied < w.result_len) {   /* the rest of a large result */
        struct kl_svc_wasm x = {0};
        if (!(res = malloc(w.result_len)))
            goto err;
        memcpy(res, first, w.copied);
        x.version = KL_SVC_VERSION;
        x.op = KL_SVC_RESULT;
        x.offset = w.copied;
        x.out = (uint32_t)(uintptr_t)(res + w.copied);
        x.out_cap = w.result_len - w.copied;
        kl_svc_import(&x);
    }
    out = JS_NewArrayBufferCopy(ctx, res ? res : first, w.err ? 0 : w.result_len);
    free(res);
    arr = JS_NewArray(ctx);
    JS_SetPropertyUint32(ctx, arr, 0, JS_NewUint32(ctx, w.err));
    JS_SetPropertyUint32(ctx, arr, 1, JS_NewUint32(ctx, w.status));
    JS_SetPropertyUint32(ctx, arr, 2, JS_NewString(ctx, reason));
    JS_SetPropertyUint32(ctx, arr, 3, out);
    JS_SetPropertyUint32(ctx, arr, 4, JS_NewUint32(ctx, w.hdr_len));
    for (i = 0; i < 4; i++)
        JS_FreeCString(ctx, str[i]);
    return arr;
err:
    for (i = 0; i < 4; i++)
        JS_FreeCString(ctx, str[i]);
    return JS_EXCEPTION;
}

/* __kl_eval(source, filename): evaluate a global script, returning its value. */
static JSValue js_eval(JSContext *ctx, JSValueConst this, int argc, JSValueConst *argv)
{
    size_t len;
    const char *src, *name;
    JSValue v;

    (void)this;
    if (argc < 2 || !(src = JS_ToCStringLen(ctx, &len, argv[0])))
        return JS_EXCEPTION;
    if (!(name = JS_ToCString(ctx, argv[1]))) {
        JS_FreeCString(ctx, src);
        return JS_EXCEPTION;
    }
    v = JS_Eval(ctx, src, len, name, JS_EVAL_TYPE_GLOBAL);
    JS_FreeCString(ctx, src);
    JS_FreeCString(ctx, name);
    return v;
}

/* __kl_exit(code): flush and end the process. */
static JSValue js_exit(JSContext *ctx, JSValueConst this, int argc, JSValueConst *argv)
{
    int32_t code = 0;

    (void)this;
    if (argc > 0)
        JS_ToInt32(ctx, &code, argv[0]);
    fflush(stdout);
    fflush(stderr);
    exit(code & 0xff);
}

/* Math.random from WASI's random_get (served in the guest): QuickJS seeds
 * its own generator at start-up, which is in the snapshot, so every request
 * would draw the same numbers. */
static JSValue js_random(JSContext *ctx, JSValueConst this, int argc, JSValueConst *argv)
{
    uint64_t v = 0;

    (void)this, (void)argc, (void)argv;
    __wasi_random_get((uint8_t *)&v, sizeof(v));
    return JS_NewFloat64(ctx, (double)(v >> 11) * 0x1p-53);
}

/* The process environment, read straight from WASI: libc caches environ,
 * and a request's environment is only there after the snapshot. */
static JSValue env_object(JSContext *ctx)
{
    __wasi_size_t n = 0, size = 0;
    JSValue obj = JS_NewObject(ctx);
    char **vec = NULL, *buf = NULL;

    if (__wasi_environ_sizes_get(&n, &size) != 0 || !(vec = calloc(n + 1, sizeof(*vec))) ||
        !(buf = malloc(size + 1)) || __wasi_environ_get((uint8_t **)vec, (uint8_t *)buf) != 0)
        goto out;
    for (__wasi_size_t i = 0; i < n; i++) {
        char *eq = strchr(vec[i], '=');
        if (!eq)
            continue;
        *eq = 0;
        JS_SetPropertyStr(ctx, obj, vec[i], JS_NewString(ctx, eq + 1));
    }
out:
    free(vec);
    free(buf);
    return obj;
}

/* Call the prelude's global `name` with the given arguments (freed here). */
static JSValue call_prelude(JSContext *ctx, const char *name, int argc, JSValue *argv)
{
    JSValue g = JS_GetGlobalObject(ctx), fn = JS_GetPropertyStr(ctx, g, name);
    JSValue r = JS_Call(ctx, fn, g, argc, (JSValueConst *)argv);

    for (int i = 0; i < argc; i++)
        JS_FreeValue(ctx, argv[i]);
    JS_FreeValue(ctx, fn);
    JS_FreeValue(ctx, g);
    return r;
}

/* Print a pending exception through the prelude (node-like), return `code`. */
static int report_exception(JSContext *ctx, const char *how, int code)
{
    JSValue args[2] = {JS_GetException(ctx), JS_NewString(ctx, how)};
    JSValue r = call_prelude(ctx, "__kl_report", 2, args);

    if (JS_IsException(r)) {
        fputs("kernless: an exception while reporting an exception\n", stderr);
        JS_FreeValue(ctx, JS_GetException(ctx));
    }
    JS_FreeValue(ctx, r);
    return code;
}

static void define(JSContext *ctx, JSValue g, const char *name, JSCFunction *fn, int n)
{
    JS_SetPropertyStr(ctx, g, name, JS_NewCFunction(ctx, fn, name, n));
}

static JSContext *engine_new(void)
{
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
    JSValue g, r;

    if (!ctx) {
        fputs("kernless: cannot start the JavaScript engine (out of memory)\n", stderr);
        exit(70);
    }
    JS_SetMaxStackSize(rt, KL_JS_STACK);
    g = JS_GetGlobalObject(ctx);
    define(ctx, g, "__kl_write", js_write, 2);
    define(ctx, g, "__kl_read", js_read, 1);
    define(ctx, g, "__kl_utf8_decode", js_utf8_decode, 1);
    define(ctx, g, "__kl_utf8_encode", js_utf8_encode, 1);
    define(ctx, g, "__kl_eval", js_eval, 2);
    define(ctx, g, "__kl_exit", js_exit, 1);
    define(ctx, g, "__kl_random", js_random, 0);
    define(ctx, g, "__kl_svc", js_svc, 5);
    JS_FreeValue(ctx, g);
    r = JS_Eval(ctx, (const char *)kl_prelude_js, kl_prelude_js_len, "<kernless prelude>",
                JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(r)) {
        report_exception(ctx, "prelude", 70);
        exit(70);
    }
    JS_FreeValue(ctx, r);
    return ctx;
}

/* Run queued promise jobs until none is left; 0, or -1 after an exception. */
static int run_jobs(JSContext *ctx)
{
    JSContext *c;
    int rc;

    while ((rc = JS_ExecutePendingJob(JS_GetRuntime(ctx), &c)) > 0)
        ;
    return rc < 0 ? -1 : 0;
}

/* `kernless run script.js args...`: the script is the program. */
static int run_command(JSContext *ctx, int argc, char **argv)
{
    JSValue args = JS_NewArray(ctx), r;

    kl_ready();   /* nothing to keep warm for a one-off command: just go on */
    for (int i = 0; i < argc; i++)
        JS_SetPropertyUint32(ctx, args, (uint32_t)i, JS_NewString(ctx, argv[i]));
    JSValue call[2] = {args, env_object(ctx)};
    r = call_prelude(ctx, "__kl_main", 2, call);
    if (JS_IsException(r))
        return report_exception(ctx, "uncaught", 1);
    JS_FreeValue(ctx, r);
    if (run_jobs(ctx) < 0)
        return report_exception(ctx, "uncaught", 1);
    return 0;
}

/* A deployed handler: load it, snapshot, then serve this request. */
static int serve(JSContext *ctx)
{
    size_t n;
    char *entry = read_all(KL_ENTRY_FILE, &n), *body;
    JSValue r, args[2];

    if (!entry) {
        fputs("kernless: no " KL_ENTRY_FILE ": this engine serves code deployed by kernless\n",
              stderr);
        return 70;
    }
    entry[strcspn(entry, "\r\n")] = 0;
    args[0] = JS_NewString(ctx, entry);
    free(entry);
    r = call_prelude(ctx, "__kl_load", 1, args);
    if (JS_IsException(r) || run_jobs(ctx) < 0)
        return report_exception(ctx, "load", 1);
    JS_FreeValue(ctx, r);
    /* Every request starts here, in a fresh copy of this state. What the
     * top level printed goes out now, not into every response. */
    fflush(stdout);
    fflush(stderr);
    kl_ready();
    if (!(body = read_all(NULL, &n)))
        n = 0;
    args[0] = env_object(ctx);
    args[1] = JS_NewArrayBufferCopy(ctx, (uint8_t *)(body ? body : ""), n);
    free(body);
    r = call_prelude(ctx, "__kl_serve", 2, args);
    if (JS_IsException(r))
        return report_exception(ctx, "request", 1);
    JS_FreeValue(ctx, r);
    if (run_jobs(ctx) < 0)
        return report_exception(ctx, "request", 1);
    args[0] = JS_UNDEFINED;
    r = call_prelude(ctx, "__kl_finish", 0, args);
    if (JS_IsException(r))
        return report_exception(ctx, "request", 1);
    JS_FreeValue(ctx, r);
    return 0;
}

/** argc >= 2: `run` a script (argv[1]); else serve the deployed handler. */
int main(int argc, char **argv)
{
    JSContext *ctx = engine_new();
    int rc = argc >= 2 ? run_command(ctx, argc - 1, argv + 1) : serve(ctx);

    fflush(stdout);
    fflush(stderr);
    /* No teardown: the instance is thrown away (or reset) after this. */
    _Exit(rc);
}
