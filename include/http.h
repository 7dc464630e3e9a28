/* Health, readiness and metrics over HTTP on --http: a small GET-only
 * responder on the same event loop. GET /healthz answers 200 while the
 * process runs (it never asks Redis); GET /readyz answers 200 when Redis is
 * connected and the scripts are loaded and the process is not draining, 503
 * otherwise, with a body that says why (draining, redis connecting, redis
 * down); while Redis refuses writes for lack of memory, or webhook
 * delivery is failing or lagging, it stays 200 and says so in a
 * "warning:" line. GET /metrics answers the Prometheus text exposition
 * (with tenants, stockd_tenant_requests_total first). GET /ui and below:
 * the status page (ui.h).
 * Anything else is 404 (405 for other methods); a malformed or overlong
 * request is 400. Every response closes its connection. */
#ifndef STOCKD_HTTP_H
#define STOCKD_HTTP_H

#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "store.h"

struct http_server;

/* Binds --http and listens. Returns NULL with the reason logged. The
 * config, metrics, store, tenants (NULL: none) and the request pool the
 * status page's data requests run in are borrowed and must outlive it. */
struct tenants;
struct request_pool;
struct http_server *http_start(uv_loop_t *loop, const struct config *cfg, struct metrics *m,
                               const struct store *store, const struct tenants *tenants,
                               struct request_pool *pool);
int http_port(const struct http_server *h);
/* From now on /readyz answers 503: the process is shutting down. */
void http_set_draining(struct http_server *h);
/* Closes the listener and every open connection, then done(data). */
void http_stop(struct http_server *h, void (*done)(void *), void *data);

#endif
