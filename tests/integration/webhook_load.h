/* What the load tests of test_webhook.c measure with: the latency of
 * sequential reserves, a burst of events appended at once and the check
 * that each arrived once, and one throughput run (stockd-bench beside a
 * burst, with the CPU stockd and Redis used). Their figures are printed,
 * not asserted: they depend on the machine. */
#ifndef STOCKD_TEST_WEBHOOK_LOAD_H
#define STOCKD_TEST_WEBHOOK_LOAD_H

#include "webhook_receiver.h"

/* qsort's order of long longs. */
int cmp_ll(const void *x, const void *y);
/* n sequential reserves of one unit of sku P at L on fd (order ids
 * "<tag>-<k>"); their latencies' p50 and p99 in us. */
void reserve_latency(int fd, int n, const char *tag, long long *p50, long long *p99);
/* XADDs n events in one pipeline: low_stock of skus T0..T999 at L, none
 * with a prev (none waits for another), the k-th with reservation "r-<k>". */
void append_burst(int n);
/* Fails unless the receiver got every event of append_burst once (other
 * events, such as those of the bench's own stock.set, may come too). */
void expect_burst_once(struct receiver *rc, int n);
/* One stockd (rate: its --webhook-max-rate, NULL for the default; queue
 * 5000, 64 in flight) and a receiver answering 200 at once: stockd-bench
 * alone for bench_s, then n events appended at once and delivered while
 * the bench runs again. Fails unless every event arrives once, and, with
 * rate "0", unless no POST waited for a token; prints the rest. */
void throughput_run(const char *rate, int n, double bench_s);

#endif
