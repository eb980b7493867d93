/*
 * load.c - the soak's load generator (bench/soak.sh): a weighted random mix of
 * request kinds over CONNS keep-alive connections (libcurl, one thread per
 * connection) for SECONDS, plus one "cold" request every COLD_EVERY seconds.
 *
 * Every answer is counted by (kind, status, cause) and checked against what
 * its kind expects: the status, the cause named by X-Kernless-Error (or no
 * such header), and the body. Anything else is "unexpected", including
 * connection errors and client timeouts (status 0, cause curl_<code>).
 *
 * First every connection sends one request of each kind (cold excepted) at the
 * same moment, kind after kind, twice: a pool creates a VM per concurrent
 * request, so this brings every pool to the size the load can ever need (one
 * VM per connection) during the warm-up, instead of a rare burst adding a VM,
 * and its memory, late in the run. These requests are counted like the others.
 *
 * Usage: load URL CONNS SECONDS OUTDIR [COLD_EVERY]
 * Weights can be changed with SOAK_MIX="hello=600,trap=100,...".
 * Writes to OUTDIR:
 *   answers.tsv    kind status cause count expected(yes/no)
 *   kinds.tsv      kind requests unexpected p50_ms p99_ms max_ms
 *   timeline.csv   second, then requests and unexpected answers in that second
 *   unexpected.log the first 200 unexpected answers, with their header and body
 *   summary.txt    key value lines: totals, elapsed, connections opened
 * Exits 0 when nothing was unexpected, 1 otherwise, 2 on a usage error.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HELLO_BODY "Hello from Kernless!\n"
#define BIG_MAX (1000u << 10)        /* largest large-body POST: under the 1024 KiB limit */
#define BIG_MIN (512u << 10)
#define RESP_CAP (4u << 20)          /* keep at most this much of a response body */
#define MAX_SECONDS 86400
#define MAX_CONNS 256

struct req;
typedef int (*check_fn)(const struct req *q);

struct kind {
    const char *name, *path;
    int post;                        /* a large random body, echoed back */
    int status;                      /* the expected status */
    const char *cause;               /* the expected cause, NULL: no X-Kernless-Error */
    check_fn check;                  /* body check for an expected status, or NULL */
    unsigned weight;                 /* share of the mix; "cold" is sent by time instead */
};

struct req {                         /* one request and its answer, per thread */
    const uint8_t *sent;
    size_t sent_len;
    char *body;
    size_t body_len, body_cap;
    int truncated;
    char err_hdr[256];
};

static int check_hello(const struct req *q)
{
    return q->body_len == strlen(HELLO_BODY) && memcmp(q->body, HELLO_BODY, q->body_len) == 0;
}

static int has_prefix(const struct req *q, const char *p)
{
    size_t n = strlen(p);
    return q->body_len >= n && memcmp(q->body, p, n) == 0;
}

static int has_suffix(const struct req *q, const char *s)
{
    size_t n = strlen(s);
    return q->body_len >= n && memcmp(q->body + q->body_len - n, s, n) == 0;
}

static int check_grow(const struct req *q)
{
    return has_prefix(q, "grew ") && has_suffix(q, ", all zero\n");
}

static int check_growmax(const struct req *q)
{
    return has_prefix(q, "memory.grow refused");
}

static int check_echo(const struct req *q)
{
    return !q->truncated && q->body_len == q->sent_len &&
           memcmp(q->body, q->sent, q->sent_len) == 0;
}

/* The routes bench/soak.sh deploys; keep both in step. */
static struct kind kinds[] = {
    {"hello", "/hello", 0, 200, NULL, check_hello, 600},
    {"trap", "/trap", 0, 500, "trap", NULL, 100},
    {"timeout", "/timeout", 0, 504, "timeout", NULL, 5},
    {"grow", "/grow", 0, 200, NULL, check_grow, 20},
    {"growmax", "/growmax", 0, 507, NULL, check_growmax, 40},
    {"bigbody", "/bigbody", 1, 200, NULL, check_echo, 40},
    {"outlimit", "/outlimit", 0, 502, "output_limit", NULL, 60},
    {"cold", "/cold", 0, 200, NULL, check_hello, 0},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
#define COLD (NKINDS - 1)

/* ---- counting ---------------------------------------------------------- */
struct answer {
    unsigned kind;
    int status;
    char cause[48];
    int expected;
    unsigned long long n;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct answer answers[256];
static unsigned nanswers;
static unsigned long long unexpected_total, requests_total, connects_total;
static unsigned long long kind_req[NKINDS], kind_unexp[NKINDS];
static uint32_t *lat[NKINDS];                /* microseconds */
static size_t nlat[NKINDS], caplat[NKINDS];
static unsigned long long (*per_sec)[2];     /* [second][requests, unexpected] */
static unsigned seconds;
static double t_start;
static FILE *unexp_log;
static unsigned unexp_logged;
static volatile int stop;
static pthread_barrier_t prime_barrier;
#define PRIME_ROUNDS 2

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* X-Kernless-Error carries "<what>: <details>"; the cause is what the server
 * reports in its metrics (src/server/wagi.c, http.c). */
static void classify(const char *h, char *cause, size_t n)
{
    static const struct { const char *prefix, *cause; } map[] = {
        {"trap:", "trap"}, {"timeout:", "timeout"}, {"output limit", "output_limit"},
        {"guest error", "guest_error"}, {"exit status", "exit"}, {"bad response", "bad_response"},
        {"cannot run", "cannot_run"}, {"image unavailable", "unavailable"},
    };
    size_t i, k;

    if (!*h) {
        snprintf(cause, n, "-");
        return;
    }
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strncmp(h, map[i].prefix, strlen(map[i].prefix)) == 0) {
            snprintf(cause, n, "%s", map[i].cause);
            return;
        }
    /* Unknown: its first words, made safe for a table cell. */
    snprintf(cause, n, "other: %.30s", h);
    for (k = 0; cause[k]; k++)
        if (cause[k] == '\t' || cause[k] == '|' || cause[k] < ' ')
            cause[k] = ' ';
}

static void record(unsigned kind, int status, const char *cause, int expected,
                   double t0, double t1, const struct req *q, const char *curl_err)
{
    unsigned i, sec = (unsigned)(t1 - t_start);
    uint32_t us = (uint32_t)((t1 - t0) * 1e6);

    pthread_mutex_lock(&lock);
    for (i = 0; i < nanswers; i++)
        if (answers[i].kind == kind && answers[i].status == status &&
            strcmp(answers[i].cause, cause) == 0)
            break;
    if (i == nanswers && nanswers < sizeof(answers) / sizeof(answers[0])) {
        answers[i].kind = kind;
        answers[i].status = status;
        snprintf(answers[i].cause, sizeof(answers[i].cause), "%s", cause);
        answers[i].expected = expected;
        nanswers++;
    }
    if (i < nanswers)
        answers[i].n++;
    requests_total++;
    kind_req[kind]++;
    if (nlat[kind] == caplat[kind]) {
        size_t c = caplat[kind] ? caplat[kind] * 2 : 4096;
        uint32_t *v = realloc(lat[kind], c * sizeof(*v));
        if (v) {
            lat[kind] = v;
            caplat[kind] = c;
        }
    }
    if (nlat[kind] < caplat[kind])
        lat[kind][nlat[kind]++] = us;
    if (sec >= seconds)
        sec = seconds - 1;
    per_sec[sec][0]++;
    if (!expected) {
        unexpected_total++;
        kind_unexp[kind]++;
        per_sec[sec][1]++;
        if (unexp_log && unexp_logged < 200) {
            unexp_logged++;
            fprintf(unexp_log, "t=%.3fs kind=%s status=%d cause=%s latency=%.1fms "
                    "X-Kernless-Error=\"%s\" curl=\"%s\" body(%zu bytes, sent %zu)=\"",
                    t1 - t_start, kinds[kind].name, status, cause, (t1 - t0) * 1e3,
                    q->err_hdr, curl_err ? curl_err : "", q->body_len, q->sent_len);
            for (size_t k = 0; k < q->body_len && k < 200; k++) {
                unsigned char ch = (unsigned char)q->body[k];
                fputc(ch >= ' ' && ch < 127 ? ch : '.', unexp_log);
            }
            fputs("\"\n", unexp_log);
            fflush(unexp_log);
        }
    }
    pthread_mutex_unlock(&lock);
}

/* ---- one connection ------------------------------------------------------ */
static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
    struct req *q = arg;
    size_t n = sz * nm;

    if (q->body_len + n > RESP_CAP) {
        q->truncated = 1;
        return n;
    }
    if (q->body_len + n > q->body_cap) {
        size_t c = q->body_cap ? q->body_cap : 4096;
        while (c < q->body_len + n)
            c *= 2;
        char *b = realloc(q->body, c);
        if (!b) {
            q->truncated = 1;
            return n;
        }
        q->body = b;
        q->body_cap = c;
    }
    memcpy(q->body + q->body_len, p, n);
    q->body_len += n;
    return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
    struct req *q = arg;
    size_t n = sz * nm, k = strlen("X-Kernless-Error:");

    if (n > k && strncasecmp(p, "X-Kernless-Error:", k) == 0) {
        size_t a = k, b = n;
        while (a < b && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (b > a && (p[b - 1] == '\r' || p[b - 1] == '\n' || p[b - 1] == ' '))
            b--;
        snprintf(q->err_hdr, sizeof(q->err_hdr), "%.*s", (int)(b - a), p + a);
    }
    return n;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

struct worker {
    pthread_t t;
    unsigned id;
    const char *base;
    double end, cold_every;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (w->id + 1);
    unsigned total_w = 0, k;
    uint8_t *big = malloc(BIG_MAX);
    struct req q = {0};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
    char url[512], cause[64], cerr[CURL_ERROR_SIZE];
    double next_cold = t_start + w->cold_every;
    CURL *c = curl_easy_init();

    hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
    if (!big || !c || !hdrs) {
        fprintf(stderr, "load: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < BIG_MAX; i += 8) {
        uint64_t v = rng_next(&rng);
        memcpy(big + i, &v, 8);
    }
    for (k = 0; k < NKINDS; k++)
        total_w += kinds[k].weight;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &q);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &q);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L);
    for (unsigned prime = 0; !stop; prime++) {
        double t0, t1;
        long status = 0, nconn = 0;
        unsigned r;
        CURLcode rc;
        int ok;

        if (prime < PRIME_ROUNDS * COLD) {   /* all connections at once, one kind at a time */
            k = prime % COLD;
            pthread_barrier_wait(&prime_barrier);
            t0 = now_s();
        } else if ((t0 = now_s()) >= w->end) {
            break;
        } else if (w->cold_every > 0 && t0 >= next_cold) {
            k = COLD;
            next_cold += w->cold_every;
        } else {
            r = (unsigned)(rng_next(&rng) % total_w);
            for (k = 0; k < NKINDS - 1 && r >= kinds[k].weight; k++)
                r -= kinds[k].weight;
        }
        snprintf(url, sizeof(url), "%s%s", w->base, kinds[k].path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        q.body_len = 0;
        q.truncated = 0;
        q.err_hdr[0] = 0;
        q.sent = NULL;
        q.sent_len = 0;
        cerr[0] = 0;
        if (kinds[k].post) {
            /* A different size and first bytes each time: no two bodies alike. */
            q.sent_len = BIG_MIN + (size_t)(rng_next(&rng) % (BIG_MAX - BIG_MIN + 1));
            uint64_t tag = rng_next(&rng);
            memcpy(big, &tag, sizeof(tag));
            q.sent = big;
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)big);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q.sent_len);
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        } else {
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        }
        rc = curl_easy_perform(c);
        t1 = now_s();
        if (rc != CURLE_OK) {
            snprintf(cause, sizeof(cause), "curl_%d", (int)rc);
            record(k, 0, cause, 0, t0, t1, &q, cerr[0] ? cerr : curl_easy_strerror(rc));
            continue;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn);
        if (nconn > 0)
            __atomic_add_fetch(&connects_total, (unsigned long long)nconn, __ATOMIC_RELAXED);
        classify(q.err_hdr, cause, sizeof(cause));
        ok = status == kinds[k].status &&
             strcmp(cause, kinds[k].cause ? kinds[k].cause : "-") == 0;
        if (ok && kinds[k].check && !kinds[k].check(&q)) {
            snprintf(cause, sizeof(cause), "bad_body");
            ok = 0;
        }
        record(k, (int)status, cause, ok, t0, t1, &q, NULL);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(q.body);
    free(big);
    return NULL;
}

/* ---- report ---------------------------------------------------------------- */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(unsigned k, double p)
{
    size_t r;

    if (nlat[k] == 0)
        return 0;
    r = (size_t)(p / 100 * (double)nlat[k] + 0.999999);
    if (r < 1)
        r = 1;
    if (r > nlat[k])
        r = nlat[k];
    return lat[k][r - 1] / 1e3;
}

static FILE *out_file(const char *dir, const char *name)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "w"))) {
        perror(path);
        exit(2);
    }
    return f;
}

/* SOAK_MIX="hello=600,trap=100": change weights of the named kinds. */
static int parse_mix(const char *s)
{
    char buf[512], *tok, *save = NULL;

    snprintf(buf, sizeof(buf), "%s", s);
    for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char *eq = strchr(tok, '=');
        unsigned k;
        if (!eq)
            return -1;
        *eq = 0;
        for (k = 0; k < COLD; k++)
            if (strcmp(kinds[k].name, tok) == 0)
                break;
        if (k == COLD)
            return -1;
        kinds[k].weight = (unsigned)strtoul(eq + 1, NULL, 10);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct worker w[MAX_CONNS];
    unsigned conns, k, i, last_print = 0;
    double cold_every = argc > 5 ? atof(argv[5]) : 0, elapsed;
    const char *dir, *mix = getenv("SOAK_MIX");
    FILE *f;

    if (argc < 5 || (conns = (unsigned)atoi(argv[2])) < 1 || conns > MAX_CONNS ||
        (seconds = (unsigned)atoi(argv[3])) < 1 || seconds > MAX_SECONDS) {
        fprintf(stderr, "usage: load URL CONNS(1-%d) SECONDS OUTDIR [COLD_EVERY]\n", MAX_CONNS);
        return 2;
    }
    if (mix && parse_mix(mix) < 0) {
        fprintf(stderr, "load: bad SOAK_MIX \"%s\" (kind=weight,...)\n", mix);
        return 2;
    }
    dir = argv[4];
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 2;
    per_sec = calloc(seconds + 1, sizeof(*per_sec));
    if (!per_sec)
        return 2;
    unexp_log = out_file(dir, "unexpected.log");
    pthread_barrier_init(&prime_barrier, NULL, conns);
    t_start = now_s();
    for (i = 0; i < conns; i++) {
        w[i] = (struct worker){.id = i, .base = argv[1], .end = t_start + seconds,
                               .cold_every = i == 0 ? cold_every : 0};
        if (pthread_create(&w[i].t, NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "load: cannot start thread %u\n", i);
            return 2;
        }
    }
    /* One progress line a minute, so a long run shows it is alive. */
    while (now_s() < t_start + seconds) {
        usleep(200000);
        unsigned el = (unsigned)(now_s() - t_start);
        if (el / 60 != last_print / 60) {
            pthread_mutex_lock(&lock);
            fprintf(stderr, "[load] %u s: %llu requests, %llu unexpected\n", el,
                    requests_total, unexpected_total);
            pthread_mutex_unlock(&lock);
        }
        last_print = el;
    }
    for (i = 0; i < conns; i++)
        pthread_join(w[i].t, NULL);
    elapsed = now_s() - t_start;
    stop = 1;

    f = out_file(dir, "answers.tsv");
    for (k = 0; k < NKINDS; k++)
        for (i = 0; i < nanswers; i++)
            if (answers[i].kind == k)
                fprintf(f, "%s\t%d\t%s\t%llu\t%s\n", kinds[k].name, answers[i].status,
                        answers[i].cause, answers[i].n, answers[i].expected ? "yes" : "no");
    fclose(f);
    f = out_file(dir, "kinds.tsv");
    for (k = 0; k < NKINDS; k++) {
        qsort(lat[k], nlat[k], sizeof(uint32_t), cmp_u32);
        fprintf(f, "%s\t%llu\t%llu\t%.2f\t%.2f\t%.2f\t%d\t%s\t%s\n", kinds[k].name,
                kind_req[k], kind_unexp[k], pct_ms(k, 50), pct_ms(k, 99), pct_ms(k, 100),
                kinds[k].status, kinds[k].cause ? kinds[k].cause : "-", kinds[k].path);
    }
    fclose(f);
    f = out_file(dir, "timeline.csv");
    fprintf(f, "second,requests,unexpected\n");
    for (i = 0; i < seconds; i++)
        fprintf(f, "%u,%llu,%llu\n", i, per_sec[i][0], per_sec[i][1]);
    fclose(f);
    f = out_file(dir, "summary.txt");
    fprintf(f, "requests %llu\nunexpected %llu\nelapsed %.3f\nconnections %u\n"
            "connects %llu\ncold_every %g\n", requests_total, unexpected_total, elapsed,
            conns, connects_total, cold_every);
    for (k = 0; k < NKINDS; k++)
        fprintf(f, "weight_%s %u\n", kinds[k].name, kinds[k].weight);
    fclose(f);
    fclose(unexp_log);
    curl_global_cleanup();
    return unexpected_total ? 1 : 0;
}
