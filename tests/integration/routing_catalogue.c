/* Random catalogues for the routing property test (see routing_catalogue.h):
 * locations, stock, a channel with rules, and orders, each with the JSON
 * text stockd gets and the values that text reads back as. */
#include "routing_catalogue.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rule_names[RO_RULE_COUNT] = {"same_zone", "nearest", "priority", "channel_order"};
const char *const strategy_names[RO_STRATEGY_COUNT] = {"auto", "single", "per_line", "split"};

static unsigned long long rng; /* the generator's state: the run's only randomness */

static unsigned long long rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

void rnd_seed(unsigned long long seed)
{
    rng = seed ^ 0x9E3779B97F4A7C15ULL;
    rng = rng ? rng : 1;
}

int rnd_int(int lo, int hi)
{
    return lo + (int)(rnd() % (unsigned long long)(hi - lo + 1));
}

bool chance(int percent)
{
    return rnd_int(0, 99) < percent;
}

double rnd_real(double lo, double hi)
{
    return lo + (hi - lo) * (double)(rnd() >> 11) / 9007199254740992.0;
}

void sb_printf(struct sb *s, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
        va_end(ap);
        if (s->p && (size_t)n < s->cap - s->len) {
            s->len += (size_t)n;
            return;
        }
        size_t cap = (s->cap + (size_t)n + 1) * 2;
        char *p = malloc(cap);
        if (p == NULL)
            abort();
        if (s->p)
            memcpy(p, s->p, s->len + 1);
        free(s->p);
        s->p = p;
        s->cap = cap;
    }
}

/* A number printed for JSON, and the double that text reads back as. */
static double text_num(double v, const char *fmt, char *out, size_t n)
{
    snprintf(out, n, fmt, v);
    return strtod(out, NULL);
}

/* Puts l at lat, lng, wrapped into range. Latitudes beyond a pole are
 * clamped to it, so polar catalogues have one point under many longitudes:
 * distances to it that must tie. */
static void place(struct loc *l, double lat, double lng)
{
    char t[40];
    lng = lng > 180 ? lng - 360 : lng < -180 ? lng + 360 : lng;
    l->lat = text_num(fmin(90, fmax(-90, lat)), "%.8f", t, sizeof t);
    l->lng = text_num(lng, "%.8f", t, sizeof t);
}

static int pick_priority(void)
{
    static const int common[] = {0, 0, 0, 5, 5, -3, 1000, -1000};
    return chance(80) ? common[rnd_int(0, 7)] : rnd_int(-1000, 1000);
}

void catalogue_gen(struct cat *c, int id)
{
    struct sb keep = c->cur.params;
    memset(c, 0, sizeof *c);
    c->cur.params = keep;
    c->id = id;
    c->n_loc = rnd_int(1, MAX_LOCS);
    c->n_zones = rnd_int(1, 4);
    c->n_sku = rnd_int(1, MAX_SKUS);
    /* Most anywhere between 60 S and 60 N; some across the antimeridian,
     * some near a pole (beyond Redis GEO's latitudes). */
    int kind = rnd_int(0, 99);
    c->clat = kind < 88 ? rnd_real(-60, 60) : rnd_real(80, 89.9) * (chance(50) ? 1 : -1);
    c->clng = kind >= 80 && kind < 88 ? (chance(50) ? 179.95 : -179.95) : rnd_real(-180, 180);
    c->spread = chance(30) ? rnd_real(0.001, 0.05) : rnd_real(0.05, 4);
    for (int i = 0; i < c->n_loc; i++) {
        struct loc *l = &c->loc[i];
        l->record = chance(88);
        l->coords = l->record && chance(85);
        l->zone = l->record && chance(80) ? rnd_int(0, c->n_zones - 1) : -1;
        l->priority = l->record ? pick_priority() : 0;
        int twin = rnd_int(0, i); /* if below i: an earlier location with coordinates */
        while (twin < i && !c->loc[twin].coords)
            twin++;
        if (!l->coords)
            continue;
        if (twin < i && chance(12)) { /* equal coordinates: an exact tie */
            l->lat = c->loc[twin].lat;
            l->lng = c->loc[twin].lng;
        } else if (twin < i && chance(8)) { /* 0.1 to 0.9 m away: a near tie */
            place(l, c->loc[twin].lat + rnd_int(1, 8) * 1e-6, c->loc[twin].lng);
        } else {
            place(l, c->clat + rnd_real(-c->spread, c->spread),
                  c->clng + rnd_real(-c->spread, c->spread));
        }
    }
    for (int s = 0; s < c->n_sku; s++) {
        for (int i = 0; i < c->n_loc; i++) {
            c->stocked[s][i] = chance(55);
            c->on_hand[s][i] = c->stocked[s][i] && chance(80) ? rnd_int(1, 6) : 0;
        }
        c->stocked[s][X_LOC] = true;
        c->on_hand[s][X_LOC] = 50;
    }
    int perm[MAX_LOCS];
    for (int i = 0; i < c->n_loc; i++)
        perm[i] = i;
    for (int i = c->n_loc - 1; i > 0; i--) {
        int j = rnd_int(0, i), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    c->n_chan = chance(70) ? c->n_loc : rnd_int(1, c->n_loc);
    memcpy(c->chan, perm, sizeof(int) * (size_t)c->n_chan);
    c->rules_given = chance(90);
    enum ro_rule rules[RO_RULE_COUNT] = {RO_SAME_ZONE, RO_NEAREST, RO_PRIORITY, RO_CHANNEL_ORDER};
    for (int i = RO_RULE_COUNT - 1; i > 0; i--) {
        int j = rnd_int(0, i);
        enum ro_rule t = rules[i];
        rules[i] = rules[j];
        rules[j] = t;
    }
    c->rules.n = c->rules_given ? rnd_int(1, RO_RULE_COUNT) : 1;
    for (int i = 0; i < c->rules.n; i++)
        c->rules.rule[i] = c->rules_given ? rules[i] : RO_CHANNEL_ORDER;
    c->n_orders = rnd_int(1, MAX_ROUNDS);
}

void loc_name(const struct cat *c, int i, char *out, size_t n)
{
    if (i == X_LOC)
        snprintf(out, n, "p%d-x", c->id);
    else
        snprintf(out, n, "p%d-l%d", c->id, i);
}

int loc_index(const struct cat *c, const char *name)
{
    char want[48];
    for (int i = 0; i <= MAX_LOCS; i++) {
        if (i == c->n_loc)
            i = X_LOC;
        loc_name(c, i, want, sizeof want);
        if (name != NULL && strcmp(want, name) == 0)
            return i;
    }
    return -1;
}

void catalogue_send(const struct cat *c,
                    void (*send)(void *arg, const char *method, const char *params), void *arg)
{
    char name[48];
    struct sb s = {0};
    for (int i = 0; i < c->n_loc; i++) {
        const struct loc *l = &c->loc[i];
        loc_name(c, i, name, sizeof name);
        if (l->record) {
            s.len = 0;
            sb_printf(&s, "{\"location\":\"%s\",\"priority\":%d", name, l->priority);
            if (l->coords)
                sb_printf(&s, ",\"lat\":%.8f,\"lng\":%.8f", l->lat, l->lng);
            if (l->zone >= 0)
                sb_printf(&s, ",\"zone\":\"z%d\"", l->zone);
            if (i % 5 == 0)
                sb_printf(&s, ",\"tags\":[\"t%d\",\"cold\"]", i);
            sb_printf(&s, "}");
            send(arg, "location.set", s.p);
        }
    }
    for (int k = 0; k < c->n_sku; k++)
        for (int i = 0; i <= X_LOC; i++) {
            if (!c->stocked[k][i])
                continue;
            loc_name(c, i, name, sizeof name);
            s.len = 0;
            sb_printf(&s, "{\"sku\":\"p%d-s%d\",\"location\":\"%s\",\"on_hand\":%lld}", c->id, k,
                      name, c->on_hand[k][i]);
            send(arg, "stock.set", s.p);
        }
    s.len = 0;
    sb_printf(&s, "{\"channel\":\"p%d-ch\",\"locations\":[", c->id);
    for (int i = 0; i < c->n_chan; i++)
        sb_printf(&s, "%s\"p%d-l%d\"", i ? "," : "", c->id, c->chan[i]);
    sb_printf(&s, "]");
    for (int i = 0; c->rules_given && i < c->rules.n; i++)
        sb_printf(&s, "%s\"%s\"", i ? "," : ",\"rules\":[", rule_names[c->rules.rule[i]]);
    sb_printf(&s, "%s}", c->rules_given ? "]" : "");
    send(arg, "channel.set", s.p);
    free(s.p);
}

/* A max_distance_km at least 2 m from every location's distance, so that
 * neither rounding nor GEO's precision can move a location across it. */
static double pick_max_km(const struct cat *c, const struct order *o, char *out, size_t n)
{
    double km = chance(50) ? rnd_real(0.001, c->spread * 200) : 0;
    if (km == 0) {
        int i = rnd_int(0, c->n_loc - 1);
        km = c->loc[i].coords ? ro_distance_m(o->lat, o->lng, c->loc[i].lat, c->loc[i].lng) / 1000 *
                                    rnd_real(0.5, 1.5)
                              : 1;
    }
    for (bool clear = false; !clear;) {
        km = text_num(fmax(km, 0.001), "%.6f", out, n);
        clear = true;
        for (int i = 0; i < c->n_loc; i++)
            if (c->loc[i].coords &&
                fabs(ro_distance_m(o->lat, o->lng, c->loc[i].lat, c->loc[i].lng) - km * 1000) < 2)
                clear = false;
        km += 0.01;
    }
    return strtod(out, NULL);
}

void order_gen(struct cat *c, struct order *o)
{
    struct sb params = o->params;
    memset(o, 0, sizeof *o);
    o->params = params;
    o->params.len = 0;
    int skus[MAX_SKUS] = {0, 1, 2, 3};
    o->n = rnd_int(1, c->n_sku < RO_MAX_LINES ? c->n_sku : RO_MAX_LINES);
    for (int i = 0; i < o->n; i++) {
        int j = rnd_int(i, c->n_sku - 1), t = skus[i];
        skus[i] = skus[j];
        skus[j] = t;
        o->sku[i] = skus[i];
        o->qty[i] = rnd_int(1, 5);
    }
    sb_printf(&o->params, "{\"items\":[");
    for (int i = 0; i < o->n; i++)
        sb_printf(&o->params, "%s{\"sku\":\"p%d-s%d\",\"quantity\":%lld}", i ? "," : "", c->id,
                  o->sku[i], o->qty[i]);
    sb_printf(&o->params, "],\"channel\":\"p%d-ch\"", c->id);
    o->strategy = (enum ro_strategy)rnd_int(0, RO_STRATEGY_COUNT - 1);
    if (o->strategy != RO_AUTO || chance(50))
        sb_printf(&o->params, ",\"strategy\":\"%s\"", strategy_names[o->strategy]);
    o->dest = chance(85);
    if (o->dest) {
        int at = rnd_int(0, c->n_loc - 1);
        struct loc d;
        if (c->loc[at].coords && chance(10))
            d = c->loc[at];
        else
            place(&d, c->clat + rnd_real(-1.5, 1.5) * c->spread,
                  c->clng + rnd_real(-1.5, 1.5) * c->spread);
        o->lat = d.lat;
        o->lng = d.lng;
        sb_printf(&o->params, ",\"destination\":{\"lat\":%.8f,\"lng\":%.8f", o->lat, o->lng);
        o->dest_zone = chance(60);
        o->zone = rnd_int(0, c->n_zones); /* z<n_zones>: no location's */
        if (o->dest_zone)
            sb_printf(&o->params, ",\"zone\":\"z%d\"", o->zone);
        sb_printf(&o->params, "}");
        o->has_max = chance(25);
        if (o->has_max) {
            char t[40];
            o->max_km = pick_max_km(c, o, t, sizeof t);
            sb_printf(&o->params, ",\"max_distance_km\":%s", t);
        }
    }
    if (chance(25)) {
        int pool[MAX_LOCS + 1], m = 0;
        for (int i = 0; i < c->n_loc; i++)
            pool[m++] = i;
        pool[m++] = X_LOC;
        o->n_req = rnd_int(1, m);
        sb_printf(&o->params, ",\"locations\":[");
        for (int i = 0; i < o->n_req; i++) {
            int j = rnd_int(i, m - 1), t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
            o->req[i] = pool[i];
            char name[48];
            loc_name(c, pool[i], name, sizeof name);
            sb_printf(&o->params, "%s\"%s\"", i ? "," : "", name);
        }
        sb_printf(&o->params, "]");
    }
    o->explain = chance(40);
    sb_printf(&o->params, "%s}", o->explain ? ",\"explain\":true" : "");
}

/* The candidates in channel order, after exclusion. */
int order_candidates(const struct cat *c, const struct order *o, struct ro_cand *out)
{
    int list[MAX_LOCS + 1], n = 0, k = 0;
    if (o->n_req > 0) {
        for (int i = 0; i < o->n_req; i++)
            for (int j = 0; j < c->n_chan; j++)
                if (c->chan[j] == o->req[i])
                    list[n++] = o->req[i];
    } else {
        memcpy(list, c->chan, sizeof(int) * (size_t)c->n_chan);
        n = c->n_chan;
    }
    for (int i = 0; i < n; i++) {
        const struct loc *l = &c->loc[list[i]];
        struct ro_cand x = {
            .loc = list[i], .has_coords = l->coords, .priority = l->priority, .order = i};
        if (o->dest && l->coords)
            x.dist_m = ro_distance_m(o->lat, o->lng, l->lat, l->lng);
        x.same_zone = o->dest_zone && l->zone == o->zone;
        if (o->has_max && (!l->coords || x.dist_m > o->max_km * 1000))
            continue;
        out[k++] = x;
    }
    return k;
}

const char *outcome_text(const struct cat *c, const struct order *o, const struct ro_outcome *x,
                         char *out, size_t n)
{
    char name[48];
    size_t at = 0;
    out[0] = '\0';
    if (!x->ok) {
        snprintf(out, n, "out_of_stock p%d-s%d requested %lld available %lld", c->id,
                 o->sku[x->short_line], x->requested, x->available);
        return out;
    }
    for (int i = 0; i < x->n && at < n; i++) {
        loc_name(c, x->a[i].loc, name, sizeof name);
        at += (size_t)snprintf(out + at, n - at, "%sp%d-s%d@%s=%lld", i ? "," : "", c->id,
                               o->sku[x->a[i].line], name, x->a[i].q);
    }
    return out;
}

int sku_line(const struct cat *c, const struct order *o, const char *sku)
{
    char want[48];
    for (int i = 0; i < o->n; i++) {
        snprintf(want, sizeof want, "p%d-s%d", c->id, o->sku[i]);
        if (strcmp(want, sku) == 0)
            return i;
    }
    return -1;
}
