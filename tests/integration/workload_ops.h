/* The workload's operations: each client of the workload sends one
 * request at a time, chosen at random (reserve with or without backorder
 * and partial fills, retry, commit, release, reservation.update,
 * reservation.transfer, stock.adjust, stock.set with backorder limits),
 * aimed mostly at recent holds and at holds about to expire, and every
 * answer is judged against the outcomes the contract allows. */
#ifndef STOCKD_TEST_WORKLOAD_OPS_H
#define STOCKD_TEST_WORKLOAD_OPS_H

#include "workload_model.h"

struct wl_client {
    int fd;
    bool busy;
    enum wl_kind kind;
    int order, hold;  /* the reserve sent; the hold aimed at */
    int sku, loc, to; /* adjust, set and transfer places */
    long long delta;  /* adjust delta; set count; transfer quantity (0: all) */
    long long limit;  /* set: the backorder limit sent, -1 for none */
    int limits_from;  /* adjust: the limit confirmed when it was sent (index) */
    int n_items;      /* update: the lines sent */
    int item_sku[WL_MAX_LINES];
    long long item_q[WL_MAX_LINES];
    bool alone;        /* nothing else was in flight on the hold when it was sent */
    bool before_exact; /* and the hold's state then was known: before, before_short */
    long sends_at;     /* the hold's sends, this one included */
    int n_before;
    struct wl_alloc before[WL_MAX_ALLOCS];
    unsigned before_short;
    char line[WL_LINE_MAX];
};

/* Chooses an operation, sends it on c->fd and marks c busy. */
void wl_send(struct wl *w, struct wl_client *c);

/* Judges c's answer line against what its request allows, updates the
 * model and marks c idle. Fails through wl_fail. */
void wl_take(struct wl *w, struct wl_client *c, const char *line);

/* Judges hold h's reservation.get after the run (every hold ended): the
 * shape every answer about it must have, and a final state that agrees
 * with every answer seen (a commit answered, then committed or released by
 * a later release; a release answered released, then released; an expiry
 * seen, then expired). Records it in h->final and its allocations. */
void wl_check_final(struct wl *w, struct wl_hold *h, const cJSON *res);

/* Checks a stock row (stock.set, stock.adjust) against the contract and
 * the limits the workload set at (sku, loc): the row's limit must be one
 * confirmed since w->limits[sku][loc][limits_from], or one being set. */
void wl_check_row(const struct wl *w, const cJSON *row, int sku, int loc, int limits_from);

#endif
