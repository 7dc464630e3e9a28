/* Process metrics and their Prometheus text exposition (see metrics.h). */
#include "metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prom.h"

static const double bucket_bounds[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.25,   0.5,     1,      2.5,   5};

static const char *const sweep_labels[SWEEP_RESULTS] = {
#define X(name, label) [SWEEP_##name] = label,
    STOCKD_SWEEP_RESULTS(X)
#undef X
};

static const char *const audit_labels[AUDIT_KINDS] = {
#define X(name, label) [AUDIT_##name] = label,
    STOCKD_AUDIT_KINDS(X)
#undef X
};

double metrics_unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof *m);
    m->start_time = metrics_unix_now();
}

double metrics_bucket_bound(int b)
{
    return bucket_bounds[b >= 0 && b < METRICS_BUCKETS ? b : METRICS_BUCKETS - 1];
}

void metrics_sweep(struct metrics *m, enum sweep_result r)
{
    m->sweeper_runs[r]++;
    if (r == SWEEP_DONE)
        m->sweeper_last_done = metrics_unix_now();
}

void metrics_audit(struct metrics *m, const long long found[AUDIT_KINDS])
{
    m->audit_runs++;
    memcpy(m->audit_found, found, sizeof m->audit_found);
    m->audit_last_run = metrics_unix_now();
}

uint64_t metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void metrics_request(struct metrics *m, enum method_id method, enum error_id e,
                     uint64_t started_ns)
{
    if (method < 0 || method > METHOD_COUNT)
        method = METHOD_COUNT;
    if (e < E_NONE || e >= E_COUNT)
        e = E_INTERNAL;
    m->requests[method][e]++;
    double s = (double)(metrics_now_ns() - started_ns) / 1e9;
    for (int b = 0; b < METRICS_BUCKETS; b++)
        if (s <= bucket_bounds[b]) {
            m->latency_buckets[method][b]++;
            break;
        }
    m->latency_count[method]++;
    m->latency_sum[method] += s;
}

bool metrics_redis_full(const struct metrics *m)
{
    return m->redis_oom_at_ns != 0 && metrics_now_ns() - m->redis_oom_at_ns < METRICS_OOM_RECENT_NS;
}

bool metrics_replication_short(const struct metrics *m)
{
    return m->replication_required > 0 && m->replication_last_at_ns != 0 &&
           m->replication_last_acked < m->replication_required &&
           metrics_now_ns() - m->replication_last_at_ns < METRICS_REPLICATION_RECENT_NS;
}

void metrics_redis_lines(const struct metrics *m, struct buf *out)
{
    char line[512];
    if (m->redis_cluster) {
        snprintf(line, sizeof line,
                 "redis: cluster, %d masters (%d up), %u/16384 slots, map refreshes %llu\n",
                 m->cluster_masters, m->cluster_masters_up, m->cluster_slots,
                 (unsigned long long)m->cluster_map_refreshes);
        if (m->cluster_masters_up < m->cluster_masters || m->cluster_slots < 16384) {
            buf_appends(out, line);
            snprintf(line, sizeof line,
                     "warning: %d of %d masters not up, %u slots without a master: calls "
                     "for their slots are answered 2001 until the cluster mends\n",
                     m->cluster_masters - m->cluster_masters_up, m->cluster_masters,
                     16384 - m->cluster_slots);
        }
    } else
        snprintf(line, sizeof line, "redis: master %s (%s), failovers seen %llu\n",
                 m->redis_master[0] != '\0' ? m->redis_master : "none",
                 m->redis_sentinel ? "sentinel" : "direct",
                 (unsigned long long)m->redis_failovers);
    buf_appends(out, line);
    if (m->replication_required > 0)
        snprintf(line, sizeof line, "durability: replica:%d\n", m->replication_required);
    else
        snprintf(line, sizeof line, "durability: none\n");
    buf_appends(out, line);
    if (!metrics_replication_short(m))
        return;
    if (m->replication_last_acked < 0)
        snprintf(line, sizeof line,
                 "warning: the latest WAIT for %d replicas broke with the connection: writes "
                 "are answered 2002\n",
                 m->replication_required);
    else
        snprintf(line, sizeof line,
                 "warning: the latest WAIT confirmed %lld of %d replicas in time: writes are "
                 "answered 2002 replication\n",
                 m->replication_last_acked, m->replication_required);
    buf_appends(out, line);
}

/* Redis Cluster's router: zeros unless --redis is redis+cluster://. */
static void render_cluster(const struct metrics *m, struct buf *out)
{
    static const char *const redirects[2] = {"{kind=\"moved\"}", "{kind=\"ask\"}"};
    static const char *const retries[2] = {"{reason=\"tryagain\"}", "{reason=\"clusterdown\"}"};
    prom_head(out, "stockd_redis_cluster_masters", "gauge",
              "Masters serving slots in the latest Redis Cluster slot map.");
    prom_sample_u(out, "stockd_redis_cluster_masters", "",
                  (uint64_t)(m->cluster_masters > 0 ? m->cluster_masters : 0));
    prom_head(out, "stockd_redis_cluster_masters_up", "gauge",
              "Of those masters, the ones whose connection is up.");
    prom_sample_u(out, "stockd_redis_cluster_masters_up", "",
                  (uint64_t)(m->cluster_masters_up > 0 ? m->cluster_masters_up : 0));
    prom_head(out, "stockd_redis_cluster_slots_covered", "gauge",
              "Hash slots (of 16384) that the latest slot map gives a master.");
    prom_sample_u(out, "stockd_redis_cluster_slots_covered", "", m->cluster_slots);
    prom_head(out, "stockd_redis_cluster_redirects_total", "counter",
              "Calls Redis Cluster redirected (MOVED, ASK), sent on to the node it named.");
    for (int i = 0; i < 2; i++)
        prom_sample_u(out, "stockd_redis_cluster_redirects_total", redirects[i],
                      m->cluster_redirects[i]);
    prom_head(out, "stockd_redis_cluster_retries_total", "counter",
              "Calls sent again after a backoff (TRYAGAIN; CLUSTERDOWN or a script's access "
              "to a slot being moved).");
    for (int i = 0; i < 2; i++)
        prom_sample_u(out, "stockd_redis_cluster_retries_total", retries[i],
                      m->cluster_retries[i]);
    prom_head(out, "stockd_redis_cluster_map_refreshes_total", "counter",
              "Redis Cluster slot maps read (CLUSTER SLOTS).");
    prom_sample_u(out, "stockd_redis_cluster_map_refreshes_total", "", m->cluster_map_refreshes);
}

static const char *method_label(int method)
{
    return method_name((enum method_id)method);
}

static const char *const internal_labels[INTERNAL_KINDS] = {
#define X(name, label) [INTERNAL_##name] = label,
    STOCKD_INTERNAL_KINDS(X)
#undef X
};

void metrics_webhook_warnings(const struct metrics *m, long long lag_warn_s, struct buf *out)
{
    char line[512];
    for (int i = 0; i < m->n_webhooks && i < METRICS_WEBHOOKS; i++) {
        const struct metrics_webhook *w = &m->webhooks[i];
        if (w->failing >= METRICS_WEBHOOK_FAILING) {
            snprintf(line, sizeof line,
                     "warning: webhook %d (%s) is failing: %llu attempts in a row failed, the "
                     "last with %s; events are retried\n",
                     i, w->group, (unsigned long long)w->failing, w->last_error);
            buf_appends(out, line);
        }
        if (w->oldest_age_s > (double)lag_warn_s) {
            snprintf(line, sizeof line,
                     "warning: webhook %d (%s) is lagging: the oldest undelivered event is %.0f s "
                     "old, %lld undelivered\n",
                     i, w->group, w->oldest_age_s, (long long)w->undelivered);
            buf_appends(out, line);
        }
    }
}

static void render_webhooks(const struct metrics *m, struct buf *out)
{
    char labels[128];
    static const struct {
        const char *name, *type, *help;
        size_t at;
        bool is_signed;
    } series[] = {
        {"stockd_webhook_delivered_total", "counter", "Events a webhook URL answered 2xx.",
         offsetof(struct metrics_webhook, delivered), false},
        {"stockd_webhook_retried_total", "counter",
         "Failed webhook attempts (not 2xx, or no answer in time) that will be tried again.",
         offsetof(struct metrics_webhook, retried), false},
        {"stockd_webhook_dead_lettered_total", "counter",
         "Events given up after --webhook-max-age-s, moved to the dead-letter stream.",
         offsetof(struct metrics_webhook, dead_lettered), false},
        {"stockd_webhook_failed_attempts_total", "counter", "Webhook attempts that failed.",
         offsetof(struct metrics_webhook, failed_attempts), false},
        {"stockd_webhook_consecutive_failures", "gauge",
         "Webhook attempts in a row that failed (0 after a delivery).",
         offsetof(struct metrics_webhook, failing), false},
        {"stockd_webhook_in_flight", "gauge", "Webhook POSTs in flight in this process.",
         offsetof(struct metrics_webhook, in_flight), true},
        {"stockd_webhook_queued", "gauge",
         "Events this process holds for a webhook URL (waiting, in flight or retrying).",
         offsetof(struct metrics_webhook, held), true},
        {"stockd_webhook_lag_events", "gauge",
         "Events of the URL's consumer group not yet delivered (pending and unread), all "
         "replicas together.",
         offsetof(struct metrics_webhook, undelivered), true},
    };
    for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
        prom_head(out, series[k].name, series[k].type, series[k].help);
        for (int i = 0; i < m->n_webhooks && i < METRICS_WEBHOOKS; i++) {
            const char *at = (const char *)&m->webhooks[i] + series[k].at;
            uint64_t v;
            if (series[k].is_signed) {
                int64_t sv;
                memcpy(&sv, at, sizeof sv);
                v = sv > 0 ? (uint64_t)sv : 0;
            } else {
                memcpy(&v, at, sizeof v);
            }
            snprintf(labels, sizeof labels, "{url=\"%d\"}", i);
            prom_sample_u(out, series[k].name, labels, v);
        }
    }
    prom_head(out, "stockd_webhook_oldest_undelivered_age_seconds", "gauge",
              "Age of the oldest event of the URL's consumer group not yet delivered (0: none).");
    for (int i = 0; i < m->n_webhooks && i < METRICS_WEBHOOKS; i++) {
        snprintf(labels, sizeof labels, "{url=\"%d\"}", i);
        prom_sample_d(out, "stockd_webhook_oldest_undelivered_age_seconds", labels,
                      m->webhooks[i].oldest_age_s);
    }
    prom_head(
        out, "stockd_webhook_info", "gauge",
        "A webhook URL's index and its consumer group on the stock-events stream (always 1).");
    for (int i = 0; i < m->n_webhooks && i < METRICS_WEBHOOKS; i++) {
        char group[sizeof m->webhooks[i].group * 2];
        snprintf(labels, sizeof labels, "{url=\"%d\",group=\"%s\"}", i,
                 prom_escape(m->webhooks[i].group, group, sizeof group));
        prom_sample_u(out, "stockd_webhook_info", labels, 1);
    }
    prom_head(out, "stockd_webhook_redis_up", "gauge",
              "1 when the webhook deliverer's own connections to Redis are up, else 0.");
    prom_sample_u(out, "stockd_webhook_redis_up", "", m->webhook_redis_up ? 1 : 0);
    prom_head(out, "stockd_webhook_rate_limited_total", "counter",
              "Webhook POSTs, ready to start, that had to wait for a token of --webhook-max-rate "
              "(once per wait).");
    prom_sample_u(out, "stockd_webhook_rate_limited_total", "", m->webhook_rate_limited);
}

/* The master in use and the WAITs of --durability. */
static void render_replication(const struct metrics *m, struct buf *out)
{
    prom_head(out, "stockd_redis_master_info", "gauge",
              "The Redis master in use and how it was found (always 1; only while connected).");
    if (m->redis_up && m->redis_master[0] != '\0') {
        char address[sizeof m->redis_master * 2], labels[sizeof address + 64];
        snprintf(labels, sizeof labels, "{address=\"%s\",mode=\"%s\"}",
                 prom_escape(m->redis_master, address, sizeof address),
                 m->redis_sentinel ? "sentinel" : "direct");
        prom_sample_u(out, "stockd_redis_master_info", labels, 1);
    }
    prom_head(out, "stockd_redis_failovers_total", "counter",
              "Times the Redis master in use changed to another address.");
    prom_sample_u(out, "stockd_redis_failovers_total", "", m->redis_failovers);
    prom_head(out, "stockd_redis_replication_required", "gauge",
              "Replicas a write must reach before it is answered (--durability; 0: none).");
    prom_sample_u(out, "stockd_redis_replication_required", "",
                  (uint64_t)(m->replication_required > 0 ? m->replication_required : 0));
    prom_head(out, "stockd_redis_replication_waits_total", "counter",
              "WAITs sent after writes that ended (answered, or cut by a broken connection).");
    prom_sample_u(out, "stockd_redis_replication_waits_total", "", m->replication_waits);
    prom_head(out, "stockd_redis_replication_wait_seconds_total", "counter",
              "The sum of the WAITs' round trips.");
    prom_sample_d(out, "stockd_redis_replication_wait_seconds_total", "",
                  m->replication_wait_seconds);
    prom_head(out, "stockd_redis_replication_failures_total", "counter",
              "WAITs that confirmed fewer replicas than required in time, or broke (their writes "
              "were answered 2002).");
    prom_sample_u(out, "stockd_redis_replication_failures_total", "", m->replication_failures);
}

void metrics_render(const struct metrics *m, struct buf *out, const char *version,
                    long long rss_bytes)
{
    char labels[256];

    prom_head(out, "stockd_requests_total", "counter",
              "Requests answered, by method and result (code 0: a result).");
    for (int meth = 0; meth < METRICS_METHODS; meth++)
        for (int e = 0; e < E_COUNT; e++) {
            if (m->requests[meth][e] == 0)
                continue;
            snprintf(labels, sizeof labels, "{method=\"%s\",code=\"%d\",reason=\"%s\"}",
                     method_label(meth), error_code((enum error_id)e),
                     error_reason((enum error_id)e));
            prom_sample_u(out, "stockd_requests_total", labels, m->requests[meth][e]);
        }

    prom_head(out, "stockd_request_duration_seconds", "histogram",
              "Time from reading a request to its answer, by method.");
    for (int meth = 0; meth < METRICS_METHODS; meth++) {
        if (m->latency_count[meth] == 0)
            continue;
        uint64_t cumulative = 0;
        for (int b = 0; b < METRICS_BUCKETS; b++) {
            cumulative += m->latency_buckets[meth][b];
            snprintf(labels, sizeof labels, "{method=\"%s\",le=\"%g\"}", method_label(meth),
                     bucket_bounds[b]);
            prom_sample_u(out, "stockd_request_duration_seconds_bucket", labels, cumulative);
        }
        snprintf(labels, sizeof labels, "{method=\"%s\",le=\"+Inf\"}", method_label(meth));
        prom_sample_u(out, "stockd_request_duration_seconds_bucket", labels,
                      m->latency_count[meth]);
        snprintf(labels, sizeof labels, "{method=\"%s\"}", method_label(meth));
        prom_sample_d(out, "stockd_request_duration_seconds_sum", labels, m->latency_sum[meth]);
        prom_sample_u(out, "stockd_request_duration_seconds_count", labels, m->latency_count[meth]);
    }

    prom_head(out, "stockd_requests_in_flight", "gauge", "Requests read and not yet answered.");
    prom_sample_u(out, "stockd_requests_in_flight", "",
                  (uint64_t)(m->inflight > 0 ? m->inflight : 0));
    prom_head(out, "stockd_client_connections", "gauge", "Open client connections.");
    prom_sample_u(out, "stockd_client_connections", "",
                  (uint64_t)(m->connections > 0 ? m->connections : 0));
    prom_head(out, "stockd_client_connections_refused_total", "counter",
              "Connections refused at --max-connections.");
    prom_sample_u(out, "stockd_client_connections_refused_total", "", m->connections_refused);
    prom_head(out, "stockd_redis_up", "gauge",
              "1 when Redis is connected and the scripts are loaded, else 0.");
    prom_sample_u(out, "stockd_redis_up", "", m->redis_up ? 1 : 0);
    prom_head(out, "stockd_redis_connects_total", "counter",
              "Successful connections to Redis (the first and every reconnect).");
    prom_sample_u(out, "stockd_redis_connects_total", "", m->redis_connects);
    prom_head(out, "stockd_redis_disconnects_total", "counter",
              "Connections to Redis lost or dropped (timeouts, errors, restarts).");
    prom_sample_u(out, "stockd_redis_disconnects_total", "", m->redis_disconnects);
    prom_head(out, "stockd_redis_out_of_memory", "gauge",
              "1 when Redis refused a call for lack of memory in the last 10 s, else 0.");
    prom_sample_u(out, "stockd_redis_out_of_memory", "", metrics_redis_full(m) ? 1 : 0);
    prom_head(out, "stockd_redis_oom_total", "counter",
              "Calls Redis refused for lack of memory (answered 2004 storage_full).");
    prom_sample_u(out, "stockd_redis_oom_total", "", m->redis_oom_total);
    prom_head(out, "stockd_redis_batches_total", "counter",
              "Coalesced script calls sent to Redis (each carries one or more requests).");
    prom_sample_u(out, "stockd_redis_batches_total", "", m->redis_batches);
    prom_head(out, "stockd_redis_batched_calls_total", "counter",
              "Requests sent inside coalesced script calls.");
    prom_sample_u(out, "stockd_redis_batched_calls_total", "", m->redis_batched_calls);
    render_replication(m, out);
    render_cluster(m, out);
    prom_head(out, "stockd_internal_errors_total", "counter",
              "Requests answered -32603 internal, by cause (each one is a bug: see the log).");
    for (int k = 0; k < INTERNAL_KINDS; k++) {
        snprintf(labels, sizeof labels, "{kind=\"%s\"}", internal_labels[k]);
        prom_sample_u(out, "stockd_internal_errors_total", labels, m->internal_errors[k]);
    }
    prom_head(out, "stockd_sweeper_expired_total", "counter",
              "Held reservations this process released at their deadline.");
    prom_sample_u(out, "stockd_sweeper_expired_total", "", m->sweeper_expired);
    prom_head(out, "stockd_sweeper_quarantined_total", "counter",
              "Due reservations whose record could not be read, moved to the quarantine hash.");
    prom_sample_u(out, "stockd_sweeper_quarantined_total", "", m->sweeper_quarantined);
    prom_head(out, "stockd_sweeper_runs_total", "counter",
              "Sweeps by how they ended: done (everything due released), cut (stopped at the "
              "call budget with more due: falling behind), failed (Redis refused or failed).");
    for (int r = 0; r < SWEEP_RESULTS; r++) {
        snprintf(labels, sizeof labels, "{result=\"%s\"}", sweep_labels[r]);
        prom_sample_u(out, "stockd_sweeper_runs_total", labels, m->sweeper_runs[r]);
    }
    prom_head(out, "stockd_sweeper_last_done_timestamp_seconds", "gauge",
              "When a sweep last released everything due (Unix time; 0: not yet). Holds stay "
              "past their deadline only while sweeps are not done.");
    prom_sample_d(out, "stockd_sweeper_last_done_timestamp_seconds", "", m->sweeper_last_done);
    prom_head(out, "stockd_audit_runs_total", "counter",
              "stock.audit runs over every sku that finished.");
    prom_sample_u(out, "stockd_audit_runs_total", "", m->audit_runs);
    prom_head(out, "stockd_audit_differences", "gauge",
              "What the latest stock.audit over every sku found, by kind (0 before the first).");
    for (int k = 0; k < AUDIT_KINDS; k++) {
        snprintf(labels, sizeof labels, "{kind=\"%s\"}", audit_labels[k]);
        prom_sample_u(out, "stockd_audit_differences", labels,
                      (uint64_t)(m->audit_found[k] > 0 ? m->audit_found[k] : 0));
    }
    prom_head(out, "stockd_audit_last_run_timestamp_seconds", "gauge",
              "When the latest stock.audit over every sku finished (Unix time; 0: not yet).");
    prom_sample_d(out, "stockd_audit_last_run_timestamp_seconds", "", m->audit_last_run);
    prom_head(out, "stockd_out_of_stock_total", "counter", "Reserves refused for lack of stock.");
    prom_sample_u(out, "stockd_out_of_stock_total", "", m->out_of_stock);
    prom_head(out, "stockd_compensations_total", "counter",
              "Releases that gave units back, by the state released from.");
    prom_sample_u(out, "stockd_compensations_total", "{from=\"held\"}",
                  m->compensations[RELEASED_FROM_HELD]);
    prom_sample_u(out, "stockd_compensations_total", "{from=\"committed\"}",
                  m->compensations[RELEASED_FROM_COMMITTED]);
    prom_head(out, "stockd_auth_failures_total", "counter", "auth calls with a wrong token.");
    prom_sample_u(out, "stockd_auth_failures_total", "", m->auth_failures);
    if (m->n_webhooks > 0)
        render_webhooks(m, out);
    char start[PROM_VALUE_MAX];
    prom_process(out, "stockd_build_info", version, prom_value_d(start, m->start_time), rss_bytes);
}
