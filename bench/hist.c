/* stockd-bench's latency histogram (see hist.h). */
#include "hist.h"

static int bucket_of(uint64_t v)
{
    if (v < HIST_SUB)
        return (int)v;
    int k = 63 - __builtin_clzll(v); /* v in [2^k, 2^(k+1)) */
    int i = HIST_SUB + (k - HIST_SUB_BITS) * HIST_SUB + (int)((v >> (k - HIST_SUB_BITS)) - HIST_SUB);
    return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* The largest value a bucket holds: percentiles never flatter. */
static uint64_t bucket_top(int i)
{
    if (i < HIST_SUB)
        return (uint64_t)i;
    int k = (i - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
    uint64_t m = (uint64_t)((i - HIST_SUB) % HIST_SUB + HIST_SUB);
    return ((m + 1) << (k - HIST_SUB_BITS)) - 1;
}

void hist_add(struct histogram *h, uint64_t v)
{
    h->counts[bucket_of(v)]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

uint64_t hist_pct(const struct histogram *h, double p)
{
    uint64_t want = (uint64_t)(p * (double)h->total + 0.999999), seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want && seen > 0) {
            uint64_t top = bucket_top(i);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}
