/* Random catalogues for the routing property test: a catalogue is up to 50
 * locations (with or without a record, coordinates, zone), stock of a few
 * skus at them, and a channel with a rule chain; each round gives it one
 * random order. Names carry the catalogue's number (p<id>-l<i>, p<id>-s<k>,
 * p<id>-ch), so catalogues never meet in Redis. All randomness comes from
 * one generator, so a seed replays a run. No I/O here. */
#ifndef STOCKD_ROUTING_CATALOGUE_H
#define STOCKD_ROUTING_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

#include "routing_oracle.h"

enum { MAX_LOCS = 50, X_LOC = MAX_LOCS, MAX_SKUS = 4, MAX_ROUNDS = 6 };

extern const char *const rule_names[RO_RULE_COUNT];
extern const char *const strategy_names[RO_STRATEGY_COUNT];

/* A growing string. */
struct sb {
    char *p; /* owned (free it); NUL-terminated once written */
    size_t len, cap;
};
void sb_printf(struct sb *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void rnd_seed(unsigned long long seed);
int rnd_int(int lo, int hi); /* lo..hi inclusive */
bool chance(int percent);
double rnd_real(double lo, double hi);

struct loc {
    bool record, coords;
    double lat, lng; /* exactly what the JSON text reads back as */
    int zone;        /* z<zone>; -1: none */
    int priority;
};

struct order {
    int n, sku[RO_MAX_LINES];
    long long qty[RO_MAX_LINES];
    bool dest, dest_zone, has_max, explain;
    double lat, lng, max_km;
    int zone, n_req, req[MAX_LOCS + 1]; /* req: the request's locations, if n_req */
    enum ro_strategy strategy;
    struct sb params; /* owned: the reserve's params */
};

/* Location X_LOC ("p<id>-x") has stock and is in no channel: a request that
 * names it must never get it. */
struct cat {
    int id, n_loc, n_zones, n_sku, n_chan, chan[MAX_LOCS], n_orders;
    struct loc loc[MAX_LOCS + 1];
    double clat, clng, spread; /* where its locations are, in degrees */
    long long on_hand[MAX_SKUS][RO_MAX_LOCS];
    long long given[MAX_SKUS][RO_MAX_LOCS]; /* units stockd handed out (the caller counts) */
    bool stocked[MAX_SKUS][RO_MAX_LOCS];
    struct ro_rules rules; /* without the request's part */
    bool rules_given;      /* false: channel.set without rules */
    struct order cur;      /* this round's order */
};

/* A fresh random catalogue number id (c->cur.params is kept). */
void catalogue_gen(struct cat *c, int id);
/* Calls send with the location.set, stock.set and channel.set params that
 * create the catalogue. */
void catalogue_send(const struct cat *c,
                    void (*send)(void *arg, const char *method, const char *params), void *arg);
/* A random order of catalogue c, in o (its params text reused). */
void order_gen(struct cat *c, struct order *o);
/* The order's candidates in channel order, after max_distance_km: out gets
 * up to MAX_LOCS + 1; returns how many. */
int order_candidates(const struct cat *c, const struct order *o, struct ro_cand *out);

void loc_name(const struct cat *c, int i, char *out, size_t n);
/* The index of a location name of c; -1 for any other name (or NULL). */
int loc_index(const struct cat *c, const char *name);
/* The line of o whose sku this is; -1 if none. */
int sku_line(const struct cat *c, const struct order *o, const char *sku);
/* An outcome as text, for reports. */
const char *outcome_text(const struct cat *c, const struct order *o, const struct ro_outcome *x,
                         char *out, size_t n);

#endif
