/* The books of the workload, read straight from Redis: one atomic read
 * (a small read-only script) of every stock counter, the sum of the live
 * holds at each place and the ledger entries written since the last read,
 * checked after every step; and at the end the whole ledger replayed from
 * empty and held against every reservation's final state; every unit a
 * hold took beyond available stock was taken by a hold that allows
 * backorders, and a reserve's answer counted exactly those as backordered. */
#ifndef STOCKD_TEST_WORKLOAD_BOOKS_H
#define STOCKD_TEST_WORKLOAD_BOOKS_H

#include "workload_model.h"

/* A reserve entry of the ledger: which hold took how many units where,
 * and how many of them available stock did not cover at that moment. */
struct wl_taken {
    char entry[32]; /* its id in the ledger */
    char id[40];
    int sku, loc;
    long long q, uncovered;
    bool initial; /* written by the reserve itself (not by update or transfer) */
    long step;
};

struct wl_books {
    char sha[41];
    char last_id[64];                    /* the last ledger entry replayed */
    long entries;                        /* ledger entries replayed */
    long long on_hand[WL_SKUS][WL_LOCS]; /* the ledger replayed so far */
    long long reserved[WL_SKUS][WL_LOCS];
    long long set_total[WL_SKUS][WL_LOCS];    /* what stock.set entries changed */
    long long adjust_total[WL_SKUS][WL_LOCS]; /* what stock.adjust entries changed */
    long moves;                               /* entries with reason update or transfer */
    long long limit[WL_SKUS][WL_LOCS];        /* the backorder limit where the replay is */
    struct wl_taken *taken;                   /* every reserve entry (owned) */
    long n_taken, cap_taken;
};

/* Loads the script into Redis and starts the replay from an empty ledger.
 * books_free frees what the books hold. */
void books_init(struct wl_books *b);
void books_free(struct wl_books *b);

/* One atomic look: every (sku, location) must have reserved equal to the
 * sum of its live holds, reserved >= 0 and on_hand - reserved >= -limit
 * (0 where no limit is ever set), and the ledger replayed up to now must
 * give its on_hand and reserved. The replay checks on_hand - reserved >=
 * -limit after every entry too (the limit in force then: each stock.set
 * entry is paired with its answer), and notes every reserve entry. Also
 * records what it saw in w->on_hand_seen and w->reserved_seen. Fails
 * through wl_fail. */
void books_step(struct wl_books *b, struct wl *w);

/* After the run, with every hold ended and each hold's final state and
 * allocations in w->holds: the whole ledger replayed from empty gives
 * every counter, names only the workload's holds, and for each hold gives
 * back exactly what it took: its final allocations were committed (and
 * restocked if then released), released or expired, and every other
 * movement (update, transfer) cancels out. Also checks on_hand = stock.set
 * changes + the deltas stockd accepted - units committed. */
void books_final(struct wl_books *b, struct wl *w);

#endif
