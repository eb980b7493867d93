/* svc_url.h - the outbound allow-list: strict URL checks and matching on scheme, host and port. */
#ifndef KL_HOST_SVC_URL_H
#define KL_HOST_SVC_URL_H

#include <stddef.h>

/** The parts of a URL (or an allow-list entry) that the allow-list compares. */
struct kl_svc_url {
    char scheme[8];      /* "http" or "https" */
    char host[256];      /* lower case; IPv6 literals keep their brackets */
    unsigned port;       /* the scheme's default when none is given; 0 in an entry: any ("*") */
};

/**
 * Parse `url` strictly: http or https only; no userinfo; a host that is
 * exactly as written (curl's parser would turn 0x7f.1 or 2130706433 into
 * 127.0.0.1, %6c into l: such spellings are refused, not normalised); a
 * DNS name of [a-z0-9-] labels with no trailing dot and no non-ASCII byte
 * (no IDN look-alikes), a canonical dotted quad, or an IPv6 literal that
 * is not an IPv4-mapped one. Returns 0 or -EINVAL with the reason in why.
 */
int kl_svc_url_parse(const char *url, struct kl_svc_url *out, char *why, size_t len);

/**
 * Parse an allow-list entry "scheme://host[:port|:*]" (a path of "/" at
 * most; `*` only as the whole port). Returns 0 or -EINVAL with the reason.
 */
int kl_svc_allow_parse(const char *entry, struct kl_svc_url *out, char *why, size_t len);

/**
 * Is `url` allowed by one of the `n` entries? Case-insensitive on scheme
 * and host. 0 (and *out, if not NULL, the parsed URL) or -EACCES/-EINVAL
 * with the reason in why.
 */
int kl_svc_url_allowed(const char *url, const char *const *allow, size_t n,
                       struct kl_svc_url *out, char *why, size_t len);

#endif
