/* The status page, on the --http listener beside /healthz, /readyz and
 * /metrics (docs/status-page.md):
 *
 *   GET /ui, /ui/, /ui/ui.css, /ui/ui.js   the page (src/ui/, embedded at
 *                                           build time: tools/embed_ui.cmake)
 *   GET /ui/api/overview                   rates, latency, Redis, sweeper:
 *                                           open, like /metrics (ui_stats.h)
 *   GET /ui/api/{auth,stock,reservation,   stock and reservation data: need
 *       ledger,holds,low-stock}            the bearer token (ui_api.h)
 *
 * The page's answers carry a Content-Security-Policy that allows only its
 * own script and style, so that nothing a client stored can run in it; the
 * page puts every value in with textContent. */
#ifndef STOCKD_UI_H
#define STOCKD_UI_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "responder.h"

/* An embedded file of src/ui/ (generated: tools/embed_ui.cmake). */
struct ui_asset {
    const char *name; /* "index.html", "ui.css", "ui.js" */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
};
/* Ends with an entry whose name is NULL. */
extern const struct ui_asset ui_assets[];

/* What /readyz would answer now (http.c): the overview shows it. */
struct ui_readiness {
    bool ready;
    const char *text; /* "ready", "redis down", ... */
};

struct ui;
struct request_pool;

/* Starts the page's once-a-second sample of the metrics. The config,
 * metrics and request pool are borrowed and must outlive it; tenants says
 * whether --tenants-file is in use. */
struct ui *ui_new(uv_loop_t *loop, const struct config *cfg, struct metrics *m,
                  struct request_pool *pool, bool tenants);
/* Answers a GET under /ui (now, or later for data from Redis). Returns
 * false for any other path. */
bool ui_route(struct ui *ui, struct responder_conn *c, const struct responder_get *get,
              const struct ui_readiness *ready);
/* From now on data requests are answered 503: stockd is shutting down and
 * its store may be gone before they would finish. */
void ui_set_draining(struct ui *ui);
/* Stops the sampling and frees ui once its timer is closed. Data requests
 * still at Redis finish without it. */
void ui_close(struct ui *ui);

#endif
