/* The status page's numbers (see ui_stats.h). */
#include "ui_stats.h"

#include <stdio.h>
#include <string.h>

#include "jsonstr.h"
#include "methods.h"

void ui_stats_init(struct ui_stats *s)
{
    memset(s, 0, sizeof *s);
    s->head = UI_STATS_SAMPLES - 1;
}

/* Latency counts of one method added to a sample's, the overflow last. */
static void add_latency(uint64_t to[METRICS_BUCKETS + 1], const struct metrics *m, int meth)
{
    uint64_t in_buckets = 0;
    for (int b = 0; b < METRICS_BUCKETS; b++) {
        to[b] += m->latency_buckets[meth][b];
        in_buckets += m->latency_buckets[meth][b];
    }
    to[METRICS_BUCKETS] += m->latency_count[meth] - in_buckets;
}

void ui_stats_sample(struct ui_stats *s, const struct metrics *m, uint64_t now_ns)
{
    s->head = (s->head + 1) % UI_STATS_SAMPLES;
    if (s->n < UI_STATS_SAMPLES)
        s->n++;
    struct ui_sample *x = &s->ring[s->head];
    memset(x, 0, sizeof *x);
    x->at_ns = now_ns;
    for (int meth = 0; meth < METRICS_METHODS; meth++) {
        for (int e = 0; e < E_COUNT; e++) {
            x->by_method[meth] += m->requests[meth][e];
            x->by_error[e] += m->requests[meth][e];
        }
        add_latency(x->all, m, meth);
    }
    for (int e = 0; e < E_COUNT; e++)
        x->reserves += m->requests[METHOD_RESERVE][e];
    x->reserves_held = m->requests[METHOD_RESERVE][E_NONE];
    add_latency(x->reserve, m, METHOD_RESERVE);
    x->expired = m->sweeper_expired;
}

double ui_stats_quantile(const uint64_t counts[METRICS_BUCKETS + 1], double q)
{
    uint64_t total = 0;
    for (int b = 0; b <= METRICS_BUCKETS; b++)
        total += counts[b];
    if (total == 0)
        return -1;
    double rank = q * (double)total, below = 0;
    for (int b = 0; b < METRICS_BUCKETS; b++) {
        if (counts[b] > 0 && below + (double)counts[b] >= rank) {
            double lo = b == 0 ? 0 : metrics_bucket_bound(b - 1), hi = metrics_bucket_bound(b);
            return lo + (hi - lo) * (rank - below) / (double)counts[b];
        }
        below += (double)counts[b];
    }
    return metrics_bucket_bound(METRICS_BUCKETS - 1); /* above the last bound: as Prometheus */
}

/* --- the overview's JSON ------------------------------------------------- */

/* The two samples a span's differences are taken between: the latest and
 * the one span seconds (samples) before it, or the oldest kept. */
struct span {
    const struct ui_sample *now, *then;
    double seconds; /* between them; 0: fewer than two samples */
};

static struct span span_of(const struct ui_stats *st, int seconds)
{
    struct span sp = {&st->ring[st->head], &st->ring[st->head], 0};
    int back = st->n - 1 < seconds ? st->n - 1 : seconds;
    if (back > 0) {
        sp.then = &st->ring[(st->head - back + UI_STATS_SAMPLES) % UI_STATS_SAMPLES];
        sp.seconds = (double)(sp.now->at_ns - sp.then->at_ns) / 1e9;
    }
    return sp;
}

static double per_s(const struct span *sp, uint64_t now, uint64_t then)
{
    return sp->seconds > 0 && now >= then ? (double)(now - then) / sp->seconds : 0;
}

static void num(struct buf *out, double v)
{
    char text[64];
    int n = snprintf(text, sizeof text, "%.3f", v);
    while (n > 1 && text[n - 1] == '0')
        n--; /* 12.500 -> 12.5, 3.000 -> 3 */
    if (n > 1 && text[n - 1] == '.')
        n--;
    buf_append(out, text, (size_t)n);
}

static void key_num(struct buf *out, const char *key, double v)
{
    buf_appends(out, key);
    num(out, v);
}

static void key_int(struct buf *out, const char *key, long long v)
{
    buf_appends(out, key);
    buf_append_int(out, v);
}

static void key_str(struct buf *out, const char *key, const char *v)
{
    buf_appends(out, key);
    json_write_string(out, v, strlen(v));
}

static void key_ms(struct buf *out, const char *key, double seconds)
{
    buf_appends(out, key);
    if (seconds < 0)
        buf_appends(out, "null");
    else
        num(out, seconds * 1000);
}

/* {"count","p50_ms","p90_ms","p99_ms"} of the latencies between then and now. */
static void latency(struct buf *out, const uint64_t now[METRICS_BUCKETS + 1],
                    const uint64_t then[METRICS_BUCKETS + 1])
{
    uint64_t d[METRICS_BUCKETS + 1], count = 0;
    for (int b = 0; b <= METRICS_BUCKETS; b++) {
        d[b] = now[b] >= then[b] ? now[b] - then[b] : 0;
        count += d[b];
    }
    key_int(out, "{\"count\":", (long long)count);
    key_ms(out, ",\"p50_ms\":", ui_stats_quantile(d, 0.50));
    key_ms(out, ",\"p90_ms\":", ui_stats_quantile(d, 0.90));
    key_ms(out, ",\"p99_ms\":", ui_stats_quantile(d, 0.99));
    buf_appendc(out, '}');
}

static void rates(struct buf *out, const struct span *sp)
{
    uint64_t req_now = 0, req_then = 0;
    for (int meth = 0; meth < METRICS_METHODS; meth++) {
        req_now += sp->now->by_method[meth];
        req_then += sp->then->by_method[meth];
    }
    uint64_t ok_now = sp->now->by_error[E_NONE], ok_then = sp->then->by_error[E_NONE];
    key_num(out, ",\"window_s\":", sp->seconds);
    key_num(out, ",\"rates\":{\"requests\":", per_s(sp, req_now, req_then));
    key_num(out, ",\"reserves\":", per_s(sp, sp->now->reserves, sp->then->reserves));
    key_num(out, ",\"reserves_held\":", per_s(sp, sp->now->reserves_held, sp->then->reserves_held));
    key_num(out, ",\"errors\":", per_s(sp, req_now - ok_now, req_then - ok_then));
    buf_appendc(out, '}');
}

static void errors(struct buf *out, const struct metrics *m, const struct span *sp)
{
    buf_appends(out, ",\"errors\":[");
    bool first = true;
    for (int e = E_NONE + 1; e < E_COUNT; e++) {
        uint64_t total = 0;
        for (int meth = 0; meth < METRICS_METHODS; meth++)
            total += m->requests[meth][e];
        if (total == 0)
            continue;
        buf_appends(out, first ? "{" : ",{");
        first = false;
        key_int(out, "\"code\":", error_code((enum error_id)e));
        key_str(out, ",\"reason\":", error_reason((enum error_id)e));
        key_num(out, ",\"per_s\":", per_s(sp, sp->now->by_error[e], sp->then->by_error[e]));
        key_int(out, ",\"total\":", (long long)total);
        buf_appendc(out, '}');
    }
    buf_appendc(out, ']');
}

static void methods(struct buf *out, const struct metrics *m, const struct span *sp)
{
    buf_appends(out, ",\"methods\":[");
    bool first = true;
    for (int meth = 0; meth < METRICS_METHODS; meth++) {
        uint64_t total = 0;
        for (int e = 0; e < E_COUNT; e++)
            total += m->requests[meth][e];
        if (total == 0)
            continue;
        buf_appends(out, first ? "{" : ",{");
        first = false;
        key_str(out, "\"method\":", method_name((enum method_id)meth));
        key_int(out, ",\"total\":", (long long)total);
        key_num(out, ",\"per_s\":", per_s(sp, sp->now->by_method[meth], sp->then->by_method[meth]));
        key_int(out, ",\"errors\":", (long long)(total - m->requests[meth][E_NONE]));
        buf_appendc(out, '}');
    }
    buf_appendc(out, ']');
}

static void redis(struct buf *out, const struct metrics *m)
{
    buf_appends(out, ",\"redis\":{\"up\":");
    buf_appends(out, m->redis_up ? "true" : "false");
    key_str(out, ",\"mode\":",
            m->redis_cluster    ? "cluster"
            : m->redis_sentinel ? "sentinel"
                                : "single");
    key_str(out, ",\"master\":", m->redis_master);
    key_int(out, ",\"failovers\":", (long long)m->redis_failovers);
    key_int(out, ",\"connects\":", (long long)m->redis_connects);
    key_int(out, ",\"disconnects\":", (long long)m->redis_disconnects);
    buf_appends(out, ",\"out_of_memory\":");
    buf_appends(out, metrics_redis_full(m) ? "true" : "false");
    key_int(out, ",\"durability\":{\"required\":", m->replication_required);
    key_int(out, ",\"failures\":", (long long)m->replication_failures);
    buf_appends(out, "},\"cluster\":");
    if (m->redis_cluster) {
        key_int(out, "{\"masters\":", m->cluster_masters);
        key_int(out, ",\"masters_up\":", m->cluster_masters_up);
        key_int(out, ",\"slots\":", m->cluster_slots);
        buf_appendc(out, '}');
    } else {
        buf_appends(out, "null");
    }
    buf_appendc(out, '}');
}

static void sweeper(struct buf *out, const struct metrics *m, const struct span *sp, double now_s)
{
    key_int(out, ",\"sweeper\":{\"expired_total\":", (long long)m->sweeper_expired);
    key_num(out, ",\"expired_per_s\":", per_s(sp, sp->now->expired, sp->then->expired));
    key_int(out, ",\"quarantined_total\":", (long long)m->sweeper_quarantined);
    key_int(out, ",\"runs\":{\"done\":", (long long)m->sweeper_runs[SWEEP_DONE]);
    key_int(out, ",\"cut\":", (long long)m->sweeper_runs[SWEEP_CUT]);
    key_int(out, ",\"failed\":", (long long)m->sweeper_runs[SWEEP_FAILED]);
    buf_appends(out, "},\"last_done_age_s\":");
    if (m->sweeper_last_done > 0)
        num(out, now_s > m->sweeper_last_done ? now_s - m->sweeper_last_done : 0);
    else
        buf_appends(out, "null");
    buf_appendc(out, '}');
}

static void webhooks(struct buf *out, const struct metrics *m)
{
    buf_appends(out, ",\"webhooks\":[");
    for (int i = 0; i < m->n_webhooks && i < METRICS_WEBHOOKS; i++) {
        const struct metrics_webhook *w = &m->webhooks[i];
        key_int(out, i == 0 ? "{\"index\":" : ",{\"index\":", i);
        key_str(out, ",\"group\":", w->group);
        key_int(out, ",\"delivered\":", (long long)w->delivered);
        key_int(out, ",\"undelivered\":", (long long)w->undelivered);
        key_num(out, ",\"oldest_age_s\":", w->oldest_age_s);
        key_int(out, ",\"failing\":", (long long)w->failing);
        buf_appendc(out, '}');
    }
    buf_appendc(out, ']');
}

void ui_stats_overview(const struct ui_stats *s, const struct metrics *m,
                       const struct ui_overview_env *env, struct buf *out)
{
    struct span rate = span_of(s, UI_STATS_RATE_S), lat = span_of(s, UI_STATS_LATENCY_S);
    key_str(out, "{\"version\":", env->version);
    key_int(out, ",\"now\":", (long long)(env->now_s * 1000));
    key_num(out, ",\"uptime_s\":", env->now_s > m->start_time ? env->now_s - m->start_time : 0);
    buf_appends(out, ",\"ready\":{\"ok\":");
    buf_appends(out, env->ready ? "true" : "false");
    key_str(out, ",\"text\":", env->ready_text);
    key_str(out, "},\"auth\":", env->auth);
    rates(out, &rate);
    errors(out, m, &rate);
    key_num(out, ",\"latency\":{\"window_s\":", lat.seconds);
    buf_appends(out, ",\"all\":");
    latency(out, lat.now->all, lat.then->all);
    buf_appends(out, ",\"reserve\":");
    latency(out, lat.now->reserve, lat.then->reserve);
    buf_appendc(out, '}');
    methods(out, m, &rate);
    key_int(out, ",\"connections\":", m->connections);
    key_int(out, ",\"inflight\":", m->inflight);
    key_int(out, ",\"rss_bytes\":", env->rss_bytes);
    redis(out, m);
    sweeper(out, m, &rate, env->now_s);
    webhooks(out, m);
    buf_appendc(out, '}');
}
