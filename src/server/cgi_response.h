/* cgi_response.h - parse a WAGI function's stdout (CGI headers, blank line, body) into an HTTP response. */
#ifndef KL_SERVER_CGI_RESPONSE_H
#define KL_SERVER_CGI_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#define KL_CGI_MAX_HEAD 65536    /* bytes of header section we look at */
#define KL_CGI_MAX_HEADERS 100
#define KL_CGI_MAX_NAME 256

/** One header to send, NUL-terminated copies owned by the response. */
struct kl_cgi_header {
    char *name;
    char *value;
};

/** A parsed CGI response. `body` points into the parsed input. */
struct kl_cgi_response {
    int status;                    /* Status:, else 302 with Location, else 200 */
    struct kl_cgi_header *headers; /* pass-through headers, in output order */
    size_t nheaders;
    const uint8_t *body;
    size_t body_len;
    char *mem;                     /* owns the header strings */
};

/**
 * Parse `len` bytes of CGI output. Header lines end in LF or CRLF; the first
 * empty line ends the section. Framing and hop-by-hop headers
 * (Content-Length, Transfer-Encoding, Connection, ...) and the server's own
 * (X-Request-Id, X-Kernless-*) are dropped; repeated headers are kept.
 * Returns 0, -EPROTO with a one-line reason in `why` (no header section,
 * malformed line, bad Status, too many headers), or -ENOMEM.
 */
int kl_cgi_parse(const uint8_t *out, size_t len, struct kl_cgi_response *r,
                 char *why, size_t why_len);

/** Free what kl_cgi_parse allocated (safe on a zeroed struct). */
void kl_cgi_response_free(struct kl_cgi_response *r);

#endif
