/* svc_service.c - registers KL_HC_SVC, the host services' hostcall, with the instance layer. */
#include <pthread.h>

#include "host/svc.h"
#include "inst/hostcall.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int reg_rc;

static void register_once(void)
{
    reg_rc = kl_hostcall_register(KL_HC_SVC, "svc", sizeof(struct kl_hc_svc), kl_hc_svc);
}

int kl_svc_register(void)
{
    pthread_once(&once, register_once);
    return reg_rc;
}
