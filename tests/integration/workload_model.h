/* The model a randomised concurrent workload keeps of what it asked two
 * stockd replicas to do and what they answered: the holds it made, the
 * reserves it may retry, the backorder limits it set, and the counts it
 * reports. workload_ops.c sends and judges the operations,
 * workload_exact.c judges exactly those that had their hold to
 * themselves, workload_books.c checks the books in Redis after every
 * step. */
#ifndef STOCKD_TEST_WORKLOAD_MODEL_H
#define STOCKD_TEST_WORKLOAD_MODEL_H

#include <stdbool.h>

#include "harness.h"

#define WL_SKUS 4
#define WL_LOCS 4 /* L0..L2 serve the channel; L3 only receives transfers */
#define WL_CHANNEL_LOCS 3
#define WL_MAX_LINES 3
#define WL_MAX_ALLOCS 24
#define WL_LINE_MAX 1024
#define WL_DEFAULT_OPS 20000
#define WL_MAX_SETS 512 /* limit changes remembered per place */

enum wl_kind {
    WL_RESERVE,
    WL_RETRY,
    WL_COMMIT,
    WL_RELEASE,
    WL_UPDATE,
    WL_TRANSFER,
    WL_ADJUST,
    WL_SET,
    WL_KINDS
};

/* Reservation states, as bits of wl_hold.seen. */
enum wl_status { WL_HELD = 1, WL_COMMITTED = 2, WL_RELEASED = 4, WL_EXPIRED = 8 };

enum wl_strategy { WL_AUTO, WL_SINGLE, WL_PER_LINE, WL_SPLIT };

struct wl_alloc {
    int sku, loc;
    long long q;
    long long backordered; /* -1: the allocation has no backordered key */
};

/* One reserve request as sent (and resent by a retry). */
struct wl_order {
    char order_id[24]; /* "" when sent without one */
    enum wl_strategy strategy;
    bool backorder, partial;
    int ttl_ms;
    int n_lines;
    int sku[WL_MAX_LINES];
    long long q[WL_MAX_LINES];
    int hold; /* the hold its order_id is bound to, -1 while none is known */
    char line[WL_LINE_MAX];
};

/* One reservation stockd made for the workload. */
struct wl_hold {
    char id[40];
    int order;            /* the reserve that made it */
    long long expires_at; /* on Redis's clock; nothing here extends it */
    int drops[WL_SKUS];   /* updates sent with quantity 0 for that line */
    bool maybe_moved;     /* a transfer was sent for it */
    unsigned seen;        /* enum wl_status bits seen in answers about it */
    int n_alloc;          /* the allocations as last seen */
    struct wl_alloc a[WL_MAX_ALLOCS];
    unsigned short_mask;            /* bit per sku: its line was in shortages, as last seen */
    int inflight;                   /* commit, release, update, transfer sent, not yet answered */
    long sends;                     /* those sent so far */
    bool exact;                     /* a, short_mask are its state now: the last answer about it
                                     * came from a request that had the hold to itself */
    int fresh_bo[WL_SKUS][WL_LOCS]; /* backordered units of the reserve's own answer */
    enum wl_status final;           /* its state after the run */
};

/* A stock.set and its ledger entry, paired whichever is seen first (one
 * stock.set at a time per place, so at most one is waiting). */
struct wl_set_pair {
    bool answered; /* stockd answered it, its entry not yet replayed */
    long long count, on_hand, limit;
    bool entry;  /* its entry was replayed before its answer came */
    long long q; /* the entry's change to on_hand */
};

/* Counts per operation kind: sent, answered with a result, and refusals. */
struct wl_count {
    long sent, ok, short_1001, conflict_1003, invalid_32602;
};

struct wl {
    unsigned long long seed, rng;
    long step;          /* answers taken so far (the failing one is step + 1) */
    const char *req;    /* the request of the answer being judged */
    const char *answer; /* that answer */
    long ops;
    long long clock_offset; /* Redis's clock minus this machine's monotonic clock */

    struct wl_order *orders;
    int n_orders;
    int *keyed; /* orders sent with an order_id */
    int n_keyed;
    struct wl_hold *holds;
    int n_holds, max_holds;
    int *short_lived; /* holds made with the shortest ttl, in the order made */
    int n_short, short_cursor;

    bool backorder_group[WL_SKUS][WL_LOCS];          /* the only places a limit is ever set */
    long long limit[WL_SKUS][WL_LOCS];               /* the backorder limit stockd confirmed */
    long long limits[WL_SKUS][WL_LOCS][WL_MAX_SETS]; /* every limit confirmed there, in order */
    int n_limits[WL_SKUS][WL_LOCS];
    long long pending[WL_SKUS][WL_LOCS];  /* a stock.set's limit not yet answered, or -1 */
    bool set_busy[WL_SKUS][WL_LOCS];      /* one stock.set in flight per place */
    long long adjusted[WL_SKUS][WL_LOCS]; /* deltas stockd accepted */
    struct wl_set_pair set_pair[WL_SKUS][WL_LOCS];
    long long on_hand_seen[WL_SKUS][WL_LOCS];  /* on_hand at the last look */
    long long reserved_seen[WL_SKUS][WL_LOCS]; /* reserved at the last look */

    struct wl_count count[WL_KINDS];
    long exact_checks, changed, unchanged, backordered_units, shortages, replays, not_held,
        not_at_location, negative_on_hand_seen, backordered_seen, audits;
};

/* The next pseudo-random number of the run (xorshift64). */
unsigned long long wl_random(struct wl *w);
/* A number in 0..n-1. */
int wl_pick(struct wl *w, int n);
/* Redis's clock now, in ms. */
long long wl_redis_now(const struct wl *w);

/* Fails the test with the seed, the step, the request and the answer
 * being judged, then the message. */
void wl_fail(const struct wl *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* "W2" -> 2, "L3" -> 3; -1 for anything the workload never names. */
int wl_sku(const char *s);
int wl_loc(const char *s);
/* The status named s as an enum wl_status bit; 0 when it is none. */
unsigned wl_status_of(const char *s);

/* Reads a result's allocations into h (fails on any it cannot read). */
void wl_read_allocations(const struct wl *w, const cJSON *result, struct wl_hold *h);

/* A stock.set at (sku, loc) answered with on_hand after a count: checks
 * on_hand = count - owed against its ledger entry once both are known. */
void wl_pair_set_answer(struct wl *w, int sku, int loc, long long count, long long on_hand,
                        long long limit);
/* The ledger entry of a stock.set: the limit it set (answered, or the one
 * in flight), and the same check. */
long long wl_pair_set_entry(struct wl *w, int sku, int loc, long long q, long long limit_before);

#endif
