/* modobj.h - compile modules into cached objects and link several into one invoke image. */
#ifndef KL_COMPILE_MODOBJ_H
#define KL_COMPILE_MODOBJ_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "compile/compile.h"
#include "compile/wasm_module.h"

/*
 * An invoke image (KL_MODE_INVOKE, see wast/invoke.h) holds any number of
 * modules. Each module is compiled once into an object named by its content
 * (module bytes + toolchain + options), with its own wasm2c name, so the
 * same module can appear in many images and objects are shared between
 * runs; an image is named by the list of its objects. Both live in
 * <cache>/invoke/.
 */

/** Options shared by object builds and links. */
struct kl_modobj_opts {
    int opt_level;           /* cc -O level for module code */
    const char *cache_dir;   /* NULL: kl_default_cache_dir() */
    uint32_t timeout_s;      /* per subprocess; 0 = 600 */
    int tier;                /* compile/tier.h; the baseline ignores opt_level */
};

/** One module's object. */
struct kl_modobj {
    char cname[24];          /* wasm2c -n name: "k" and 16 hex digits of the key */
    char path[PATH_MAX];     /* the object in the cache */
    uint8_t key[32];
    int cached;              /* the object already exists */
};

/**
 * Name the object of module `wasm` under toolchain `tc` and check whether
 * it is cached. No subprocess runs.
 */
int kl_modobj_init(struct kl_modobj *o, const struct kl_toolchain *tc, const uint8_t *wasm,
                   size_t len, const struct kl_modobj_opts *opts, struct kl_err *err);

/**
 * Build the object (unless cached): validate, wasm2c, patch and glue, cc.
 * `m` is the parsed module; tc->cc_include must be set (and tc->tcc_include
 * for the baseline tier). Safe to call from
 * several threads for different modules. -EINVAL for a module the pipeline
 * rejects, -ENOTSUP for an unsupported feature, one line in *err.
 */
int kl_modobj_build(struct kl_modobj *o, const struct kl_toolchain *tc, const uint8_t *wasm,
                    size_t len, const struct kl_wasm_module *m,
                    const struct kl_modobj_opts *opts, struct kl_err *err);

/**
 * Link objects[0..n) (all built) with the guest runtime into an image whose
 * module i is objects[i], or find it in the cache. Writes the image path.
 */
int kl_modobj_link(const struct kl_toolchain *tc, const struct kl_modobj *objects, size_t n,
                   const struct kl_modobj_opts *opts, char *img_path, size_t img_path_len,
                   int *cached, struct kl_err *err);

/**
 * The front end alone, for modules that must be rejected (spec
 * assert_invalid / assert_malformed): parse, validate and, if those accept,
 * wasm2c. Sets *rejected and a reason in *err; returns -errno only when the
 * tools could not run. Verdicts are cached by module content.
 */
int kl_modobj_front_end(const struct kl_toolchain *tc, const uint8_t *wasm, size_t len,
                        const struct kl_modobj_opts *opts, int *rejected, struct kl_err *err);

#endif
