/* The store's insides, shared by its files and by the Cluster router:
 * store.c (the queues, deadlines, sending and replies; it draws the
 * queues), store_life.c (creation, the link's events, teardown),
 * store_batch.c (a batch script's calls gathered
 * into one op) and store_wait.c (--durability: the WAIT that follows
 * writes, and the replies held until it answers). */
#ifndef STOCKD_STORE_OPS_H
#define STOCKD_STORE_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/async.h>
#include <uv.h>

#include "buf.h"
#include "closer.h"
#include "link.h"
#include "log.h"
#include "queue.h"
#include "store.h"

/* One call made of the store, or one of the store's own (a script load, a
 * PING, a WAIT), from its bytes to its end. */
struct op {
    struct queue node; /* in sent, waiting, held or spare */
    struct store *store;
    store_fn fn; /* NULL for the store's own and for a batch */
    void *data;
    uint64_t deadline;
    uint64_t sent_at; /* uv_now when given to hiredis */
    uint64_t seq;     /* its number among the ops given to hiredis */
    bool forgotten;   /* answered UNKNOWN at its deadline; its reply is dropped */
    struct buf cmd;   /* owned: the RESP bytes, kept for a NOSCRIPT resend */
    int script;       /* enum script_id, or -1 for plain commands */
    bool retried;
    bool writes;      /* a WRITES script's, with --durability: its reply waits for a WAIT */
    bool is_wait;     /* the store's WAIT */
    uint64_t wait_ns; /* a WAIT: metrics_now_ns() when given to hiredis */
    uint64_t covers;  /* a WAIT: the seq of the newest write it confirms */
    redisReply *held; /* owned while the op is on `held`: its reply, kept (replies_keep) */
    enum store_outcome fail; /* what a NULL reply means; STORE_REPLY: not yet classified */
    struct member {          /* a batch's calls (fn is NULL then), in order */
        store_fn fn;
        void *data;
    } *members; /* owned */
    size_t n_members, members_cap;
};

/* The batch being gathered: calls of one script that share their fixed
 * KEYS and ARGV (the head), each with its own segment of both. */
struct batch {
    struct op *op;                   /* NULL while nothing gathers */
    struct buf head_keys, head_argv; /* owned, RESP: the head */
    struct buf keys, argv;           /* owned, RESP: the calls' segments */
    int n_head_keys, n_head_argv, n_keys, n_argv;
    struct buf probe; /* owned, RESP: a new call's head, to compare */
};

struct cluster;

struct store {
    struct cluster *cluster; /* owned: in REDIS_CLUSTER mode the store is this router's front
                              * (cluster.h), and nothing below is used but loop, cfg, metrics,
                              * name and the close callback */
    void (*on_health)(void *data, struct store *s); /* store_watch's, or NULL */
    void *on_health_data;
    uv_loop_t *loop;
    const struct config *cfg;
    struct metrics *metrics;
    const char *name;      /* for the log: "redis", "redis/reads", ... */
    char reads_name[64];   /* the reads store's name */
    int replicas;          /* WAIT for this many replicas after writes; 0: never */
    struct store *reads;   /* owned: with --durability, the store of the reads (its own
                            * connection, never behind a WAIT); NULL otherwise */
    struct metrics *reads_metrics; /* owned: that store's counters, not exported */
    struct link *link;
    redisAsyncContext *ac; /* the link's while it is up, else NULL */
    struct queue sent, waiting, held, spare;
    uv_timer_t deadline_timer;
    uint64_t armed_at;      /* when deadline_timer fires, while it is active */
    uv_timer_t watch_timer; /* stuck detection and idle PINGs */
    uint64_t last_reply_at; /* uv_now of Redis's latest reply of any kind */
    struct late {           /* the ops a deadline pass answers, after marking them */
        store_fn fn;
        void *data;
    } *late;
    size_t late_cap;
    bool closing;
    struct closer closer;
    void (*on_closed)(void *);
    void *on_closed_data;
    struct log_repeat log_noscript, log_wait;
    struct batch batch;
    uint64_t seq;               /* ops given to hiredis so far */
    uint64_t write_seq;         /* seq of the latest writing op given to hiredis */
    uint64_t covered_seq;       /* the writing ops up to this seq have a WAIT after them */
    struct op *wait;            /* the WAIT in flight (on `sent`), or NULL: one at a time */
    uv_check_t flush_check;     /* sends the batch, then a WAIT, after the I/O callbacks */
    uv_prepare_t flush_prepare; /* and before the loop blocks */
};

/* --- store.c -------------------------------------------------------------- */

/* An op from the spare list (or new), reset; the store's until put back. */
struct op *store_op_get(struct store *s);
/* Puts an op on no queue back on the spare list. */
void store_op_put(struct store *s, struct op *op);
/* Ends an op with a reply or an outcome: its fn, or each call of a batch
 * with its own element of the reply (see store.c). */
void store_op_end(struct op *op, const redisReply *r, enum store_outcome outcome);
/* Gives op (its cmd formatted) to hiredis and puts it on `sent`. Returns
 * false when hiredis refuses (the context is going away); then op is on no
 * queue. A writing op asks for a flush (a WAIT after it). */
bool store_op_send(struct store *s, struct op *op);
/* Queues a formatted op until the link is up, within its deadline. */
void store_op_park(struct store *s, struct op *op);
/* The link state calls are taken in: -1 when they are refused at once. */
int store_accepts(const struct store *s, uint64_t deadline, enum link_state *st);
/* Makes the deadline timer fire no later than at. */
void store_arm_for(struct store *s, uint64_t at);
/* Runs a flush (the batch, then a WAIT) at the end of this loop iteration,
 * or before the loop blocks. */
void store_flush_soon(struct store *s);
/* The first op of a queue, or NULL. */
struct op *store_first(const struct queue *q);
/* Marks what a NULL reply will mean for each sent op (NOT_SENT for those
 * still wholly in hiredis's output buffer, else UNKNOWN). */
void store_classify_sent(struct store *s, const redisAsyncContext *ac);
/* Ends an op that never reached hiredis (taking it off its queue). */
void store_end_unsent(struct store *s, struct op *op);
/* Starts the watch timer (stuck detection, idle PINGs). */
void store_watch_start(struct store *s);
/* Starts "EVALSHA sha nkeys" of a call with nargs arguments in all. */
void store_resp_evalsha(struct buf *b, int script, int nkeys, int nargs);

/* For a Cluster's router (cluster.c), which keeps one store per master: */
/* Tells fn(data, s) whenever s's link comes up, is lost or fails a round
 * (store_health(s) then says where it stands). */
void store_watch(struct store *s, void (*fn)(void *data, struct store *s), void *data);
/* store_eval (script >= 0) or store_command (script < 0) preceded by
 * ASKING on the same connection, adjacent: the call of an ASK redirect.
 * Same contract as store_eval. */
int store_eval_asking(struct store *s, int script, int nkeys, const struct args *a,
                      uint64_t deadline, store_fn fn, void *data);

/* --- store_batch.c -------------------------------------------------------- */

void store_batch_init(struct store *s);
void store_batch_free(struct store *s);
/* Sends the batch gathered so far, if any (its calls end NOT_SENT when the
 * link went down meanwhile). */
void store_batch_flush(struct store *s);
bool store_batch_pending(const struct store *s);

/* --- store_wait.c --------------------------------------------------------- */

/* Gives hiredis a WAIT after the writing ops sent since the last one, when
 * one is due (store_wait_due). */
void store_wait_flush(struct store *s);
/* True when a WAIT should be sent now: writes went out that no WAIT
 * covers, and no WAIT is in flight. */
bool store_wait_due(const struct store *s);
/* A writing op's reply r has come: true when the store took the op (held
 * until a WAIT after it answers, r kept), false when the caller ends it
 * now (an error reply: it claims no write). */
bool store_wait_hold(struct store *s, struct op *op, redisReply *r);
/* A WAIT's reply (NULL: the link broke): ends the held ops it covers, and
 * asks for the next WAIT if writes came meanwhile. */
void store_wait_answered(struct store *s, struct op *wait, const redisReply *r);
/* The connection is gone (or the store closes): every held op ends
 * UNKNOWN, no WAIT is due any more. */
void store_wait_lost(struct store *s);

#endif
