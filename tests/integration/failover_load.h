/* Reserves from many connections through a Redis failover, and the books
 * they must leave: every order gets its own order_id and is retried with
 * the same order_id and items after each 2001/2002/2003 until it has a
 * result, so that the load knows every hold stockd acknowledged; the
 * checks then read the master directly. */
#ifndef STOCKD_TEST_FAILOVER_LOAD_H
#define STOCKD_TEST_FAILOVER_LOAD_H

#include <stdbool.h>

#include <hiredis/hiredis.h>

#define FL_CLIENTS 8
#define FL_SKU "FO"
#define FL_LOCATION "L"

struct fl_load {
    int port;          /* stockd's */
    char prefix[16];   /* order ids are <prefix>-<n> */
    int n_orders, cap; /* orders started so far, and room */
    char (*ids)[40];   /* per order: the acknowledged reservation id, "" until then */
    /* Answers seen. */
    int acked, unavailable, timeouts, replication, overloaded;
    /* The fault (fl_mark_fault): when, and the first acknowledged reserve
     * sent after it. */
    long long fault_at;      /* monotonic ms; 0: none yet */
    long long first_ack_ms;  /* from the fault to that answer; -1: none yet */
    int acked_after_fault;   /* reserves sent after the fault and acknowledged */
    int orders_at_first_ack; /* n_orders at that first answer: later orders began after it */
};

void fl_init(struct fl_load *l, int port, const char *prefix);
void fl_free(struct fl_load *l);
/* The fault happens now (call it right after the kill). */
void fl_mark_fault(struct fl_load *l);

/* Runs the load on FL_CLIENTS connections. tick(l, data) is called about
 * every 20 ms: true to go on sending new orders, false to stop; the run
 * then ends once every order has its result. Fails the test when a
 * request goes unanswered for 10 s, on an answer other than a result or
 * 2001/2002/2003, or when the run lasts longer than timeout_ms. */
void fl_run(struct fl_load *l, bool (*tick)(struct fl_load *l, void *data), void *data,
            int timeout_ms);

/* What the master holds of the acknowledged orders. */
struct fl_books {
    int acked;            /* acknowledged orders */
    int lost;             /* no binding for the order, or a binding to another id, or not held */
    int holds;            /* reservation ids in the sku's holds index */
    int doubled;          /* order_ids with more than one live hold */
    int unacked;          /* live holds of orders the load never saw acknowledged */
    char first_lost[200]; /* what the master has of the first order lost */
};
/* Reads the books on c (the master), pipelined. */
struct fl_books fl_check(const struct fl_load *l, redisContext *c);
/* How many of the orders from..n_orders have a binding on c. */
int fl_count_bound(const struct fl_load *l, redisContext *c, int from);
/* stock.audit through stockd on port: fails the test unless ok. */
void fl_audit_ok(int port);

#endif
