/* internal.h - the spec-script runner's data model, shared by the files of src/wast/. */
#ifndef KL_WAST_INTERNAL_H
#define KL_WAST_INTERNAL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "compile/modobj.h"
#include "compile/wasm_module.h"
#include "inst/image.h"
#include "wast/invoke.h"
#include "wast/wast.h"

/*
 * A script runs in three steps: load (wast2json, JSON to commands, module
 * files parsed, imports resolved statically, instances packed into VMs),
 * build (objects and images, in parallel across all scripts) and execute
 * (commands in order, each VM started when first needed and destroyed after
 * its last use).
 */

#define W_MAX_MEMS_PER_VM KL_MAX_MEMORIES
#define W_MAX_INST_PER_VM 4000u
#define W_SPECTEST (-1)           /* wbind.src: the built-in spectest module */
#define W_UNBOUND (-2)            /* wbind.src: not resolved */

enum wcmd_kind {
    W_MODULE, W_REGISTER, W_ACTION, W_RETURN, W_TRAP, W_EXHAUSTION,
    W_INVALID, W_MALFORMED, W_UNLINKABLE, W_UNINSTANTIABLE, W_UNKNOWN,
};

/* How an expected value matches. */
enum wpattern { WP_EXACT, WP_NAN_CANONICAL, WP_NAN_ARITHMETIC, WP_NONNULL };

/** An argument or an expected result. References: bits 0 = null, an
 * externref N travels as N + 1. */
struct wval {
    uint8_t type;        /* value-type byte */
    uint8_t pattern;     /* enum wpattern */
    uint64_t bits;
};

/** invoke or get. */
struct wact {
    int is_get;
    int target;          /* module index, or -1 when no module was defined */
    char *field;
    size_t field_len;
    uint32_t nargs;
    struct wval *args;
};

/** One import, resolved when the script is loaded. */
struct wbind {
    int src;             /* module index, W_SPECTEST or W_UNBOUND */
    uint32_t item;       /* export index in src, or enum kl_spectest_item */
    uint64_t min;        /* memory/table: the import's minimum ... */
    int size_check;      /* ... to check against the current size at link time */
};

/** A module-bearing command (module, assert_invalid/malformed/unlinkable/uninstantiable). */
struct wmod {
    uint32_t cmd;
    char *file;                  /* the .wasm (or .wat) wast2json wrote */
    int text;                    /* a text-format module (not checkable here) */
    uint8_t *wasm;
    size_t len;
    struct kl_wasm_module m;
    int parsed;
    int instantiable;            /* module, assert_uninstantiable */
    char skip[200];              /* non-empty: cannot run, with the reason */
    char error[400];             /* non-empty: the pipeline failed on it */
    char link_error[300];        /* non-empty: resolution failed statically */
    struct wbind *binds;         /* m.nimports */
    int build;                   /* needs an object */
    struct kl_modobj obj;
    uint32_t image_index;
    int vm;                      /* VM slot, -1 if never instantiated */
    int inst;                    /* instance number in that VM, -1 before */
    int ready;                   /* instantiated without a trap */
    int rejected;                /* front-end verdict (invalid/malformed) */
    char verdict[300];
};

struct wcmd {
    enum wcmd_kind kind;
    uint32_t line;
    int mod;                     /* module-bearing commands: index in mods */
    char *expect_text;           /* expected trap/error message */
    struct wact act;
    uint32_t nexp;
    struct wval *exp;
    int reg_src;                 /* W_REGISTER: module index or -1 */
    char *reg_as;                /* W_REGISTER: the name it is registered as */
    char *skip;                  /* the command cannot run here (e.g. v128 values) */
    char *bad;                   /* the command could not be read */
};

struct wvm {
    struct kl_invoker *inv;
    uint32_t nmem, ninst, last_use;
    int started;
    char dead[300];              /* non-empty: could not start */
};

struct wscript {
    char *path;
    const char *base;            /* file name for messages */
    char tmpdir[PATH_MAX];
    char load_error[600];
    struct wcmd *cmds;
    uint32_t ncmds;
    struct wmod *mods;
    uint32_t nmods;
    struct wvm *vms;
    uint32_t nvms;
    int spectest_vm;             /* VM holding the spectest table/memory, or -1 */
    char img_path[PATH_MAX];
    char img_error[600];
    struct kl_image *img;
    struct kl_wast_totals t;
};

/* script.c */
/** wast2json the script and read its commands and module files. */
int w_script_load(struct wscript *s, const char *path, struct kl_err *err);
void w_script_free(struct wscript *s);

/* plan.c */
/** Parse modules, resolve imports, pack instances into VMs. */
void w_plan(struct wscript *s);
/** The export of module `mod` named field (exact bytes), or -1. */
int w_find_export(const struct wmod *mod, const char *field, size_t len);
/** The value type of global `idx` (imports first) of m. */
uint8_t w_global_type(const struct kl_wasm_module *m, uint32_t idx);

/* build.c */
/** Build every object and every image the scripts need, `jobs` at a time. */
int w_build_all(struct wscript *scripts, size_t n, const struct kl_wast_opts *o,
                struct kl_err *err);

/* exec.c */
/** Run the commands of a loaded, built script; failures go to o->out. */
int w_exec(struct wscript *s, const struct kl_wast_opts *o, struct kl_err *err);

/* values.c */
/** Parse one JSON value {"type":..,"value":..}; -EINVAL on anything unexpected. */
struct json_t;
int w_value_parse(struct json_t *j, int expected, struct wval *out, struct kl_err *err);
/** Does `got` match the expectation? */
int w_value_match(const struct wval *exp, const struct kl_value *got);
/** Human-readable text of an expectation or a value. */
void w_value_show(const struct wval *v, char *buf, size_t len);
void w_kvalue_show(const struct kl_value *v, char *buf, size_t len);
/** Does trap/error message `got` agree with the expected text? */
int w_message_match(const char *expected, const char *got);

#endif
