/* Result values as plain structs, and their JSON encoding. The request
 * layer decodes script replies into these structs; this module writes them.
 * Pure. */
#ifndef STOCKD_RESULT_H
#define STOCKD_RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "ident.h"

struct stock_row {
    struct str location;
    long long on_hand, reserved, safety_stock;
    long long backorder_limit;
    long long low_stock_threshold; /* -1: none */
};

/* available = on_hand - reserved - safety_stock while that is not
 * negative; below 0 it counts only the units promised beyond stock,
 * on_hand - reserved (down to -backorder_limit), never safety stock that
 * on_hand does not cover (shown as 0, as in v1). */
long long stock_row_available(const struct stock_row *row);
/* Units promised beyond stock: max(0, -available). */
long long stock_row_backordered(const struct stock_row *row);

struct allocation {
    struct str sku, location;
    long long quantity;
    long long backordered; /* shown only in a hold with backorders */
};

/* A line of a partial hold not filled completely. */
struct shortage {
    struct str sku;
    long long requested, allocated;
};

/* What a hold was made with (reserve.h, HOLD_BACKORDER, HOLD_PARTIAL). */
enum {
    HOLD_BACKORDER = 1, /* allocations carry backordered */
    HOLD_PARTIAL = 2,   /* the reservation carries shortages */
};

struct reservation {
    struct str id, status, order_id, reason; /* order_id, reason: n == 0 when none */
    long long created_at, expires_at;
    bool has_replayed; /* reserve answers say replayed; reservation.get does not */
    bool replayed;
    struct allocation *allocations; /* borrowed */
    size_t n_allocations;
    unsigned flags;             /* HOLD_BACKORDER | HOLD_PARTIAL */
    struct shortage *shortages; /* borrowed; with HOLD_PARTIAL */
    size_t n_shortages;
    struct str explain; /* "explain" when explain.p is set: a JSON array, written as is */
    bool has_changed;   /* reservation.update and .transfer say whether they changed it */
    bool changed;
};

/* The arrays a decoded reservation borrows (grown as needed). */
struct reservation_scratch {
    struct allocation *allocs;
    size_t allocs_cap;
    struct shortage *shortages;
    size_t shortages_cap;
};

/* A location's record. lat and lng are JSON numbers (the reader checked),
 * tags comma-joined identifiers; lat, lng, zone, tags: n == 0 when none. */
struct location_rec {
    struct str location, lat, lng, zone, tags;
    long long priority;
};

/* {"sku","location","on_hand","reserved","available","safety_stock",
 *  "backorder_limit","low_stock_threshold","backordered"} */
void result_row(struct buf *out, struct str sku, const struct stock_row *row);
/* {"sku","locations":[rows...],"totals":{...}}; rows must be sorted already. */
void result_stock(struct buf *out, struct str sku, const struct stock_row *rows, size_t n);
/* {"channel","locations":[...],"rules":[...]}; rules is comma-joined, empty
 * for the default (channel_order). */
void result_channel(struct buf *out, struct str channel, const struct str *locations, size_t n,
                    struct str rules);
/* {"location","lat"?,"lng"?,"zone"?,"priority","tags":[...]} */
void result_location(struct buf *out, const struct location_rec *rec);
/* {"locations":[record...]} */
void result_locations(struct buf *out, const struct location_rec *recs, size_t n);
/* One entry of an explain list, appended to list (after a comma unless
 * it is the first): {"location","distance_km"?,"zone"?,"priority"};
 * distance is a JSON number, n == 0 when none, like zone. */
void result_explain_entry(struct buf *list, bool first, struct str location, struct str distance,
                          struct str zone, long long priority);
void result_reservation(struct buf *out, const struct reservation *r);
/* {"pong":true,"redis":"up"|"down"} */
void result_pong(struct buf *out, bool redis_up);

/* stock.audit's findings are gathered over several calls: each one is
 * appended to a list body (comma-separated objects) as it is found. */
void result_audit_difference(struct buf *list, struct str sku, struct str location,
                             long long reserved, long long expected);
void result_audit_stale(struct buf *list, struct str reservation_id, struct str status);
/* A sku whose holds the due index names too late: {sku, due (null when
 * missing), earliest}. */
void result_audit_late(struct buf *list, struct str sku, long long due, long long earliest);

/* Orders rows by location name, bytewise. */
void stock_rows_sort(struct stock_row *rows, size_t n);

#endif
