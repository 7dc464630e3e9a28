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
 * request 400 (responder.h); every response closes its connection. */
#ifndef STOCKD_EXPORT_HTTP_H
#define STOCKD_EXPORT_HTTP_H

#include <uv.h>

#include "responder.h"
#include "stats.h"

#define EXPORT_STALL_MS 120000

/* Binds host:port and listens with these routes. Returns NULL with the
 * reason logged. stats is borrowed and must outlive it. responder_port and
 * responder_stop (responder.h) do the rest. */
struct responder *export_http_start(uv_loop_t *loop, const char *host, int port,
                                    struct export_stats *stats);

#endif
