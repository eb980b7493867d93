/* linmem.h - an instance's linear memories: growing them, releasing them. */
#ifndef KL_INST_LINMEM_H
#define KL_INST_LINMEM_H

#include <stdint.h>

struct kl_inst;

/** Map pages [0, new_pages) of linear memory `idx` (kl_vm_map of the new ones). */
int kl_inst_mem_grow(struct kl_inst *in, uint32_t idx, uint32_t new_pages, uint32_t max_pages);

/** Unmap every linear memory's host reservation (the VM is gone). */
void kl_linmem_release(struct kl_inst *in);

#endif
