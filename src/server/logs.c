/* logs.c - function log lines in SQLite, pruned per function, with long-poll reads for `logs -f`. */
#include "server/logs.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kl_logs {
    sqlite3 *db;
    pthread_mutex_t lock;
    pthread_cond_t grew;     /* broadcast after each append */
    int64_t last_seq;
    unsigned appends;
    int closing;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    /* NORMAL: no fsync per commit. A function's log lines are written on
     * its request's path, and with FULL every request that printed to
     * stderr waited ~8 ms for the disk under the one log lock (measured by
     * make soak). WAL with NORMAL survives a crash of the server; power
     * loss may drop the newest lines, never the registry (its own
     * connection stays FULL). */
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS logs(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL, ts INTEGER NOT NULL, request_id TEXT NOT NULL,"
    " line TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS logs_by_name ON logs(name, seq);";

int kl_logs_open(const char *path, struct kl_logs **out, struct kl_err *err)
{
    struct kl_logs *l = calloc(1, sizeof(*l));
    pthread_condattr_t ca;
    int rc;

    if (l == NULL)
        return kl_errf(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->grew, &ca);
    pthread_condattr_destroy(&ca);
    if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(l->db, 5000) != SQLITE_OK ||
        sqlite3_exec(l->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        rc = kl_errf(err, -EIO, "logs: open %s: %s", path,
                     l->db ? sqlite3_errmsg(l->db) : "out of memory");
        sqlite3_close(l->db);
        free(l);
        return rc;
    }
    l->last_seq = 0;
    *out = l;
    return 0;
}

void kl_logs_wake_all(struct kl_logs *l)
{
    if (l == NULL)
        return;
    pthread_mutex_lock(&l->lock);
    l->closing = 1;
    pthread_cond_broadcast(&l->grew);
    pthread_mutex_unlock(&l->lock);
}

void kl_logs_close(struct kl_logs *l)
{
    if (l == NULL)
        return;
    kl_logs_wake_all(l);
    sqlite3_close(l->db);
    pthread_cond_destroy(&l->grew);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keep the newest KL_LOG_KEEP lines of `name`. */
static void prune(struct kl_logs *l, const char *name)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(l->db, "DELETE FROM logs WHERE name = ?1 AND seq <"
            " (SELECT seq FROM logs WHERE name = ?1 ORDER BY seq DESC LIMIT 1"
            " OFFSET ?2)", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, KL_LOG_KEEP - 1);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

/* Insert the lines of `text` with one prepared statement inside a transaction. */
static int insert_lines(struct kl_logs *l, sqlite3_stmt *st, const uint8_t *text,
                        size_t len)
{
    char line[KL_LOG_LINE_MAX + 1];
    size_t i = 0, n, o, lines = 0;

    while (i < len && lines < KL_LOG_LINES_PER_REQ) {
        for (n = 0; i + n < len && text[i + n] != '\n'; n++)
            ;
        for (o = 0; o < n && o < KL_LOG_LINE_MAX; o++) {
            unsigned char c = text[i + o];
            line[o] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
        }
        while (o > 0 && line[o - 1] == '?' && text[i + o - 1] == '\r')
            o--;
        line[o] = 0;
        sqlite3_bind_text(st, 4, line, (int)o, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -EIO;
        sqlite3_reset(st);
        l->last_seq = sqlite3_last_insert_rowid(l->db);
        lines++;
        i += n + 1;
    }
    return 0;
}

int kl_logs_append(struct kl_logs *l, const char *name, const char *request_id,
                   const uint8_t *text, size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;

    if (len == 0)
        return 0;
    pthread_mutex_lock(&l->lock);
    if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_prepare_v2(l->db, "INSERT INTO logs(name, ts, request_id, line)"
                           " VALUES(?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK)
        goto rollback;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms());
    sqlite3_bind_text(st, 3, request_id, -1, SQLITE_STATIC);
    if ((rc = insert_lines(l, st, text, len)) < 0)
        goto rollback;
    sqlite3_finalize(st);
    st = NULL;
    if (++l->appends % 64 == 0)
        prune(l, name);
    if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        pthread_cond_broadcast(&l->grew);
        rc = 0;
        goto out;
    }
rollback:
    sqlite3_finalize(st);
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    rc = -EIO;
out:
    pthread_mutex_unlock(&l->lock);
    return rc;
}

/* A JSON string of bytes that may not be UTF-8: non-ASCII becomes '?' then. */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s);
    char *copy;
    size_t i;

    if (j != NULL)
        return j;
    copy = strdup(s);
    if (copy == NULL)
        return json_string("");
    for (i = 0; copy[i]; i++)
        if ((unsigned char)copy[i] >= 0x80)
            copy[i] = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* One query; caller holds the lock. */
static json_t *query(struct kl_logs *l, const char *name, int64_t after,
                     int limit, int64_t *next, struct kl_err *err)
{
    sqlite3_stmt *st = NULL;
    json_t *lines = json_array();
    int step;

    if (sqlite3_prepare_v2(l->db, "SELECT seq, ts, request_id, line FROM logs"
            " WHERE name = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3", -1, &st,
            NULL) != SQLITE_OK) {
        kl_errf(err, -EIO, "logs: %s", sqlite3_errmsg(l->db));
        json_decref(lines);
        return NULL;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int(st, 3, limit);
    *next = after;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        *next = sqlite3_column_int64(st, 0);
        json_array_append_new(lines, json_pack("{s:I,s:I,s:s,s:o}",
            "seq", (json_int_t)*next, "ts", (json_int_t)sqlite3_column_int64(st, 1),
            "request_id", (const char *)sqlite3_column_text(st, 2),
            "line", safe_string((const char *)sqlite3_column_text(st, 3))));
    }
    sqlite3_finalize(st);
    return lines;
}

json_t *kl_logs_read(struct kl_logs *l, const char *name, int64_t after,
                     int limit, int wait_ms, struct kl_err *err)
{
    struct timespec deadline;
    json_t *lines;
    int64_t next;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&l->lock);
    for (;;) {
        lines = query(l, name, after, limit, &next, err);
        if (lines == NULL || json_array_size(lines) > 0 || wait_ms <= 0 || l->closing)
            break;
        json_decref(lines);
        lines = NULL;
        if (pthread_cond_timedwait(&l->grew, &l->lock, &deadline) == ETIMEDOUT) {
            lines = query(l, name, after, limit, &next, err);
            break;
        }
    }
    pthread_mutex_unlock(&l->lock);
    if (lines == NULL)
        return NULL;
    return json_pack("{s:o,s:I}", "lines", lines, "next", (json_int_t)next);
}

int kl_logs_remove(struct kl_logs *l, const char *name)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;

    pthread_mutex_lock(&l->lock);
    if (sqlite3_prepare_v2(l->db, "DELETE FROM logs WHERE name = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&l->lock);
    return rc;
}
