/* w2c_names.h - the C symbol names wabt 1.0.32 wasm2c gives modules, imports and exports. */
#ifndef KL_COMPILE_W2C_NAMES_H
#define KL_COMPILE_W2C_NAMES_H

#include <stddef.h>
#include <stdint.h>

/*
 * What `wasm2c m.wasm -n MOD -o m.c` (Debian wabt 1.0.32) emits, checked by
 * converting test modules with the real tool and reading m.h / m.c.
 *
 * Mangling. MangleName(s) = "Z_" followed by, for each byte c of s: c itself
 * if c is [0-9A-Za-y] or '_' (isalnum in the C locale, except 'Z'), else 'Z'
 * and two UPPERCASE hex digits. Bytes >= 0x80 are escaped one by one, so
 * "héllo" -> "Z_hZC3ZA9llo"; "" -> "Z_"; "Z" -> "Z_Z5A"; "a.b c" ->
 * "Z_aZ2EbZ20c". The -n name is mangled the same way ("my-mod" ->
 * "Z_myZ2Dmod"); without -n wasm2c uses the name section's module name, else
 * the input file's base name without extension.
 *
 * Module symbols (MOD = MangleName(-n name), e.g. "Z_m"):
 *   typedef struct MOD_instance_t {...} MOD_instance_t;
 *   void MOD_init_module(void);            once per process, after wasm_rt_init()
 *   void MOD_instantiate(MOD_instance_t*, <one pointer per imported module>);
 *   void MOD_free(MOD_instance_t*);
 * The start function, if any, runs inside MOD_instantiate.
 *
 * Instantiate with imports. One parameter per distinct import module name
 * (whatever the kinds imported from it), sorted by the raw module-name bytes
 * (strcmp order: "B" < "a." < "a0" < "env" < "zzz"), not by mangled name:
 *   void Z_m_instantiate(Z_m_instance_t*, struct Z_env_instance_t*,
 *       struct Z_otherZ2Emod_instance_t*,
 *       struct Z_wasi_snapshot_preview1_instance_t*);
 * Each is declared forward as `struct MangleName(mod)_instance_t;` and may be
 * any pointer the provider likes (wasm2c never dereferences it). Modules from
 * which at least one FUNCTION is imported also get a field in the instance
 * struct: `struct Z_env_instance_t* Z_env_instance;`.
 *
 * Exports. Symbol = MangleName(MOD-name) + MangleName(export name), e.g.
 * module "m", export "_start" -> Z_mZ__start. Every export is a function of
 * the instance:
 *   func:    <ret> Z_mZ_f(Z_m_instance_t*, <params>);
 *   global:  u32* Z_mZ_g(Z_m_instance_t* instance);   pointer, const or not
 *   memory:  wasm_rt_memory_t* Z_mZ_memory(Z_m_instance_t* instance);
 *   table:   wasm_rt_funcref_table_t* / wasm_rt_externref_table_t* Z_mZ_t(Z_m_instance_t* instance);
 * Re-exported imports are wrappers too (a re-exported global returns the
 * imported pointer). Two export names of one function get two wrappers.
 * C types: i32 u32, i64 u64, f32 f32, f64 f64, funcref wasm_rt_funcref_t,
 * externref wasm_rt_externref_t. No result: void; one result: its C type;
 * several: `struct wasm_multi_<letters>` with one letter per result (i32 'i',
 * i64 'j', f32 'f', f64 'd', funcref 'r', externref 'e') and fields named
 * letter+index, declared in the header under an include guard:
 *   #ifndef wasm_multi_ijf
 *   #define wasm_multi_ijf wasm_multi_ijf
 *   struct wasm_multi_ijf { u32 i0; u64 j1; f32 f2; };
 *   #endif
 *   struct wasm_multi_ijf Z_mZ_multi(Z_m_instance_t*, u32);
 *
 * Imports. Symbol = MangleName(module) + MangleName(field), the very name the
 * exporting module's accessor has when it was built with -n <module>, so
 * modules link by name. The importer DECLARES, and something else must DEFINE:
 *   func:   u32 Z_wasi_snapshot_preview1Z_fd_write(
 *               struct Z_wasi_snapshot_preview1_instance_t*, u32, u32, u32, u32);
 *           called with the instance pointer given to instantiate for that
 *           module; multiple results use the same struct wasm_multi_* type.
 *   global: extern u32* Z_envZ_g(struct Z_env_instance_t*);   (u64*, f32*,
 *           f64*, wasm_rt_funcref_t*, wasm_rt_externref_t*; const or mut alike)
 *   memory: extern wasm_rt_memory_t* Z_envZ_mem(struct Z_env_instance_t*);
 *   table:  extern wasm_rt_funcref_table_t* Z_envZ_tbl(struct Z_env_instance_t*);
 *           (wasm_rt_externref_table_t* for externref tables)
 * Non-function imports are resolved once, in MOD_instantiate, by calling
 * those functions with the module's instance pointer; the results are kept
 * in instance fields named like the symbol, e.g. `u32 *Z_envZ_g;`,
 * `wasm_rt_memory_t *Z_envZ_mem;`. Imported limits are not checked.
 *
 * Internals: defined globals/memories/tables live in the instance as
 * `w2c_<name>` fields, but those names come from debug/export names and
 * are not stable; use the accessors above.
 *
 * Limits of wasm2c 1.0.32: it aborts (SIGABRT, exit 134) on any v128 type or
 * SIMD instruction, and refuses memory64, multi-memory and shared memory;
 * a v128 local that is never used is silently dropped.
 */

/** Bytes MangleName(name[0..len)) takes, without the terminating NUL. */
size_t kl_w2c_mangled_len(const char *name, size_t len);

/**
 * Write MangleName(name[0..len)) and a NUL to out. Returns the length
 * written (without NUL), or -ENAMETOOLONG if outlen is too small (out then
 * holds an empty string when outlen > 0).
 */
int kl_w2c_mangle(const char *name, size_t len, char *out, size_t outlen);

/**
 * MangleName(a) + MangleName(b): the symbol of import a.b or of export b of
 * a module built with -n a. Returns the length or -ENAMETOOLONG.
 */
int kl_w2c_symbol(const char *a, size_t alen, const char *b, size_t blen,
                  char *out, size_t outlen);

/**
 * The accessor symbol for export `exp` (explen bytes, may hold any byte) of
 * the module built with `-n mod`, e.g. ("m", "_start") -> "Z_mZ__start".
 * Returns the length or -ENAMETOOLONG.
 */
int kl_w2c_export_symbol(const char *mod, const char *exp, size_t explen,
                         char *out, size_t outlen);

/**
 * MangleName(mod) + "_" + suffix: with suffix "instantiate", "init_module",
 * "free" or "instance_t" the module-level symbols, with "instance" the
 * instance-struct field naming an imported module. Returns the length or
 * -ENAMETOOLONG.
 */
int kl_w2c_module_symbol(const char *mod, size_t modlen, const char *suffix,
                         char *out, size_t outlen);

/**
 * The struct name wasm2c uses for a function returning the `n` value types
 * in `results` (n >= 2), e.g. i32 i64 f32 -> "wasm_multi_ijf". Returns the
 * length, -EINVAL for a type wasm2c 1.0.32 cannot express (v128, unknown) or
 * n < 2, or -ENAMETOOLONG.
 */
int kl_w2c_multi_struct(const uint8_t *results, uint32_t n, char *out, size_t outlen);

/** The C type wasm2c uses for a value type ("u32", "wasm_rt_funcref_t", ...), or NULL. */
const char *kl_w2c_c_type(uint8_t valtype);

#endif
