/* wasm_module.h - a bounded reader for the structure of untrusted WebAssembly binaries (not a validator). */
#ifndef KL_COMPILE_WASM_MODULE_H
#define KL_COMPILE_WASM_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/*
 * Caps. The reader sees hostile bytes, so every count is limited before
 * anything is allocated. Where a browser engine publishes a limit (the
 * "JS API implementation limits" of the WebAssembly spec) we use the same
 * number: real toolchains already stay under those, so no honest module is
 * refused, and a module over them would not run in a browser either.
 */
#define KL_WASM_MAX_MODULE_SIZE (1u << 30)   /* 1 GiB: JS API limit */
#define KL_WASM_MAX_TYPES 1000000u           /* JS API limit */
#define KL_WASM_MAX_FUNCS 1000000u           /* imported + defined; JS API limit */
#define KL_WASM_MAX_IMPORTS 100000u          /* JS API limit */
#define KL_WASM_MAX_EXPORTS 100000u          /* JS API limit */
#define KL_WASM_MAX_PARAMS 1000u             /* per function type; JS API limit */
#define KL_WASM_MAX_RESULTS 1000u            /* per function type; JS API limit */
#define KL_WASM_MAX_GLOBALS 1000000u         /* imported + defined; JS API limit */
#define KL_WASM_MAX_TABLES 100000u           /* imported + defined; JS API limit */
#define KL_WASM_MAX_MEMORIES 100u            /* imported + defined; wasm2c takes 1, multi-memory a few */
#define KL_WASM_MAX_ELEM_SEGMENTS 100000u    /* no JS limit is tighter than the byte count; keeps loops short */
#define KL_WASM_MAX_ELEM_ITEMS 10000000u     /* per segment: the JS API table size limit */
#define KL_WASM_MAX_DATA_SEGMENTS 100000u    /* JS API limit */
#define KL_WASM_MAX_FUNC_LOCALS 50000u       /* declared locals per body; JS API limit */
#define KL_WASM_MAX_FUNC_SIZE 7654321u       /* bytes per body; JS API limit */
#define KL_WASM_MAX_NAME 65536u              /* bytes per import/export/custom-section name */

/** Value types, by their one-byte binary encoding. */
enum kl_wasm_valtype {
    KL_WT_I32 = 0x7F,
    KL_WT_I64 = 0x7E,
    KL_WT_F32 = 0x7D,
    KL_WT_F64 = 0x7C,
    KL_WT_V128 = 0x7B,
    KL_WT_FUNCREF = 0x70,
    KL_WT_EXTERNREF = 0x6F,
};

/** Import/export kinds, by their binary encoding. */
enum kl_wasm_extkind {
    KL_EXT_FUNC = 0,
    KL_EXT_TABLE = 1,
    KL_EXT_MEMORY = 2,
    KL_EXT_GLOBAL = 3,
};

/** A function type; params/results hold enum kl_wasm_valtype bytes. */
struct kl_wasm_functype {
    uint32_t nparams, nresults;
    uint8_t *params, *results;   /* NULL when the count is 0 */
};

/** Table or memory limits. For memories, max is in 64 KiB pages. */
struct kl_wasm_limits {
    uint64_t min, max;           /* max is 0 unless has_max */
    int has_max;
    int shared;                  /* memory only: threads proposal */
    int is64;                    /* memory only: memory64 proposal */
};

/** A table type. */
struct kl_wasm_table {
    uint8_t elemtype;            /* KL_WT_FUNCREF or KL_WT_EXTERNREF */
    struct kl_wasm_limits limits;
};

/** A global type. */
struct kl_wasm_globaltype {
    uint8_t valtype;
    uint8_t mut;                 /* 0 const, 1 var */
};

/**
 * One import. Names are NUL-terminated copies, but may themselves contain
 * NUL (U+0000 is valid UTF-8), so use the _len fields for exact bytes.
 * Which type fields are meaningful depends on `kind`.
 */
struct kl_wasm_import {
    char *module, *name;
    uint32_t module_len, name_len;
    uint8_t kind;                /* enum kl_wasm_extkind */
    uint32_t type_index;         /* KL_EXT_FUNC: always < ntypes */
    struct kl_wasm_limits limits;/* KL_EXT_TABLE, KL_EXT_MEMORY */
    uint8_t valtype;             /* KL_EXT_TABLE: element type; KL_EXT_GLOBAL: value type */
    uint8_t mut;                 /* KL_EXT_GLOBAL */
};

/** One export; index is in the index space of `kind` (imports first). */
struct kl_wasm_export {
    char *name;                  /* NUL-terminated copy; see name_len */
    uint32_t name_len;
    uint8_t kind;                /* enum kl_wasm_extkind */
    uint32_t index;              /* checked to be in range at parse time */
};

/**
 * The parsed structure of a module. Counts named n<thing> without "imported"
 * are for things the module defines itself; the index spaces put imports
 * first, so defined function i has function index nimported_funcs + i.
 */
struct kl_wasm_module {
    uint32_t ntypes;
    struct kl_wasm_functype *types;

    uint32_t nimports;
    struct kl_wasm_import *imports;
    uint32_t nimported_funcs, nimported_tables, nimported_memories, nimported_globals;
    uint32_t *imported_func_types;   /* type index per imported function, in order */

    uint32_t nfuncs;                 /* defined functions */
    uint32_t *func_types;            /* type index per defined function (< ntypes) */

    uint32_t ntables;
    struct kl_wasm_table *tables;
    uint32_t nmemories;
    struct kl_wasm_limits *memories;
    uint32_t nglobals;
    struct kl_wasm_globaltype *globals;

    uint32_t nexports;
    struct kl_wasm_export *exports;

    int has_start;
    uint32_t start;                  /* function index */

    uint32_t nelems;                 /* element segments */
    int has_datacount;
    uint32_t datacount;
    uint32_t ndatas;                 /* data segments */
    uint64_t data_bytes;             /* sum of data segment sizes */

    uint64_t code_bytes;             /* sum of function body sizes */
    uint64_t total_locals;           /* declared locals over all bodies (params excluded) */
    uint32_t max_func_locals;        /* most declared locals in one body */

    /* v128 appears in a type, import, global, local or constant expression.
     * wasm2c 1.0.32 aborts on SIMD, so callers reject these early; SIMD
     * opcodes inside function bodies are not seen (bodies are not decoded). */
    int uses_v128;
};

/**
 * Parse `len` bytes of a binary module into *m (which needs no prior
 * initialisation). Checks the header, section order and sizes, every LEB128
 * (over-long or overflowing encodings are refused), UTF-8 of every name,
 * the caps above, that type/function/table/memory/global indices used by
 * imports, functions, exports and start are in range, and that the code and
 * data counts agree with the function and data count sections. Instructions
 * in bodies are not decoded: run wasm-validate for full validation.
 * Returns 0, or -EINVAL (malformed, or over a cap) / -ENOMEM with one line in
 * *err such as "section 3 (function) at offset 0x1a: count 4294967295 exceeds
 * limit 1000000"; on error *m is left empty and needs no free.
 */
int kl_wasm_parse(const uint8_t *buf, size_t len, struct kl_wasm_module *m,
                  struct kl_err *err);

/** Free everything kl_wasm_parse allocated and zero *m. Safe on a zeroed m. */
void kl_wasm_module_free(struct kl_wasm_module *m);

/**
 * The type of function `funcidx` in the whole function index space
 * (imported functions first, then defined ones), or NULL if out of range.
 */
const struct kl_wasm_functype *kl_wasm_func_type(const struct kl_wasm_module *m,
                                                 uint32_t funcidx);

/** "i32", "i64", "f32", "f64", "v128", "funcref", "externref", or NULL. */
const char *kl_wasm_valtype_name(uint8_t valtype);

/** "type", "import", ... "datacount" for a section id; "custom" for 0; "unknown" otherwise. */
const char *kl_wasm_section_name(unsigned id);

#endif
