/* logs.h - per-function log lines (function stderr and server notes), tagged with request ids. */
#ifndef KL_SERVER_LOGS_H
#define KL_SERVER_LOGS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define KL_LOG_KEEP 10000        /* lines kept per function */
#define KL_LOG_LINE_MAX 4096     /* longer lines are cut */
#define KL_LOG_LINES_PER_REQ 1000

struct kl_logs;

/** Open the log table in the SQLite file at `path` (its own connection). */
int kl_logs_open(const char *path, struct kl_logs **out, struct kl_err *err);

/**
 * Wake every reader waiting for lines and make later reads return at once:
 * at shutdown, before the HTTP daemon waits for its connections, so a
 * following client (`logs -f`, the dashboard's log tail) does not hold the
 * stop for its whole long poll.
 */
void kl_logs_wake_all(struct kl_logs *l);

/** Close it, waking any waiting readers. */
void kl_logs_close(struct kl_logs *l);

/**
 * Append `len` bytes of text as lines of function `name`, each tagged with
 * `request_id`. Control characters become '?'; at most KL_LOG_LINES_PER_REQ
 * lines of KL_LOG_LINE_MAX bytes are kept per call. Returns 0 or -EIO.
 */
int kl_logs_append(struct kl_logs *l, const char *name, const char *request_id,
                   const uint8_t *text, size_t len);

/**
 * Lines of `name` with seq > after, oldest first, at most `limit`. When there
 * are none, wait up to wait_ms for new ones. Returns
 * {"lines":[{"seq","ts","request_id","line"}...],"next":seq} or NULL.
 */
json_t *kl_logs_read(struct kl_logs *l, const char *name, int64_t after,
                     int limit, int wait_ms, struct kl_err *err);

/** Delete every line of `name`. */
int kl_logs_remove(struct kl_logs *l, const char *name);

#endif
