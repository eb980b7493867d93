/* healthz.c - GET /healthz on both listeners: the server is up, and with which isolation. */
#include "server/healthz.h"

#include "server/http.h"
#include "vm/vm.h"

static enum MHD_Result healthz_finish(void *hctx, struct kl_req *r, struct MHD_Connection *c)
{
    return kl_http_json(r, c, 200, json_pack("{s:s,s:s}", "status", "ok", "isolation",
                                             kl_isolation_name()));
}

static const struct kl_http_handler healthz_handler = {NULL, healthz_finish, NULL};

int kl_healthz_register(struct kl_server *s)
{
    return kl_http_route_add(s, KL_LISTEN_FUNCTIONS | KL_LISTEN_ADMIN, "/healthz", 0,
                             &healthz_handler, NULL);
}
