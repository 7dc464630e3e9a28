/* What the exporter reports: counters and gauges that the export thread
 * writes and the HTTP thread reads, under one mutex, and their Prometheus
 * text exposition. Nothing here blocks on the network: /metrics answers
 * whatever state Redis and PostgreSQL are in. */
#ifndef STOCKD_EXPORT_STATS_H
#define STOCKD_EXPORT_STATS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/* X(enum name, label value, what) */
#define EXPORT_ERROR_KINDS(X)                                                                      \
    X(REDIS, "redis", "a Redis command failed or the connection was lost")                         \
    X(POSTGRESQL, "postgresql", "connecting, creating the table or a batch failed")                \
    X(MALFORMED, "malformed", "a ledger entry with a missing, unknown or unusable field")

enum export_error_kind {
#define X(name, label, what) EXPORT_ERR_##name,
    EXPORT_ERROR_KINDS(X)
#undef X
        EXPORT_ERR_COUNT
};

/* A snapshot of everything reported; the HTTP thread renders a copy. */
struct export_counters {
    uint64_t rows;           /* rows this process inserted */
    uint64_t rows_duplicate; /* entries replayed that were in the table already */
    uint64_t batches;        /* transactions committed and acknowledged */
    uint64_t errors[EXPORT_ERR_COUNT];
    uint64_t gaps;        /* gaps reported */
    uint64_t gap_entries; /* entries known missing in them */
    bool lag_entries_known;
    long long lag_entries; /* not yet in the table: undelivered + pending */
    bool lag_ms_known;
    long long lag_ms;          /* Redis now - ms of the oldest such entry; 0 when none */
    uint64_t last_exported_ms; /* ms of the last id acknowledged; 0: none yet */
    bool redis_up, postgresql_up, group_ready;
    uint64_t heartbeat_ms; /* monotonic ms of the export loop's last turn */
};

struct export_stats {
    pthread_mutex_t lock;
    struct export_counters c; /* guarded by lock */
    uint64_t started_unix_ms;
};

void export_stats_init(struct export_stats *s);
void export_stats_destroy(struct export_stats *s);
/* A copy of the counters, taken under the lock. */
struct export_counters export_stats_read(struct export_stats *s);

/* Appends the Prometheus text exposition of c to out. rss: the process's
 * resident bytes, or negative when unknown. */
void export_stats_render(const struct export_counters *c, uint64_t started_unix_ms, long long rss,
                         struct buf *out);

/* Monotonic milliseconds (the heartbeat's clock). */
uint64_t export_mono_ms(void);

#endif
