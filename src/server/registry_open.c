/* registry_open.c - the one open of the registry: chooses the backend (SQLite or PostgreSQL) so no caller names one. */
#include "server/registry_impl.h"

int kl_reg_open(const char *url, const char *path, struct kl_registry **out,
                struct kl_err *err)
{
    /* PostgreSQL is the one backend several nodes can share. */
    if (url != NULL)
        return kl_reg_open_pg(url, out, err);
    return kl_reg_open_sqlite(path, out, err);
}
