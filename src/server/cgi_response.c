/* cgi_response.c - a bounded parser for CGI response headers written by untrusted functions. */
#include "server/cgi_response.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

/* RFC 9110 token characters: what a header name may contain. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Headers the server owns: framing, hop-by-hop, and its own diagnostics, so
 * a function can neither break the framing nor forge a request id. And
 * headers whose reach is the whole origin, which every function shares:
 * Service-Worker-Allowed would let one function's service worker take
 * scope "/" and intercept every other function's requests (and, while the
 * dashboard shared the origin, its token); Clear-Site-Data would wipe every
 * other function's storage and cookies. */
static int is_dropped(const char *name)
{
    static const char *const drop[] = {
        "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
        "Upgrade", "Trailer", "TE", "Proxy-Connection", "X-Request-Id",
        "Service-Worker-Allowed", "Clear-Site-Data",
    };
    size_t i;

    for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (strcasecmp(name, drop[i]) == 0)
            return 1;
    return strncasecmp(name, "X-Kernless-", 11) == 0;
}

/* "Status: 404 Not Found" -> 404. Only 200..599: 1xx makes no sense here. */
static int parse_status(const char *v, int *status)
{
    if (!(v[0] >= '1' && v[0] <= '9' && v[1] >= '0' && v[1] <= '9' &&
          v[2] >= '0' && v[2] <= '9'))
        return -1;
    if (v[3] != 0 && v[3] != ' ' && v[3] != '\t')
        return -1;
    *status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
    return *status >= 200 && *status <= 599 ? 0 : -1;
}

/* Split one line (already NUL-terminated, CR removed) into name and value in
 * place. Returns 0, or -1 when the line is not a header. */
static int split_line(char *line, char **name, char **value)
{
    char *colon = strchr(line, ':'), *v, *end;
    size_t i;

    if (colon == NULL || colon == line || (size_t)(colon - line) > KL_CGI_MAX_NAME)
        return -1;
    for (i = 0; line + i < colon; i++)
        if (!is_tchar((unsigned char)line[i]))
            return -1;
    *colon = 0;
    v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = 0;
    for (i = 0; v[i]; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -1;
    }
    *name = line;
    *value = v;
    return 0;
}

/* Find the end of the header section: returns the offset of the body, or 0
 * when there is no empty line within the first KL_CGI_MAX_HEAD bytes. */
static size_t find_body(const uint8_t *out, size_t len)
{
    size_t lim = len < KL_CGI_MAX_HEAD ? len : KL_CGI_MAX_HEAD, i, start = 0;

    for (i = 0; i < lim; i++) {
        if (out[i] != '\n')
            continue;
        if (i == start || (i == start + 1 && out[start] == '\r'))
            return i + 1;
        start = i + 1;
    }
    return 0;
}

/* Whether the output starts like "Name:" (to tell a missing header section
 * from one that never ends). */
static int first_line_is_header(const uint8_t *out, size_t len)
{
    size_t i;

    for (i = 0; i < len && i <= KL_CGI_MAX_NAME; i++) {
        if (out[i] == ':')
            return i > 0;
        if (!is_tchar(out[i]))
            return 0;
    }
    return 0;
}

/* Parse the header lines in `head` (mutable copy, NUL-terminated). */
static int parse_lines(char *head, struct kl_cgi_response *r, int *have_status,
                       int *have_location, char *why, size_t why_len)
{
    char *line = head, *nl, *name, *value;
    size_t lineno = 0;

    while (*line != 0) {
        name = value = NULL;
        nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        *nl = 0;
        if (nl > line && nl[-1] == '\r')
            nl[-1] = 0;
        lineno++;
        if (*line == 0)
            break;
        if (split_line(line, &name, &value) < 0 && lineno == 1)
            return kl_whyf(why, why_len, -EPROTO, "output has no header section (line 1 "
                        "is not a \"Name: value\" header)");
        else if (name == NULL)
            return kl_whyf(why, why_len, -EPROTO, "malformed header line %zu", lineno);
        if (strcasecmp(name, "Status") == 0) {
            if (*have_status)
                return kl_whyf(why, why_len, -EPROTO, "more than one Status header");
            if (parse_status(value, &r->status) < 0)
                return kl_whyf(why, why_len, -EPROTO, "bad Status header \"%.40s\"", value);
            *have_status = 1;
        } else if (!is_dropped(name)) {
            if (r->nheaders >= KL_CGI_MAX_HEADERS)
                return kl_whyf(why, why_len, -EPROTO, "more than %d headers", KL_CGI_MAX_HEADERS);
            if (strcasecmp(name, "Location") == 0)
                *have_location = 1;
            r->headers[r->nheaders].name = name;
            r->headers[r->nheaders].value = value;
            r->nheaders++;
        }
        line = nl + 1;
    }
    return 0;
}

int kl_cgi_parse(const uint8_t *out, size_t len, struct kl_cgi_response *r,
                 char *why, size_t why_len)
{
    size_t body;
    int have_status = 0, have_location = 0, rc;

    memset(r, 0, sizeof(*r));
    if (len == 0)
        return kl_whyf(why, why_len, -EPROTO, "function wrote no output (expected CGI headers)");
    body = find_body(out, len);
    if (body == 0 && !first_line_is_header(out, len))
        return kl_whyf(why, why_len, -EPROTO, "output has no header section (line 1 is not "
                    "a \"Name: value\" header)");
    if (body == 0)
        return kl_whyf(why, why_len, -EPROTO, "no blank line ends the header section within "
                    "%d bytes", KL_CGI_MAX_HEAD);
    if (body <= 2)
        return kl_whyf(why, why_len, -EPROTO, "output has an empty header section");
    r->mem = malloc(body + 1);
    r->headers = calloc(KL_CGI_MAX_HEADERS, sizeof(*r->headers));
    if (r->mem == NULL || r->headers == NULL) {
        rc = -ENOMEM;
        goto err_free;
    }
    if (memchr(out, 0, body) != NULL) {
        rc = kl_whyf(why, why_len, -EPROTO, "NUL byte in the header section");
        goto err_free;
    }
    memcpy(r->mem, out, body);
    r->mem[body] = 0;
    r->status = 200;
    rc = parse_lines(r->mem, r, &have_status, &have_location, why, why_len);
    if (rc < 0)
        goto err_free;
    if (have_location && !have_status)
        r->status = 302;
    r->body = out + body;
    r->body_len = len - body;
    return 0;

err_free:
    kl_cgi_response_free(r);
    return rc;
}

void kl_cgi_response_free(struct kl_cgi_response *r)
{
    free(r->mem);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}
