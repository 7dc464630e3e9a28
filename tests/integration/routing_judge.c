/* The judge of the routing property test (see routing_judge.h): reads
 * stockd's answer to one reserve of a random catalogue and compares it with
 * the oracle, allowing what near ties allow. */
#include "routing_judge.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const cJSON *error_data(const cJSON *r)
{
    return get(get(r, "error"), "data");
}

void judge_init(struct judge *j, const struct cat *c, const struct order *o)
{
    memset(j, 0, sizeof *j);
    j->c = c;
    j->o = o;
    for (int i = 0; i < o->n; i++)
        for (int loc = 0; loc < RO_MAX_LOCS; loc++)
            j->avail[i][loc] = c->on_hand[o->sku[i]][loc] - c->given[o->sku[i]][loc];
    j->k = order_candidates(c, o, j->cand);
    j->rules = c->rules;
    j->rules.has_dest = o->dest;
    j->rules.has_dest_zone = o->dest_zone;
    ro_rank(&j->rules, j->cand, j->k);
    for (int i = 1; i < j->k && !j->near_tie; i++)
        j->near_tie = !ro_definitely_before(&j->rules, &j->cand[i - 1], &j->cand[i]);
}

static bool same_fill(const struct ro_cand *c, int k, void *arg)
{
    struct judge *j = arg;
    ro_fill(j->o->strategy, j->o->n, j->o->qty, j->avail, c, k, &j->want);
    return ro_outcome_eq(&j->want, &j->got);
}

/* The server's answer as an outcome: NULL, or why it cannot be one. */
static const char *read_answer(const struct cat *c, const struct order *o, const cJSON *r,
                               struct ro_outcome *got, const cJSON **explain)
{
    memset(got, 0, sizeof *got);
    const cJSON *res = resp_result(r), *a;
    if (res != NULL) {
        got->ok = true;
        *explain = get(res, "explain");
        cJSON_ArrayForEach(a, get(res, "allocations"))
        {
            int line = sku_line(c, o, json_str(a, "sku")),
                loc = loc_index(c, json_str(a, "location"));
            long long q = json_int(a, "quantity");
            if (line < 0 || loc < 0 || q <= 0 || got->n == RO_MAX_LINES * RO_MAX_LOCS)
                return "an allocation that is not of this order";
            got->a[got->n++] = (struct ro_alloc){line, loc, q};
        }
        ro_outcome_sort(got);
        return got->n > 0 ? NULL : "a hold without allocations";
    }
    if (resp_error_code(r) != 1001)
        return "neither a hold nor out_of_stock";
    *explain = get(error_data(r), "explain");
    got->short_line = sku_line(c, o, json_str(error_data(r), "sku"));
    got->requested = json_int(error_data(r), "requested");
    got->available = json_int(error_data(r), "available");
    return got->short_line >= 0 ? NULL : "out_of_stock names no sku of the order";
}

/* Checks an explain list against the candidates (in any order) and puts
 * the ranking it shows in ranked. NULL, or what is wrong. */
static const char *check_explain(const struct judge *j, const cJSON *ex, struct ro_cand *ranked)
{
    static char why[256];
    const struct cat *c = j->c;
    const struct ro_cand *cand = j->cand;
    int k = j->k;
    if (!cJSON_IsArray(ex) || cJSON_GetArraySize(ex) != k) {
        snprintf(why, sizeof why, "explain is not a list of the %d candidates", k);
        return why;
    }
    bool used[RO_MAX_LOCS] = {false};
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, ex)
    {
        const char *name = json_str(e, "location");
        int loc = loc_index(c, name), at = -1;
        for (int m = 0; m < k; m++)
            at = cand[m].loc == loc ? m : at;
        if (at < 0 || used[loc]) {
            snprintf(why, sizeof why, "explain names %s, not a candidate or twice", name);
            return why;
        }
        used[loc] = true;
        ranked[i++] = cand[at];
        const struct loc *l = &c->loc[loc];
        const cJSON *zone = get(e, "zone"), *dist = get(e, "distance_km"),
                    *prio = get(e, "priority");
        char z[16];
        snprintf(z, sizeof z, "z%d", l->zone);
        if (!cJSON_IsNumber(prio) || prio->valuedouble != l->priority)
            snprintf(why, sizeof why, "explain: %s priority is not %d", name, l->priority);
        else if ((l->zone >= 0) != (zone != NULL) || (zone && strcmp(json_str(e, "zone"), z) != 0))
            snprintf(why, sizeof why, "explain: %s zone is not %s", name,
                     l->zone >= 0 ? z : "absent");
        else if ((j->o->dest && l->coords) != (dist != NULL))
            snprintf(why, sizeof why, "explain: %s distance_km %s", name,
                     dist ? "present" : "missing");
        else if (dist &&
                 (!cJSON_IsNumber(dist) || fabs(dist->valuedouble * 1000 - cand[at].dist_m) > 1))
            snprintf(why, sizeof why, "explain: %s distance_km %.6f, oracle %.6f", name,
                     cJSON_IsNumber(dist) ? dist->valuedouble : NAN, cand[at].dist_m / 1000);
        else
            continue;
        return why;
    }
    return ro_ranking_ok(&j->rules, ranked, k) ? NULL : "explain's order is not an allowed ranking";
}

const char *judge_answer(struct judge *j, const cJSON *r)
{
    const cJSON *explain = NULL;
    struct ro_cand ranked[MAX_LOCS + 1];
    const char *why = r ? read_answer(j->c, j->o, r, &j->got, &explain) : "not JSON";
    j->read = why == NULL;
    if (why == NULL && j->o->explain) {
        why = check_explain(j, explain, ranked);
        if (why == NULL && !same_fill(ranked, j->k, j))
            why = "the answer is not the fill of the ranking explain shows";
    } else if (why == NULL && explain != NULL) {
        why = "explain that was not asked for";
    } else if (why == NULL) {
        long budget = 50000;
        if (!ro_any_ranking(&j->rules, j->cand, j->k, same_fill, j, &budget))
            why = budget > 0 ? "no allowed ranking gives this answer" : "too many rankings to try";
    }
    return why;
}

void judge_report(struct judge *j, const char *why, const char *line)
{
    const struct cat *c = j->c;
    const struct order *o = j->o;
    const struct ro_cand *cand = j->cand;
    ro_fill(o->strategy, o->n, o->qty, j->avail, cand, j->k, &j->want);
    char text[4096];
    fprintf(stderr, "MISMATCH (catalogue %d): %s\n  request: %s\n  oracle:  %s\n  got:     %s\n",
            c->id, why, o->params.p, outcome_text(c, o, &j->want, text, sizeof text), line);
    fprintf(stderr, "  rules:");
    for (int i = 0; i < j->rules.n; i++)
        fprintf(stderr, " %s", rule_names[j->rules.rule[i]]);
    fprintf(stderr, "%s; the oracle's ranking:\n", c->rules_given ? "" : " (default)");
    for (int i = 0; i < j->k; i++) {
        const struct loc *l = &c->loc[cand[i].loc];
        fprintf(stderr, "    p%d-l%d %s lat %.8f lng %.8f zone %d priority %d dist %.4f m avail",
                c->id, cand[i].loc, l->record ? "" : "(no record)", l->coords ? l->lat : NAN,
                l->coords ? l->lng : NAN, l->zone, l->priority, cand[i].dist_m);
        for (int m = 0; m < o->n; m++)
            fprintf(stderr, " %lld", j->avail[m][cand[i].loc]);
        fprintf(stderr, "\n");
    }
}
