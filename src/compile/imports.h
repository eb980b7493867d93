/* imports.h - which imports the platform provides, and the check that a module needs nothing else. */
#ifndef KL_COMPILE_IMPORTS_H
#define KL_COMPILE_IMPORTS_H

#include "common/err.h"
#include "compile/wasm_module.h"

/**
 * Check every import of `m` against wasi_snapshot_preview1 (or kernless.ready)
 * with the exact signature. Returns 0 or -EINVAL naming the first unknown or mistyped import.
 */
int kl_imports_check_wasi(const struct kl_wasm_module *m, struct kl_err *err);

/**
 * 1 if `im` is kernless.ready, the one Kernless import (besides WASI): a
 * module that imports it is snapshotted when it calls it, not at the end of
 * instantiation, so work it does first (an interpreter's start-up, the
 * user's imports) is done once for every request. Its type must be () -> ().
 */
int kl_imports_is_ready(const struct kl_wasm_import *im);

/** How many of kernless.ready and kernless.svc the module imports (0: none). */
int kl_imports_uses_kernless(const struct kl_wasm_module *m);

/** 1 if the module imports kernless.ready. */
int kl_imports_uses_ready(const struct kl_wasm_module *m);

#endif
