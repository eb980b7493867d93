/* image.h - load and verify a compiled image (.kimg). */
#ifndef KL_VMM_IMAGE_H
#define KL_VMM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "kernless/abi.h"

/** A verified image in host memory. */
struct kl_image {
    uint8_t *data;                   /* whole file */
    size_t size;
    const struct kl_image_hdr *hdr;  /* points into data */
    const struct kl_image_seg *segs; /* hdr->nseg entries */
};

/** Read, bound-check and hash-verify an image file. */
int kl_image_load(const char *path, struct kl_image **out, struct kl_err *err);

/** Verify an image held in memory; takes ownership of `data` on success. */
int kl_image_from_buf(uint8_t *data, size_t size, struct kl_image **out,
                      struct kl_err *err);

/** Free an image. */
void kl_image_free(struct kl_image *img);

#endif
