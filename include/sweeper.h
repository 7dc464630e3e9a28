/* The sweeper: releases held reservations whose deadline has passed. Every
 * replica runs one on a timer; the expire script makes a second release of
 * the same hold a no-op, so replicas never double-release. A reserve that
 * finds too little stock while holds are due asks for a sweep now
 * (sweeper_kick) before it answers. A sweep is a loop of batches: the due
 * ids (expire_due), then their release through transition.c (plan, then
 * expire). Free of libuv in this header, for the request layer's tests. */
#ifndef STOCKD_SWEEPER_H
#define STOCKD_SWEEPER_H

#include "config.h"
#include "contract.h"
#include "metrics.h"
#include "queue.h"

/* lua/expire_due.lua */
#define EXPIRE_DUE_KEYS(X) X(EXPIRE_DUE_K_EXPIRY)
#define EXPIRE_DUE_ARGV(X) X(EXPIRE_DUE_A_LIMIT)
#define EXPIRE_DUE_STATUS(X) X(EXPIRE_DUE_ST_OK)

enum { EXPIRE_DUE_KEYS(CONTRACT_ENUM) EXPIRE_DUE_K_FIXED };
enum { EXPIRE_DUE_ARGV(CONTRACT_ENUM) EXPIRE_DUE_A_FIXED };
enum { EXPIRE_DUE_STATUS(CONTRACT_ENUM) EXPIRE_DUE_STATUSES };

/* Most reservations one expire call handles, and calls in one sweep. */
#define SWEEP_BATCH 100
#define SWEEP_MAX_BATCHES 20

/* A caller waiting for a sweep; embedded in the caller's own struct. */
struct sweep_waiter {
    struct queue node;
    void (*fn)(struct sweep_waiter *w);
};

struct sweeper;
struct store;
struct uv_loop_s;

/* The store, config and metrics are borrowed and must outlive the sweeper. */
struct sweeper *sweeper_new(struct uv_loop_s *loop, struct store *store, const struct config *cfg,
                            struct metrics *m);
/* Starts sweeping every sweep_interval_ms. */
void sweeper_start(struct sweeper *sw);
/* Runs w->fn(w) once a sweep that began after this call has ended (also
 * when it failed); waiters are served in the order they asked. w must stay
 * valid until then. */
void sweeper_kick(struct sweeper *sw, struct sweep_waiter *w);
/* Stops the timer; a sweep in flight ends through the store's close. Then
 * done(data) runs and the sweeper is freed. */
void sweeper_close(struct sweeper *sw, void (*done)(void *), void *data);

#endif
