/* inst_output.h - the end of a run and the guest's captured output. */
#ifndef KL_INST_INST_OUTPUT_H
#define KL_INST_INST_OUTPUT_H

#include <stdint.h>

#include "inst/run.h"

struct kl_inst;

/** End the run with `kind` and a formatted reason. Returns KL_HC_DONE. */
int kl_inst_finish(struct kl_inst *in, enum kl_result_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Deliver the guest's pending stdout/stderr bytes. Returns 0 or KL_HC_DONE on a limit. */
int kl_inst_take_output(struct kl_inst *in, uint32_t out_len, uint32_t err_len);

#endif
