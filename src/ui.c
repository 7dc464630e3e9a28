/* The status page (see ui.h): its files, its overview, and the way to its
 * data endpoints (ui_api.c). */
#include "ui.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "request.h"
#include "ui_api.h"
#include "ui_stats.h"

/* The page may run its own script and style and talk to its own origin;
 * nothing else, so that a value a client stored cannot run in it. */
#define UI_PAGE_HEADERS                                                                            \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "           \
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "              \
    "frame-ancestors 'none'\r\n"                                                                   \
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"                          \
    "Cache-Control: no-cache\r\n"

#define UI_SAMPLE_MS 1000

struct ui {
    uv_timer_t timer;
    const struct config *cfg;
    struct metrics *metrics;
    struct request_pool *pool;
    const char *auth; /* "token", "tenants" or "none" */
    bool draining;
    struct ui_stats stats;
};

static void on_sample(uv_timer_t *t)
{
    struct ui *ui = t->data;
    ui_stats_sample(&ui->stats, ui->metrics, metrics_now_ns());
}

struct ui *ui_new(uv_loop_t *loop, const struct config *cfg, struct metrics *m,
                  struct request_pool *pool, bool tenants)
{
    struct ui *ui = xcalloc(1, sizeof *ui);
    ui->cfg = cfg;
    ui->metrics = m;
    ui->pool = pool;
    ui->auth = tenants ? "tenants" : request_auth_required(pool) ? "token" : "none";
    ui_stats_init(&ui->stats);
    ui_stats_sample(&ui->stats, m, metrics_now_ns());
    uv_timer_init(loop, &ui->timer);
    ui->timer.data = ui;
    uv_timer_start(&ui->timer, on_sample, UI_SAMPLE_MS, UI_SAMPLE_MS);
    uv_unref((uv_handle_t *)&ui->timer); /* the page never keeps the loop alive */
    return ui;
}

void ui_set_draining(struct ui *ui)
{
    ui->draining = true;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void ui_close(struct ui *ui)
{
    uv_close((uv_handle_t *)&ui->timer, on_closed);
}

static void answer_asset(struct responder_conn *c, const char *name)
{
    for (const struct ui_asset *a = ui_assets; a->name != NULL; a++)
        if (strcmp(a->name, name) == 0) {
            responder_answer_headers(c, 200, "OK", a->type, UI_PAGE_HEADERS, (const char *)a->data,
                                     a->len);
            return;
        }
    responder_answer_text(c, 404, "Not Found", "Not found.\n");
}

static void answer_overview(struct ui *ui, struct responder_conn *c,
                            const struct ui_readiness *ready)
{
    size_t rss;
    struct ui_overview_env env = {
        .version = STOCKD_VERSION,
        .now_s = metrics_unix_now(),
        .ready = ready->ready,
        .ready_text = ready->text,
        .auth = ui->auth,
        .rss_bytes = uv_resident_set_memory(&rss) == 0 ? (long long)rss : -1,
    };
    struct buf body;
    buf_init(&body);
    buf_appends(&body, "{\"result\":");
    ui_stats_overview(&ui->stats, ui->metrics, &env, &body);
    buf_appendc(&body, '}');
    responder_answer_headers(c, 200, "OK", UI_API_TYPE, UI_API_HEADERS, body.data, body.len);
    buf_free(&body);
}

bool ui_route(struct ui *ui, struct responder_conn *c, const struct responder_get *get,
              const struct ui_readiness *ready)
{
    const char *p = get->path;
    if (strcmp(p, "/ui") == 0 || strcmp(p, "/ui/") == 0) {
        answer_asset(c, "index.html");
    } else if (strncmp(p, "/ui/api/", 8) == 0) {
        const char *name = p + 8;
        if (strcmp(name, "overview") == 0)
            answer_overview(ui, c, ready);
        else if (ui->draining)
            ui_api_error(c, 503, E_UNAVAILABLE, "stockd is shutting down.");
        else if (!ui_api_answer(ui->pool, c, name, get))
            ui_api_error(c, 404, E_METHOD_NOT_FOUND,
                         "No such endpoint. Try overview, auth, stock, reservation, ledger, "
                         "holds or low-stock.");
    } else if (strncmp(p, "/ui/", 4) == 0 && strchr(p + 4, '/') == NULL) {
        answer_asset(c, p + 4);
    } else {
        return false;
    }
    return true;
}
