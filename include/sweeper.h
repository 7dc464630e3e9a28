/* The sweeper: releases held reservations whose deadline has passed. Every
 * replica runs one on a timer; the expire script makes a second release of
 * the same hold a no-op, so replicas never double-release. No request
 * waits for it: a reserve that runs short gives back the due holds on its
 * own skus itself (lua/reserve.lua). A sweep is a loop of calls, each
 * bounded by allocations: the due ids (expire_due), then their release
 * through transition.c (plan, then expire). Free of libuv in this header,
 * for the request layer's tests.
 *
 * With tenants, each tenant is swept when its earliest deadline comes (as
 * expire_due reports it, or as a hold this process made says), one tenant
 * at a time, and at least once per idle period (sweeper_idle_ms): a hold
 * this process made is released within sweep_interval_ms of its deadline,
 * as without tenants; a hold made elsewhere (another replica, or before a
 * restart) within the idle period of its deadline, or at the tenant's next
 * sweep if that comes first. */
#ifndef STOCKD_SWEEPER_H
#define STOCKD_SWEEPER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "contract.h"
#include "metrics.h"

/* lua/expire_due.lua; ARGV[A_FIXED + 1], optional: '1' asks for `next`, an
 * integer that then ends the reply (ms to the earliest deadline left, 0:
 * due now, -1: none held). */
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

/* With tenants: the most transitions one tenant's sweep makes before the
 * tenants due after it get their turn; the idle poll's period, at least
 * SWEEP_IDLE_MS, longer with many tenants so that idle tenants are polled
 * at most SWEEP_IDLE_RATE times a second in all. */
#define SWEEP_TENANT_BATCHES 10
#define SWEEP_IDLE_MS 10000
#define SWEEP_IDLE_RATE 50

struct sweeper;
struct store;
struct uv_loop_s;

/* The store, config and metrics are borrowed and must outlive the sweeper. */
struct sweeper *sweeper_new(struct uv_loop_s *loop, struct store *store, const struct config *cfg,
                            struct metrics *m);
/* Sweeps each tenant of ts (borrowed, must outlive the sweeper) on its
 * own schedule instead of one namespace every sweep_interval_ms; call
 * before sweeper_start. */
struct tenants;
struct tenant;
void sweeper_tenants(struct sweeper *sw, struct tenants *ts);
/* A hold of tenant t is due at due_ms (metrics_now_ns() in ms): t is swept
 * then at the latest. data is the sweeper (a request_hold_fn, request.h). */
void sweeper_note_hold(void *data, struct tenant *t, uint64_t due_ms);
/* The idle poll's period in ms for n tenants: SWEEP_IDLE_MS, or n /
 * SWEEP_IDLE_RATE seconds when longer, and never below the sweep interval. */
static inline uint64_t sweeper_idle_ms(size_t n_tenants, long long sweep_interval_ms)
{
    uint64_t idle = SWEEP_IDLE_MS, spread = (uint64_t)n_tenants * 1000u / SWEEP_IDLE_RATE;
    if (spread > idle)
        idle = spread;
    return (uint64_t)sweep_interval_ms > idle ? (uint64_t)sweep_interval_ms : idle;
}
/* Starts sweeping: every sweep_interval_ms, or with tenants, each when it
 * is due. */
void sweeper_start(struct sweeper *sw);
/* Stops the timer; a sweep in flight ends through the store's close. Then
 * done(data) runs and the sweeper is freed. */
void sweeper_close(struct sweeper *sw, void (*done)(void *), void *data);

#endif
