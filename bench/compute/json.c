/* json.c - compute benchmark: build a JSON document, then serialise, parse and re-serialise it many times. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Numbers are kept as a decimal mantissa and a count of fraction digits, so the round trip is
 * exact and no time goes into the C library's float formatting (which differs per libc). */
enum type { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

struct val {
    enum type t;
    int64_t num;
    int frac;                 /* digits after the decimal point */
    char *s;                  /* J_STR: UTF-8 bytes; J_OBJ: unused */
    size_t len, n, cap;       /* string length; item count and capacity */
    struct val **items;       /* J_ARR items; J_OBJ values */
    char **keys;              /* J_OBJ keys, NUL-terminated */
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "json: out of memory\n");
        exit(1);
    }
    return p;
}

static struct val *new_val(enum type t)
{
    struct val *v = xmalloc(sizeof(*v));
    memset(v, 0, sizeof(*v));
    v->t = t;
    return v;
}

static void push(struct val *c, char *key, struct val *item)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->items = realloc(c->items, c->cap * sizeof(*c->items));
        if (c->t == J_OBJ)
            c->keys = realloc(c->keys, c->cap * sizeof(*c->keys));
        if (!c->items || (c->t == J_OBJ && !c->keys))
            exit(1);
    }
    if (c->t == J_OBJ)
        c->keys[c->n] = key;
    c->items[c->n++] = item;
}

static void free_val(struct val *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free_val(v->items[i]);
        if (v->t == J_OBJ)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    free(v);
}

/* ---- output buffer ---- */
struct buf { char *p; size_t len, cap; };

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap)
            b->cap = b->cap ? b->cap * 2 : 4096;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            exit(1);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void putc_(struct buf *b, char c) { put(b, &c, 1); }

static void put_num(struct buf *b, int64_t m, int frac)
{
    char tmp[32];
    int i = sizeof(tmp);
    uint64_t u = m < 0 ? -(uint64_t)m : (uint64_t)m;

    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
        if (--frac == 0)
            tmp[--i] = '.';
    } while (u || frac >= 0);
    if (m < 0)
        tmp[--i] = '-';
    put(b, tmp + i, sizeof(tmp) - i);
}

static void put_str(struct buf *b, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";

    putc_(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            putc_(b, '\\');
            putc_(b, (char)c);
        } else if (c == '\n') {
            put(b, "\\n", 2);
        } else if (c == '\t') {
            put(b, "\\t", 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
            put(b, e, 6);
        } else {
            putc_(b, (char)c);
        }
    }
    putc_(b, '"');
}

static void serialise(struct buf *b, const struct val *v)
{
    switch (v->t) {
    case J_NULL: put(b, "null", 4); break;
    case J_FALSE: put(b, "false", 5); break;
    case J_TRUE: put(b, "true", 4); break;
    case J_NUM: put_num(b, v->num, v->frac); break;
    case J_STR: put_str(b, v->s, v->len); break;
    case J_ARR:
        putc_(b, '[');
        for (size_t i = 0; i < v->n; i++) {
            if (i)
                putc_(b, ',');
            serialise(b, v->items[i]);
        }
        putc_(b, ']');
        break;
    case J_OBJ:
        putc_(b, '{');
        for (size_t i = 0; i < v->n; i++) {
            if (i)
                putc_(b, ',');
            put_str(b, v->keys[i], strlen(v->keys[i]));
            putc_(b, ':');
            serialise(b, v->items[i]);
        }
        putc_(b, '}');
        break;
    }
}

/* ---- parser: recursive descent over a NUL-terminated text ---- */
struct parser { const char *p; };

static void fail(const char *why)
{
    fprintf(stderr, "json: parse error: %s\n", why);
    exit(1);
}

static void ws(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r')
        ps->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    fail("bad \\u escape");
    return 0;
}

/* Parse a string literal into a fresh NUL-terminated buffer; *lenp gets its byte length. */
static char *parse_str(struct parser *ps, size_t *lenp)
{
    const char *start = ++ps->p;
    size_t n = 0;

    while (*ps->p != '"') {   /* first pass: the decoded length is at most the raw length */
        if (!*ps->p) fail("unterminated string");
        ps->p += *ps->p == '\\' ? 2 : 1;
    }
    char *out = xmalloc((size_t)(ps->p - start) + 1);
    for (const char *q = start; q < ps->p;) {
        if (*q != '\\') {
            out[n++] = *q++;
            continue;
        }
        q++;
        switch (*q++) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case '/': out[n++] = '/'; break;
        case '\\': out[n++] = '\\'; break;
        case '"': out[n++] = '"'; break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++)
                cp = cp << 4 | (unsigned)hexval(*q++);
            if (cp < 0x80) {
                out[n++] = (char)cp;
            } else if (cp < 0x800) {   /* never longer than the 6-byte escape it replaces */
                out[n++] = (char)(0xC0 | cp >> 6);
                out[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[n++] = (char)(0xE0 | cp >> 12);
                out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: fail("bad escape");
        }
    }
    out[n] = 0;
    ps->p++;
    *lenp = n;
    return out;
}

static struct val *parse_val(struct parser *ps)
{
    struct val *v;

    ws(ps);
    switch (*ps->p) {
    case '{':
        v = new_val(J_OBJ);
        ps->p++;
        ws(ps);
        if (*ps->p == '}') {
            ps->p++;
            return v;
        }
        for (;;) {
            size_t klen;
            ws(ps);
            if (*ps->p != '"') fail("expected a key");
            char *k = parse_str(ps, &klen);
            ws(ps);
            if (*ps->p++ != ':') fail("expected ':'");
            push(v, k, parse_val(ps));
            ws(ps);
            if (*ps->p == ',') { ps->p++; continue; }
            if (*ps->p++ != '}') fail("expected '}'");
            return v;
        }
    case '[':
        v = new_val(J_ARR);
        ps->p++;
        ws(ps);
        if (*ps->p == ']') {
            ps->p++;
            return v;
        }
        for (;;) {
            push(v, NULL, parse_val(ps));
            ws(ps);
            if (*ps->p == ',') { ps->p++; continue; }
            if (*ps->p++ != ']') fail("expected ']'");
            return v;
        }
    case '"':
        v = new_val(J_STR);
        v->s = parse_str(ps, &v->len);
        return v;
    case 't':
        if (strncmp(ps->p, "true", 4)) fail("bad literal");
        ps->p += 4;
        return new_val(J_TRUE);
    case 'f':
        if (strncmp(ps->p, "false", 5)) fail("bad literal");
        ps->p += 5;
        return new_val(J_FALSE);
    case 'n':
        if (strncmp(ps->p, "null", 4)) fail("bad literal");
        ps->p += 4;
        return new_val(J_NULL);
    default: {
        int neg = *ps->p == '-';
        int64_t m = 0;
        v = new_val(J_NUM);
        ps->p += neg;
        if (*ps->p < '0' || *ps->p > '9') fail("unexpected character");
        while (*ps->p >= '0' && *ps->p <= '9')
            m = m * 10 + (*ps->p++ - '0');
        if (*ps->p == '.') {
            ps->p++;
            while (*ps->p >= '0' && *ps->p <= '9') {
                m = m * 10 + (*ps->p++ - '0');
                v->frac++;
            }
        }
        v->num = neg ? -m : m;
        return v;
    }
    }
}

/* ---- a deterministic document ---- */
static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static struct val *str_val(const char *s)
{
    struct val *v = new_val(J_STR);
    v->len = strlen(s);
    v->s = xmalloc(v->len + 1);
    memcpy(v->s, s, v->len + 1);
    return v;
}

static struct val *num_val(int64_t m, int frac)
{
    struct val *v = new_val(J_NUM);
    v->num = m;
    v->frac = frac;
    return v;
}

static char *key(const char *k)
{
    size_t n = strlen(k) + 1;
    char *c = xmalloc(n);
    memcpy(c, k, n);
    return c;
}

static struct val *make_doc(int records)
{
    static const char *words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta",
                                  "eta", "theta", "iota", "kappa", "lambda", "mu"};
    struct val *root = new_val(J_OBJ), *arr = new_val(J_ARR);
    char tmp[128];

    push(root, key("version"), num_val(3, 0));
    push(root, key("generator"), str_val("kernless bench \"json\"\n\tv1 \xc3\xa9\xe2\x82\xac"));
    for (int i = 0; i < records; i++) {
        struct val *r = new_val(J_OBJ), *tags = new_val(J_ARR), *geo = new_val(J_OBJ);
        snprintf(tmp, sizeof(tmp), "user_%d", i);
        push(r, key("id"), num_val(i, 0));
        push(r, key("name"), str_val(tmp));
        /* Draw in separate statements: argument evaluation order is unspecified in C. */
        const char *first = words[rnd() % 12], *last = words[rnd() % 12];
        snprintf(tmp, sizeof(tmp), "%s.%s@example.org", first, last);
        push(r, key("email"), str_val(tmp));
        push(r, key("active"), new_val(rnd() & 1 ? J_TRUE : J_FALSE));
        push(r, key("score"), num_val((int64_t)(rnd() % 2000000) - 1000000, 3));
        for (int t = (int)(rnd() % 6); t > 0; t--)
            push(tags, NULL, str_val(words[rnd() % 12]));
        push(r, key("tags"), tags);
        push(geo, key("lat"), num_val((int64_t)(rnd() % 180000000) - 90000000, 6));
        push(geo, key("lon"), num_val((int64_t)(rnd() % 360000000) - 180000000, 6));
        push(geo, key("note"), rnd() % 4 ? new_val(J_NULL) : str_val("line1\nline2 \"quoted\" \\ back\x01"));
        push(r, key("geo"), geo);
        push(arr, NULL, r);
    }
    push(root, key("records"), arr);
    return root;
}

static const struct val *get(const struct val *o, const char *k)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], k))
            return o->items[i];
    return NULL;
}

int main(int argc, char **argv)
{
    int records = argc > 1 ? atoi(argv[1]) : 20000, rounds = argc > 2 ? atoi(argv[2]) : 20;
    struct val *doc = make_doc(records);
    struct buf a = {0}, b = {0};
    uint64_t h = 1469598103934665603ull;
    int64_t score = 0;
    long active = 0;

    serialise(&a, doc);
    putc_(&a, 0);
    for (int r = 0; r < rounds; r++) {
        struct parser ps = {a.p};
        struct val *d = parse_val(&ps);
        const struct val *recs = get(d, "records");
        /* Read fields back by key, as a request handler would. */
        for (size_t i = 0; recs && i < recs->n; i++) {
            score += get(recs->items[i], "score")->num;
            active += get(recs->items[i], "active")->t == J_TRUE;
        }
        b.len = 0;
        serialise(&b, d);
        putc_(&b, 0);
        if (b.len != a.len || memcmp(a.p, b.p, a.len)) {
            fprintf(stderr, "json: round trip changed the document\n");
            return 1;
        }
        free_val(d);
    }
    for (size_t i = 0; i < a.len; i++)
        h = (h ^ (unsigned char)a.p[i]) * 1099511628211ull;
    printf("%zu bytes, %ld active, score %lld, hash %016llx\n", a.len - 1, active,
           (long long)score, (unsigned long long)h);
    free_val(doc);
    free(a.p);
    free(b.p);
    return 0;
}
