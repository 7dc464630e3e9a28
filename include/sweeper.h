/* The sweeper: releases held reservations whose deadline has passed. Every
 * replica runs one on a timer; the expire script makes a second release of
 * the same hold a no-op, so replicas never double-release. A reserve that
 * finds too little stock while holds are due asks for a sweep now
 * (sweeper_kick) before it answers. */
#ifndef STOCKD_SWEEPER_H
#define STOCKD_SWEEPER_H

#include <uv.h>

#include "config.h"
#include "store.h"

/* Most reservations one expire call handles, and calls in one sweep. */
#define SWEEP_BATCH 100
#define SWEEP_MAX_BATCHES 20

/* A caller waiting for a sweep; embedded in the caller's own struct. */
struct sweep_waiter {
    struct sweep_waiter *next;
    void (*fn)(struct sweep_waiter *w);
};

struct sweeper;

/* The store, config and metrics are borrowed and must outlive the sweeper. */
struct sweeper *sweeper_new(uv_loop_t *loop, struct store *store, const struct config *cfg,
                            struct metrics *m);
/* Starts sweeping every sweep_interval_ms. */
void sweeper_start(struct sweeper *sw);
/* Runs w->fn(w) once a sweep that began after this call has ended (also
 * when it failed). w must stay valid until then. */
void sweeper_kick(struct sweeper *sw, struct sweep_waiter *w);
/* Holds this process has expired since it started. */
unsigned long long sweeper_released(const struct sweeper *sw);
/* Stops the timer; a sweep in flight ends through the store's close. Then
 * done(data) runs and the sweeper is freed. */
void sweeper_close(struct sweeper *sw, void (*done)(void *), void *data);

#endif
