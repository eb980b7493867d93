/* image.c - read a compiled image (.kimg), bound-check every field, and verify its SHA-256. */
#include "inst/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/isa.h"
#include "common/util.h"

#define KL_IMAGE_MAX_FILE (KL_IMAGE_MAX + (1u << 20))

static int check_seg(const struct kl_image_seg *s, size_t size, unsigned i, struct kl_err *err)
{
    if (s->gva % KL_PAGE_SIZE || s->gva < KL_IMAGE_GVA)
        return kl_errf(err, -EINVAL, "image segment %u: address 0x%llx is not a page in the "
                       "image area", i, (unsigned long long)s->gva);
    if (s->memsz > KL_IMAGE_MAX || s->gva - KL_IMAGE_GVA > KL_IMAGE_MAX - s->memsz)
        return kl_errf(err, -EINVAL, "image segment %u: does not fit the image area", i);
    if (s->filesz > s->memsz || s->offset > size || s->filesz > size - s->offset)
        return kl_errf(err, -EINVAL, "image segment %u: file range out of bounds", i);
    if (s->flags & ~(uint32_t)(KL_SEG_R | KL_SEG_W | KL_SEG_X) ||
        (s->flags & (KL_SEG_W | KL_SEG_X)) == (KL_SEG_W | KL_SEG_X))
        return kl_errf(err, -EINVAL, "image segment %u: bad flags 0x%x (W^X)", i, s->flags);
    return 0;
}

int kl_image_from_buf(uint8_t *data, size_t size, struct kl_image **out, struct kl_err *err)
{
    const struct kl_image_hdr *h = (const void *)data;
    const struct kl_image_seg *segs;
    uint8_t digest[32];
    struct kl_image *img;
    int rc;

    if (size < sizeof(*h) || memcmp(h->magic, KL_IMAGE_MAGIC, 8) != 0)
        return kl_errf(err, -EINVAL, "not a Kernless image (bad magic)");
    if (h->abi_version != KL_ABI_VERSION || h->hdr_size != sizeof(*h))
        return kl_errf(err, -EINVAL, "image ABI version %u, this kernless needs %u; recompile it",
                       h->abi_version, KL_ABI_VERSION);
    /* Code built for x86-64-v3 would die of #UD here: refuse it in one line
     * (the image cache keys on the level, so it builds one for this CPU). */
    char why[192];
    if (kl_isa_check(h->isa_level, kl_isa_cpu(), why, sizeof(why)) < 0)
        return kl_errf(err, -ENOEXEC, "%s", why);
    if (h->total_size != size || h->nseg == 0 || h->nseg > KL_IMAGE_MAX_SEGS ||
        size - sizeof(*h) < h->nseg * sizeof(*segs))
        return kl_errf(err, -EINVAL, "image header is inconsistent with its size");
    kl_sha256(data + sizeof(*h), size - sizeof(*h), digest);
    if (memcmp(digest, h->sha256, 32) != 0)
        return kl_errf(err, -EINVAL, "image hash mismatch: the file is corrupt or was tampered with");
    segs = (const void *)(data + sizeof(*h));
    for (unsigned i = 0; i < h->nseg; i++)
        if ((rc = check_seg(&segs[i], size, i, err)) < 0)
            return rc;
    if (h->entry < KL_IMAGE_GVA || h->entry >= KL_IMAGE_GVA + KL_IMAGE_MAX)
        return kl_errf(err, -EINVAL, "image entry point outside the image area");
    if (h->mem_initial > KL_MEM_MAX_PAGES)
        return kl_errf(err, -EINVAL, "image memory size out of range");
    if (!(img = calloc(1, sizeof(*img))))
        return kl_errf(err, -ENOMEM, "out of memory");
    img->data = data;
    img->size = size;
    img->hdr = h;
    img->segs = segs;
    *out = img;
    return 0;
}

int kl_image_load(const char *path, struct kl_image **out, struct kl_err *err)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = kl_read_file(path, KL_IMAGE_MAX_FILE, &data, &size, err);

    if (rc < 0)
        return rc;
    rc = kl_image_from_buf(data, size, out, err);
    if (rc < 0) {
        kl_err_prefix(err, "%s: ", path);
        free(data);
    }
    return rc;
}

void kl_image_free(struct kl_image *img)
{
    if (!img)
        return;
    free(img->data);
    free(img);
}
