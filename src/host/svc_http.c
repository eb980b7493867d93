/* svc_http.c - one outbound HTTP call with libcurl, redirects followed by hand so each hop is checked and pinned. */
#include "host/svc_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "host/svc_url.h"

/** The growing response of one hop. */
struct resp {
    uint8_t *body;
    size_t len, cap, max;
    int over;          /* the byte limit stopped the transfer */
};

int kl_svc_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void kl_svc_call_fail(struct kl_svc_call *c, uint32_t err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
    c->err = err;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t k = sz * n;

    if (r->len + k > r->max) {
        r->over = 1;
        return 0;   /* aborts the transfer */
    }
    if (r->len + k > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16384;
        while (cap < r->len + k)
            cap *= 2;
        uint8_t *nb = realloc(r->body, cap);
        if (!nb)
            return 0;
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, p, k);
    r->len += k;
    return k;
}

/* Is `sa` one of this host's own addresses (or loopback, or unspecified)? */
static int is_local(const struct sockaddr *sa)
{
    struct ifaddrs *ifs, *i;
    int local = 0;

    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        if ((a >> 24) == 127 || a == 0)
            return 1;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_V4MAPPED(a))
            return 1;
    }
    if (getifaddrs(&ifs) < 0)
        return 1;   /* unknown: treat as local, so the admin port stays closed */
    for (i = ifs; i && !local; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != sa->sa_family)
            continue;
        if (sa->sa_family == AF_INET)
            local = ((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
                    ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
        else
            local = memcmp(&((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
                           &((const struct sockaddr_in6 *)sa)->sin6_addr, 16) == 0;
    }
    freeifaddrs(ifs);
    return local;
}

/* Is any of the answers a local address at a denied port? */
static int denied(const struct addrinfo *res, unsigned port, const struct kl_svc_http_opts *o)
{
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        for (unsigned i = 0; i < o->ndeny; i++)
            if (o->deny_ports[i] == port && is_local(a->ai_addr))
                return 1;
    return 0;
}

/*
 * Resolve u's host once; the transfer then connects only to these
 * addresses (CURLOPT_RESOLVE, every answer, so "localhost" still reaches a
 * server listening on 127.0.0.1 when ::1 comes first), and a second DNS
 * answer cannot send it elsewhere. Writes "host:port:addr[,addr...]" into
 * pin. Fills call->err on refusal.
 */
static int resolve_pin(struct kl_svc_call *call, const struct kl_svc_url *u,
                       const struct kl_svc_http_opts *o, char *pin, size_t len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    char host[256], addr[INET6_ADDRSTRLEN];
    size_t n = strlen(u->host), used;
    int rc, k = 0;

    snprintf(host, sizeof(host), "%s", u->host);
    if (host[0] == '[' && n > 2) {   /* an IPv6 literal: no DNS */
        memmove(host, host + 1, n - 2);
        host[n - 2] = 0;
        hints.ai_flags = AI_NUMERICHOST;
    }
    if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
        kl_svc_call_fail(call, KL_SVC_EFAILED, "cannot resolve %s: %s", u->host, gai_strerror(rc));
        return -1;
    }
    if (denied(res, u->port, o)) {
        freeaddrinfo(res);
        kl_svc_call_fail(call, KL_SVC_EDENIED, "%s:%u is this server's own management origin",
                u->host, u->port);
        return -1;
    }
    used = (size_t)snprintf(pin, len, "%s:%u:", u->host, u->port);
    for (const struct addrinfo *a = res; a && k < 8 && used + 64 < len; a = a->ai_next, k++) {
        int v6 = a->ai_family == AF_INET6;
        const void *ip = v6 ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
        inet_ntop(v6 ? AF_INET6 : AF_INET, ip, addr, sizeof(addr));
        used += (size_t)snprintf(pin + used, len - used, "%s%s%s%s", k ? "," : "", v6 ? "[" : "",
                                 addr, v6 ? "]" : "");
    }
    freeaddrinfo(res);
    return 0;
}

/* The guest's "Name: value\n" lines as a curl list; NULL and *bad on a CR. */
static struct curl_slist *req_headers(const char *h, int *bad)
{
    struct curl_slist *l = NULL, *t;
    char line[8192];

    while (h && *h) {
        const char *e = strchr(h, '\n');
        size_t n = e ? (size_t)(e - h) : strlen(h);
        if (n >= sizeof(line) || memchr(h, '\r', n) || (n && !memchr(h, ':', n))) {
            *bad = 1;
            curl_slist_free_all(l);
            return NULL;
        }
        memcpy(line, h, n);
        line[n] = 0;
        if (n && !(t = curl_slist_append(l, line))) {
            *bad = 1;
            curl_slist_free_all(l);
            return NULL;
        }
        if (n)
            l = t;
        h = e ? e + 1 : h + n;
    }
    return l;
}

/* Lower-case "name: value\n" lines of the last response's headers. */
static char *resp_headers(CURL *c, size_t *len)
{
    struct curl_header *prev = NULL, *h;
    size_t n = 0, cap = 1024;
    char *s = malloc(cap);

    if (!s)
        return NULL;
    while ((h = curl_easy_nextheader(c, CURLH_HEADER, -1, prev)) != NULL) {
        size_t need = strlen(h->name) + strlen(h->value) + 4;
        if (n + need > cap) {
            char *ns = realloc(s, (cap = (n + need) * 2));
            if (!ns) {
                free(s);
                return NULL;
            }
            s = ns;
        }
        for (const char *p = h->name; *p; p++)
            s[n++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        n += (size_t)sprintf(s + n, ": %s\n", h->value);
        prev = h;
    }
    *len = n;
    return s;
}

/* The milliseconds left before the call's deadline (at least 1); 30 s without one. */
static long ms_left(const struct kl_svc_call *call)
{
    uint64_t now = kl_now_ns();

    if (!call->deadline_ns)
        return 30000;
    if (now >= call->deadline_ns)
        return 1;
    return (long)((call->deadline_ns - now) / 1000000u) + 1;
}

static void set_method(CURL *c, const char *method, const uint8_t *body, size_t len)
{
    if (strcasecmp(method, "GET") == 0 && !len)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    else if (strcasecmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
}

/* One hop: returns 1 and the next URL in *next on a redirect, 0 when done, -1 on a refusal. */
static int hop(struct kl_svc_call *call, const char *url, const char *method, int with_body,
               struct curl_slist *hdrs, const struct kl_svc_http_opts *o, struct resp *r,
               char **next)
{
    char pin[600], why[KL_SVC_REASON_MAX];
    struct curl_slist *resolve = NULL;
    struct kl_svc_url u;
    long status = 0;
    char *loc = NULL;
    CURL *c;
    CURLcode cc;

    if (kl_svc_url_allowed(url, call->allow, call->nallow, &u, why, sizeof(why)) < 0) {
        kl_svc_call_fail(call, KL_SVC_EDENIED, "%s", why);
        return -1;
    }
    if (resolve_pin(call, &u, o, pin, sizeof(pin)) < 0)
        return -1;
    if (!(c = curl_easy_init()) || !(resolve = curl_slist_append(NULL, pin))) {
        curl_easy_cleanup(c);
        kl_svc_call_fail(call, KL_SVC_EFAILED, "out of memory");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms_left(call));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");   /* the pinned address, not a proxy's */
    set_method(c, method, with_body ? call->val : NULL, with_body ? call->val_len : 0);
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    call->status = (uint32_t)status;
    if (r->over)
        kl_svc_call_fail(call, KL_SVC_ELIMIT, "the response is over the request's %zu bytes left", r->max);
    else if (cc == CURLE_OPERATION_TIMEDOUT)
        kl_svc_call_fail(call, KL_SVC_ETIMEOUT, "%s: the request's deadline passed", u.host);
    else if (cc != CURLE_OK)
        kl_svc_call_fail(call, KL_SVC_EFAILED, "%s:%u: %s", u.host, u.port, curl_easy_strerror(cc));
    else if (status >= 300 && status < 400 &&
             curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc) {
        *next = strdup(loc);
        curl_easy_cleanup(c);
        curl_slist_free_all(resolve);
        return *next ? 1 : -1;
    } else {
        free(call->result);
        call->result = (uint8_t *)resp_headers(c, &call->hdr_len);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(resolve);
    return call->err ? -1 : 0;
}

/* Put headers and body together as the call's result. */
static int finish(struct kl_svc_call *call, struct resp *r)
{
    uint8_t *all;

    if (!call->result)
        return -ENOMEM;
    if (!(all = realloc(call->result, call->hdr_len + r->len + 1)))
        return -ENOMEM;
    if (r->len)
        memcpy(all + call->hdr_len, r->body, r->len);
    call->result = all;
    call->result_len = call->hdr_len + r->len;
    return 0;
}

int kl_svc_http_exec(struct kl_svc_call *call, const struct kl_svc_http_opts *o)
{
    struct resp r = {.max = call->max_bytes};
    char *url = strndup((const char *)call->key, call->key_len), *next = NULL;
    const char *method = call->method;
    int bad = 0, rc = 0, with_body = 1, n;
    struct curl_slist *hdrs = req_headers(call->headers, &bad);

    if (!url)
        return -ENOMEM;
    if (bad) {
        kl_svc_call_fail(call, KL_SVC_EINVAL, "a request header is not a \"Name: value\" line");
        goto out;
    }
    for (int i = 0;; i++) {
        r.len = 0;
        n = hop(call, url, method, with_body, hdrs, o, &r, &next);
        if (n <= 0)
            break;
        free(url);
        url = next;
        if (i + 1 > KL_SVC_REDIRECTS_MAX) {
            kl_svc_call_fail(call, KL_SVC_EFAILED, "more than %d redirects", KL_SVC_REDIRECTS_MAX);
            break;
        }
        /* 303, and 301/302 after a POST, become a GET without a body (as browsers do). */
        if (call->status == 303 || ((call->status == 301 || call->status == 302) &&
                                    strcasecmp(method, "POST") == 0)) {
            method = "GET";
            with_body = 0;
        }
    }
    if (!call->err)
        rc = finish(call, &r);
out:
    curl_slist_free_all(hdrs);
    free(r.body);
    free(url);
    return rc;
}
