/* registry_pg_conn.c - the PostgreSQL backend's connection: connect, reconnect, run a query, report an error in one line. */
#include "server/registry_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpq's messages run over several lines, indented with tabs and runs of
 * spaces; keep them to one line with single spaces. */
void kl_pg_one_line(const char *in, char *out, size_t len)
{
    size_t i = 0;
    int space = 0;

    for (; *in && i + 3 < len; in++) {
        if (*in == '\n' || *in == '\t' || *in == ' ') {
            if (*in == '\n' && i > 0 && out[i - 1] != ';')
                out[i++] = ';';
            space = 1;
            continue;
        }
        if (space && i > 0)
            out[i++] = ' ';
        space = 0;
        out[i++] = *in;
    }
    while (i > 0 && out[i - 1] == ';')
        i--;
    out[i] = 0;
}

/* libpq prints server notices on stderr by default; ours are not news. */
static void quiet_notice(void *arg, const char *message)
{
}

static PGconn *quiet(PGconn *c)
{
    if (c != NULL)
        PQsetNoticeProcessor(c, quiet_notice, NULL);
    return c;
}

/* An error of `c`: -ENOTCONN (503 upstream) when the connection is gone. */
int kl_pg_conn_err(PGconn *c, struct kl_err *err, const char *what)
{
    char msg[400];

    kl_pg_one_line(c ? PQerrorMessage(c) : "out of memory", msg, sizeof(msg));
    if (c == NULL || PQstatus(c) != CONNECTION_OK)
        return kl_errf(err, -ENOTCONN, "registry unavailable: %s", msg);
    return kl_errf(err, -EIO, "registry: %s: %s", what, msg);
}

/* Connect, with a short default timeout the URL may override. */
PGconn *kl_pg_connect(const char *url)
{
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {"3", "kernless", url, NULL};

    return quiet(PQconnectdbParams(keys, vals, 1));
}

/* Outside a transaction a lost connection is made again on the next use,
 * so a node catches up by itself once the database is back. */
int kl_pg_ensure_conn(struct reg_pg *p, struct kl_err *err)
{
    if (PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    if (p->in_txn)
        return kl_pg_conn_err(p->conn, err, "connection");
    PQreset(p->conn);
    return PQstatus(p->conn) == CONNECTION_OK ? 0 : kl_pg_conn_err(p->conn, err, "connect");
}

/* Our portable SQL uses ?N placeholders; PostgreSQL wants $N. No literal
 * in that SQL holds a '?', so every one is a placeholder. */
static char *pg_sql(const char *sql)
{
    char *s = strdup(sql), *c;

    for (c = s; c && *c; c++)
        if (*c == '?')
            *c = '$';
    return s;
}

/* Run a statement; outside a transaction, one found dead on first use
 * (the database restarted since) is connected again and retried once. */
static PGresult *exec_once(struct reg_pg *p, const char *sql, int nparams,
                           const char *const *params, const int *lens,
                           const int *fmts, int binary)
{
    /* Only the simple protocol takes several statements (the schema). */
    if (nparams == 0 && !binary)
        return PQexec(p->conn, sql);
    return PQexecParams(p->conn, sql, nparams, NULL, params, lens, fmts, binary);
}

PGresult *kl_pg_exec_retry(struct reg_pg *p, const char *sql, int nparams,
                            const char *const *params, const int *lens,
                            const int *fmts, int binary)
{
    PGresult *res = exec_once(p, sql, nparams, params, lens, fmts, binary);
    int st = PQresultStatus(res);

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || p->in_txn ||
        PQstatus(p->conn) == CONNECTION_OK)
        return res;
    PQclear(res);
    PQreset(p->conn);
    return exec_once(p, sql, nparams, params, lens, fmts, binary);
}

int kl_pg_query(struct kl_registry *r, const char *sql, int nparams,
                const char *const *params, kl_reg_row_fn row, void *ctx,
                struct kl_err *err)
{
    struct reg_pg *p = pg_of(r);
    const char *cols[16];
    PGresult *res;
    char *s;
    int rc, i, j, n, st;

    if ((rc = kl_pg_ensure_conn(p, err)) < 0)
        return rc;
    if ((s = pg_sql(sql)) == NULL)
        return kl_errf(err, -ENOMEM, "out of memory");
    res = kl_pg_exec_retry(p, s, nparams, params, NULL, NULL, 0);
    free(s);
    st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = kl_pg_conn_err(p->conn, err, "query");
        PQclear(res);
        return rc;
    }
    n = PQnfields(res);
    if (n > 16)
        n = 16;
    for (i = 0, rc = 0; row != NULL && rc == 0 && i < PQntuples(res); i++) {
        for (j = 0; j < n; j++)
            cols[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
        rc = row(ctx, n, cols);
    }
    PQclear(res);
    return rc;
}

/* Row callback: the first column of the first row, into a 280-byte buffer. */
int kl_pg_row_first(void *ctx, int n, const char *const *c)
{
    char *out = ctx;

    if (out[0] == 0 && n > 0 && c[0] != NULL)
        snprintf(out, 280, "%s", c[0]);
    return 0;
}
