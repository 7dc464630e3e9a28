/* The Redis Cluster client: a router behind the store API (store.h). In
 * REDIS_CLUSTER mode store_new returns a front whose calls come here; each
 * call goes to the store of the master that serves its slot (one ordinary
 * store per master: pipelining, batching, deadlines, NOSCRIPT, stuck
 * detection and --durability are that store's), and its MOVED, ASK,
 * TRYAGAIN and CLUSTERDOWN replies are followed here, never seen by the
 * caller. The slot map comes from CLUSTER SLOTS.
 *
 * Health: UP when the map covers all 16384 slots and every master's store
 * is up; DOWN before any map was had when the last attempt reached no
 * node, or when no master's store is up or connecting; CONNECTING
 * otherwise (the first map being asked for, a master connecting or down
 * while the others are up, slots uncovered). */
#ifndef STOCKD_CLUSTER_H
#define STOCKD_CLUSTER_H

#include <stdint.h>

#include <uv.h>

#include "store.h"

struct cluster;

/* cfg->redis must be a REDIS_CLUSTER URL. cfg, m and name must outlive the
 * cluster. Nothing connects until cluster_start. Free with cluster_close. */
struct cluster *cluster_new(uv_loop_t *loop, const struct config *cfg, struct metrics *m,
                            const char *name);
void cluster_start(struct cluster *c);
enum store_health cluster_health(const struct cluster *c);

/* One call of the store API: script >= 0 a script (store_eval, or with
 * head_keys >= 0 store_eval_batched), script < 0 a plain command
 * (store_command). It goes to the master of a->slot; with no slot, of its
 * first KEY; with no key, to any master. Same contract as store_eval:
 * 0 and fn runs exactly once, later; -1 when it cannot be sent (no map,
 * its master refuses and no new map is on its way, or its deadline has
 * passed), fn not called. A call answered MOVED, ASK, TRYAGAIN or
 * CLUSTERDOWN did not run: it is sent again (after a short backoff for
 * the last two) within its deadline, else ends STORE_NOT_SENT. STORE_UNKNOWN
 * is never sent again. a is copied. */
int cluster_call(struct cluster *c, int script, int nkeys, int head_keys, int head_argv,
                 const struct args *a, uint64_t deadline, store_fn fn, void *data);

/* Ends every call (as the node stores end them, or STORE_NOT_SENT for
 * those waiting here), closes every node's store and the timers, then
 * done(data) and the cluster is freed. */
void cluster_close(struct cluster *c, void (*done)(void *), void *data);

#endif
