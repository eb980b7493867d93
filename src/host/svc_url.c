/* svc_url.c - strict URL checks for outbound HTTP (libcurl's URL API parses; this refuses what it would normalise). */
#include "host/svc_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

/* A canonical dotted quad: four decimal parts 0..255, no leading zeros. */
static int dotted_quad(const char *h)
{
    int parts = 0;

    for (const char *p = h;; p++) {
        const char *s = p;
        while (isdigit((unsigned char)*p))
            p++;
        if (p == s || p - s > 3 || (p - s > 1 && *s == '0') || atoi(s) > 255)
            return 0;
        parts++;
        if (*p == 0)
            return parts == 4;
        if (*p != '.')
            return 0;
    }
}

/* Is the last label numeric-looking (digits, or 0x...)? Then the host can
 * only be an IPv4 literal, and must be a canonical one. */
static int looks_numeric(const char *h)
{
    const char *last = strrchr(h, '.');

    last = last ? last + 1 : h;
    if (strncasecmp(last, "0x", 2) == 0)
        return 1;
    for (; *last; last++)
        if (!isdigit((unsigned char)*last))
            return 0;
    return 1;
}

/* An IPv6 literal "[...]" that is not another spelling of an IPv4 address. */
static int check_ipv6(const char *h, char *why, size_t len)
{
    char in[64];
    struct in6_addr a;
    size_t n = strlen(h);

    if (n < 3 || n - 2 >= sizeof(in) || h[n - 1] != ']')
        return kl_whyf(why, len, -EINVAL, "bad IPv6 literal");
    memcpy(in, h + 1, n - 2);
    in[n - 2] = 0;
    if (strchr(in, '%') || inet_pton(AF_INET6, in, &a) != 1)
        return kl_whyf(why, len, -EINVAL, "IPv6 literal with a zone or not an address");
    if (IN6_IS_ADDR_V4MAPPED(&a) || IN6_IS_ADDR_V4COMPAT(&a))
        return kl_whyf(why, len, -EINVAL, "an IPv4 address written as IPv6 is refused");
    return 0;
}

/* The host rules of kl_svc_url_parse, on curl's view of the host. */
static int check_host(char *h, char *why, size_t len)
{
    size_t n = strlen(h);

    if (n == 0 || n > 253)
        return kl_whyf(why, len, -EINVAL, "no host, or a host over 253 bytes");
    if (h[0] == '[')
        return check_ipv6(h, why, len);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!(isalnum(c) || c == '-' || c == '.') || c >= 0x80)
            return kl_whyf(why, len, -EINVAL, "host %.64s has a byte outside [A-Za-z0-9.-] "
                        "(internationalised names must be given in xn-- form)", h);
        h[i] = (char)tolower(c);
    }
    if (h[n - 1] == '.' || h[0] == '.' || strstr(h, ".."))
        return kl_whyf(why, len, -EINVAL, "host %.64s has an empty label or a trailing dot", h);
    if (looks_numeric(h) && !dotted_quad(h))
        return kl_whyf(why, len, -EINVAL,
                       "host %.64s is an IP address not written as a dotted quad", h);
    return 0;
}

/* The host must be in the URL exactly as curl reports it: right after
 * "scheme://", followed by a port, a path, a query, a fragment or nothing. */
static int host_as_written(const char *url, const char *host)
{
    const char *p = strstr(url, "://");
    size_t n = strlen(host);

    if (!p)
        return 0;
    p += 3;
    return strncasecmp(p, host, n) == 0 && strchr(":/?#", p[n]) != NULL;
}

/* Fetch one part; NULL when absent. */
static char *part(CURLU *u, CURLUPart what, unsigned flags)
{
    char *s = NULL;

    return curl_url_get(u, what, &s, flags) == CURLUE_OK ? s : NULL;
}

static int parse_curl(CURLU *u, const char *url, struct kl_svc_url *out, char *why, size_t len)
{
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL;
    int rc = -EINVAL;

    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        rc = kl_whyf(why, len, -EINVAL, "not an absolute URL");
        goto out;
    }
    scheme = part(u, CURLUPART_SCHEME, 0);
    host = part(u, CURLUPART_HOST, 0);
    port = part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    user = part(u, CURLUPART_USER, 0);
    pass = part(u, CURLUPART_PASSWORD, 0);
    if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        rc = kl_whyf(why, len, -EINVAL, "only http and https URLs are allowed");
    else if (user || pass || strchr(url, '@'))
        rc = kl_whyf(why, len, -EINVAL, "a URL with userinfo (user@host) is refused");
    else if (!host || !port)
        rc = kl_whyf(why, len, -EINVAL, "a URL needs a host");
    else if (!host_as_written(url, host))
        rc = kl_whyf(why, len, -EINVAL,
                     "host is not written canonically (curl reads it as %.64s)", host);
    else if ((rc = check_host(host, why, len)) == 0) {
        snprintf(out->scheme, sizeof(out->scheme), "%s", scheme);
        snprintf(out->host, sizeof(out->host), "%s", host);
        out->port = (unsigned)atoi(port);
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(pass);
    return rc;
}

int kl_svc_url_parse(const char *url, struct kl_svc_url *out, char *why, size_t len)
{
    CURLU *u = curl_url();
    int rc;

    memset(out, 0, sizeof(*out));
    if (!u)
        return -ENOMEM;
    rc = parse_curl(u, url, out, why, len);
    curl_url_cleanup(u);
    return rc;
}

int kl_svc_allow_parse(const char *entry, struct kl_svc_url *out, char *why, size_t len)
{
    char buf[512];
    size_t n = strlen(entry);
    int any = 0, rc;
    CURLU *u;
    char *path;

    if (n == 0 || n >= sizeof(buf) - 1)
        return kl_whyf(why, len, -EINVAL, "allow-list entry is empty or too long");
    memcpy(buf, entry, n + 1);
    if (buf[n - 1] == '/')
        buf[--n] = 0;
    if (n > 2 && strcmp(buf + n - 2, ":*") == 0) {   /* any port: the only wildcard */
        buf[n - 2] = 0;
        any = 1;
    }
    if (strchr(buf, '*'))
        return kl_whyf(why, len, -EINVAL,
                       "allow-list entry %.64s: '*' is allowed only as a whole port", entry);
    if (!(u = curl_url()))
        return -ENOMEM;
    rc = parse_curl(u, buf, out, why, len);
    path = rc == 0 ? part(u, CURLUPART_PATH, 0) : NULL;
    if (rc == 0 && ((path && strcmp(path, "/") != 0) || strchr(buf, '?') || strchr(buf, '#')))
        rc = kl_whyf(why, len, -EINVAL,
                     "allow-list entry %.64s has a path, query or fragment", entry);
    curl_free(path);
    curl_url_cleanup(u);
    if (rc == 0 && any)
        out->port = 0;
    return rc;
}

int kl_svc_url_allowed(const char *url, const char *const *allow, size_t n,
                       struct kl_svc_url *out, char *why, size_t len)
{
    struct kl_svc_url u, a;
    char ignored[256];
    int rc;

    if ((rc = kl_svc_url_parse(url, &u, why, len)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (kl_svc_allow_parse(allow[i], &a, ignored, sizeof(ignored)) < 0)
            continue;
        if (strcmp(a.scheme, u.scheme) == 0 && strcmp(a.host, u.host) == 0 &&
            (a.port == 0 || a.port == u.port)) {
            if (out)
                *out = u;
            return 0;
        }
    }
    snprintf(why, len, "%s://%s:%u is not in allowed_outbound_hosts", u.scheme, u.host, u.port);
    return -EACCES;
}
