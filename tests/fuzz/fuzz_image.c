/* fuzz_image.c - libFuzzer target: kl_image_from_buf on arbitrary bytes; tampered images must fail the hash check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "inst/image.h"

/*
 * The first input byte picks a mode. Mode 0 passes the rest as is: almost
 * everything dies at the hash check, which is exactly what a tampered file
 * must do, and anything accepted must really carry its own hash. Mode 1
 * first rewrites the header's SHA-256 over the rest, so the fuzzer reaches
 * the segment, entry and memory-size checks behind the hash that a real
 * attacker could also reach by writing a consistent (but hostile) image.
 */
/** libFuzzer entry: load the image from a heap copy (ownership passes on success). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kl_image *img = NULL;
    struct kl_err err = {0};
    uint8_t *buf, digest[32];
    int rehash;

    if (size < 1)
        return 0;
    rehash = data[0] & 1;
    data++, size--;
    if (!(buf = malloc(size ? size : 1)))
        return 0;
    memcpy(buf, data, size);
    if (rehash && size >= sizeof(struct kl_image_hdr)) {
        struct kl_image_hdr *h = (void *)buf;
        kl_sha256(buf + sizeof(*h), size - sizeof(*h), h->sha256);
    }
    if (kl_image_from_buf(buf, size, &img, &err) < 0) {
        free(buf);
        return 0;
    }
    /* Accepted: the hash must match and every segment must lie in the file. */
    kl_sha256(img->data + sizeof(*img->hdr), img->size - sizeof(*img->hdr), digest);
    if (memcmp(digest, img->hdr->sha256, 32) != 0)
        abort();
    for (unsigned i = 0; i < img->hdr->nseg; i++) {
        const struct kl_image_seg *s = &img->segs[i];
        if (s->offset > img->size || s->filesz > img->size - s->offset || s->filesz > s->memsz)
            abort();
        /* Touch the bytes the loader would copy, so ASan sees any over-read. */
        volatile uint8_t sum = 0;
        for (uint64_t k = 0; k < s->filesz; k += 4096)
            sum += img->data[s->offset + k];
        (void)sum;
    }
    kl_image_free(img);
    return 0;
}
