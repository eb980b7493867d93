/* trap.c - names of traps, worded as wasmtime and the spec tests word them. */
#include "inst/run.h"

const char *kl_trap_name(enum kl_trap trap)
{
    static const char *const names[KL_TRAP_COUNT] = {
        [KL_TRAP_NONE] = "no trap",
        [KL_TRAP_OOB] = "out of bounds memory access",
        [KL_TRAP_INT_OVERFLOW] = "integer overflow",
        [KL_TRAP_DIV_BY_ZERO] = "integer divide by zero",
        [KL_TRAP_INVALID_CONVERSION] = "invalid conversion to integer",
        [KL_TRAP_UNREACHABLE] = "unreachable",
        [KL_TRAP_CALL_INDIRECT] = "indirect call type mismatch",
        [KL_TRAP_UNCAUGHT_EXCEPTION] = "uncaught exception",
        [KL_TRAP_EXHAUSTION] = "call stack exhausted",
        [KL_TRAP_OOB_TABLE] = "undefined element",
        [KL_TRAP_NULL_CALL] = "uninitialized element",
        [KL_TRAP_TABLE_ACCESS] = "out of bounds table access",
    };
    return (unsigned)trap < KL_TRAP_COUNT && names[trap] ? names[trap] : "unknown trap";
}
