/* The judge of the routing property test: stockd's answer to one reserve of
 * a random catalogue (routing_catalogue.h) against the oracle
 * (routing_oracle.h). An answer is right when it is what the strategy fills
 * from the oracle's ranking, or from another ranking that only reorders
 * candidates whose distances differ by less than a metre; with explain, the
 * list must be such an allowed ranking (each entry's distance within a
 * metre of the oracle's, zone and priority exact) and the answer its fill. */
#ifndef STOCKD_ROUTING_JUDGE_H
#define STOCKD_ROUTING_JUDGE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "routing_catalogue.h"
#include "routing_oracle.h"

struct judge {
    const struct cat *c;   /* borrowed */
    const struct order *o; /* borrowed */
    struct ro_rules rules;
    struct ro_cand cand[MAX_LOCS + 1]; /* the candidates in the oracle's ranking */
    int k;
    bool near_tie;                              /* two neighbours in the ranking may swap */
    long long avail[RO_MAX_LINES][RO_MAX_LOCS]; /* on_hand - given, per line and location */
    bool read;                                  /* got holds stockd's answer */
    struct ro_outcome got, want;                /* want: the last fill tried */
};

/* Prepares j for order o of c, as c's stock stands now. */
void judge_init(struct judge *j, const struct cat *c, const struct order *o);
/* NULL when stockd's answer r (a parsed response, or NULL) is right; else
 * why it is not. */
const char *judge_answer(struct judge *j, const cJSON *r);
/* Writes the order, the oracle's answer and ranking and stockd's answer
 * line to stderr. */
void judge_report(struct judge *j, const char *why, const char *line);

#endif
