/* stockd-export's answers to /healthz, /readyz and /metrics (see http.h),
 * served by the responder it shares with stockd (responder.c). */
#include "http.h"

#include <string.h>

#include "buf.h"

#define MAX_HTTP_CONNS 64

/* 200 "ok" while the export loop turns. */
static void answer_health(struct responder_conn *c, void *data)
{
    struct export_counters s = export_stats_read(data);
    if (export_mono_ms() - s.heartbeat_ms > EXPORT_STALL_MS)
        responder_answer_text(c, 503, "Service Unavailable", "export loop stalled\n");
    else
        responder_answer_text(c, 200, "OK", "ok\n");
}

/* 200 "ready", or 503 with what is missing, one per line. */
static void answer_readiness(struct responder_conn *c, void *data)
{
    struct export_counters s = export_stats_read(data);
    char body[256] = "";
    if (!s.redis_up)
        strcat(body, "redis down\n");
    if (!s.postgresql_up)
        strcat(body, "postgresql down\n");
    if (s.redis_up && !s.group_ready)
        strcat(body, "consumer group not ready\n");
    if (body[0])
        responder_answer_text(c, 503, "Service Unavailable", body);
    else
        responder_answer_text(c, 200, "OK", "ready\n");
}

static void render_metrics(struct buf *out, long long rss_bytes, void *data)
{
    struct export_stats *stats = data;
    struct export_counters s = export_stats_read(stats);
    export_stats_render(&s, stats->started_unix_ms, rss_bytes, out);
}

static const struct responder_routes routes = {answer_health, answer_readiness, render_metrics,
                                               NULL};

struct responder *export_http_start(uv_loop_t *loop, const char *host, int port,
                                    struct export_stats *stats)
{
    return responder_start(loop, "--http", host, port, MAX_HTTP_CONNS, &routes, stats);
}
