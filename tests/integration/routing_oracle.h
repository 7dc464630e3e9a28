/* An oracle for stockd's location routing, written from the protocol alone
 * (PROTOCOL.md strategies, PROTOCOL-2.md "Locations and routing"): plain
 * haversine distances, the rule chain as a comparator, the v1 strategies
 * filling an order from a ranking, and the rankings that near ties (two
 * distances less than a metre apart) allow. It shares no code with stockd. */
#ifndef STOCKD_ROUTING_ORACLE_H
#define STOCKD_ROUTING_ORACLE_H

#include <stdbool.h>

#define RO_MAX_LOCS 64 /* location indexes the caller may use */
#define RO_MAX_LINES 3 /* lines of one order */
#define RO_EARTH_M 6372797.560856

enum ro_rule { RO_SAME_ZONE, RO_NEAREST, RO_PRIORITY, RO_CHANNEL_ORDER, RO_RULE_COUNT };
enum ro_strategy { RO_AUTO, RO_SINGLE, RO_PER_LINE, RO_SPLIT, RO_STRATEGY_COUNT };

/* One candidate location as the ranking sees it. */
struct ro_cand {
    int loc;         /* the caller's location index, < RO_MAX_LOCS */
    bool has_coords; /* the location has a record with lat/lng */
    double dist_m;   /* to the destination (has_coords and a destination) */
    bool same_zone;  /* its zone is the destination's zone */
    int priority;    /* 0 without a record */
    int order;       /* its position in channel order */
};

/* A channel's rule chain and what the request gives the rules to work on. */
struct ro_rules {
    int n;
    enum ro_rule rule[RO_RULE_COUNT];
    bool has_dest, has_dest_zone;
};

/* What a reserve should answer: allocations (sorted by line, then location)
 * or the out_of_stock data of the first short line. */
struct ro_alloc {
    int line, loc;
    long long q;
};
struct ro_outcome {
    bool ok;
    int n;
    struct ro_alloc a[RO_MAX_LINES * RO_MAX_LOCS];
    int short_line;
    long long requested, available;
};

/* Great-circle distance in metres between two points given in degrees. */
double ro_distance_m(double lat1, double lng1, double lat2, double lng2);

/* Sorts c[0..k) into the ranking the spec asks for (distances within a
 * millimetre are ties). */
void ro_rank(const struct ro_rules *r, struct ro_cand *c, int k);

/* True when a must rank before b however the near ties (distances 1e-6 m
 * to 1 m apart) are read. */
bool ro_definitely_before(const struct ro_rules *r, const struct ro_cand *a,
                          const struct ro_cand *b);

/* True when c[0..k) is an allowed ranking: no pair is in an order that
 * ro_definitely_before forbids. */
bool ro_ranking_ok(const struct ro_rules *r, const struct ro_cand *c, int k);

/* Fills an order of n lines (qty[i] units each) by strategy s from the
 * candidates c[0..k) in that order; avail[i][loc] is what line i may take
 * at location loc. Writes the outcome, allocations sorted. */
void ro_fill(enum ro_strategy s, int n, const long long *qty, long long (*avail)[RO_MAX_LOCS],
             const struct ro_cand *c, int k, struct ro_outcome *out);

/* Sorts an outcome's allocations by line, then location. */
void ro_outcome_sort(struct ro_outcome *o);
bool ro_outcome_eq(const struct ro_outcome *a, const struct ro_outcome *b);

/* Calls each(c, k, arg) on the allowed rankings of c[0..k), which must hold
 * ro_rank's order (tried first), until it returns true; then returns true.
 * Tries at most *budget rankings, counting them down (a caller that finds
 * it at 0 after a false return did not see them all). c is left as given. */
bool ro_any_ranking(const struct ro_rules *r, struct ro_cand *c, int k,
                    bool (*each)(const struct ro_cand *c, int k, void *arg), void *arg,
                    long *budget);

#endif
