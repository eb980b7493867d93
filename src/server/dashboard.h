/* dashboard.h - the web dashboard's assets under /_/, built into the binary. */
#ifndef KL_SERVER_DASHBOARD_H
#define KL_SERVER_DASHBOARD_H

#include "server/http.h"

/** Is `path` (no query) the dashboard's: "/_" or under "/_/"? */
int kl_dashboard_path(const char *path);

/**
 * Answer a GET or HEAD of a dashboard path with its asset (or 404, 405, or a
 * redirect from "/_" to "/_/"), with a strict Content-Security-Policy. The
 * assets hold no secret, so they need no token: the page asks for one and
 * sends it on its own API calls.
 */
enum MHD_Result kl_dashboard_serve(struct kl_req *r, struct MHD_Connection *c,
                                   const char *path);

#endif
