/* The status page's numbers: a sample of the process metrics every second,
 * a minute of them kept, and the overview the page, stockctl top and
 * anyone else read from GET /ui/api/overview: rates over the last 10 s,
 * latency percentiles over the last 60 s (interpolated in the histogram's
 * buckets, as Prometheus's histogram_quantile does), and the state of Redis,
 * the sweeper and webhooks. Pure: the caller gives the clocks. */
#ifndef STOCKD_UI_STATS_H
#define STOCKD_UI_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "metrics.h"

/* A minute of history and the present. */
#define UI_STATS_SAMPLES 61
/* The spans rates and percentiles cover, in seconds. */
#define UI_STATS_RATE_S 10
#define UI_STATS_LATENCY_S 60

/* The counters the overview takes differences of, at one moment. */
struct ui_sample {
    uint64_t at_ns; /* metrics_now_ns() */
    uint64_t by_method[METRICS_METHODS];
    uint64_t by_error[E_COUNT]; /* every method's; [E_NONE]: results */
    uint64_t reserves, reserves_held;
    /* Latency bucket counts (not cumulative), [METRICS_BUCKETS]: above
     * the last bound. */
    uint64_t all[METRICS_BUCKETS + 1], reserve[METRICS_BUCKETS + 1];
    uint64_t expired;
};

struct ui_stats {
    struct ui_sample ring[UI_STATS_SAMPLES];
    int n;    /* samples kept */
    int head; /* the latest one's index */
};

/* What the overview says that the metrics do not hold. */
struct ui_overview_env {
    const char *version;
    double now_s;           /* Unix time */
    bool ready;             /* what /readyz answers: 200 or not */
    const char *ready_text; /* its first line: "ready", "redis down", ... */
    const char *auth;       /* "token", "tenants" or "none" */
    long long rss_bytes;    /* -1: unknown */
};

void ui_stats_init(struct ui_stats *s);
/* Takes the metrics' counters as of now_ns (one call a second). */
void ui_stats_sample(struct ui_stats *s, const struct metrics *m, uint64_t now_ns);
/* Appends the overview's JSON object (the /ui/api/overview "result"),
 * with the latest sample's rates and the metrics' present state. */
void ui_stats_overview(const struct ui_stats *s, const struct metrics *m,
                       const struct ui_overview_env *env, struct buf *out);

/* The q-quantile (0 < q < 1), in seconds, of latencies counted in buckets
 * (METRICS_BUCKETS + 1 counts, not cumulative); -1 when none. */
double ui_stats_quantile(const uint64_t counts[METRICS_BUCKETS + 1], double q);

#endif
