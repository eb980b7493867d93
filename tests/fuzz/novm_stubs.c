/* novm_stubs.c - for fuzz targets that link src/inst and src/host code without a VM: the VM calls it references, each one aborting if reached. */
#include <stdlib.h>

/*
 * Declared here without the headers' prototypes on purpose: these symbols
 * only satisfy the linker. A hostcall handler that reached one would be
 * starting or running a VM, which no hostcall may do, so it aborts and the
 * fuzzer reports it.
 */
#define NEVER(f) void f(void); void f(void) { abort(); }
NEVER(kl_fault_handle)
NEVER(kl_inst_handle_exit)
NEVER(kl_inst_setup)
NEVER(kl_inst_teardown)
NEVER(kl_vm_arm_timeout)
NEVER(kl_vm_disarm_timeout)
NEVER(kl_vm_enter)
NEVER(kl_vm_name)
NEVER(kl_vm_run)
