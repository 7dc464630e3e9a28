/* stockd-bench's latency histogram: 64 linear steps per power of two
 * (about 1.6 % wide), so percentiles cost a fixed table and never flatter
 * (a value reads as the top of its bucket). Pure. */
#ifndef STOCKD_BENCH_HIST_H
#define STOCKD_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_BUCKETS (HIST_SUB + (48 - HIST_SUB_BITS) * HIST_SUB)

struct histogram {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total, max;
};

/* Counts one value. */
void hist_add(struct histogram *h, uint64_t v);
/* The p-th percentile (0 < p <= 1) of the values counted. */
uint64_t hist_pct(const struct histogram *h, double p);

#endif
