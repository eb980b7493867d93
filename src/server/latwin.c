/* latwin.c - recent request latencies: a ring of per-second log-scale histograms, for live p50/p99. */
#include "server/latwin.h"

#include <math.h>
#include <string.h>

/* Bucket i holds [2^(i/4), 2^((i+1)/4)) microseconds; below 1 us is bucket 0. */
static unsigned bucket(double seconds)
{
    double us = seconds * 1e6, i;

    if (!(us > 1.0))   /* also NaN */
        return 0;
    i = floor(log2(us) * 4.0);
    return i >= KL_LATWIN_BUCKETS - 1 ? KL_LATWIN_BUCKETS - 1 : (unsigned)i;
}

void kl_latwin_add(struct kl_latwin *w, uint64_t now_s, double seconds)
{
    unsigned slot = (unsigned)(now_s % KL_LATWIN_SLOTS);

    /* A slot last written KL_LATWIN_SLOTS or more seconds ago is stale. */
    if (w->sec[slot] != now_s) {
        memset(w->n[slot], 0, sizeof(w->n[slot]));
        w->sec[slot] = now_s;
    }
    w->n[slot][bucket(seconds)]++;
}

uint64_t kl_latwin_collect(const struct kl_latwin *w, uint64_t now_s, unsigned window,
                           uint64_t hist[KL_LATWIN_BUCKETS])
{
    uint64_t total = 0, s;
    unsigned k, slot, i;

    if (window < 1)
        window = 1;
    if (window > KL_LATWIN_WINDOW_MAX)
        window = KL_LATWIN_WINDOW_MAX;
    for (k = 0; k < window && k <= now_s; k++) {
        s = now_s - k;
        slot = (unsigned)(s % KL_LATWIN_SLOTS);
        if (w->sec[slot] != s)
            continue;
        for (i = 0; i < KL_LATWIN_BUCKETS; i++) {
            hist[i] += w->n[slot][i];
            total += w->n[slot][i];
        }
    }
    return total;
}

double kl_latwin_quantile(const uint64_t hist[KL_LATWIN_BUCKETS], uint64_t total, double q)
{
    uint64_t want, seen = 0;
    unsigned i;

    if (total == 0)
        return -1;
    /* The smallest bucket holding the ceil(q * total)-th fastest request. */
    want = (uint64_t)ceil(q * (double)total);
    if (want < 1)
        want = 1;
    for (i = 0; i < KL_LATWIN_BUCKETS - 1; i++) {
        seen += hist[i];
        if (seen >= want)
            break;
    }
    return exp2(((double)i + 0.5) / 4.0) / 1e6;
}
