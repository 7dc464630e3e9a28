/* Process metrics, kept as plain counters by the modules that see the
 * events, and written in the Prometheus text format for GET /metrics. Pure:
 * no I/O; the HTTP side only asks for the text. One instance per process,
 * created by main and handed to each module. */
#ifndef STOCKD_METRICS_H
#define STOCKD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "rpc.h"
#include "validate.h"

/* Upper bounds of the latency histogram buckets, in seconds. */
#define METRICS_BUCKETS 15

/* Methods, plus one slot for requests whose method is unknown or unread. */
#define METRICS_METHODS (METHOD_COUNT + 1)

enum release_from { RELEASED_FROM_HELD, RELEASED_FROM_COMMITTED, RELEASE_FROMS };

struct metrics {
    uint64_t requests[METRICS_METHODS][E_COUNT]; /* by method and error (E_NONE: ok) */
    uint64_t latency_buckets[METRICS_METHODS][METRICS_BUCKETS];
    uint64_t latency_count[METRICS_METHODS];
    double latency_sum[METRICS_METHODS]; /* seconds */
    int64_t inflight;
    int64_t connections;
    uint64_t connections_refused;
    uint64_t redis_connects, redis_disconnects;
    bool redis_up;
    uint64_t sweeper_expired;
    uint64_t out_of_stock;
    uint64_t compensations[RELEASE_FROMS];
    uint64_t auth_failures;
    double start_time; /* Unix seconds */
};

void metrics_init(struct metrics *m);
/* A monotonic clock for latencies, in nanoseconds. */
uint64_t metrics_now_ns(void);
/* One finished request: its method (METHOD_COUNT when unknown), its error
 * (E_NONE for a result) and when it started (metrics_now_ns). */
void metrics_request(struct metrics *m, int method, enum error_id e, uint64_t started_ns);
/* Appends the whole exposition (text format 0.0.4); rss_bytes < 0: unknown. */
void metrics_render(const struct metrics *m, struct buf *out, const char *version,
                    long long rss_bytes);

#endif
