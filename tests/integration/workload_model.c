/* The workload's model: random numbers, names, reading allocations, and
 * the one way a check fails (see workload_model.h). */
#include "workload_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned long long wl_random(struct wl *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

int wl_pick(struct wl *w, int n)
{
    return (int)(wl_random(w) % (unsigned long long)n);
}

long long wl_redis_now(const struct wl *w)
{
    return harness_now_ms() + w->clock_offset;
}

void wl_fail(const struct wl *w, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "workload FAILED: seed %llu (STOCKD_TEST_SEED=%llu STOCKD_WORKLOAD_OPS=%ld to "
            "repeat), step %ld of %ld\n  request: %s\n  answer:  %s\n  %s\n",
            w->seed, w->seed, w->ops, w->step + 1, w->ops, w->req ? w->req : "(none)",
            w->answer ? w->answer : "(none)", msg);
    fail_msg("workload seed %llu step %ld: %s", w->seed, w->step + 1, msg);
    abort(); /* fail_msg does not return; this tells the compiler so */
}

static int numbered(const char *s, char prefix, int n)
{
    if (s == NULL || s[0] != prefix || s[1] < '0' || s[1] > '9' || s[2] != '\0')
        return -1;
    int i = s[1] - '0';
    return i < n ? i : -1;
}

int wl_sku(const char *s)
{
    return numbered(s, 'W', WL_SKUS);
}

int wl_loc(const char *s)
{
    return numbered(s, 'L', WL_LOCS);
}

unsigned wl_status_of(const char *s)
{
    static const struct {
        const char *name;
        enum wl_status bit;
    } names[] = {{"held", WL_HELD},
                 {"committed", WL_COMMITTED},
                 {"released", WL_RELEASED},
                 {"expired", WL_EXPIRED}};
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].bit;
    return 0;
}

void wl_read_allocations(const struct wl *w, const cJSON *result, struct wl_hold *h)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(result, "allocations");
    if (!cJSON_IsArray(list))
        wl_fail(w, "a reservation without an allocations array");
    h->n_alloc = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, list)
    {
        if (h->n_alloc == WL_MAX_ALLOCS)
            wl_fail(w, "more than %d allocations", WL_MAX_ALLOCS);
        struct wl_alloc *x = &h->a[h->n_alloc++];
        x->sku = wl_sku(json_str(a, "sku"));
        x->loc = wl_loc(json_str(a, "location"));
        x->q = json_int(a, "quantity");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(a, "backordered");
        x->backordered = b == NULL ? -1 : cJSON_IsNumber(b) ? (long long)b->valuedouble : -2;
        if (x->sku < 0 || x->loc < 0 || x->q < 1)
            wl_fail(w, "an allocation that names no known place or holds no unit");
        if (x->backordered < -1 || x->backordered > x->q)
            wl_fail(w, "an allocation whose backordered is not 0..quantity");
    }
}

/* on_hand = count - owed, owed being what on_hand owed before the set
 * (on_hand - q, when negative). */
static void check_owed(const struct wl *w, int sku, int loc, const struct wl_set_pair *p)
{
    long long before = p->on_hand - p->q, owed = before < 0 ? -before : 0;
    if (p->on_hand != p->count - owed)
        wl_fail(w,
                "stock.set of W%d@L%d to a count of %lld: on_hand was %lld (owed %lld) and is "
                "%lld, want %lld",
                sku, loc, p->count, before, owed, p->on_hand, p->count - owed);
}

void wl_pair_set_answer(struct wl *w, int sku, int loc, long long count, long long on_hand,
                        long long limit)
{
    struct wl_set_pair *p = &w->set_pair[sku][loc];
    if (p->answered)
        wl_fail(w, "two stock.set answers at W%d@L%d without a ledger entry", sku, loc);
    p->count = count;
    p->on_hand = on_hand;
    p->limit = limit;
    if (p->entry) {
        check_owed(w, sku, loc, p);
        p->entry = false;
    } else {
        p->answered = true;
    }
}

long long wl_pair_set_entry(struct wl *w, int sku, int loc, long long q, long long limit_before)
{
    struct wl_set_pair *p = &w->set_pair[sku][loc];
    p->q = q;
    if (p->answered) {
        check_owed(w, sku, loc, p);
        p->answered = false;
        return p->limit;
    }
    if (p->entry || !w->set_busy[sku][loc])
        wl_fail(w, "a stock.set entry at W%d@L%d that no stock.set in flight wrote", sku, loc);
    p->entry = true;
    return w->pending[sku][loc] >= 0 ? w->pending[sku][loc] : limit_before;
}
