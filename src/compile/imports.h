/* imports.h - which imports the platform provides, and the check that a module needs nothing else. */
#ifndef KL_COMPILE_IMPORTS_H
#define KL_COMPILE_IMPORTS_H

#include "common/err.h"
#include "compile/wasm_module.h"

/**
 * Check every import of `m` against wasi_snapshot_preview1 with the exact
 * signature. Returns 0 or -EINVAL naming the first unknown or mistyped import.
 */
int kl_imports_check_wasi(const struct kl_wasm_module *m, struct kl_err *err);

#endif
