/* The routing oracle (see routing_oracle.h): what a reserve with a
 * destination should answer, computed the slow and obvious way. */
#include "routing_oracle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RO_PI 3.14159265358979323846
#define TIE_M 0.001  /* the spec: distances within a millimetre are a tie */
#define EXACT_M 1e-6 /* equal coordinates: a tie however distances are computed */
#define NEAR_M 1.0   /* closer than this, either order may be right */

double ro_distance_m(double lat1, double lng1, double lat2, double lng2)
{
    double rad = RO_PI / 180.0;
    double s_lat = sin((lat2 - lat1) * rad / 2), s_lng = sin((lng2 - lng1) * rad / 2);
    double a = s_lat * s_lat + cos(lat1 * rad) * cos(lat2 * rad) * s_lng * s_lng;
    if (a > 1)
        a = 1;
    return 2 * RO_EARTH_M * asin(sqrt(a));
}

/* The rules that apply: a rule that needs a destination (or its zone) is
 * skipped without one. */
static bool applies(const struct ro_rules *r, enum ro_rule rule)
{
    if (rule == RO_SAME_ZONE)
        return r->has_dest && r->has_dest_zone;
    if (rule == RO_NEAREST)
        return r->has_dest;
    return true;
}

static int compare(const struct ro_rules *r, const struct ro_cand *a, const struct ro_cand *b)
{
    for (int i = 0; i < r->n; i++) {
        if (!applies(r, r->rule[i]))
            continue;
        switch (r->rule[i]) {
        case RO_SAME_ZONE:
            if (a->same_zone != b->same_zone)
                return a->same_zone ? -1 : 1;
            break;
        case RO_NEAREST:
            if (a->has_coords != b->has_coords)
                return a->has_coords ? -1 : 1;
            if (a->has_coords && fabs(a->dist_m - b->dist_m) >= TIE_M)
                return a->dist_m < b->dist_m ? -1 : 1;
            break;
        case RO_PRIORITY:
            if (a->priority != b->priority)
                return a->priority > b->priority ? -1 : 1;
            break;
        default:
            return a->order - b->order;
        }
    }
    return a->order - b->order;
}

void ro_rank(const struct ro_rules *r, struct ro_cand *c, int k)
{
    /* Insertion sort: k is small, and the comparator is a total order. */
    for (int i = 1; i < k; i++) {
        struct ro_cand x = c[i];
        int j = i;
        while (j > 0 && compare(r, &x, &c[j - 1]) < 0) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

bool ro_definitely_before(const struct ro_rules *r, const struct ro_cand *a,
                          const struct ro_cand *b)
{
    for (int i = 0; i < r->n; i++) {
        if (!applies(r, r->rule[i]))
            continue;
        switch (r->rule[i]) {
        case RO_SAME_ZONE:
            if (a->same_zone != b->same_zone)
                return a->same_zone;
            break;
        case RO_NEAREST:
            if (a->has_coords != b->has_coords)
                return a->has_coords;
            if (a->has_coords) {
                double d = fabs(a->dist_m - b->dist_m);
                if (d >= NEAR_M)
                    return a->dist_m < b->dist_m;
                if (d >= EXACT_M)
                    return false; /* a near tie: read as a tie or not */
            }
            break;
        case RO_PRIORITY:
            if (a->priority != b->priority)
                return a->priority > b->priority;
            break;
        default:
            return a->order < b->order;
        }
    }
    return a->order < b->order;
}

bool ro_ranking_ok(const struct ro_rules *r, const struct ro_cand *c, int k)
{
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++)
            if (ro_definitely_before(r, &c[j], &c[i]))
                return false;
    return true;
}

static int alloc_cmp(const void *x, const void *y)
{
    const struct ro_alloc *a = x, *b = y;
    if (a->line != b->line)
        return a->line - b->line;
    return a->loc - b->loc;
}

void ro_outcome_sort(struct ro_outcome *o)
{
    qsort(o->a, (size_t)o->n, sizeof o->a[0], alloc_cmp);
}

bool ro_outcome_eq(const struct ro_outcome *a, const struct ro_outcome *b)
{
    if (a->ok != b->ok)
        return false;
    if (!a->ok)
        return a->short_line == b->short_line && a->requested == b->requested &&
               a->available == b->available;
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->a[i].line != b->a[i].line || a->a[i].loc != b->a[i].loc || a->a[i].q != b->a[i].q)
            return false;
    return true;
}

/* The strategies of PROTOCOL.md over rows a[line][rank]. Each returns
 * false when it cannot fill the order, having added nothing. */
static void add(struct ro_outcome *o, int line, int loc, long long q)
{
    o->a[o->n++] = (struct ro_alloc){line, loc, q};
}

static bool fill_single(int n, const long long *qty, long long (*a)[RO_MAX_LOCS],
                        const struct ro_cand *c, int k, struct ro_outcome *o)
{
    for (int j = 0; j < k; j++) {
        int i = 0;
        while (i < n && a[i][j] >= qty[i])
            i++;
        if (i < n)
            continue;
        for (i = 0; i < n; i++)
            add(o, i, c[j].loc, qty[i]);
        return true;
    }
    return false;
}

static bool fill_per_line(int n, const long long *qty, long long (*a)[RO_MAX_LOCS],
                          const struct ro_cand *c, int k, struct ro_outcome *o)
{
    int at[RO_MAX_LINES];
    for (int i = 0; i < n; i++) {
        at[i] = -1;
        for (int j = 0; j < k && at[i] < 0; j++)
            if (a[i][j] >= qty[i])
                at[i] = j;
        if (at[i] < 0)
            return false;
    }
    for (int i = 0; i < n; i++)
        add(o, i, c[at[i]].loc, qty[i]);
    return true;
}

static bool fill_split(int n, const long long *qty, long long (*a)[RO_MAX_LOCS],
                       const struct ro_cand *c, int k, struct ro_outcome *o)
{
    long long total;
    for (int i = 0; i < n; i++) {
        total = 0;
        for (int j = 0; j < k; j++)
            total += a[i][j];
        if (total < qty[i])
            return false;
    }
    for (int i = 0; i < n; i++) {
        long long need = qty[i];
        for (int j = 0; j < k && need > 0; j++) {
            long long take = a[i][j] < need ? a[i][j] : need;
            if (take > 0)
                add(o, i, c[j].loc, take);
            need -= take;
        }
    }
    return true;
}

void ro_fill(enum ro_strategy s, int n, const long long *qty, long long (*avail)[RO_MAX_LOCS],
             const struct ro_cand *c, int k, struct ro_outcome *out)
{
    memset(out, 0, sizeof *out);
    long long a[RO_MAX_LINES][RO_MAX_LOCS];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            a[i][j] = avail[i][c[j].loc] > 0 ? avail[i][c[j].loc] : 0;
    if (k > 0) {
        bool ok;
        if (s == RO_SINGLE)
            ok = fill_single(n, qty, a, c, k, out);
        else if (s == RO_PER_LINE)
            ok = fill_per_line(n, qty, a, c, k, out);
        else if (s == RO_SPLIT)
            ok = fill_split(n, qty, a, c, k, out);
        else
            ok = fill_single(n, qty, a, c, k, out) || fill_per_line(n, qty, a, c, k, out) ||
                 fill_split(n, qty, a, c, k, out);
        if (ok) {
            out->ok = true;
            ro_outcome_sort(out);
            return;
        }
    }
    /* The first line that cannot be filled, and what there is for it,
     * measured the way the strategy fills a line: at the most preferred
     * candidate (single), at the best one (per_line), summed (split, auto).
     * No candidate at all: the first line, and 0. */
    out->short_line = 0;
    out->requested = qty[0];
    out->available = 0;
    for (int i = 0; i < n && k > 0; i++) {
        long long have = 0;
        for (int j = 0; j < k; j++) {
            if (s == RO_SINGLE)
                have = a[i][0];
            else if (s == RO_PER_LINE)
                have = a[i][j] > have ? a[i][j] : have;
            else
                have += a[i][j];
        }
        if (have < qty[i]) {
            out->short_line = i;
            out->requested = qty[i];
            out->available = have;
            return;
        }
    }
}

/* The enumeration of ro_any_ranking: positions [start[p], end[p]) form the
 * cluster of near-tied candidates p belongs to; only those may move. */
struct walk {
    const struct ro_rules *r;
    struct ro_cand *c;
    int k;
    int start[RO_MAX_LOCS], end[RO_MAX_LOCS];
    bool (*each)(const struct ro_cand *c, int k, void *arg);
    void *arg;
    long *budget;
};

static void swap(struct ro_cand *c, int i, int j)
{
    struct ro_cand t = c[i];
    c[i] = c[j];
    c[j] = t;
}

static bool walk_from(struct walk *w, int p)
{
    if (p == w->k) {
        if (*w->budget <= 0)
            return false;
        (*w->budget)--;
        return w->each(w->c, w->k, w->arg);
    }
    for (int i = p; i < w->end[p]; i++) {
        swap(w->c, p, i);
        bool ok = true;
        for (int q = w->start[p]; q < p && ok; q++)
            ok = !ro_definitely_before(w->r, &w->c[p], &w->c[q]);
        bool found = ok && walk_from(w, p + 1);
        swap(w->c, p, i);
        if (found)
            return true;
    }
    return false;
}

bool ro_any_ranking(const struct ro_rules *r, struct ro_cand *c, int k,
                    bool (*each)(const struct ro_cand *c, int k, void *arg), void *arg,
                    long *budget)
{
    struct walk w = {.r = r, .c = c, .k = k, .each = each, .arg = arg, .budget = budget};
    /* A candidate joins the cluster before it when it is not definitely
     * after one of its members. Clusters are runs of the ranking: what sits
     * between two near-tied candidates ties with both on the rules before
     * nearest, and is near both in distance. */
    for (int p = 0; p < k; p++) {
        w.start[p] = p;
        for (int q = p > 0 ? w.start[p - 1] : 0; q < p; q++)
            if (!ro_definitely_before(r, &c[q], &c[p]))
                w.start[p] = w.start[p - 1];
    }
    for (int p = k - 1; p >= 0; p--)
        w.end[p] = p + 1 < k && w.start[p + 1] == w.start[p] ? w.end[p + 1] : p + 1;
    return walk_from(&w, 0);
}
