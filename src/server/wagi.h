/* wagi.h - the functions' route: a request runs the function its path is routed to (WAGI, CGI-style). */
#ifndef KL_SERVER_WAGI_H
#define KL_SERVER_WAGI_H

#include "server/http.h"

/** Route every path of the functions' listener to the function table. */
int kl_wagi_register(struct kl_server *s);

/**
 * Serve a WAGI request for `fn`: `target` is what the function sees as the
 * request target and `route` the route it matched.
 */
enum MHD_Result kl_wagi_serve(struct kl_req *r, struct MHD_Connection *c,
                              const struct kl_fn *fn, const char *target,
                              const char *route, const char *method);

#endif
