/* The JSON-RPC listener: accepting client connections (up to
 * --max-connections) into the connection set (conn.c), reaping idle and
 * slow ones on a timer, and the drain on shutdown. */
#ifndef STOCKD_SERVER_H
#define STOCKD_SERVER_H

#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "request.h"

struct server;

/* Binds and listens. Returns the server, or NULL with the reason logged. The
 * config, request pool and metrics are borrowed and must outlive it. */
struct server *server_start(uv_loop_t *loop, const struct config *cfg, struct request_pool *pool,
                            struct metrics *m);

/* The port actually bound (useful with port 0). */
int server_port(const struct server *srv);

/* Stops accepting; every connection stops reading, answers what it has read,
 * flushes and closes. Then done(data) runs and the server is freed. */
void server_stop(struct server *srv, void (*done)(void *), void *data);

#endif
