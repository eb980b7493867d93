/* mkimg.c - test tool: turn a linked guest ELF into a .kimg with the project's own converter (kl_kimg_from_elf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/isa.h"
#include "common/util.h"
#include "compile/kimg_write.h"

int main(int argc, char **argv)
{
    uint8_t *elf = NULL, *img = NULL, sha[32];
    size_t len = 0, ilen = 0;
    struct kl_err err = {0};

    if (argc != 3) {
        fprintf(stderr, "usage: mkimg IN.elf OUT.kimg\n");
        return 2;
    }
    if (kl_read_file(argv[1], 64u << 20, &elf, &len, &err) < 0) {
        fprintf(stderr, "mkimg: %s\n", err.msg);
        return 1;
    }
    kl_sha256(elf, len, sha);   /* stands in for the source module's hash */
    /* escape.c is built for baseline x86-64 (run.sh passes no -march). */
    if (kl_kimg_from_elf(elf, len, sha, KL_ISA_BASE, &img, &ilen, &err) < 0) {
        fprintf(stderr, "mkimg: %s: %s\n", argv[1], err.msg);
        return 1;
    }
    if (kl_write_file_atomic(argv[2], img, ilen, 0644, &err) < 0) {
        fprintf(stderr, "mkimg: %s\n", err.msg);
        return 1;
    }
    free(elf);
    free(img);
    return 0;
}
