/* stockd-export's health and metrics over HTTP, on the main thread's libuv
 * loop (the export runs on its own thread, so these answer however long
 * Redis or PostgreSQL make it wait). GET only:
 *   /healthz  200 "ok" while the export loop turns (every call it makes is
 *             bounded, the longest a PostgreSQL statement at 90 s, so it
 *             turns whatever Redis and PostgreSQL do); 503 when it has not
 *             turned for EXPORT_STALL_MS (a bug: restart it)
 *   /readyz   200 "ready" while Redis and PostgreSQL are connected and the
 *             group is there; else 503 with what is missing, one per line
 *   /metrics  the Prometheus text exposition (stats.h)
 * Anything else is 404 (405 for other methods), a malformed or overlong
 * request 400; every response closes its connection. */
#ifndef STOCKD_EXPORT_HTTP_H
#define STOCKD_EXPORT_HTTP_H

#include <uv.h>

#include "stats.h"

#define EXPORT_STALL_MS 120000

struct export_http;

/* Binds host:port and listens. Returns NULL with the reason logged. stats
 * is borrowed and must outlive it. */
struct export_http *export_http_start(uv_loop_t *loop, const char *host, int port,
                                      struct export_stats *stats);
int export_http_port(const struct export_http *h);
/* Closes the listener and every open connection, then done(data). */
void export_http_stop(struct export_http *h, void (*done)(void *), void *data);

#endif
