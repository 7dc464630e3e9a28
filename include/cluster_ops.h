/* The Cluster router's insides, shared by cluster.c (the nodes, the slot
 * map and its refreshes, health) and cluster_route.c (calls: where each
 * goes, redirects, retries) and by nothing else. */
#ifndef STOCKD_CLUSTER_OPS_H
#define STOCKD_CLUSTER_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "args.h"
#include "closer.h"
#include "cluster.h"
#include "cluster_map.h"
#include "log.h"
#include "queue.h"

/* One master (or a node an ASK named), with its store. */
struct cnode {
    struct queue link; /* in c->nodes */
    struct cluster *c;
    struct cluster_addr addr;
    char name[300];      /* the log's name of its connection: "<cluster name> host:port" */
    struct config cfg;   /* its own: the cluster's, REDIS_DIRECT to addr, cluster_node */
    struct store *store; /* owned */
    bool in_map;         /* serves slots in the latest map (or a MOVED named it since) */
    unsigned inflight;   /* calls on its store, not yet ended */
    uint64_t asked_at;   /* uv_now of the latest ASK that named it; 0: none */
};

/* One call, from cluster_call to its end; pooled. */
struct ccall {
    struct queue entry; /* on c->parked or c->spare */
    struct cluster *c;
    int script, nkeys, head_keys, head_argv; /* head_keys < 0: not batched */
    struct args args;                        /* owned: a copy, kept to send again */
    int slot;                                /* -1: any master */
    uint64_t deadline;
    uint64_t due; /* parked: sent again at due; UINT64_MAX: when the next map comes */
    store_fn fn;
    void *data;
    struct cnode *node; /* the store it is on, or NULL */
    unsigned redirects, retries;
    bool asked_batch; /* a batched call now on its way after ASKING: alone, as a batch of
                       * one, so its own reply is the one element of the batch's */
};

struct cluster_ask;

struct cluster {
    uv_loop_t *loop;
    const struct config *cfg;
    struct metrics *m;
    const char *name;
    struct cnode *owner[SLOT_COUNT]; /* each slot's master; NULL: unknown */
    struct queue nodes;              /* struct cnode */
    struct cluster_map *map;         /* owned: the latest map */
    bool have_map;
    bool failed; /* the latest ask reached no node */
    bool asking; /* an ask is on the thread pool */
    bool wanted; /* another ask is due when this one ends */
    bool soon;   /* refresh_timer holds an ask asked for (not the periodic one) */
    uint64_t asked_at;
    unsigned fails;             /* asks in a row that reached no node */
    struct cluster_addr answered; /* the node that answered the latest ask ("" before any) */
    struct cluster_ask *ask;    /* owned: the one ask's room, reused */
    uv_timer_t refresh_timer;   /* the next ask */
    uv_timer_t park_timer;      /* the parked calls' next due or deadline */
    uint64_t park_at;           /* when park_timer fires, while it is active */
    uv_timer_t reap_timer;      /* closes idle nodes that left the map */
    struct queue parked, spare; /* struct ccall */
    bool closing;
    struct closer closer;
    void (*on_closed)(void *);
    void *on_closed_data;
    struct log_repeat log_ask, log_route;
};

/* --- cluster.c ----------------------------------------------------------- */

/* The node at a, made (with its store, started) when unknown. in_map: a
 * MOVED named it as a slot's master. */
struct cnode *cluster_node_at(struct cluster *c, const struct cluster_addr *a, bool in_map);
/* A master whose store is up (else any master), for calls without a slot;
 * NULL without a map. */
struct cnode *cluster_any_master(struct cluster *c);
/* Asks for the map soon: at once, or when the rate limit allows. */
void cluster_refresh_soon(struct cluster *c);
/* True while a new map is on its way (an ask in flight or due soon). */
bool cluster_map_pending(const struct cluster *c);
/* A node's call ended: a node that left the map is closed once idle. */
void cluster_node_done(struct cnode *n);

/* --- cluster_route.c ------------------------------------------------------ */

void cluster_route_init(struct cluster *c);
/* An ask ended (a new map or none): the calls waiting for it go on. */
void cluster_route_map_done(struct cluster *c);
/* Ends every parked call NOT_SENT (closing). */
void cluster_route_close(struct cluster *c);
/* Frees the pool of calls (every call has ended). */
void cluster_route_free(struct cluster *c);

#endif
