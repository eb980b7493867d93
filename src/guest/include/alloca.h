/* alloca.h - stack allocation, as wasm2c output expects it. */
#ifndef KL_GUEST_ALLOCA_H
#define KL_GUEST_ALLOCA_H
#define alloca __builtin_alloca
#endif
