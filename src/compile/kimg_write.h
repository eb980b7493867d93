/* kimg_write.h - pack a linked guest ELF into a Kernless image (.kimg). */
#ifndef KL_COMPILE_KIMG_WRITE_H
#define KL_COMPILE_KIMG_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/**
 * Turn the ELF64 executable `elf` (our own linker output) into an image:
 * header, one segment per PT_LOAD, the bytes, and the SHA-256. The header
 * records `isa_level`, the x86-64 level the code was compiled for, so a CPU
 * without it refuses the image. On success *out is a malloc'd buffer of
 * *outlen bytes.
 */
int kl_kimg_from_elf(const uint8_t *elf, size_t len, const uint8_t module_sha[32],
                     unsigned isa_level, uint8_t **out, size_t *outlen, struct kl_err *err);

#endif
