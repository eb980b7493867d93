/* fuzz_wasm_module.c - libFuzzer target: kl_wasm_parse on arbitrary bytes must never crash, leak or over-read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "compile/wasm_module.h"

/** libFuzzer entry: parse, cross-check a few invariants the compiler relies on, free. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kl_wasm_module m;
    struct kl_err err = {0};

    if (kl_wasm_parse(data, size, &m, &err) == 0) {
        /* Every function index the parser accepted must resolve to a type:
         * the glue generator indexes types with these without re-checking. */
        for (uint32_t i = 0; i < m.nimported_funcs + m.nfuncs; i++)
            if (!kl_wasm_func_type(&m, i))
                abort();
        for (uint32_t i = 0; i < m.nexports; i++)
            if (m.exports[i].kind == KL_EXT_FUNC &&
                !kl_wasm_func_type(&m, m.exports[i].index))
                abort();
        if (m.has_start && !kl_wasm_func_type(&m, m.start))
            abort();
        kl_wasm_module_free(&m);
    }
    return 0;
}
