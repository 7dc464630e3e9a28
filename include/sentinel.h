/* The sentinels of a redis+sentinel:// URL: which node is the master now,
 * and word of a failover as soon as Sentinel announces it. The link (link.c)
 * asks before every connection round and moves when told.
 *
 * Asking runs on libuv's thread pool with hiredis's blocking client and a
 * timeout per sentinel: a sentinel's name may need DNS (a Kubernetes
 * Service), and a silent sentinel must not stall the loop. The watch is an
 * async subscription to +switch-master on the sentinel that answered last,
 * made again (after a fresh ask) whenever it breaks. */
#ifndef STOCKD_SENTINEL_H
#define STOCKD_SENTINEL_H

#include <uv.h>

#include "config.h"

/* What the owner hears; each runs on the loop, never inside a sentinel_
 * call. The strings are valid during the call only. */
struct sentinel_events {
    /* The answer to sentinel_ask: the master's host and port, or host NULL
     * when no sentinel named one (each sentinel's reason is logged). */
    void (*master)(void *data, const char *host, int port);
    /* A sentinel announced that the master moved to host:port. */
    void (*switched)(void *data, const char *host, int port);
};

struct sentinel;

/* cfg->redis must be a REDIS_SENTINEL URL. The config, name (the log's
 * name of the connection it serves) and events must outlive the sentinel.
 * Nothing happens until the first sentinel_ask. */
struct sentinel *sentinel_new(uv_loop_t *loop, const struct config *cfg, const char *name,
                              const struct sentinel_events *ev, void *data);
/* Asks the sentinels in turn, the one that answered last first, for the
 * master's address. ev->master runs once per ask, later; one ask at a
 * time. The first answer also starts the watch. */
void sentinel_ask(struct sentinel *s);
/* The address of the sentinel that answered last ("" before any). */
const char *sentinel_where(const struct sentinel *s);
/* Ends the watch and waits for an ask in progress (each sentinel has a
 * timeout); then done(data) and the sentinel is freed. No event after. */
void sentinel_close(struct sentinel *s, void (*done)(void *), void *data);

#endif
