/* Process metrics: the one place where stockd counts anything. The modules
 * that see an event bump its counter here (none keeps a copy of its own);
 * GET /metrics writes them in the Prometheus text format, and admission and
 * readiness read them. Pure: no I/O. One instance per process, created by
 * main and handed to each module. */
#ifndef STOCKD_METRICS_H
#define STOCKD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "methods.h"

/* Upper bounds of the latency histogram buckets, in seconds. */
#define METRICS_BUCKETS 15

/* Methods, plus one slot for requests whose method is unknown or unread. */
#define METRICS_METHODS (METHOD_COUNT + 1)

enum release_from { RELEASED_FROM_HELD, RELEASED_FROM_COMMITTED, RELEASE_FROMS };

/* Why a request was answered -32603: each is a bug, logged and counted. */
#define STOCKD_INTERNAL_KINDS(X)                                                                   \
    X(REDIS_ERROR, "redis_error")     /* Redis refused a call with an unexpected error */         \
    X(MALFORMED, "malformed_reply")   /* a reply of a shape its contract does not allow */        \
    X(UNFINISHED, "unfinished")       /* a handler returned without answering or calling on */

enum internal_kind {
#define X(name, label) INTERNAL_##name,
    STOCKD_INTERNAL_KINDS(X)
#undef X
        INTERNAL_KINDS
};

/* How a sweep ended: everything due found and released; stopped at its
 * call budget with more due (falling behind); Redis refused or failed. */
#define STOCKD_SWEEP_RESULTS(X)                                                                    \
    X(DONE, "done")                                                                                \
    X(CUT, "cut")                                                                                  \
    X(FAILED, "failed")

enum sweep_result {
#define X(name, label) SWEEP_##name,
    STOCKD_SWEEP_RESULTS(X)
#undef X
        SWEEP_RESULTS
};

/* What a stock.audit over every sku found (metrics_audit). */
#define STOCKD_AUDIT_KINDS(X)                                                                      \
    X(COUNTS, "counts") /* reserved differs from the live holds */                                 \
    X(STALE, "stale")   /* expiry index entries that are not held */                               \
    X(LATE, "late")     /* skus the due index would sweep after their earliest hold */            \
    X(LEDGER, "ledger") /* counts that differ from the ledger's replay */

enum audit_kind {
#define X(name, label) AUDIT_##name,
    STOCKD_AUDIT_KINDS(X)
#undef X
        AUDIT_KINDS
};

/* Webhook URLs (config.h WEBHOOK_MAX_URLS); a URL is labelled by its index. */
#define METRICS_WEBHOOKS 8
/* Failed attempts in a row after which /readyz says delivery is failing. */
#define METRICS_WEBHOOK_FAILING 3

/* One webhook URL's delivery, as this process sees it. */
struct metrics_webhook {
    char group[32];           /* its consumer group; never the URL, which may carry a token */
    uint64_t delivered;       /* events answered 2xx */
    uint64_t retried;         /* failed attempts that will be tried again */
    uint64_t dead_lettered;   /* events this process moved to the dead-letter stream */
    uint64_t failed_attempts; /* every attempt that failed (retried or not) */
    int64_t in_flight;        /* POSTs now */
    int64_t held;             /* entries this process holds now (queued, waiting, in flight) */
    int64_t undelivered;      /* the group's entries not yet delivered: pending + unread */
    double oldest_age_s;      /* the oldest of them; 0 when none */
    uint64_t failing;         /* failed attempts in a row; 0 after a 2xx */
    char last_error[96];      /* of the latest failed attempt */
};

struct metrics {
    uint64_t requests[METRICS_METHODS][E_COUNT]; /* by method and error (E_NONE: ok) */
    uint64_t latency_buckets[METRICS_METHODS][METRICS_BUCKETS];
    uint64_t latency_count[METRICS_METHODS];
    double latency_sum[METRICS_METHODS]; /* seconds */
    int64_t inflight; /* read and not yet answered: admission compares it with --max-inflight */
    int64_t connections;
    uint64_t connections_refused;
    uint64_t redis_connects, redis_disconnects;
    bool redis_up;
    uint64_t redis_oom_total; /* calls Redis refused for lack of memory */
    uint64_t redis_oom_at_ns; /* metrics_now_ns() of the latest of them; 0: none */
    uint64_t redis_batches;       /* coalesced script calls sent */
    uint64_t redis_batched_calls; /* the calls they carried */
    char redis_master[300];   /* "host:port" of the master in use; "" when none (set by the link) */
    bool redis_sentinel;      /* the master is found through Sentinel (set by the link) */
    uint64_t redis_failovers; /* times the master in use changed to another address */
    bool redis_cluster;       /* Redis Cluster: the fields below are the router's (cluster.c) */
    int cluster_masters;      /* masters in the latest slot map */
    int cluster_masters_up;   /* of them, those whose connection is up */
    unsigned cluster_slots;   /* slots the latest map gives a master */
    uint64_t cluster_redirects[2];  /* calls sent on after MOVED [0] and ASK [1] */
    uint64_t cluster_retries[2];    /* calls sent again after TRYAGAIN [0], CLUSTERDOWN [1] */
    uint64_t cluster_map_refreshes; /* slot maps read */
    int replication_required;         /* --durability N; 0: none (set by the store) */
    uint64_t replication_waits;       /* WAITs that ended: answered, or cut by a broken link */
    double replication_wait_seconds;  /* the sum of their round trips */
    uint64_t replication_failures;    /* WAITs with fewer replicas than required, or broken */
    uint64_t replication_last_at_ns;  /* metrics_now_ns() when the latest WAIT ended; 0: none */
    long long replication_last_acked; /* replicas the latest WAIT confirmed; -1: it broke */
    uint64_t internal_errors[INTERNAL_KINDS];
    uint64_t sweeper_expired;
    uint64_t sweeper_quarantined; /* unreadable records moved aside */
    uint64_t sweeper_runs[SWEEP_RESULTS];
    double sweeper_last_done; /* Unix seconds of the latest SWEEP_DONE; 0: none yet */
    uint64_t audit_runs;      /* stock.audit runs over every sku that finished */
    long long audit_found[AUDIT_KINDS]; /* what the latest of them found */
    double audit_last_run;              /* Unix seconds when it finished; 0: none yet */
    uint64_t out_of_stock;
    uint64_t compensations[RELEASE_FROMS];
    uint64_t auth_failures;
    int n_webhooks; /* configured URLs */
    bool webhook_redis_up;
    uint64_t webhook_rate_limited; /* ready POSTs that waited for a --webhook-max-rate token */
    struct metrics_webhook webhooks[METRICS_WEBHOOKS];
    double start_time; /* Unix seconds */
};

void metrics_init(struct metrics *m);
/* A monotonic clock for latencies, in nanoseconds. */
uint64_t metrics_now_ns(void);
/* The wall clock, in Unix seconds. */
double metrics_unix_now(void);
/* The upper bound of latency bucket b (0 <= b < METRICS_BUCKETS), seconds. */
double metrics_bucket_bound(int b);
/* A sweep ended (sweeper.c). */
void metrics_sweep(struct metrics *m, enum sweep_result r);
/* A stock.audit over every sku finished with these findings (audit.c). */
void metrics_audit(struct metrics *m, const long long found[AUDIT_KINDS]);
/* One finished request: its method (METHOD_COUNT when unknown), its error
 * (E_NONE for a result) and when it started (metrics_now_ns). */
void metrics_request(struct metrics *m, enum method_id method, enum error_id e,
                     uint64_t started_ns);
/* How long after Redis last refused a call for memory it still counts as
 * full (the stockd_redis_out_of_memory gauge, the /readyz warning). */
#define METRICS_OOM_RECENT_NS (10ull * 1000000000ull)
/* True when Redis refused a call for memory within METRICS_OOM_RECENT_NS. */
bool metrics_redis_full(const struct metrics *m);

/* Appends one "warning: ..." line per webhook URL whose delivery is
 * failing (METRICS_WEBHOOK_FAILING attempts in a row) or lagging (its
 * oldest undelivered event older than lag_warn_s); nothing when all is
 * well. For /readyz, which stays ready: every replica shares the one
 * receiver, and taking this one out of the Service would not help it. */
void metrics_webhook_warnings(const struct metrics *m, long long lag_warn_s, struct buf *out);

/* How long after the latest WAIT fell short /readyz still warns of it. */
#define METRICS_REPLICATION_RECENT_NS (10ull * 1000000000ull)
/* True when the latest WAIT ended within METRICS_REPLICATION_RECENT_NS and
 * confirmed fewer replicas than required (or broke). */
bool metrics_replication_short(const struct metrics *m);

/* Appends the Redis lines of /readyz: "redis: master <addr> (sentinel|
 * direct), failovers seen <n>" (with Cluster: "redis: cluster, <n> masters,
 * <s>/16384 slots, map refreshes <r>"), "durability: none" or "durability:
 * replica:N", and a "warning: ..." line while metrics_replication_short. */
void metrics_redis_lines(const struct metrics *m, struct buf *out);

/* Appends the whole exposition (text format 0.0.4); rss_bytes < 0: unknown. */
void metrics_render(const struct metrics *m, struct buf *out, const char *version,
                    long long rss_bytes);

#endif
