/* The sweeper: releases held reservations whose deadline has passed. Every
 * replica runs one on a timer; the expire script makes a second release of
 * the same hold a no-op, so replicas never double-release. No request
 * waits for it: a reserve that runs short gives back the due holds on its
 * own skus itself (lua/reserve.lua). A sweep is a loop of calls, each
 * bounded by allocations: the due ids (expire_due), then their release
 * through transition.c (plan, then expire). Free of libuv in this header,
 * for the request layer's tests. */
#ifndef STOCKD_SWEEPER_H
#define STOCKD_SWEEPER_H

#include "config.h"
#include "contract.h"
#include "metrics.h"

/* lua/expire_due.lua */
#define EXPIRE_DUE_KEYS(X) X(EXPIRE_DUE_K_EXPIRY) X(EXPIRE_DUE_K_DUE) X(EXPIRE_DUE_K_QUARANTINE)
#define EXPIRE_DUE_ARGV(X) X(EXPIRE_DUE_A_LIMIT) X(EXPIRE_DUE_A_HOLDS) X(EXPIRE_DUE_A_RES)
#define EXPIRE_DUE_STATUS(X) X(EXPIRE_DUE_ST_OK)

enum { EXPIRE_DUE_KEYS(CONTRACT_ENUM) EXPIRE_DUE_K_FIXED };
enum { EXPIRE_DUE_ARGV(CONTRACT_ENUM) EXPIRE_DUE_A_FIXED };
enum { EXPIRE_DUE_STATUS(CONTRACT_ENUM) EXPIRE_DUE_STATUSES };

/* Most reservations one expire call looks at; most allocations it gives
 * back (a few milliseconds of Redis); most expire calls in one sweep (the
 * next sweep goes on from there). */
#define SWEEP_BATCH 100
#define SWEEP_BUDGET 500
#define SWEEP_MAX_CALLS 1000

struct sweeper;
struct store;
struct uv_loop_s;

/* The store, config and metrics are borrowed and must outlive the sweeper. */
struct sweeper *sweeper_new(struct uv_loop_s *loop, struct store *store, const struct config *cfg,
                            struct metrics *m);
/* Starts sweeping every sweep_interval_ms. */
void sweeper_start(struct sweeper *sw);
/* Stops the timer; a sweep in flight ends through the store's close. Then
 * done(data) runs and the sweeper is freed. */
void sweeper_close(struct sweeper *sw, void (*done)(void *), void *data);

#endif
