/* dashboard.h - the web dashboard's assets under /_/, built into the binary. */
#ifndef KL_SERVER_DASHBOARD_H
#define KL_SERVER_DASHBOARD_H

#include "server/http.h"

/**
 * Route the admin listener's "/_" and "/_/..." to the dashboard's assets
 * (no token: they hold no secret) and its "/" to a redirect there.
 */
int kl_dashboard_register(struct kl_server *s);

#endif
