/* The link to Redis: getting a connection that is ready for scripts, and
 * getting another when it breaks. A round resolves the name (on libuv's
 * thread pool: hiredis would block), then tries every address it resolves
 * to, in order, each within --request-timeout-ms for connect and handshake
 * (AUTH, SELECT, the eviction policy check, SCRIPT LOAD of every script).
 * The first address that completes the handshake is up. A round in which
 * every address failed is followed by a capped, jittered backoff; a link
 * that was up and broke starts a new round at once.
 *
 *   DOWN --backoff--> CONNECTING --handshake done--> UP
 *     ^                   |                           |
 *     +--every address----+            broke: a new round at once
 *        failed                                       |
 *                         CONNECTING <----------------+
 *
 * The link knows nothing of calls: it tells its owner (the store) when it
 * is up, when an up link broke, and when a round failed. */
#ifndef STOCKD_LINK_H
#define STOCKD_LINK_H

#include <hiredis/async.h>
#include <uv.h>

#include "config.h"
#include "metrics.h"

enum link_state {
    LINK_DOWN,       /* the last round failed; the next waits for its backoff */
    LINK_CONNECTING, /* a round is in progress */
    LINK_UP,         /* handshaken: scripts may be called */
    LINK_CLOSING,
};

/* What the owner hears; each runs on the loop, never inside a link_ call
 * other than link_drop. */
struct link_events {
    void (*up)(void *data, redisAsyncContext *ac); /* ac is the link's, valid until lost */
    void (*lost)(void *data);   /* the up connection broke; a new round has begun */
    void (*failed)(void *data); /* a round failed at every address */
};

struct link;

/* The config, metrics and events must outlive the link; so must name, how
 * the log calls this connection ("redis", "redis/reads", ...). */
struct link *link_new(uv_loop_t *loop, const struct config *cfg, struct metrics *m,
                      const char *name, const struct link_events *ev, void *data);
void link_start(struct link *l);
enum link_state link_state(const struct link *l);
/* Drops the connection (Redis is stuck): hiredis ends every pending
 * callback with a NULL reply, then the link begins a new round. */
void link_drop(struct link *l, const char *why);
/* Drops the connection and closes the link's handles; then done(data) and
 * the link is freed. */
void link_close(struct link *l, void (*done)(void *), void *data);

#endif
