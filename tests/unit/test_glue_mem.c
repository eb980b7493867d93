/* test_glue_mem.c - unit tests for kl_glue_patch_mem_base on what wasm2c 1.0.32 really emits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"
#include "compile/glue.h"
#include "unit.h"

/* A module with one memory, a load and a store: wasm2c emits its helpers. */
static const char wat[] =
    "(module (memory (export \"memory\") 1)\n"
    "  (func (export \"_start\") (i32.store (i32.const 8) (i32.load (i32.const 4)))))\n";

static const char load_old[] = "wasm_rt_memcpy(&result, &mem->data[addr], sizeof(t1));";
static const char load_new[] = "wasm_rt_memcpy(&result, &KL_MEM0_D[addr], sizeof(t1));";
static const char store_old[] = "wasm_rt_memcpy(&mem->data[addr], &wrapped, sizeof(t1));";
static const char store_new[] = "wasm_rt_memcpy(&KL_MEM0_D[addr], &wrapped, sizeof(t1));";

static int has(const char *s, size_t n, const char *what)
{
    return memmem(s, n, what, strlen(what)) != NULL;
}

/* wat2wasm and wasm2c in a private folder; the C text, with room to patch. */
static char *generated(size_t *len, size_t *cap)
{
    char dir[] = "/tmp/kl-test-glue-XXXXXX", cmd[512], path[128];
    uint8_t *c = NULL;
    struct kl_err err = {0};
    FILE *f;

    if (!mkdtemp(dir))
        return NULL;
    snprintf(path, sizeof(path), "%s/m.wat", dir);
    if ((f = fopen(path, "w")) != NULL) {
        fputs(wat, f);
        fclose(f);
    }
    snprintf(cmd, sizeof(cmd), "wat2wasm %s/m.wat -o %s/m.wasm && wasm2c -n m %s/m.wasm -o %s/m.c",
             dir, dir, dir, dir);
    if (system(cmd) == 0) {
        snprintf(path, sizeof(path), "%s/m.c", dir);
        if (kl_read_file(path, 16u << 20, &c, len, &err) == 0) {
            *cap = *len + 1024;
            c = realloc(c, *cap);
        }
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return (char *)c;
}

static void test_patch_real_output(void)
{
    size_t len = 0, cap = 0;
    char *c = generated(&len, &cap);

    CHECK(c != NULL);
    if (!c)
        return;
    /* Control: the unpatched helpers read the instance's memory pointer. */
    CHECK(has(c, len, load_old) && has(c, len, store_old));
    CHECK(!has(c, len, "KL_MEM0_D"));
    CHECK(kl_glue_patch_mem_base(c, &len, cap) == 0);
    CHECK(has(c, len, load_new) && has(c, len, store_new));
    CHECK(!has(c, len, load_old) && !has(c, len, store_old));
    CHECK(strncmp(c, "#include \"kernless/abi.h\"\n#define KL_MEM0_D ", 44) == 0);
    /* A second pass finds nothing left to patch and changes nothing. */
    size_t before = len;
    CHECK(kl_glue_patch_mem_base(c, &len, cap) == -ENOENT && len == before);
    free(c);
}

static void test_patch_refuses_other_text(void)
{
    char text[256] = "static inline u32 i32_load(wasm_rt_memory_t* mem, u64 addr) { return 0; }\n";
    size_t len = strlen(text);

    CHECK(kl_glue_patch_mem_base(text, &len, sizeof(text)) == -ENOENT);
    CHECK(len == strlen(text) && !has(text, len, "KL_MEM0_D"));
    /* Both helpers present but no room for the definition: refused, unchanged. */
    snprintf(text, sizeof(text), "%s\n%s\n", load_old, store_old);
    len = strlen(text);
    CHECK(kl_glue_patch_mem_base(text, &len, len + 8) == -ENOENT);
    CHECK(has(text, len, load_old) && has(text, len, store_old));
}

int main(void)
{
    test_patch_real_output();
    test_patch_refuses_other_text();
    UNIT_DONE();
}
