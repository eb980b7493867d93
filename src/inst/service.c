/* service.c - the service registry and the per-instance hooks inst runs at setup, boot, warm reset and teardown. */
#include "inst/service.h"

#include <errno.h>
#include <pthread.h>

#include "inst/instance.h"

static const struct kl_service *services[KL_SVC_MAX];
static int nservices;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

int kl_service_register(const struct kl_service *s)
{
    int id = -ENOSPC;

    if (!s || !s->name)
        return -EINVAL;
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < nservices; i++)
        if (services[i] == s)
            id = -EEXIST;
    if (id != -EEXIST && nservices < KL_SVC_MAX) {
        services[nservices] = s;
        id = nservices++;
    }
    pthread_mutex_unlock(&reg_lock);
    return id;
}

void *kl_service_state(const struct kl_inst *in, int id)
{
    return id >= 0 && id < KL_SVC_MAX ? in->svc[id] : NULL;
}

void kl_service_set_state(struct kl_inst *in, int id, void *state)
{
    if (id >= 0 && id < KL_SVC_MAX)
        in->svc[id] = state;
}

int kl_services_open(struct kl_inst *in, const struct kl_run_config *cfg, struct kl_err *err)
{
    for (int i = 0; i < nservices; i++) {
        int rc = services[i]->open ? services[i]->open(in, &in->svc[i], cfg, err) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

int kl_services_boot(struct kl_inst *in, const struct kl_run_config *cfg, struct kl_boot_info *b,
                     uint8_t *dst, uint64_t *pos, uint64_t room, struct kl_err *err)
{
    for (int i = 0; i < nservices; i++) {
        uint64_t start = *pos;
        int rc = services[i]->boot ? services[i]->boot(in->svc[i], cfg, b, dst, pos, room, err)
                                   : 0;
        if (rc < 0)
            return rc;
        /* The next service packs after what this one used. */
        dst += *pos - start;
        room -= *pos - start;
    }
    return 0;
}

int kl_services_reset(struct kl_inst *in, const struct kl_run_config *cfg0)
{
    for (int i = 0; i < nservices; i++) {
        int rc = services[i]->reset ? services[i]->reset(&in->svc[i], cfg0) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

void kl_services_close(struct kl_inst *in)
{
    for (int i = 0; i < nservices; i++) {
        if (services[i]->close && in->svc[i])
            services[i]->close(in->svc[i]);
        in->svc[i] = NULL;
    }
}
