/* imports.c - the wasi_snapshot_preview1 functions the guest runtime implements, with their signatures. */
#include "compile/imports.h"

#include <errno.h>
#include <string.h>

/* Signature strings: params ':' results, 'i' = i32, 'I' = i64. */
static const struct { const char *name, *sig; } wasi_fns[] = {
    {"args_get", "ii:i"}, {"args_sizes_get", "ii:i"},
    {"environ_get", "ii:i"}, {"environ_sizes_get", "ii:i"},
    {"clock_res_get", "ii:i"}, {"clock_time_get", "iIi:i"},
    {"fd_advise", "iIIi:i"}, {"fd_allocate", "iII:i"}, {"fd_close", "i:i"},
    {"fd_datasync", "i:i"}, {"fd_fdstat_get", "ii:i"}, {"fd_fdstat_set_flags", "ii:i"},
    {"fd_fdstat_set_rights", "iII:i"}, {"fd_filestat_get", "ii:i"},
    {"fd_filestat_set_size", "iI:i"}, {"fd_filestat_set_times", "iIIi:i"},
    {"fd_pread", "iiiIi:i"}, {"fd_prestat_get", "ii:i"}, {"fd_prestat_dir_name", "iii:i"},
    {"fd_pwrite", "iiiIi:i"}, {"fd_read", "iiii:i"}, {"fd_readdir", "iiiIi:i"},
    {"fd_renumber", "ii:i"}, {"fd_seek", "iIii:i"}, {"fd_sync", "i:i"}, {"fd_tell", "ii:i"},
    {"fd_write", "iiii:i"}, {"path_create_directory", "iii:i"},
    {"path_filestat_get", "iiiii:i"}, {"path_filestat_set_times", "iiiiIIi:i"},
    {"path_link", "iiiiiii:i"}, {"path_open", "iiiiiIIii:i"},
    {"path_readlink", "iiiiii:i"}, {"path_remove_directory", "iii:i"},
    {"path_rename", "iiiiii:i"}, {"path_symlink", "iiiii:i"}, {"path_unlink_file", "iii:i"},
    {"poll_oneoff", "iiii:i"}, {"proc_exit", "i:"}, {"proc_raise", "i:i"},
    {"sched_yield", ":i"}, {"random_get", "ii:i"}, {"sock_accept", "iii:i"},
    {"sock_recv", "iiiiii:i"}, {"sock_send", "iiiii:i"}, {"sock_shutdown", "ii:i"},
};

static char valtype_char(uint8_t t)
{
    return t == KL_WT_I32 ? 'i' : t == KL_WT_I64 ? 'I' : t == KL_WT_F32 ? 'f'
         : t == KL_WT_F64 ? 'F' : '?';
}

/* Render a function type as a signature string like "iIi:i". */
static void sig_of(const struct kl_wasm_functype *t, char *buf, size_t len)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->nparams && n + 2 < len; i++)
        buf[n++] = valtype_char(t->params[i]);
    if (n + 1 < len)
        buf[n++] = ':';
    for (uint32_t i = 0; i < t->nresults && n + 1 < len; i++)
        buf[n++] = valtype_char(t->results[i]);
    buf[n] = 0;
}

/* 1 if `im` is the function kernless.<name>. */
static int is_kernless(const struct kl_wasm_import *im, const char *name)
{
    return im->kind == KL_EXT_FUNC && strcmp(im->module, "kernless") == 0 &&
           strlen(im->module) == im->module_len && strcmp(im->name, name) == 0 &&
           strlen(im->name) == im->name_len;
}

int kl_imports_is_ready(const struct kl_wasm_import *im)
{
    return is_kernless(im, "ready");
}

int kl_imports_uses_kernless(const struct kl_wasm_module *m)
{
    int n = 0;

    for (uint32_t i = 0; i < m->nimports; i++)
        n += is_kernless(&m->imports[i], "ready") || is_kernless(&m->imports[i], "svc");
    return n;
}

int kl_imports_uses_ready(const struct kl_wasm_module *m)
{
    for (uint32_t i = 0; i < m->nimports; i++)
        if (kl_imports_is_ready(&m->imports[i]))
            return 1;
    return 0;
}

int kl_imports_check_wasi(const struct kl_wasm_module *m, struct kl_err *err)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct kl_wasm_import *im = &m->imports[i];
        char sig[64];
        size_t k;

        if (kl_imports_is_ready(im)) {   /* the one Kernless import: "snapshot me now" */
            sig_of(&m->types[im->type_index], sig, sizeof(sig));
            if (strcmp(sig, ":") != 0)
                return kl_errf(err, -EINVAL, "import kernless.ready has type %s, expected a "
                               "function with no parameters and no results", sig);
            continue;
        }
        if (is_kernless(im, "svc")) {   /* host services: abi.h, KL_HC_SVC */
            sig_of(&m->types[im->type_index], sig, sizeof(sig));
            if (strcmp(sig, "i:i") != 0)
                return kl_errf(err, -EINVAL, "import kernless.svc has type %s, expected i:i", sig);
            continue;
        }
        if (im->kind != KL_EXT_FUNC || strcmp(im->module, "wasi_snapshot_preview1") != 0 ||
            strlen(im->module) != im->module_len || strlen(im->name) != im->name_len)
            return kl_errf(err, -EINVAL, "unknown import %.64s.%.64s: Kernless provides only "
                           "wasi_snapshot_preview1 functions (and kernless.ready, kernless.svc)",
                           im->module, im->name);
        for (k = 0; k < sizeof(wasi_fns) / sizeof(wasi_fns[0]); k++)
            if (strcmp(wasi_fns[k].name, im->name) == 0)
                break;
        if (k == sizeof(wasi_fns) / sizeof(wasi_fns[0]))
            return kl_errf(err, -EINVAL, "unknown import wasi_snapshot_preview1.%.64s", im->name);
        sig_of(&m->types[im->type_index], sig, sizeof(sig));
        if (strcmp(sig, wasi_fns[k].sig) != 0)
            return kl_errf(err, -EINVAL, "import wasi_snapshot_preview1.%s has type %s, "
                           "expected %s", im->name, sig, wasi_fns[k].sig);
    }
    return 0;
}
