/* split.c - cut wasm2c's one C file into several translation units that gcc compiles in parallel, each with a share of the functions. */
#include "compile/split.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define MAX_C_BYTES (512u << 20)

/* One line of the source: [s, s + n), without its newline. */
struct line {
    const char *s;
    size_t n;
    int def;       /* -1: not in a definition; else the part of the definition it belongs to */
    int decl;      /* a w2c_ function declaration, or the func_types array */
    int nl;        /* the source has a newline after it (all but maybe the last line) */
};

struct text {
    struct line *l;
    size_t n;
};

static int starts(const struct line *l, const char *p)
{
    size_t k = strlen(p);

    return l->n >= k && memcmp(l->s, p, k) == 0;
}

static int ends(const struct line *l, const char *p)
{
    size_t k = strlen(p);

    return l->n >= k && memcmp(l->s + l->n - k, p, k) == 0;
}

static int contains(const struct line *l, const char *p)
{
    return memmem(l->s, l->n, p, strlen(p)) != NULL;
}

static int lines_of(const char *src, size_t len, struct text *t)
{
    size_t cap = 1024;

    t->n = 0;
    if (!(t->l = malloc(cap * sizeof(*t->l))))
        return -ENOMEM;
    for (const char *p = src, *end = src + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (t->n == cap) {
            struct line *m = realloc(t->l, (cap *= 2) * sizeof(*t->l));
            if (!m)
                return -ENOMEM;
            t->l = m;
        }
        t->l[t->n++] = (struct line){p, n, -1, 0, nl != NULL};
        p += n + 1;
    }
    return 0;
}

/* The first line of a w2c_ function's definition; a long parameter list
 * continues on the next lines (declarations are one line, ending ");"). */
static int def_start(const struct line *l)
{
    return starts(l, "static ") && contains(l, " w2c_") && contains(l, "(") && !ends(l, ";");
}

/*
 * Mark the layout wasm2c 1.0.32 writes: a prelude, "static u32
 * func_types[N];", its init function, one "static T w2c_f(...);"
 * declaration per function, the module's data and init code, then one
 * "static T w2c_f(...) {" ... "}" definition per function (its parameters
 * may run over several lines), then exports.
 * Returns the index of the func_types line and the definitions' bytes in
 * *bytes, or -1 when the layout is not that (or a definition uses the
 * module's own static data, as memory.init does): then the file is
 * compiled whole.
 */
static long mark(struct text *t, size_t *bytes)
{
    long ft = -1;

    *bytes = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct line *l = &t->l[i];
        if (ft < 0) {
            if (starts(l, "static u32 func_types[") && ends(l, "];")) {
                ft = (long)i;
                l->decl = 1;
            }
            continue;
        }
        if (starts(l, "static ") && contains(l, " w2c_") && ends(l, ");")) {
            l->decl = 1;
            continue;
        }
        if (!def_start(l))
            continue;
        size_t first = i;
        for (; i < t->n; i++) {
            t->l[i].def = 0;
            *bytes += t->l[i].n + 1;
            if (t->l[i].n == 1 && t->l[i].s[0] == '}')
                break;
        }
        if (i == t->n)
            return -1;
        /* One search over the whole body, not one per line. */
        struct line body = {t->l[first].s, (size_t)(t->l[i].s + 1 - t->l[first].s), 0, 0, 0};
        if (contains(&body, "data_segment_data_") || contains(&body, "elem_segment_"))
            return -1;
    }
    return ft;
}

/* Bytes of the definition starting at line i (through its closing "}"). */
static size_t def_size(const struct text *t, size_t i)
{
    size_t n = 0;

    for (; i < t->n && t->l[i].def >= 0; i++) {
        n += t->l[i].n + 1;
        if (t->l[i].n == 1 && t->l[i].s[0] == '}')
            break;
    }
    return n;
}

/* Deal whole definitions into `parts` runs of about equal size, in order:
 * each goes to the part its middle byte falls in. Part 0 alone also holds
 * the module's data, init code and exports (everything after func_types
 * that is neither a declaration nor a definition): they count as its own
 * first bytes, so a module with megabytes of data segments does not leave
 * part 0 twice as long to compile as the others. */
static void deal(struct text *t, long ft, unsigned parts, size_t bytes)
{
    size_t done = 0, own0 = 0, all;
    int part = 0;

    for (size_t i = (size_t)ft + 1; i < t->n; i++)
        if (t->l[i].def < 0 && !t->l[i].decl)
            own0 += t->l[i].n + 1;
    all = own0 + bytes ? own0 + bytes : 1;
    for (size_t i = 0; i < t->n; i++) {
        struct line *l = &t->l[i];
        if (l->def < 0)
            continue;
        if (def_start(l))
            part = (int)((own0 + done + def_size(t, i) / 2) * parts / all);
        l->def = part;
        done += l->n + 1;
    }
}

/* Write a line, making a w2c_ function (or func_types) global: in one
 * translation unit it is defined, in the others called (or read). */
static int put(FILE *f, const struct line *l, int global)
{
    const char *s = l->s;
    size_t n = l->n;

    if (global && (l->decl || l->def >= 0) && starts(l, "static ")) {
        s += 7;
        n -= 7;
    }
    /* The line and its newline in one call: a part is millions of lines. */
    if (l->nl)
        return fwrite_unlocked(s, 1, n + 1, f) == n + 1 ? 0 : -EIO;
    return fwrite_unlocked(s, 1, n, f) == n && fputc_unlocked('\n', f) != EOF ? 0 : -EIO;
}

/* Part 0: everything but the other parts' definitions. Part k: the prelude,
 * func_types as extern, every declaration, and part k's definitions. */
static int write_part(const struct text *t, long ft, unsigned k, const char *path,
                      struct kl_err *err)
{
    FILE *f = fopen(path, "w");
    int rc = 0;

    if (!f)
        return kl_errf(err, -errno, "%s: %s", path, strerror(errno));
    for (size_t i = 0; i < t->n && rc == 0; i++) {
        const struct line *l = &t->l[i];
        if (k == 0) {
            if (l->def <= 0)
                rc = put(f, l, 1);
        } else if ((long)i < ft) {
            rc = put(f, l, 1);
        } else if ((long)i == ft) {
            rc = fprintf(f, "extern %.*s\n", (int)(l->n - 7), l->s + 7) < 0 ? -EIO : 0;
        } else if (l->decl || l->def == (int)k) {
            rc = put(f, l, 1);
        }
    }
    if (fclose(f) != 0 && rc == 0)
        rc = -EIO;
    return rc < 0 ? kl_errf(err, rc, "%s: write failed", path) : 0;
}

int kl_split_buf(const char *src, size_t len, const char *dir, unsigned parts,
                 struct kl_err *err)
{
    struct text t = {0};
    size_t bytes;
    char path[PATH_MAX];
    long ft;
    int rc = 0;

    if (parts <= 1)
        return 1;
    if (parts > KL_SPLIT_MAX_PARTS)
        parts = KL_SPLIT_MAX_PARTS;
    if ((rc = lines_of(src, len, &t)) < 0) {
        rc = kl_errf(err, rc, "out of memory");
        goto out;
    }
    if ((ft = mark(&t, &bytes)) < 0) {
        rc = 1;   /* not a layout we can cut: compile it whole */
        goto out;
    }
    deal(&t, ft, parts, bytes);
    for (unsigned k = 0; k < parts && rc == 0; k++) {
        snprintf(path, sizeof(path), "%s/m%u.c", dir, k);
        rc = write_part(&t, ft, k, path, err);
    }
    if (rc == 0)
        rc = (int)parts;
out:
    free(t.l);
    return rc;
}

int kl_split_c(const char *c_path, const char *dir, unsigned parts, struct kl_err *err)
{
    uint8_t *src = NULL;
    size_t len = 0;
    int rc;

    if (parts <= 1)
        return 1;
    if ((rc = kl_read_file(c_path, MAX_C_BYTES, &src, &len, err)) < 0)
        return rc;
    rc = kl_split_buf((const char *)src, len, dir, parts, err);
    free(src);
    return rc;
}

/* ---- compiling the parts ---- */

struct pool {
    const struct kl_split_cc *cc;
    pthread_mutex_t lock;
    unsigned next;                          /* the next part to start, under lock */
    int rc[KL_SPLIT_MAX_PARTS];
    struct kl_err err[KL_SPLIT_MAX_PARTS];
};

/* Take parts until none is left; each compile is one bounded subprocess. */
static void *worker(void *arg)
{
    struct pool *p = arg;

    for (;;) {
        pthread_mutex_lock(&p->lock);
        unsigned k = p->next < p->cc->parts ? p->next++ : p->cc->parts;
        pthread_mutex_unlock(&p->lock);
        if (k == p->cc->parts)
            return NULL;
        p->rc[k] = p->cc->compile(p->cc->ctx, k, &p->err[k]);
    }
}

int kl_split_compile(const struct kl_split_cc *cc, struct kl_err *err)
{
    pthread_t th[KL_SPLIT_MAX_PARTS];
    struct pool *p = calloc(1, sizeof(*p));
    unsigned nth, started = 0;
    int rc = 0;

    if (!p)
        return kl_errf(err, -ENOMEM, "out of memory");
    p->cc = cc;
    pthread_mutex_init(&p->lock, NULL);
    nth = cc->jobs < 1 ? 1 : cc->jobs > cc->parts ? cc->parts : cc->jobs;
    for (; started < nth; started++)
        if (pthread_create(&th[started], NULL, worker, p) != 0)
            break;
    if (started == 0)
        worker(p);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (unsigned k = 0; k < cc->parts && rc == 0; k++)
        if (p->rc[k] < 0) {
            rc = p->rc[k];
            *err = p->err[k];
        }
    pthread_mutex_destroy(&p->lock);
    free(p);
    return rc;
}
