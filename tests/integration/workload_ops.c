/* The workload's operations and the judging of their answers (see
 * workload_ops.h). Under concurrency the workload cannot know a hold's
 * state when its request runs, so each check allows exactly the outcomes
 * that some order of the racing requests could give, and no more. */
#include "workload_ops.h"

#include "workload_exact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const strategy_names[] = {"auto", "single", "per_line", "split"};

static const cJSON *member(const cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/* A hold to aim at: a recent one, one about to expire, or any. */
static int aim(struct wl *w)
{
    if (w->n_holds == 0)
        return -1;
    int roll = wl_pick(w, 100);
    if (roll < 40) {
        int span = w->n_holds < 24 ? w->n_holds : 24;
        return w->n_holds - 1 - wl_pick(w, span);
    }
    if (roll < 75 && w->n_short > 0) {
        long long now = wl_redis_now(w);
        while (w->short_cursor < w->n_short - 1 &&
               w->holds[w->short_lived[w->short_cursor]].expires_at < now - 30)
            w->short_cursor++;
        int left = w->n_short - w->short_cursor;
        return w->short_lived[w->short_cursor + wl_pick(w, left < 8 ? left : 8)];
    }
    return wl_pick(w, w->n_holds);
}

static void send_reserve(struct wl *w, struct wl_client *c)
{
    assert_true(w->n_orders < (int)w->ops);
    struct wl_order *o = &w->orders[w->n_orders];
    memset(o, 0, sizeof *o);
    o->hold = -1;
    o->n_lines = 1 + wl_pick(w, WL_MAX_LINES);
    int first = wl_pick(w, WL_SKUS);
    char items[256];
    size_t len = 0;
    for (int i = 0; i < o->n_lines; i++) {
        o->sku[i] = (first + i) % WL_SKUS;
        o->q[i] = wl_pick(w, 100) < 80 ? 1 + wl_pick(w, 5) : 6 + wl_pick(w, 15);
        len += (size_t)snprintf(items + len, sizeof items - len,
                                "%s{\"sku\":\"W%d\",\"quantity\":%lld}", i ? "," : "", o->sku[i],
                                o->q[i]);
    }
    o->strategy = (enum wl_strategy)wl_pick(w, 4);
    o->backorder = wl_pick(w, 100) < 35;
    o->partial = wl_pick(w, 100) < 35;
    o->ttl_ms = wl_pick(w, 2) ? 1000 : 1000 + wl_pick(w, 2000);
    char order[40] = "";
    if (wl_pick(w, 3) == 0) {
        snprintf(o->order_id, sizeof o->order_id, "wo-%d", w->n_orders);
        snprintf(order, sizeof order, "\"order_id\":\"%s\",", o->order_id);
        w->keyed[w->n_keyed++] = w->n_orders;
    }
    /* The flags are sent when set, and now and then as an explicit false. */
    char flags[80] = "";
    if (o->backorder || wl_pick(w, 4) == 0)
        snprintf(flags, sizeof flags, ",\"allow_backorder\":%s", o->backorder ? "true" : "false");
    if (o->partial || wl_pick(w, 4) == 0)
        snprintf(flags + strlen(flags), sizeof flags - strlen(flags), ",\"allow_partial\":%s",
                 o->partial ? "true" : "false");
    snprintf(o->line, sizeof o->line,
             "{\"id\":1,\"method\":\"reserve\",\"params\":{%s\"items\":[%s],\"channel\":\"web\","
             "\"strategy\":\"%s\",\"ttl_ms\":%d%s}}\n",
             order, items, strategy_names[o->strategy], o->ttl_ms, flags);
    snprintf(c->line, sizeof c->line, "%s", o->line);
    c->order = w->n_orders++;
    c->kind = WL_RESERVE;
}

static void send_update(struct wl *w, struct wl_client *c, int h)
{
    struct wl_hold *x = &w->holds[h];
    const struct wl_order *o = &w->orders[x->order];
    /* Mostly the lines that may still be there; now and then all of them. */
    bool all = wl_pick(w, 20) == 0;
    c->n_items = 0;
    for (int i = 0; i < o->n_lines; i++) {
        bool gone = x->drops[o->sku[i]] > 0;
        if ((all || !gone) && wl_pick(w, 10) < 7) {
            int roll = wl_pick(w, 100);
            c->item_sku[c->n_items] = o->sku[i];
            c->item_q[c->n_items++] = roll < 10   ? 0
                                      : roll < 80 ? 1 + wl_pick(w, 5)
                                                  : 6 + wl_pick(w, 12);
        }
    }
    if (c->n_items == 0) {
        c->item_sku[0] = o->sku[wl_pick(w, o->n_lines)];
        c->item_q[c->n_items++] = 1 + wl_pick(w, 5);
    }
    char items[256];
    size_t len = 0;
    for (int i = 0; i < c->n_items; i++) {
        len += (size_t)snprintf(items + len, sizeof items - len,
                                "%s{\"sku\":\"W%d\",\"quantity\":%lld}", i ? "," : "",
                                c->item_sku[i], c->item_q[i]);
        if (c->item_q[i] == 0)
            x->drops[c->item_sku[i]]++;
    }
    snprintf(c->line, sizeof c->line,
             "{\"id\":1,\"method\":\"reservation.update\",\"params\":{\"reservation_id\":\"%s\","
             "\"items\":[%s]}}\n",
             x->id, items);
    c->kind = WL_UPDATE;
}

static bool send_transfer(struct wl *w, struct wl_client *c, int h)
{
    struct wl_hold *x = &w->holds[h];
    if (x->n_alloc == 0)
        return false;
    const struct wl_alloc *a = &x->a[wl_pick(w, x->n_alloc)];
    c->sku = a->sku;
    c->loc = a->loc;
    c->to = (a->loc + 1 + wl_pick(w, WL_LOCS - 1)) % WL_LOCS;
    int roll = wl_pick(w, 100);
    c->delta = roll < 50 ? 0 : roll < 85 ? 1 + wl_pick(w, (int)a->q) : a->q + 1 + wl_pick(w, 3);
    char quantity[40] = "";
    if (c->delta > 0)
        snprintf(quantity, sizeof quantity, ",\"quantity\":%lld", c->delta);
    x->maybe_moved = true;
    snprintf(c->line, sizeof c->line,
             "{\"id\":1,\"method\":\"reservation.transfer\",\"params\":{\"reservation_id\":"
             "\"%s\",\"sku\":\"W%d\",\"from\":\"L%d\",\"to\":\"L%d\"%s}}\n",
             x->id, c->sku, c->loc, c->to, quantity);
    c->kind = WL_TRANSFER;
    return true;
}

static void send_stock(struct wl *w, struct wl_client *c, bool set)
{
    int s = c->sku = wl_pick(w, WL_SKUS), l = c->loc = wl_pick(w, WL_LOCS);
    if (set && !w->set_busy[s][l] && w->n_limits[s][l] < WL_MAX_SETS) {
        /* A count around the least one that stockd takes (what is held
         * and owed, less the limit), so that some are refused. */
        long long owed = w->on_hand_seen[s][l] < 0 ? -w->on_hand_seen[s][l] : 0;
        c->delta = w->reserved_seen[s][l] + owed - w->limit[s][l] - 4 + wl_pick(w, 30);
        c->delta = c->delta > 0 ? c->delta : 0;
        static const long long limits[] = {0, 3, 8, 15, 25};
        c->limit = -1;
        if (w->backorder_group[s][l] && wl_pick(w, 10) < 6)
            c->limit = limits[wl_pick(w, 5)];
        else if (!w->backorder_group[s][l] && wl_pick(w, 10) < 3)
            c->limit = 0;
        char limit[40] = "";
        if (c->limit >= 0)
            snprintf(limit, sizeof limit, ",\"backorder_limit\":%lld", c->limit);
        w->set_busy[s][l] = true;
        w->pending[s][l] = c->limit;
        snprintf(c->line, sizeof c->line,
                 "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"W%d\",\"location\":"
                 "\"L%d\",\"on_hand\":%lld%s}}\n",
                 s, l, c->delta, limit);
        c->kind = WL_SET;
        return;
    }
    c->limits_from = w->n_limits[s][l] - 1;
    /* Goods come in where little is free, so the run never runs dry; where
     * backorders are allowed, only once some units are owed or promised
     * beyond stock, so that commits take on_hand below zero now and then. */
    long long free_units = w->on_hand_seen[s][l] - w->reserved_seen[s][l];
    if (free_units < (w->backorder_group[s][l] ? -3 : 10))
        c->delta = 15 + wl_pick(w, 25);
    else if ((c->delta = wl_pick(w, 9) - 4) == 0)
        c->delta = 6;
    snprintf(c->line, sizeof c->line,
             "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"W%d\",\"location\":"
             "\"L%d\",\"delta\":%lld}}\n",
             s, l, c->delta);
    c->kind = WL_ADJUST;
}

void wl_send(struct wl *w, struct wl_client *c)
{
    int roll = wl_pick(w, 100), h = aim(w);
    c->hold = h;
    if (h < 0 || roll < 26) {
        send_reserve(w, c);
    } else if (roll < 31 && w->n_keyed > 0) {
        c->order = w->keyed[wl_pick(w, w->n_keyed)];
        snprintf(c->line, sizeof c->line, "%s", w->orders[c->order].line);
        c->kind = WL_RETRY;
    } else if (roll < 51) {
        bool commit = roll < 43;
        snprintf(c->line, sizeof c->line,
                 "{\"id\":1,\"method\":\"%s\",\"params\":{\"reservation_id\":\"%s\"%s}}\n",
                 commit ? "commit" : "release", w->holds[h].id,
                 commit ? "" : ",\"reason\":\"test\"");
        c->kind = commit ? WL_COMMIT : WL_RELEASE;
    } else if (roll < 68) {
        send_update(w, c, h);
    } else if (roll < 83 && send_transfer(w, c, h)) {
        /* sent */
    } else {
        send_stock(w, c, roll >= 93);
    }
    if (c->kind == WL_COMMIT || c->kind == WL_RELEASE || c->kind == WL_UPDATE ||
        c->kind == WL_TRANSFER)
        exact_send(c, &w->holds[h]);
    w->count[c->kind].sent++;
    client_sends(c->fd, c->line);
    c->busy = true;
}

/* --- judging answers ---------------------------------------------------- */

static long long line_sum(const struct wl_hold *h, int sku, int loc)
{
    long long n = 0;
    for (int k = 0; k < h->n_alloc; k++)
        if (h->a[k].sku == sku && (loc < 0 || h->a[k].loc == loc))
            n += h->a[k].q;
    return n;
}

/* The places a hold's allocations use, as bits; per sku when sku >= 0. */
static unsigned places_used(const struct wl_hold *h, int sku)
{
    unsigned used = 0;
    for (int k = 0; k < h->n_alloc; k++)
        if (sku < 0 || h->a[k].sku == sku)
            used |= 1u << h->a[k].loc;
    return used;
}

static bool one_place(unsigned used)
{
    return (used & (used - 1)) == 0;
}

/* What every answer describing hold h must show: its id, a known state,
 * readable allocations (read into h) of the hold's lines only, a
 * backordered count exactly when it allows backorders, shortages exactly
 * when it allows partial fills, and its deadline. Returns the state. */
static unsigned check_reservation(struct wl *w, struct wl_hold *h, const cJSON *res)
{
    const struct wl_order *o = &w->orders[h->order];
    if (strcmp(json_str(res, "reservation_id"), h->id) != 0)
        wl_fail(w, "an answer about %s names %s", h->id, json_str(res, "reservation_id"));
    unsigned st = wl_status_of(json_str(res, "status"));
    if (st == 0)
        wl_fail(w, "reservation %s has no known status", h->id);
    wl_read_allocations(w, res, h);
    for (int k = 0; k < h->n_alloc; k++) {
        bool line = false;
        for (int i = 0; i < o->n_lines; i++)
            line |= o->sku[i] == h->a[k].sku;
        if (!line)
            wl_fail(w, "%s holds W%d, not one of its lines", h->id, h->a[k].sku);
        if ((h->a[k].backordered >= 0) != o->backorder)
            wl_fail(w,
                    "%s: an allocation %s backordered, but the hold was made %s "
                    "allow_backorder",
                    h->id, o->backorder ? "without" : "with", o->backorder ? "with" : "without");
        w->backordered_units += h->a[k].backordered > 0 ? h->a[k].backordered : 0;
        if (h->a[k].loc >= WL_CHANNEL_LOCS && !h->maybe_moved)
            wl_fail(w, "%s holds at L%d, outside the channel, and was never transferred", h->id,
                    h->a[k].loc);
    }
    const cJSON *shortages = member(res, "shortages"), *s;
    if ((shortages != NULL) != o->partial || (shortages && !cJSON_IsArray(shortages)))
        wl_fail(w, "%s: shortages %s, but the hold was made %s allow_partial", h->id,
                shortages ? "shown" : "missing", o->partial ? "with" : "without");
    h->short_mask = 0;
    cJSON_ArrayForEach(s, shortages)
    {
        int sku = wl_sku(json_str(s, "sku"));
        if (sku < 0 || h->short_mask & 1u << sku)
            wl_fail(w, "%s: a shortage of an unknown or repeated sku", h->id);
        h->short_mask |= 1u << sku;
    }
    if (json_int(res, "expires_at") != h->expires_at)
        wl_fail(w, "%s: expires_at %lld, was %lld (nothing extends it)", h->id,
                json_int(res, "expires_at"), h->expires_at);
    h->seen |= st;
    return st;
}

/* A single hold stays at one place, a per_line hold at one place per
 * line, while nothing transferred any of its units. */
static void check_strategy(struct wl *w, const struct wl_hold *h)
{
    const struct wl_order *o = &w->orders[h->order];
    if (h->maybe_moved)
        return;
    if (o->strategy == WL_SINGLE && !one_place(places_used(h, -1)))
        wl_fail(w, "%s (strategy single) holds at more than one place", h->id);
    for (int i = 0; o->strategy == WL_PER_LINE && i < o->n_lines; i++)
        if (!one_place(places_used(h, o->sku[i])))
            wl_fail(w, "%s (strategy per_line) holds W%d at more than one place", h->id, o->sku[i]);
}

/* A new hold: each line filled in full, or with allow_partial as far as
 * its shortage entry says; the deadline its ttl_ms. */
static void check_new_hold(struct wl *w, const struct wl_hold *h, const cJSON *res)
{
    const struct wl_order *o = &w->orders[h->order];
    if (json_int(res, "expires_at") - json_int(res, "created_at") != o->ttl_ms)
        wl_fail(w, "%s: created_at %lld, expires_at %lld, ttl_ms %d", h->id,
                json_int(res, "created_at"), json_int(res, "expires_at"), o->ttl_ms);
    const cJSON *shortages = member(res, "shortages");
    long long total = 0;
    for (int i = 0; i < o->n_lines; i++) {
        long long got = line_sum(h, o->sku[i], -1);
        total += got;
        const cJSON *entry = NULL, *s;
        char sku[8];
        snprintf(sku, sizeof sku, "W%d", o->sku[i]);
        cJSON_ArrayForEach(s, shortages)
        {
            if (strcmp(json_str(s, "sku"), sku) == 0)
                entry = s;
        }
        if (got > o->q[i] || (!o->partial && got != o->q[i]))
            wl_fail(w, "%s: line W%d asked %lld, got %lld", h->id, o->sku[i], o->q[i], got);
        if ((entry != NULL) != (got < o->q[i]))
            wl_fail(w, "%s: line W%d asked %lld, got %lld, shortage entry %s", h->id, o->sku[i],
                    o->q[i], got, entry ? "shown" : "missing");
        if (entry &&
            (json_int(entry, "requested") != o->q[i] || json_int(entry, "allocated") != got))
            wl_fail(w, "%s: the shortage of W%d says %lld of %lld, the allocations %lld of %lld",
                    h->id, o->sku[i], json_int(entry, "allocated"), json_int(entry, "requested"),
                    got, o->q[i]);
        w->shortages += entry != NULL;
    }
    if (cJSON_GetArraySize(shortages) > o->n_lines || total == 0)
        wl_fail(w, "%s: %d shortage entries for %d lines, %lld units held", h->id,
                cJSON_GetArraySize(shortages), o->n_lines, total);
    check_strategy(w, h);
}

static int add_hold(struct wl *w, int order, const cJSON *res)
{
    assert_true(w->n_holds < w->max_holds);
    int h = w->n_holds++;
    struct wl_hold *x = &w->holds[h];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", json_str(res, "reservation_id"));
    if (x->id[0] == '\0' || strlen(x->id) != strlen(json_str(res, "reservation_id")))
        wl_fail(w, "a reservation id that cannot be kept");
    x->order = order;
    x->expires_at = json_int(res, "expires_at");
    if (w->orders[order].ttl_ms == 1000)
        w->short_lived[w->n_short++] = h;
    return h;
}

static void take_reserve(struct wl *w, struct wl_client *c, const cJSON *res)
{
    struct wl_order *o = &w->orders[c->order];
    const cJSON *replayed = member(res, "replayed");
    if (!cJSON_IsBool(replayed))
        wl_fail(w, "a reserve result without replayed");
    const char *id = json_str(res, "reservation_id");
    if (o->hold >= 0 && strcmp(w->holds[o->hold].id, id) != 0)
        wl_fail(w, "order %s is bound to %s, and now to %s", o->order_id, w->holds[o->hold].id, id);
    if (cJSON_IsTrue(replayed) && o->order_id[0] == '\0')
        wl_fail(w, "a replay of a reserve without order_id");
    bool added = o->hold < 0;
    if (added)
        o->hold = add_hold(w, c->order, res);
    struct wl_hold *h = &w->holds[o->hold];
    /* Before any request about it was sent, the hold is as its reserve
     * made it; later, a reserve's answer may be older than the last answer
     * taken, so it is read aside. */
    struct wl_hold aside = *h, *into = h->sends == 0 ? h : &aside;
    unsigned st = check_reservation(w, into, res);
    h->seen |= into->seen;
    h->exact |= added;
    if (cJSON_IsTrue(replayed)) {
        w->replays++;
        return;
    }
    if (st != WL_HELD)
        wl_fail(w, "a new hold that is not held");
    check_new_hold(w, into, res);
    for (int k = 0; k < into->n_alloc; k++)
        if (into->a[k].backordered > 0)
            h->fresh_bo[into->a[k].sku][into->a[k].loc] += (int)into->a[k].backordered;
}

/* The ended states a 1003 about hold h may report, noted as seen. */
static void take_not_held(struct wl *w, struct wl_hold *h, const cJSON *data, bool reason_is_state)
{
    const char *reason = json_str(data, "reason");
    unsigned st = wl_status_of(reason_is_state ? reason : json_str(data, "status"));
    if (!reason_is_state && strcmp(reason, "not_held") != 0)
        wl_fail(w, "1003 with reason '%s', not not_held", reason);
    if (st == 0 || st == WL_HELD || (reason_is_state && st == WL_COMMITTED))
        wl_fail(w, "1003 about %s says '%s' / '%s'", h->id, reason, json_str(data, "status"));
    h->seen |= st;
    w->not_held += !reason_is_state;
}

static void take_update(struct wl *w, struct wl_client *c, int code, const cJSON *res,
                        const cJSON *data)
{
    struct wl_hold *h = &w->holds[c->hold];
    bool named_gone = false, all_zero = true;
    for (int i = 0; i < c->n_items; i++) {
        int s = c->item_sku[i];
        /* Dropped by another update (this one's own drop does not count). */
        named_gone |= h->drops[s] > (c->item_q[i] == 0 ? 1 : 0);
        all_zero &= c->item_q[i] == 0;
    }
    if (code == -32602) {
        if (!named_gone && !all_zero)
            wl_fail(w, "-32602 for an update of lines that are all there");
        if (strcmp(json_str(data, "field"), "items") != 0)
            wl_fail(w, "-32602 naming field '%s', not items", json_str(data, "field"));
        return;
    }
    if (code == 1003) {
        take_not_held(w, h, data, false);
        return;
    }
    if (code == 1001) {
        int s = wl_sku(json_str(data, "sku"));
        bool grows = false;
        for (int i = 0; i < c->n_items; i++)
            grows |= c->item_sku[i] == s && c->item_q[i] > 0;
        long long requested = json_int(data, "requested"), available = json_int(data, "available");
        if (!grows || requested < 1 || available >= requested)
            wl_fail(w, "1001 for W%d: requested %lld, available %lld", s, requested, available);
        return;
    }
    if (code != 0)
        wl_fail(w, "unexpected answer to an update");
    const cJSON *changed = member(res, "changed");
    if (!cJSON_IsBool(changed))
        wl_fail(w, "an update result without changed");
    if (check_reservation(w, h, res) != WL_HELD)
        wl_fail(w, "an update result that is not held");
    for (int i = 0; i < c->n_items; i++) {
        long long got = line_sum(h, c->item_sku[i], -1);
        if (got != c->item_q[i])
            wl_fail(w, "line W%d updated to %lld holds %lld", c->item_sku[i], c->item_q[i], got);
        if (h->short_mask & 1u << c->item_sku[i])
            wl_fail(w, "updated line W%d is still in shortages", c->item_sku[i]);
    }
    check_strategy(w, h);
    if (cJSON_IsTrue(changed))
        w->changed++;
    else
        w->unchanged++;
}

static void take_transfer(struct wl *w, struct wl_client *c, int code, const cJSON *res,
                          const cJSON *data)
{
    struct wl_hold *h = &w->holds[c->hold];
    long long q = c->delta;
    if (code == -32602) {
        if (h->drops[c->sku] == 0 || strcmp(json_str(data, "field"), "sku") != 0)
            wl_fail(w, "-32602 (field '%s') for a transfer of a line no update dropped",
                    json_str(data, "field"));
        return;
    }
    if (code == 1003 && strcmp(json_str(data, "reason"), "not_at_location") == 0) {
        long long held = json_int(data, "held");
        if (wl_loc(json_str(data, "location")) != c->loc || held < 0 ||
            (q > 0 ? held >= q : held != 0))
            wl_fail(w, "not_at_location at %s holding %lld, for %lld units from L%d",
                    json_str(data, "location"), held, q, c->loc);
        w->not_at_location++;
        return;
    }
    if (code == 1003) {
        take_not_held(w, h, data, false);
        return;
    }
    if (code == 1001) {
        long long requested = json_int(data, "requested"), available = json_int(data, "available");
        if (wl_sku(json_str(data, "sku")) != c->sku || requested < 1 || (q > 0 && requested != q) ||
            available >= requested)
            wl_fail(w, "1001 for %s: requested %lld, available %lld", json_str(data, "sku"),
                    requested, available);
        return;
    }
    if (code != 0)
        wl_fail(w, "unexpected answer to a transfer");
    const cJSON *changed = member(res, "changed");
    if (!cJSON_IsBool(changed))
        wl_fail(w, "a transfer result without changed");
    if (check_reservation(w, h, res) != WL_HELD)
        wl_fail(w, "a transfer result that is not held");
    long long at_from = line_sum(h, c->sku, c->loc), at_to = line_sum(h, c->sku, c->to);
    bool all = q == 0 || !cJSON_IsTrue(changed);
    if ((all && at_from != 0) || at_to < (q > 0 ? q : 1))
        wl_fail(w,
                "after moving %lld of W%d from L%d to L%d (changed %s): %lld at L%d, %lld at "
                "L%d",
                q, c->sku, c->loc, c->to, cJSON_IsTrue(changed) ? "true" : "false", at_from, c->loc,
                at_to, c->to);
    if (cJSON_IsTrue(changed))
        w->changed++;
    else
        w->unchanged++;
}

void wl_check_final(struct wl *w, struct wl_hold *h, const cJSON *res)
{
    unsigned seen = h->seen;
    unsigned st = check_reservation(w, h, res);
    h->final = (enum wl_status)st;
    bool agrees = st != WL_HELD;
    if (seen & WL_COMMITTED)
        agrees &= st == WL_COMMITTED || st == WL_RELEASED;
    if (seen & WL_RELEASED)
        agrees &= st == WL_RELEASED;
    if (seen & WL_EXPIRED)
        agrees &= st == WL_EXPIRED;
    if (!agrees)
        wl_fail(w, "%s ended as %s, but answers showed it %s%s%s%s", h->id, json_str(res, "status"),
                seen & WL_HELD ? "held " : "", seen & WL_COMMITTED ? "committed " : "",
                seen & WL_RELEASED ? "released " : "", seen & WL_EXPIRED ? "expired " : "");
}

void wl_check_row(const struct wl *w, const cJSON *row, int sku, int loc, int limits_from)
{
    static const char *const numbers[] = {"on_hand",      "reserved",    "available",
                                          "safety_stock", "backordered", "backorder_limit"};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        if (!cJSON_IsNumber(member(row, numbers[i])))
            wl_fail(w, "a stock row without %s", numbers[i]);
    long long on_hand = json_int(row, "on_hand"), reserved = json_int(row, "reserved");
    long long available = json_int(row, "available"), limit = json_int(row, "backorder_limit");
    if (wl_sku(json_str(row, "sku")) != sku || wl_loc(json_str(row, "location")) != loc)
        wl_fail(w, "a row of %s@%s, not W%d@L%d", json_str(row, "sku"), json_str(row, "location"),
                sku, loc);
    if (available != on_hand - reserved - json_int(row, "safety_stock") ||
        json_int(row, "safety_stock") != 0 ||
        json_int(row, "backordered") != (available < 0 ? -available : 0))
        wl_fail(w, "a row whose available, safety_stock or backordered do not add up");
    if (reserved < 0 || on_hand - reserved < -limit)
        wl_fail(w, "a row with on_hand %lld, reserved %lld, backorder_limit %lld", on_hand,
                reserved, limit);
    /* The limit when it was sent, one confirmed since, or one being set. */
    bool known = limit == w->pending[sku][loc];
    for (int i = limits_from; i < w->n_limits[sku][loc]; i++)
        known |= limit == w->limits[sku][loc][i];
    if (!known)
        wl_fail(w, "a row with backorder_limit %lld; the limit is %lld", limit, w->limit[sku][loc]);
    if (!cJSON_IsNull(member(row, "low_stock_threshold")))
        wl_fail(w, "a row with a low_stock_threshold that was never set");
}

static void take_stock(struct wl *w, struct wl_client *c, int code, const cJSON *res,
                       const cJSON *data)
{
    int s = c->sku, l = c->loc;
    if (c->kind == WL_SET) {
        w->set_busy[s][l] = false;
        if (code == 1003 && strcmp(json_str(data, "reason"), "below_reserved") == 0) {
            w->pending[s][l] = -1;
            return;
        }
        if (code != 0)
            wl_fail(w, "unexpected answer to stock.set");
        wl_check_row(w, res, s, l, w->n_limits[s][l] - 1);
        long long limit = json_int(res, "backorder_limit"), on_hand = json_int(res, "on_hand");
        wl_pair_set_answer(w, s, l, c->delta, on_hand, limit);
        if (limit != (c->limit >= 0 ? c->limit : w->limit[s][l]) || on_hand > c->delta ||
            (!w->backorder_group[s][l] && on_hand != c->delta))
            wl_fail(w, "stock.set of %lld (limit %lld) shows on_hand %lld, limit %lld", c->delta,
                    c->limit, on_hand, limit);
        w->limit[s][l] = limit;
        w->limits[s][l][w->n_limits[s][l]++] = limit;
        w->pending[s][l] = -1;
        return;
    }
    if (code == 1001) {
        long long requested = json_int(data, "requested"), available = json_int(data, "available");
        if (c->delta > 0 || requested != -c->delta || available >= requested)
            wl_fail(w, "1001 to an adjust of %lld: requested %lld, available %lld", c->delta,
                    requested, available);
        return;
    }
    if (code != 0)
        wl_fail(w, "unexpected answer to stock.adjust");
    wl_check_row(w, res, s, l, c->limits_from);
    w->adjusted[s][l] += c->delta;
}

void wl_take(struct wl *w, struct wl_client *c, const char *line)
{
    w->req = c->line;
    w->answer = line;
    cJSON *r = cJSON_Parse(line);
    if (r == NULL)
        wl_fail(w, "an answer that is not JSON");
    int code = resp_error_code(r);
    const cJSON *res = resp_result(r);
    const cJSON *data = member(member(r, "error"), "data");
    if (code == 0 && !cJSON_IsObject(res))
        wl_fail(w, "an answer with neither result nor error");
    struct wl_count *n = &w->count[c->kind];
    n->ok += code == 0;
    n->short_1001 += code == 1001;
    n->conflict_1003 += code == 1003;
    n->invalid_32602 += code == -32602;
    bool about_hold = c->kind == WL_COMMIT || c->kind == WL_RELEASE || c->kind == WL_UPDATE ||
                      c->kind == WL_TRANSFER;
    struct wl_hold *h = about_hold ? &w->holds[c->hold] : NULL;
    bool exact = about_hold && exact_answered(c, h);
    switch (c->kind) {
    case WL_RESERVE:
    case WL_RETRY:
        if (code == 1001) {
            const struct wl_order *o = &w->orders[c->order];
            bool line_of = false;
            for (int i = 0; i < o->n_lines; i++)
                line_of |= wl_sku(json_str(data, "sku")) == o->sku[i];
            if (!line_of)
                wl_fail(w, "1001 for a sku the reserve did not ask for");
        } else if (code == 0) {
            take_reserve(w, c, res);
        } else {
            wl_fail(w, "unexpected answer to a reserve");
        }
        break;
    case WL_COMMIT:
        if (code == 1003)
            take_not_held(w, h, data, true);
        else if (code != 0 || check_reservation(w, h, res) != WL_COMMITTED)
            wl_fail(w, "unexpected answer to a commit");
        break;
    case WL_RELEASE:
        if (code != 0 || !(check_reservation(w, h, res) & (WL_RELEASED | WL_EXPIRED)))
            wl_fail(w, "unexpected answer to a release");
        break;
    case WL_UPDATE:
        take_update(w, c, code, res, data);
        if (exact)
            exact_update(w, c, h, code, res, data);
        break;
    case WL_TRANSFER:
        take_transfer(w, c, code, res, data);
        if (exact)
            exact_transfer(w, c, h, code, res, data);
        break;
    case WL_ADJUST:
    case WL_SET:
        take_stock(w, c, code, res, data);
        break;
    case WL_KINDS:
        break;
    }
    if (about_hold)
        exact_settle(c, h, code == 0);
    cJSON_Delete(r);
    c->busy = false;
}
