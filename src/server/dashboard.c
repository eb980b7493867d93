/* dashboard.c - the web dashboard's assets under /_/, built into the binary, with strict security headers. */
#include "server/dashboard.h"

#include <stdio.h>
#include <string.h>

#include "server/wagi_env.h"

/* Made from src/server/dashboard/ by `xxd -i -n kl_dash_NAME` at build time
 * (the Makefile's $(BUILD)/gen/dashboard_assets.c), so the binary needs no
 * files beside it and nothing is fetched from elsewhere. */
extern unsigned char kl_dash_index_html[], kl_dash_app_js[], kl_dash_app_css[],
    kl_dash_icon_svg[];
extern unsigned int kl_dash_index_html_len, kl_dash_app_js_len, kl_dash_app_css_len,
    kl_dash_icon_svg_len;

static const struct asset {
    const char *path;
    const unsigned char *data;
    const unsigned int *len;
    const char *ctype;
} assets[] = {
    {"/_/", kl_dash_index_html, &kl_dash_index_html_len, "text/html; charset=utf-8"},
    {"/_/app.js", kl_dash_app_js, &kl_dash_app_js_len, "text/javascript; charset=utf-8"},
    {"/_/app.css", kl_dash_app_css, &kl_dash_app_css_len, "text/css; charset=utf-8"},
    {"/_/icon.svg", kl_dash_icon_svg, &kl_dash_icon_svg_len, "image/svg+xml"},
};

/* Only our own script, styles and API: no inline script or style (an
 * injected string can never run), no other origin, no framing, no forms
 * posting anywhere (the login form is handled by app.js). */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
            "connect-src 'self'; img-src 'self'; base-uri 'none'; " \
            "form-action 'none'; frame-ancestors 'none'"

/* The headers every dashboard answer carries (kl_http_send adds nosniff). */
static void harden(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    /* Assets change with the binary; a new build must not meet an old script. */
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
}

/* A GET or HEAD of a dashboard path: its asset (or 404, 405, or a redirect
 * from "/_" to "/_/"), with a strict Content-Security-Policy. The assets
 * hold no secret, so they need no token: the page asks for one and sends it
 * on its own API calls. */
static enum MHD_Result serve_asset(struct kl_req *r, struct MHD_Connection *c,
                                   const char *path)
{
    struct MHD_Response *resp;
    const struct asset *a = NULL;
    size_t i;

    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return kl_http_error(r, c, 405, "bad_method", "method %s not allowed on %s",
                             r->method, path);
    if (strcmp(path, "/_") == 0) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (resp == NULL)
            return MHD_NO;
        MHD_add_response_header(resp, "Location", "/_/");
        harden(resp);
        return kl_http_send(r, c, 308, resp, NULL);
    }
    for (i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
        if (strcmp(path, assets[i].path) == 0)
            a = &assets[i];
    if (a == NULL)
        return kl_http_error(r, c, 404, "not_found", "no dashboard file %s", path);
    resp = MHD_create_response_from_buffer(*a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", a->ctype);
    harden(resp);
    return kl_http_send(r, c, 200, resp, NULL);
}

static enum MHD_Result dash_finish(void *hctx, struct kl_req *r, struct MHD_Connection *c)
{
    char path[KL_URL_MAX + 1];

    snprintf(path, sizeof(path), "%.*s", (int)kl_target_path_len(r->target), r->target);
    return serve_asset(r, c, path);
}

/* The admin listener's "/" leads to the dashboard, before any body. */
static enum MHD_Result root_begin(void *hctx, struct kl_req *r, struct MHD_Connection *c,
                                  const char *path, size_t *cap, int *handled)
{
    struct MHD_Response *resp;

    *handled = 1;
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Location", "/_/");
    return kl_http_send(r, c, 307, resp, NULL);
}

static const struct kl_http_handler dash_handler = {NULL, dash_finish, NULL};
static const struct kl_http_handler root_handler = {root_begin, NULL, NULL};

int kl_dashboard_register(struct kl_server *s)
{
    const unsigned f = KL_ROUTE_RESERVED | KL_ROUTE_OWN_POLICY;
    int rc;

    if ((rc = kl_http_route_add(s, KL_LISTEN_ADMIN, "/_", f, &dash_handler, NULL)) < 0 ||
        (rc = kl_http_route_add(s, KL_LISTEN_ADMIN, "/_/", f | KL_ROUTE_PREFIX,
                                &dash_handler, NULL)) < 0)
        return rc;
    return kl_http_route_add(s, KL_LISTEN_ADMIN, "/", 0, &root_handler, NULL);
}
