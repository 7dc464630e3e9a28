/* The Redis side: one hiredis async connection per process, over which every
 * client's scripts are pipelined; EVALSHA calls, per-call deadlines, script
 * reloading on NOSCRIPT, and calls that wait while a connection is being
 * made (link.c makes it). The store speaks its own language: a call ends
 * with a reply, or as never sent, or with its outcome unknown; only the
 * request layer turns that into JSON-RPC codes.
 *
 * With a redis+cluster:// URL, store_new returns a front for the Cluster
 * router (cluster.h) with this same API: each call goes to the store of
 * the master of its slot (args.h), and redirects never reach the caller.
 *
 * This header is free of libuv: the request layer and its unit tests (which
 * link a fake store) include it. */
#ifndef STOCKD_STORE_H
#define STOCKD_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "args.h"
#include "config.h"
#include "metrics.h"
#include "scripts.h"

/* How one call ended. */
enum store_outcome {
    STORE_REPLY,    /* Redis answered; the reply may be an error reply */
    STORE_NOT_SENT, /* it never reached Redis: nothing happened */
    STORE_UNKNOWN,  /* it was sent, and no answer came in time or the link broke: it may
                     * have run */
    STORE_NOT_REPLICATED, /* --durability: it ran and Redis answered, but fewer replicas
                           * than required confirmed the write in time; it may not survive
                           * a failover */
};

/* The end of one call. reply is non-NULL exactly with STORE_REPLY and valid
 * only during the call (the store or hiredis frees it). */
typedef void (*store_fn)(void *data, const redisReply *reply, enum store_outcome outcome);

/* Where the store stands, for ping, /readyz and admission. With Cluster:
 * UP when every slot has a master and every master's store is up; DOWN
 * when no node answered for the map, or no master's store is up or
 * connecting; CONNECTING otherwise (cluster.h). */
enum store_health {
    STORE_UP,         /* connected, scripts loaded: calls go out at once */
    STORE_CONNECTING, /* a connection is being made: calls wait for it (within their
                       * deadline) */
    STORE_DOWN,       /* the last attempt failed, the next waits for its backoff: calls
                       * are refused at once */
    STORE_PARTIAL,    /* redis+cluster only: some masters are up and serve their slots;
                       * another is down, or slots have no master (calls for those are
                       * answered as by a down store). Ready, but not all up */
};

struct store;
struct uv_loop_s;

/* Creates the store; nothing connects until store_start. The config,
 * metrics and name (how the log calls its connection: "redis", ...) must
 * outlive the store. Free with store_close. */
struct store *store_new(struct uv_loop_s *loop, const struct config *cfg, struct metrics *m,
                        const char *name);
void store_start(struct store *s);
/* The loop's clock (uv_now), the time base of deadlines, in ms. */
uint64_t store_now(const struct store *s);
enum store_health store_health(const struct store *s);

/* Calls script `id` with the first nkeys arguments of a as KEYS and the rest
 * as ARGV. deadline is in store_now() ms: a call still waiting to be sent at
 * its deadline ends STORE_NOT_SENT; a sent call without an answer by then
 * ends STORE_UNKNOWN (the connection is reset only when Redis answers
 * nothing at all: it is stuck). With --durability replica:N, the answer of
 * a script that writes (scripts.h) waits for a WAIT N that follows it on
 * the connection: N replicas or more, STORE_REPLY; fewer in time,
 * STORE_NOT_REPLICATED; the link broke first, STORE_UNKNOWN. An error
 * reply is not held: nothing claims the write. Reads then go over a
 * connection of their own, never behind a WAIT. Returns
 * 0 when the call is queued (fn runs exactly once, never from inside
 * store_eval), or -1 when Redis is known to be down (fn is not called:
 * nothing happened). a is copied; the caller may reuse it at once. */
int store_eval(struct store *s, enum script_id id, int nkeys, const struct args *a,
               uint64_t deadline, store_fn fn, void *data);

/* store_eval for a batch script (contract.h): a holds one call laid out
 * as a batch of one: head_keys fixed KEYS, the call's own keys (nkeys in
 * all), head_argv fixed ARGV, the call's own argv. Calls of the same script
 * with the same head made in one loop iteration go to Redis as one EVALSHA
 * of all their segments (at most --batch-max calls), at the end of the
 * iteration or before any other call, so calls still reach Redis in the
 * order they were made. fn gets the call's own element of the batch's
 * reply (an error reply of the batch as it is); a batch past the earliest
 * deadline of its calls ends each of them as store_eval's calls end. Same
 * contract as store_eval otherwise. */
int store_eval_batched(struct store *s, enum script_id id, int nkeys, int head_keys, int head_argv,
                       const struct args *a, uint64_t deadline, store_fn fn, void *data);

/* Sends a plain, read-only command (a whole argv in a): for listing keys and
 * index entries. Same contract as store_eval. Stock never changes through
 * here: every change is a script. */
int store_command(struct store *s, const struct args *a, uint64_t deadline, store_fn fn,
                  void *data);

/* Ends every pending call (STORE_NOT_SENT or STORE_UNKNOWN), closes the
 * connection and the timers, then calls done(data) and frees the store. */
void store_close(struct store *s, void (*done)(void *), void *data);

#endif
