/* Exact checks for requests that had their hold to themselves (see
 * workload_exact.h). */
#include "workload_exact.h"

#include <string.h>

void exact_send(struct wl_client *c, struct wl_hold *h)
{
    c->alone = h->inflight == 0;
    c->before_exact = h->exact;
    c->n_before = h->n_alloc;
    memcpy(c->before, h->a, sizeof c->before);
    c->before_short = h->short_mask;
    h->inflight++;
    c->sends_at = ++h->sends;
}

bool exact_answered(struct wl_client *c, struct wl_hold *h)
{
    h->inflight--;
    c->alone = c->alone && h->sends == c->sends_at;
    return c->alone && c->before_exact;
}

void exact_settle(const struct wl_client *c, struct wl_hold *h, bool result)
{
    /* A result shows the state after c; any other answer left it as it
     * was. Either way it is known only if nothing else raced c. */
    h->exact = c->alone && (result || c->before_exact);
}

static long long sum_of(const struct wl_alloc *a, int n, int sku, int loc)
{
    long long q = 0;
    for (int k = 0; k < n; k++)
        if (a[k].sku == sku && (loc < 0 || a[k].loc == loc))
            q += a[k].q;
    return q;
}

/* The allocations of one sku (all when sku < 0), in order, as text. */
static void describe(char *out, size_t n, const struct wl_alloc *a, int count, int sku)
{
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < count && len < n; k++)
        if (sku < 0 || a[k].sku == sku)
            len +=
                (size_t)snprintf(out + len, n - len, " W%d@L%d:%lld", a[k].sku, a[k].loc, a[k].q);
}

/* Fails unless got holds the same allocations of sku (all if sku < 0) as
 * want, in the same order. */
static void same(struct wl *w, const char *what, const struct wl_alloc *want, int n_want,
                 const struct wl_alloc *got, int n_got, int sku)
{
    int i = 0, j = 0;
    for (;;) {
        while (i < n_want && sku >= 0 && want[i].sku != sku)
            i++;
        while (j < n_got && sku >= 0 && got[j].sku != sku)
            j++;
        if (i == n_want || j == n_got)
            break;
        if (want[i].sku != got[j].sku || want[i].loc != got[j].loc || want[i].q != got[j].q)
            break;
        i++;
        j++;
    }
    if (i == n_want && j == n_got)
        return;
    char a[512], b[512];
    describe(a, sizeof a, want, n_want, sku);
    describe(b, sizeof b, got, n_got, sku);
    wl_fail(w, "%s: want%s, got%s", what, a, b);
}

/* The lines of the hold before c: skus with units, and short lines. */
static unsigned lines_before(const struct wl_client *c)
{
    unsigned lines = c->before_short;
    for (int k = 0; k < c->n_before; k++)
        lines |= 1u << c->before[k].sku;
    return lines;
}

void exact_update(struct wl *w, const struct wl_client *c, const struct wl_hold *h, int code,
                  const cJSON *res, const cJSON *data)
{
    unsigned lines = lines_before(c), listed = 0;
    long long want[WL_SKUS] = {0}, had[WL_SKUS] = {0};
    bool named_other = false;
    for (int s = 0; s < WL_SKUS; s++)
        want[s] = had[s] = sum_of(c->before, c->n_before, s, -1);
    for (int i = 0; i < c->n_items; i++) {
        named_other |= !(lines & 1u << c->item_sku[i]);
        want[c->item_sku[i]] = c->item_q[i];
        listed |= 1u << c->item_sku[i];
    }
    long long left = 0;
    bool changes = false;
    for (int s = 0; s < WL_SKUS; s++)
        if (lines & 1u << s) {
            left += want[s];
            changes |= want[s] != had[s];
        }
    bool invalid = named_other || left == 0;
    w->exact_checks++;
    if (invalid ? code != -32602 && code != 1003 : code == -32602)
        wl_fail(w, "an update of %s, leaving %lld units, answered %d",
                named_other ? "a line the hold does not have" : "lines of the hold", left, code);
    if (code == 1001) {
        int s = wl_sku(json_str(data, "sku"));
        if (s < 0 || want[s] <= had[s] || json_int(data, "requested") != want[s] - had[s])
            wl_fail(w, "1001 for %s needing %lld more; the line held %lld and was set to %lld",
                    json_str(data, "sku"), json_int(data, "requested"), s < 0 ? 0 : had[s],
                    s < 0 ? 0 : want[s]);
    }
    if (code != 0)
        return;
    /* Listing a short line at what it holds still takes it out of
     * shortages; otherwise an update changes something exactly when a
     * quantity differs. */
    bool flag = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "changed"));
    if (!(listed & c->before_short) && flag != changes)
        wl_fail(w, "changed is %s, but the quantities %s", flag ? "true" : "false",
                changes ? "differ" : "were those already");
    if ((h->short_mask & ~c->before_short) != 0 || h->short_mask != (c->before_short & ~listed))
        wl_fail(w, "shortages of skus %#x, %#x before, lines %#x updated", h->short_mask,
                c->before_short, listed);
    for (int s = 0; s < WL_SKUS; s++) {
        if (!(lines & 1u << s))
            continue;
        char what[96];
        if (sum_of(h->a, h->n_alloc, s, -1) != want[s])
            wl_fail(w, "line W%d held %lld, was set to %lld, holds %lld", s, had[s], want[s],
                    sum_of(h->a, h->n_alloc, s, -1));
        if (want[s] == had[s]) {
            snprintf(what, sizeof what, "line W%d, not changed", s);
            same(w, what, c->before, c->n_before, h->a, h->n_alloc, s);
        } else if (want[s] < had[s]) {
            /* Units go back from the last allocation of the line first. */
            struct wl_alloc cut[WL_MAX_ALLOCS];
            int n = 0;
            long long give = had[s] - want[s];
            for (int k = c->n_before - 1; k >= 0; k--) {
                if (c->before[k].sku != s)
                    continue;
                long long d = give < c->before[k].q ? give : c->before[k].q;
                give -= d;
                if (c->before[k].q > d) {
                    memmove(cut + 1, cut, (size_t)n * sizeof *cut);
                    cut[0] = c->before[k];
                    cut[0].q -= d;
                    n++;
                }
            }
            snprintf(what, sizeof what, "line W%d, cut from %lld to %lld", s, had[s], want[s]);
            same(w, what, cut, n, h->a, h->n_alloc, s);
        } else {
            /* A line grows where it was and where its strategy lets it. */
            const struct wl_order *o = &w->orders[h->order];
            unsigned hold_at = 0, line_at = 0;
            for (int k = 0; k < c->n_before; k++) {
                hold_at |= 1u << c->before[k].loc;
                line_at |= c->before[k].sku == s ? 1u << c->before[k].loc : 0;
            }
            unsigned may = (1u << WL_CHANNEL_LOCS) - 1;
            if (o->strategy == WL_SINGLE && hold_at)
                may &= hold_at;
            if (o->strategy == WL_PER_LINE && line_at)
                may &= line_at;
            for (int l = 0; l < WL_LOCS; l++) {
                long long was = sum_of(c->before, c->n_before, s, l);
                long long now = sum_of(h->a, h->n_alloc, s, l);
                if (now < was || (now > was && !(may & 1u << l)))
                    wl_fail(w,
                            "line W%d grew from %lld to %lld (strategy %d): L%d held %lld, "
                            "holds %lld",
                            s, had[s], want[s], (int)o->strategy, l, was, now);
            }
        }
    }
}

void exact_transfer(struct wl *w, const struct wl_client *c, const struct wl_hold *h, int code,
                    const cJSON *res, const cJSON *data)
{
    long long units = sum_of(c->before, c->n_before, c->sku, -1);
    long long at_from = sum_of(c->before, c->n_before, c->sku, c->loc);
    long long at_to = sum_of(c->before, c->n_before, c->sku, c->to);
    long long q = c->delta, moved = q > 0 ? q : at_from;
    bool changed = code == 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "changed"));
    w->exact_checks++;
    const char *expect;
    bool ok;
    if (units == 0) {
        expect = "-32602 (no units of the line)";
        ok = code == -32602;
    } else if (at_from == 0 && at_to > 0 && (q == 0 || at_to >= q)) {
        expect = "a result, changed false (a retried transfer)";
        ok = code == 0 && !changed;
    } else if (at_from == 0 || at_from < q) {
        expect = "1003 not_at_location";
        ok = code == 1003 && strcmp(json_str(data, "reason"), "not_at_location") == 0 &&
             json_int(data, "held") == at_from;
    } else {
        expect = "a result, changed true, or 1001";
        ok = (code == 0 && changed) || (code == 1001 && json_int(data, "requested") == moved);
    }
    bool not_held = code == 1003 && strcmp(json_str(data, "reason"), "not_held") == 0;
    if (!ok && !not_held)
        wl_fail(w, "W%d held %lld (%lld at L%d, %lld at L%d): want %s", c->sku, units, at_from,
                c->loc, at_to, c->to, expect);
    if (code != 0)
        return;
    struct wl_alloc next[WL_MAX_ALLOCS + 1];
    int n = c->n_before;
    memcpy(next, c->before, (size_t)n * sizeof *next);
    if (changed) {
        int i_from = -1, i_to = -1, after = n;
        for (int k = 0; k < n; k++)
            if (next[k].sku == c->sku) {
                after = k + 1;
                i_from = next[k].loc == c->loc ? k : i_from;
                i_to = next[k].loc == c->to ? k : i_to;
            }
        next[i_from].q -= moved;
        if (i_to >= 0) {
            next[i_to].q += moved;
        } else if (next[i_from].q == 0) {
            next[i_from].loc = c->to;
            next[i_from].q = moved;
        } else {
            memmove(next + after + 1, next + after, (size_t)(n - after) * sizeof *next);
            next[after] = (struct wl_alloc){.sku = c->sku, .loc = c->to, .q = moved};
            n++;
        }
        int kept = 0;
        for (int k = 0; k < n; k++)
            if (next[k].q > 0)
                next[kept++] = next[k];
        n = kept;
    }
    same(w, changed ? "the allocations after the transfer" : "the allocations, unchanged", next, n,
         h->a, h->n_alloc, -1);
}
