/* Process metrics and their Prometheus text exposition (see metrics.h). */
#include "metrics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const double bucket_bounds[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.25,   0.5,     1,      2.5,   5};

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof *m);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static const char *method_label(int method)
{
    return method_name((enum method_id)method);
}

static const char *const internal_labels[INTERNAL_KINDS] = {
#define X(name, label) [INTERNAL_##name] = label,
    STOCKD_INTERNAL_KINDS(X)
#undef X
};

static void head(struct buf *out, const char *name, const char *type, const char *help)
{
    char line[512];
    snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    buf_appends(out, line);
}

static void sample_u(struct buf *out, const char *name, const char *labels, uint64_t v)
{
    char line[512];
    snprintf(line, sizeof line, "%s%s %llu\n", name, labels, (unsigned long long)v);
    buf_appends(out, line);
}

static void sample_d(struct buf *out, const char *name, const char *labels, double v)
{
    char line[512];
    snprintf(line, sizeof line, "%s%s %.9g\n", name, labels, v);
    buf_appends(out, line);
}

void metrics_render(const struct metrics *m, struct buf *out, const char *version,
                    long long rss_bytes)
{
    char labels[256];

    head(out, "stockd_requests_total", "counter",
         "Requests answered, by method and result (code 0: a result).");
    for (int meth = 0; meth < METRICS_METHODS; meth++)
        for (int e = 0; e < E_COUNT; e++) {
            if (m->requests[meth][e] == 0)
                continue;
            snprintf(labels, sizeof labels, "{method=\"%s\",code=\"%d\",reason=\"%s\"}",
                     method_label(meth), error_code((enum error_id)e),
                     error_reason((enum error_id)e));
            sample_u(out, "stockd_requests_total", labels, m->requests[meth][e]);
        }

    head(out, "stockd_request_duration_seconds", "histogram",
         "Time from reading a request to its answer, by method.");
    for (int meth = 0; meth < METRICS_METHODS; meth++) {
        if (m->latency_count[meth] == 0)
            continue;
        uint64_t cumulative = 0;
        for (int b = 0; b < METRICS_BUCKETS; b++) {
            cumulative += m->latency_buckets[meth][b];
            snprintf(labels, sizeof labels, "{method=\"%s\",le=\"%g\"}", method_label(meth),
                     bucket_bounds[b]);
            sample_u(out, "stockd_request_duration_seconds_bucket", labels, cumulative);
        }
        snprintf(labels, sizeof labels, "{method=\"%s\",le=\"+Inf\"}", method_label(meth));
        sample_u(out, "stockd_request_duration_seconds_bucket", labels, m->latency_count[meth]);
        snprintf(labels, sizeof labels, "{method=\"%s\"}", method_label(meth));
        sample_d(out, "stockd_request_duration_seconds_sum", labels, m->latency_sum[meth]);
        sample_u(out, "stockd_request_duration_seconds_count", labels, m->latency_count[meth]);
    }

    head(out, "stockd_requests_in_flight", "gauge", "Requests read and not yet answered.");
    sample_u(out, "stockd_requests_in_flight", "", (uint64_t)(m->inflight > 0 ? m->inflight : 0));
    head(out, "stockd_client_connections", "gauge", "Open client connections.");
    sample_u(out, "stockd_client_connections", "",
             (uint64_t)(m->connections > 0 ? m->connections : 0));
    head(out, "stockd_client_connections_refused_total", "counter",
         "Connections refused at --max-connections.");
    sample_u(out, "stockd_client_connections_refused_total", "", m->connections_refused);
    head(out, "stockd_redis_up", "gauge",
         "1 when Redis is connected and the scripts are loaded, else 0.");
    sample_u(out, "stockd_redis_up", "", m->redis_up ? 1 : 0);
    head(out, "stockd_redis_connects_total", "counter",
         "Successful connections to Redis (the first and every reconnect).");
    sample_u(out, "stockd_redis_connects_total", "", m->redis_connects);
    head(out, "stockd_redis_disconnects_total", "counter",
         "Connections to Redis lost or dropped (timeouts, errors, restarts).");
    sample_u(out, "stockd_redis_disconnects_total", "", m->redis_disconnects);
    head(out, "stockd_redis_out_of_memory", "gauge",
         "1 when Redis refused a call for lack of memory in the last 10 s, else 0.");
    sample_u(out, "stockd_redis_out_of_memory", "", metrics_redis_full(m) ? 1 : 0);
    head(out, "stockd_redis_oom_total", "counter",
         "Calls Redis refused for lack of memory (answered 2004 storage_full).");
    sample_u(out, "stockd_redis_oom_total", "", m->redis_oom_total);
    head(out, "stockd_redis_batches_total", "counter",
         "Coalesced script calls sent to Redis (each carries one or more requests).");
    sample_u(out, "stockd_redis_batches_total", "", m->redis_batches);
    head(out, "stockd_redis_batched_calls_total", "counter",
         "Requests sent inside coalesced script calls.");
    sample_u(out, "stockd_redis_batched_calls_total", "", m->redis_batched_calls);
    head(out, "stockd_internal_errors_total", "counter",
         "Requests answered -32603 internal, by cause (each one is a bug: see the log).");
    for (int k = 0; k < INTERNAL_KINDS; k++) {
        snprintf(labels, sizeof labels, "{kind=\"%s\"}", internal_labels[k]);
        sample_u(out, "stockd_internal_errors_total", labels, m->internal_errors[k]);
    }
    head(out, "stockd_sweeper_expired_total", "counter",
         "Held reservations this process released at their deadline.");
    sample_u(out, "stockd_sweeper_expired_total", "", m->sweeper_expired);
    head(out, "stockd_sweeper_quarantined_total", "counter",
         "Due reservations whose record could not be read, moved to the quarantine hash.");
    sample_u(out, "stockd_sweeper_quarantined_total", "", m->sweeper_quarantined);
    head(out, "stockd_out_of_stock_total", "counter", "Reserves refused for lack of stock.");
    sample_u(out, "stockd_out_of_stock_total", "", m->out_of_stock);
    head(out, "stockd_compensations_total", "counter",
         "Releases that gave units back, by the state released from.");
    sample_u(out, "stockd_compensations_total", "{from=\"held\"}",
             m->compensations[RELEASED_FROM_HELD]);
    sample_u(out, "stockd_compensations_total", "{from=\"committed\"}",
             m->compensations[RELEASED_FROM_COMMITTED]);
    head(out, "stockd_auth_failures_total", "counter", "auth calls with a wrong token.");
    sample_u(out, "stockd_auth_failures_total", "", m->auth_failures);
    head(out, "stockd_build_info", "gauge", "The running build (always 1).");
    snprintf(labels, sizeof labels, "{version=\"%s\"}", version);
    sample_u(out, "stockd_build_info", labels, 1);
    head(out, "process_start_time_seconds", "gauge", "Start time of the process (Unix seconds).");
    sample_d(out, "process_start_time_seconds", "", m->start_time);
    if (rss_bytes >= 0) {
        head(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        sample_u(out, "process_resident_memory_bytes", "", (uint64_t)rss_bytes);
    }
}
