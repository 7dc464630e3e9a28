/* The JSON-RPC listener and the set of its client connections (conn.c):
 * accepting (up to --max-connections), flushing every connection that has
 * answers once per loop iteration, closing idle and slow ones, and the
 * drain on shutdown. */
#ifndef STOCKD_SERVER_H
#define STOCKD_SERVER_H

#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "request.h"

struct server;
struct conn;

/* Binds and listens. Returns the server, or NULL with the reason logged. The
 * config, request pool and metrics are borrowed and must outlive it. */
struct server *server_start(uv_loop_t *loop, const struct config *cfg, struct request_pool *pool,
                            struct metrics *m);

/* The port actually bound (useful with port 0). */
int server_port(const struct server *srv);

/* Stops accepting; every connection stops reading, answers what it has read,
 * flushes and closes. Then done(data) runs and the server is freed. */
void server_stop(struct server *srv, void (*done)(void *), void *data);

/* For conn.c: c has answers to move to its output (flushed once per loop
 * iteration, after I/O and before the loop blocks). */
void server_mark_dirty(struct server *srv, struct conn *c);
/* For conn.c: the read buffer shared by all connections (libuv reads one
 * socket at a time); NULL when it is lent already. */
char *server_read_buf(struct server *srv, size_t *len);
void server_read_buf_back(struct server *srv, const char *base);
/* For conn.c: c started closing (it leaves the cap) / its handle closed. */
void server_conn_closing(struct server *srv, struct conn *c);
void server_conn_closed(struct server *srv);

#endif
