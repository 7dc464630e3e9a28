/* One client connection: it frames its bytes into lines, starts a request
 * per line, and writes the answers back strictly in the order the lines
 * arrived. Owned by the server (server.c), which holds the set of them. */
#ifndef STOCKD_CONN_H
#define STOCKD_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "config.h"
#include "framer.h"
#include "metrics.h"
#include "queue.h"
#include "request.h"

struct server;

struct conn {
    uv_tcp_t tcp; /* first: the handle's memory is the connection's */
    struct server *srv;
    const struct config *cfg;
    struct request_pool *pool;
    struct metrics *metrics;
    struct queue node;       /* in the server's set */
    struct queue dirty_node; /* in the server's dirty list while dirty */
    struct framer framer;
    struct queue requests;   /* read and not yet written, in arrival order */
    unsigned queued;         /* how many */
    struct buf out;     /* owned: finished responses not yet being written */
    struct buf writing; /* owned: the bytes of the write in flight */
    uv_write_t wreq;
    bool write_active;
    bool reading;
    bool draining; /* stop reading; close when all is answered and written */
    bool backlog;  /* framer.tail may hold whole lines, read while framing waited */
    struct request *barrier; /* a two-call request that later lines wait for */
    bool spent;    /* an oversized line: nothing after it is framed */
    bool closing;
    struct session session;
    uint64_t last_line_at;  /* uv_now() of the last complete line, or accept */
    uint64_t partial_since; /* uv_now() when the unfinished line began; 0: none */
};

/* Accepts a connection from the listener. Returns NULL when accept failed. */
struct conn *conn_accept(struct server *srv, uv_stream_t *listener, const struct config *cfg,
                         struct request_pool *pool, struct metrics *m);
/* Moves the answered prefix of the queue to the output, writes, and decides
 * whether to read on or to close. */
void conn_flush(struct conn *c);
/* Applies the idle and partial-line timeouts at time now. */
void conn_reap(struct conn *c, uint64_t now);
/* Stops reading; the connection closes once everything read is answered and
 * written. */
void conn_drain(struct conn *c);
/* The one, idempotent, close path. Requests still at Redis are orphaned and
 * go back to the pool when they finish. */
void conn_close(struct conn *c);

#endif
