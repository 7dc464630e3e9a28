/* The exporter's counters and their exposition (see stats.h). */
#include "stats.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prom.h"

#ifndef STOCKD_VERSION
#define STOCKD_VERSION "0.0.0"
#endif

static const char *const error_labels[EXPORT_ERR_COUNT] = {
#define X(name, label, what) label,
    EXPORT_ERROR_KINDS(X)
#undef X
};

uint64_t export_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void export_stats_init(struct export_stats *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->started_unix_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    s->c.heartbeat_ms = export_mono_ms();
}

void export_stats_destroy(struct export_stats *s)
{
    pthread_mutex_destroy(&s->lock);
}

struct export_counters export_stats_read(struct export_stats *s)
{
    pthread_mutex_lock(&s->lock);
    struct export_counters c = s->c;
    pthread_mutex_unlock(&s->lock);
    return c;
}

void export_stats_render(const struct export_counters *c, uint64_t started_unix_ms, long long rss,
                         struct buf *out)
{
    prom_head(out, "stockd_export_rows_total", "counter",
              "Ledger entries this process inserted into the table.");
    prom_sample_u(out, "stockd_export_rows_total", "", c->rows);
    prom_head(out, "stockd_export_rows_duplicate_total", "counter",
              "Entries exported again after a restart or an error that were in the table already "
              "(not inserted twice).");
    prom_sample_u(out, "stockd_export_rows_duplicate_total", "", c->rows_duplicate);
    prom_head(out, "stockd_export_batches_total", "counter",
              "Batches committed in PostgreSQL and acknowledged in Redis.");
    prom_sample_u(out, "stockd_export_batches_total", "", c->batches);
    prom_head(out, "stockd_export_errors_total", "counter",
              "Failed attempts, by kind: redis, postgresql, malformed (ledger entries).");
    for (int k = 0; k < EXPORT_ERR_COUNT; k++) {
        char labels[64];
        snprintf(labels, sizeof labels, "{kind=\"%s\"}", error_labels[k]);
        prom_sample_u(out, "stockd_export_errors_total", labels, c->errors[k]);
    }
    prom_head(out, "stockd_export_lag_entries", "gauge",
              "Ledger entries not yet in the table: not yet read plus read and not acknowledged "
              "(NaN until Redis has been read, or when Redis cannot count them).");
    if (c->lag_entries_known)
        prom_sample_u(out, "stockd_export_lag_entries", "",
                      (uint64_t)(c->lag_entries > 0 ? c->lag_entries : 0));
    else
        prom_sample(out, "stockd_export_lag_entries", "", "NaN");
    prom_head(out, "stockd_export_lag_seconds", "gauge",
              "Redis's clock minus the time of the oldest entry not yet in the table (ms "
              "resolution; 0 when there is none).");
    if (c->lag_ms_known)
        prom_sample_ms(out, "stockd_export_lag_seconds", "", c->lag_ms > 0 ? c->lag_ms : 0);
    else
        prom_sample(out, "stockd_export_lag_seconds", "", "NaN");
    prom_head(out, "stockd_export_gaps_total", "counter",
              "Gaps reported: ledger entries trimmed from Redis before they were exported.");
    prom_sample_u(out, "stockd_export_gaps_total", "", c->gaps);
    prom_head(out, "stockd_export_gap_entries_total", "counter",
              "Ledger entries known to be missing from the table because of those gaps.");
    prom_sample_u(out, "stockd_export_gap_entries_total", "", c->gap_entries);
    prom_head(out, "stockd_export_last_exported_timestamp_seconds", "gauge",
              "Time of the last entry acknowledged (the ms of its stream id; 0: none yet).");
    prom_sample_ms(out, "stockd_export_last_exported_timestamp_seconds", "",
                   (long long)c->last_exported_ms);
    prom_head(out, "stockd_export_redis_up", "gauge", "1 while Redis is connected, else 0.");
    prom_sample_u(out, "stockd_export_redis_up", "", c->redis_up ? 1 : 0);
    prom_head(out, "stockd_export_postgresql_up", "gauge",
              "1 while PostgreSQL is connected and the table is there, else 0.");
    prom_sample_u(out, "stockd_export_postgresql_up", "", c->postgresql_up ? 1 : 0);
    char start[PROM_VALUE_MAX];
    prom_process(out, "stockd_export_build_info", STOCKD_VERSION,
                 prom_value_ms(start, (long long)started_unix_ms), rss);
}
