/* stockd's answers to /healthz, /readyz and /metrics (see http.h), served
 * by the responder it shares with stockd-export (responder.c), and the way
 * to the status page under /ui (ui.c). */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "responder.h"
#include "tenants.h"
#include "ui.h"

#define MAX_HTTP_CONNS 128

struct http_server {
    struct responder *responder; /* owned: stopped by http_stop */
    const struct config *cfg;
    struct metrics *metrics;
    const struct store *store;
    const struct tenants *tenants; /* NULL without tenants */
    struct ui *ui;                 /* owned: closed by http_stop */
    bool draining;
};

/* 200 ready, with the Redis master in use and the durability asked for,
 * and a warning line for each thing an operator should know that taking
 * this replica out of the Service would not mend: replicas not confirming
 * writes (every replica shares them, and reads still work), Redis full
 * (the same), webhook delivery failing or lagging (the receiver's trouble,
 * not the reservations'). */
static void answer_ready(struct responder_conn *c, const struct http_server *h)
{
    struct buf body;
    buf_init(&body);
    buf_appends(&body, "ready\n");
    metrics_redis_lines(h->metrics, &body);
    if (metrics_redis_full(h->metrics))
        buf_appends(&body, "warning: redis is out of memory (maxmemory reached): writes are "
                           "refused with 2004 storage_full\n");
    metrics_webhook_warnings(h->metrics, h->cfg->webhook_lag_warn_s, &body);
    responder_answer(c, 200, "OK", "text/plain; charset=utf-8", body.data, body.len);
    buf_free(&body);
}

static void answer_health(struct responder_conn *c, void *data)
{
    (void)data;
    responder_answer_text(c, 200, "OK", "ok\n");
}

/* What /readyz answers, but for a ready process's details: not ready
 * while draining or without Redis. */
static struct ui_readiness readiness(const struct http_server *h)
{
    enum store_health health = store_health(h->store);
    if (h->draining)
        return (struct ui_readiness){false, "draining"};
    if (health == STORE_CONNECTING)
        return (struct ui_readiness){false, "redis connecting"};
    if (health == STORE_DOWN)
        return (struct ui_readiness){false, "redis down"};
    return (struct ui_readiness){true, "ready"};
}

static void answer_readiness(struct responder_conn *c, void *data)
{
    struct http_server *h = data;
    struct ui_readiness r = readiness(h);
    if (r.ready) {
        answer_ready(c, h);
    } else {
        char text[32];
        snprintf(text, sizeof text, "%s\n", r.text);
        responder_answer_text(c, 503, "Service Unavailable", text);
    }
}

static bool answer_other(struct responder_conn *c, const struct responder_get *get, void *data)
{
    struct http_server *h = data;
    struct ui_readiness r = readiness(h);
    return ui_route(h->ui, c, get, &r);
}

static void render_metrics(struct buf *out, long long rss_bytes, void *data)
{
    struct http_server *h = data;
    if (h->tenants != NULL)
        tenants_render(h->tenants, out);
    metrics_render(h->metrics, out, STOCKD_VERSION, rss_bytes);
}

static const struct responder_routes routes = {answer_health, answer_readiness, render_metrics,
                                               answer_other};

struct http_server *http_start(uv_loop_t *loop, const struct config *cfg, struct metrics *m,
                               const struct store *store, const struct tenants *tenants,
                               struct request_pool *pool)
{
    struct http_server *h = xcalloc(1, sizeof *h);
    h->tenants = tenants;
    h->cfg = cfg;
    h->metrics = m;
    h->store = store;
    h->responder =
        responder_start(loop, "--http", cfg->http_host, cfg->http_port, MAX_HTTP_CONNS, &routes, h);
    if (h->responder == NULL) {
        free(h);
        return NULL;
    }
    h->ui = ui_new(loop, cfg, m, pool, tenants != NULL);
    return h;
}

int http_port(const struct http_server *h)
{
    return responder_port(h->responder);
}

void http_set_draining(struct http_server *h)
{
    h->draining = true;
    ui_set_draining(h->ui);
}

void http_stop(struct http_server *h, void (*done)(void *), void *data)
{
    responder_stop(h->responder, done, data);
    ui_close(h->ui);
    free(h); /* no route runs any more */
}
