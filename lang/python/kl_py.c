/* kl_py.c - the Python engine image: CPython 3.11, `run` commands, and pre-initialised handlers. */
/* The handler glue is Python, in the stdlib folder as _kernless.py
 * (lang/python/prelude.py): changing it does not change this module, so the
 * engine's image (minutes to compile) stays cached. */
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#include "kernless/sdk.h"

#define KL_ENTRY_FILE "/app/.kernless-entry"

/* Imported from the Kernless guest runtime: "snapshot me now". Everything
 * before it (interpreter start-up, the user's imports and top level) is in
 * the snapshot every request starts from. */
__attribute__((import_module("kernless"), import_name("ready"))) void kl_ready(void);

/* ---- _kernless_svc: the host services (kernless/sdk.h) for kernless.py ---- */

/* One call of kernless.svc with up to four byte arguments; the whole result
 * comes back, fetched in pieces with KL_SVC_RESULT when it is large. */
static PyObject *svc_call(PyObject *self, PyObject *args)
{
    Py_buffer b[4];
    unsigned op;
    char reason[KL_SDK_REASON_CAP] = "";
    static char first[65536];
    struct kl_svc_wasm w = {0};
    PyObject *res = NULL, *out;

    (void)self;
    if (!PyArg_ParseTuple(args, "Iy*y*y*y*", &op, &b[0], &b[1], &b[2], &b[3]))
        return NULL;
    w.version = KL_SVC_VERSION;
    w.op = op;
    w.a = (uint32_t)(uintptr_t)b[0].buf; w.a_len = (uint32_t)b[0].len;
    w.b = (uint32_t)(uintptr_t)b[1].buf; w.b_len = (uint32_t)b[1].len;
    w.c = (uint32_t)(uintptr_t)b[2].buf; w.c_len = (uint32_t)b[2].len;
    w.d = (uint32_t)(uintptr_t)b[3].buf; w.d_len = (uint32_t)b[3].len;
    w.out = (uint32_t)(uintptr_t)first; w.out_cap = sizeof(first);
    w.reason = (uint32_t)(uintptr_t)reason; w.reason_cap = sizeof(reason);
    kl_svc_import(&w);
    for (int i = 0; i < 4; i++)
        PyBuffer_Release(&b[i]);
    if (w.err)
        return Py_BuildValue("(IIsyI)", w.err, w.status, reason, "", 0u);
    if (!(out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)w.result_len)))
        return NULL;
    memcpy(PyBytes_AS_STRING(out), first, w.copied);
    if (w.copied < w.result_len) {   /* the rest, straight into the bytes object */
        struct kl_svc_wasm x = {0};
        x.version = KL_SVC_VERSION;
        x.op = KL_SVC_RESULT;
        x.offset = w.copied;
        x.out = (uint32_t)(uintptr_t)(PyBytes_AS_STRING(out) + w.copied);
        x.out_cap = w.result_len - w.copied;
        kl_svc_import(&x);
    }
    res = Py_BuildValue("(IIsNI)", 0u, w.status, "", out, w.hdr_len);
    return res;
}

static PyMethodDef svc_methods[] = {
    {"call", svc_call, METH_VARARGS, "call(op, a, b, c, d) -> (err, status, reason, result, hdr_len)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef svc_module = {PyModuleDef_HEAD_INIT, "_kernless_svc", NULL, -1, svc_methods,
                                        NULL, NULL, NULL, NULL};

static PyObject *svc_init(void)
{
    return PyModule_Create(&svc_module);
}

/* Read all of stdin (the request body) into a bytes object. */
static PyObject *read_body(void)
{
    size_t cap = 65536, n = 0, got;
    char *buf = malloc(cap);
    PyObject *b;

    while (buf && (got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    b = PyBytes_FromStringAndSize(buf ? buf : "", buf ? (Py_ssize_t)n : 0);
    free(buf);
    return b;
}

/* The request's environment as a dict, straight from WASI: os.environ was
 * taken at start-up, before the snapshot. */
static PyObject *env_dict(void)
{
    __wasi_size_t n = 0, size = 0;
    PyObject *d = PyDict_New();
    char **vec = NULL, *buf = NULL;

    if (!d || __wasi_environ_sizes_get(&n, &size) != 0 || !(vec = calloc(n + 1, sizeof(*vec))) ||
        !(buf = malloc(size + 1)) || __wasi_environ_get((uint8_t **)vec, (uint8_t *)buf) != 0)
        goto out;
    for (__wasi_size_t i = 0; i < n; i++) {
        char *eq = strchr(vec[i], '=');
        if (!eq)
            continue;
        *eq = 0;
        PyObject *v = PyUnicode_DecodeUTF8(eq + 1, (Py_ssize_t)strlen(eq + 1), "surrogateescape");
        if (v) {
            PyDict_SetItemString(d, vec[i], v);
            Py_DECREF(v);
        }
    }
out:
    free(vec);
    free(buf);
    return d;
}

/* Call _kernless.<name>(*args); on an exception, _kernless.report prints
 * its traceback (with the request id, or the file:line summary at load)
 * and the instance ends with status 1. */
static PyObject *call(PyObject *mod, const char *name, PyObject *args, const char *how)
{
    PyObject *fn = PyObject_GetAttrString(mod, name);
    PyObject *r = fn && args ? PyObject_CallObject(fn, args) : NULL;
    PyObject *t, *v, *tb, *rep, *x = NULL;

    Py_XDECREF(fn);
    Py_XDECREF(args);
    if (r)
        return r;
    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    if (v && tb)
        PyException_SetTraceback(v, tb);
    if ((rep = PyObject_GetAttrString(mod, "report")))
        x = PyObject_CallFunction(rep, "sO", how, v ? v : Py_None);
    if (!x) {
        PyErr_Print();
        if (v) {
            PyErr_Restore(t, v, tb);
            PyErr_Print();
            t = v = tb = NULL;
        }
    }
    Py_XDECREF(x);
    Py_XDECREF(rep);
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
    fflush(stderr);
    _Exit(1);
}

/* A deployed handler: start, load the code, snapshot, serve this request. */
static int serve(void)
{
    PyConfig config;
    PyStatus st;
    PyObject *mod, *r;
    char entry[512];
    FILE *f;

    PyImport_AppendInittab("_kernless_svc", svc_init);
    PyConfig_InitPythonConfig(&config);
    config.write_bytecode = 0;
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st))
        Py_ExitStatusException(st);
    if (!(f = fopen(KL_ENTRY_FILE, "r")) || !fgets(entry, sizeof(entry), f)) {
        fputs("kernless: no " KL_ENTRY_FILE ": this engine serves code deployed by kernless\n",
              stderr);
        return 70;
    }
    fclose(f);
    entry[strcspn(entry, "\r\n")] = 0;
    if (!(mod = PyImport_ImportModule("_kernless"))) {
        PyErr_Print();
        return 70;
    }
    r = call(mod, "load", Py_BuildValue("(s)", entry), "load");
    Py_DECREF(r);
    fflush(stdout);
    fflush(stderr);
    /* Every request starts here, in a fresh copy of this state. */
    kl_ready();
    r = call(mod, "serve", Py_BuildValue("(NN)", env_dict(), read_body()), "request");
    Py_DECREF(r);
    return 0;
}

/** argc >= 2: `run` a script like python3 does; else serve the deployed handler. */
int main(int argc, char **argv)
{
    int rc;

    if (argc >= 2) {
        kl_ready();   /* nothing to keep warm for a one-off command: just go on */
        PyImport_AppendInittab("_kernless_svc", svc_init);
        return Py_BytesMain(argc, argv);
    }
    rc = serve();
    fflush(stdout);
    fflush(stderr);
    /* No Py_Finalize: the instance is thrown away (or reset) after this. */
    _Exit(rc);
}
