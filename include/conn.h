/* The client connections of the JSON-RPC listener, and what they share: one
 * read buffer and the flusher. A connection frames its bytes into lines,
 * starts a request per line, and writes the answers back strictly in the
 * order the lines arrived, bounding what a client may have outstanding by
 * back-pressure. The server (server.c) accepts them and decides when to
 * reap and when to drain; it never looks inside one. */
#ifndef STOCKD_CONN_H
#define STOCKD_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "request.h"

struct conns;

/* The set of one listener's connections. The config, request pool and
 * metrics are borrowed and must outlive it. */
struct conns *conns_new(uv_loop_t *loop, const struct config *cfg, struct request_pool *pool,
                        struct metrics *m);
/* Accepts one connection from listener; false when accept failed. */
bool conns_accept(struct conns *set, uv_stream_t *listener);
/* Applies the idle and partial-line timeouts at time now (the server's
 * reaper, a few times per timeout). */
void conns_reap(struct conns *set, uint64_t now);
/* The drain: every connection stops reading, answers what it has read,
 * flushes and closes; drained(data) runs once the last one has closed (at
 * once, from this call, when there is none). */
void conns_drain(struct conns *set, void (*drained)(void *), void *data);
/* Closes every connection now, answered or not (the drain's deadline).
 * Requests still at Redis go back to the pool when they finish. */
void conns_close_all(struct conns *set);
/* Closes the set's own handles and frees it; every connection must have
 * closed. Then done(data). */
void conns_free(struct conns *set, void (*done)(void *), void *data);

#endif
