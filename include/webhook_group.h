/* The deliverer's insides, shared by its two files and by nothing else:
 * webhook.c runs the deliverer's lifecycle and each entry's state machine
 * (POSTs, retries, the due timer), webhook_group.c talks to Redis for one
 * URL's consumer group (reads, the watch, checks, acks, dead letters,
 * leases, the backlog). The public face is webhook.h. */
#ifndef STOCKD_WEBHOOK_GROUP_H
#define STOCKD_WEBHOOK_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "args.h"
#include "buf.h"
#include "closer.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "webhook.h"
#include "webhook_event.h"
#include "webhook_http.h"
#include "webhook_queue.h"
#include "webhook_rate.h"

/* One URL: its consumer group, the entries this replica holds for it, and
 * the calls to Redis about them. Embedded in struct webhook, which owns it;
 * webhook_group_init and webhook_group_free manage what it owns. The entries
 * in q are allocated and freed by webhook.c; the lists below only link them
 * (by their node), each entry on at most one. */
struct webhook_group {
    struct webhook *w; /* the deliverer it belongs to */
    int index;         /* in --webhook-url's order; the metrics' label */
    const char *url;   /* borrowed from the config */
    char name[WEBHOOK_GROUP_TEXT];
    struct buf cursor_key;       /* owned */
    struct metrics_webhook *m;   /* borrowed: this URL's slot of the process metrics */
    struct wq q;                 /* owned table; every entry held (the entries are webhook.c's) */
    struct queue ready;          /* WH_READY, in order of arrival */
    struct queue backoff;        /* WH_BACKOFF */
    struct queue remote;         /* WH_WAIT_REMOTE */
    struct queue to_ack;         /* WH_ACKING, not yet sent */
    struct queue acks_sent;      /* WH_ACKING, in the ack call in flight */
    struct queue to_die;         /* WH_DYING; the first may be in the dead call in flight */
    struct webhook_entry *dying; /* in the dead call in flight */
    int in_flight;
    bool pumping;                     /* inside webhook.c's pump of POSTs */
    bool reading;                     /* a read call in flight */
    bool idle;                        /* the last read found nothing new: waiting for the watch */
    struct webhook_id idle_last;      /* the stream's last id as that read saw it */
    char claim_from[WEBHOOK_ID_TEXT]; /* the claim pass's cursor; "" when none is on */
    uint64_t claim_at;                /* when the next claim pass begins */
    bool checking, acking, leasing, stating;
    uint64_t stats_at;     /* when the backlog was last asked for */
    struct args check_ids; /* owned: the ids asked about in the check call in flight */
    struct args lease_ids; /* owned: the ids of the lease call in flight */
    uint64_t lease_sent_at;
    struct log_repeat log_post;  /* failed POSTs */
    struct log_repeat log_redis; /* failed calls to Redis */
};

/* The deliverer: created, started and closed by webhook.c, which owns
 * everything marked owned here and frees it in its close path.
 * webhook_group.c borrows the connections, the keys, the scratch buffer
 * and the call being built (args), and writes `watching`, `clock_offset`
 * and `log_watch`; nothing else of it. */
struct webhook {
    uv_loop_t *loop;
    const struct config *cfg;                      /* borrowed */
    struct metrics *metrics;                       /* borrowed: the process's */
    struct metrics work_metrics, read_metrics;     /* the private stores' own counters */
    struct store *work;                            /* owned: every call but the watch */
    struct store *read;                            /* owned: the blocking XREAD only */
    struct webhook_http *http;                     /* owned */
    struct webhook_group groups[WEBHOOK_MAX_URLS]; /* owned: the first n_groups, one a URL */
    int n_groups;
    char consumer[300];
    struct buf stream_key, dead_key; /* owned */
    struct args args;                /* owned: the call being built (by either file) */
    struct buf scratch;              /* owned: a chain's text */
    uv_timer_t tick;                 /* retries, leases, claims, stats */
    uv_timer_t due;                  /* the next retry, question or token that is due */
    uint64_t due_at;
    struct webhook_rate rate; /* --webhook-max-rate: POSTs started, over all groups */
    int pump_from;            /* the group the due timer lets POST first (turns round) */
    bool watching;            /* the blocking XREAD is in flight */
    int64_t clock_offset;     /* Redis's clock minus the loop's, in ms (from the stats) */
    uint64_t rng;
    bool closing;
    int handing_back; /* hand-back calls in flight while closing */
    struct closer closer;
    void (*on_closed)(void *);
    void *on_closed_data;
    struct log_repeat log_watch; /* failed watches */
};

/* The loop's time, in ms. */
static inline uint64_t webhook_now(const struct webhook *w)
{
    return uv_now(w->loop);
}

/* The deadline of a call to Redis made now. */
static inline uint64_t webhook_deadline(const struct webhook *w)
{
    return webhook_now(w) + (uint64_t)w->cfg->request_timeout_ms;
}

/* --- webhook.c: entries and time --- */

/* Makes the due timer fire no later than at (loop ms). */
void webhook_want_due(struct webhook *w, uint64_t at);
/* A new entry of g, in no state yet; the group's queue does not hold it.
 * Freed by webhook.c when it is finished, dropped or the deliverer closes. */
struct webhook_entry *webhook_entry_new(struct webhook_group *g);
/* Moves e to state, onto list (NULL: none). */
void webhook_entry_set_state(struct webhook_entry *e, enum webhook_state state, struct queue *list);
/* Where a newly read entry goes (held in g->q already): the dead letters,
 * a wait for its prev, or ready. */
void webhook_entry_route(struct webhook_group *g, struct webhook_entry *e);
/* e's prev is finished: ready to POST (or to die when too old). */
void webhook_entry_ready(struct webhook_group *g, struct webhook_entry *e);
/* e is acked or dead-lettered: freed, and the entries that waited for it
 * woken. */
void webhook_entry_finish(struct webhook_group *g, struct webhook_entry *e);
/* A lease call found e held by another replica (WEBHOOK_LEASE_LOST) or
 * pending no more (WEBHOOK_LEASE_GONE): let go, now or when its POST ends. */
void webhook_entry_lose(struct webhook_group *g, struct webhook_entry *e, long long why);

/* --- webhook_group.c: one URL's group in Redis --- */

/* Sets up group index of w (its URL, name, keys, lists, metrics slot). */
void webhook_group_init(struct webhook_group *g, struct webhook *w, int index);
/* Frees what g owns; the entries must be gone. */
void webhook_group_free(struct webhook_group *g);
/* Copies the entries held and the POSTs in flight to the metrics. */
void webhook_group_note(struct webhook_group *g);
/* Reads the next entries when the queue has room and no read is in flight. */
void webhook_group_read(struct webhook_group *g);
/* Sends the calls queued up, each when none of its kind is in flight: the
 * acks of delivered entries, the next dead letter, the questions due about
 * prevs held elsewhere. */
void webhook_group_flush_acks(struct webhook_group *g);
void webhook_group_flush_dead(struct webhook_group *g);
void webhook_group_flush_checks(struct webhook_group *g);
/* The group's part of the tick: claim passes, reads (or the watch), the
 * calls that failed, lease renewals, the backlog. */
void webhook_group_tick(struct webhook_group *g);
/* Closing: makes every entry held (up to a bound) claimable by the other
 * replicas at once. Returns 0 when the call was sent (fn then runs once,
 * with g as its data), -1 when there was nothing to send or Redis is down. */
int webhook_group_hand_back(struct webhook_group *g, store_fn fn);

#endif
