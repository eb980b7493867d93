/* kimg_write.c - convert the linked guest ELF into the flat, hashed image format of kernless/abi.h. */
#include "compile/kimg_write.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "kernless/abi.h"

static int seg_flags(uint32_t pf)
{
    return (pf & PF_R ? KL_SEG_R : 0) | (pf & PF_W ? KL_SEG_W : 0) | (pf & PF_X ? KL_SEG_X : 0);
}

int kl_kimg_from_elf(const uint8_t *elf, size_t len, const uint8_t module_sha[32],
                     unsigned isa_level,
                     uint8_t **out, size_t *outlen, struct kl_err *err)
{
    const Elf64_Ehdr *eh = (const void *)elf;
    const Elf64_Phdr *ph;
    struct kl_image_seg segs[KL_IMAGE_MAX_SEGS];
    struct kl_image_hdr hdr;
    unsigned nseg = 0;
    size_t total, off;
    uint8_t *buf;

    if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
        eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
        (size_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
        return kl_errf(err, -EINVAL, "linker output is not a valid x86-64 ELF");
    ph = (const void *)(elf + eh->e_phoff);
    total = sizeof(hdr);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
            continue;
        if (nseg == KL_IMAGE_MAX_SEGS || ph[i].p_offset > len ||
            ph[i].p_filesz > len - ph[i].p_offset || ph[i].p_filesz > ph[i].p_memsz ||
            ph[i].p_vaddr % KL_PAGE_SIZE)
            return kl_errf(err, -EINVAL, "linker output has an unexpected segment %u", i);
        segs[nseg++] = (struct kl_image_seg){
            .gva = ph[i].p_vaddr, .memsz = ph[i].p_memsz, .filesz = ph[i].p_filesz,
            .offset = ph[i].p_offset, .flags = (uint32_t)seg_flags(ph[i].p_flags)};
    }
    if (nseg == 0)
        return kl_errf(err, -EINVAL, "linker output has no loadable segment");
    total += nseg * sizeof(segs[0]);
    for (unsigned i = 0; i < nseg; i++)
        total += segs[i].filesz;
    if (!(buf = calloc(1, total)))
        return kl_errf(err, -ENOMEM, "out of memory packing the image");
    off = sizeof(hdr) + nseg * sizeof(segs[0]);
    for (unsigned i = 0; i < nseg; i++) {
        memcpy(buf + off, elf + segs[i].offset, segs[i].filesz);
        segs[i].offset = off;
        off += segs[i].filesz;
    }
    memcpy(buf + sizeof(hdr), segs, nseg * sizeof(segs[0]));
    memset(&hdr, 0, sizeof(hdr));
    memcpy(hdr.magic, KL_IMAGE_MAGIC, 8);
    hdr.abi_version = KL_ABI_VERSION;
    hdr.hdr_size = sizeof(hdr);
    hdr.entry = eh->e_entry;
    hdr.nseg = nseg;
    hdr.total_size = total;
    memcpy(hdr.module_sha256, module_sha, 32);
    hdr.isa_level = isa_level;
    kl_sha256(buf + sizeof(hdr), total - sizeof(hdr), hdr.sha256);
    memcpy(buf, &hdr, sizeof(hdr));
    *out = buf;
    *outlen = total;
    return 0;
}
