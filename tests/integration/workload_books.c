/* The workload's books, read atomically from Redis (see workload_books.h). */
#include "workload_books.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: the stock hashes of the n skus, their holds indexes, the ledger
 * (a hold is "<id>:<i>:<location>:<quantity>"; the members are split with
 * string.find, the cheapest way Lua has, as there are many per look).
 * ARGV: the id of the last ledger entry read ('0-0' for none), then the
 * locations. Reply: for each sku, for each location: on_hand, reserved,
 * the sum of the live holds there, the backorder limit field (0 when
 * absent); then the number of ledger entries after ARGV[1], and for each
 * its id, type, sku, location, quantity, reservation and reason. Read-only:
 * Redis runs it atomically, so it is one consistent picture. */
static const char look_script[] =
    "local n = (#KEYS - 1) / 2\n"
    "local find, sub = string.find, string.sub\n"
    "local out = {}\n"
    "for j = 1, n do\n"
    "  local held = {}\n"
    "  for _, m in ipairs(redis.call('ZRANGE', KEYS[n + j], 0, -1)) do\n"
    "    local a = find(m, ':', 1, true)\n"
    "    local b = a and find(m, ':', a + 1, true)\n"
    "    local c = b and find(m, ':', b + 1, true)\n"
    "    local q = c and tonumber(sub(m, c + 1))\n"
    "    if not q then return redis.error_reply('unreadable hold ' .. m) end\n"
    "    local loc = sub(m, b + 1, c - 1)\n"
    "    held[loc] = (held[loc] or 0) + q\n"
    "  end\n"
    "  for i = 2, #ARGV do\n"
    "    local loc = ARGV[i]\n"
    "    local v = redis.call('HMGET', KEYS[j], loc .. ':on_hand', loc .. ':reserved',\n"
    "                         loc .. ':backorder')\n"
    "    out[#out + 1] = tonumber(v[1]) or 0\n"
    "    out[#out + 1] = tonumber(v[2]) or 0\n"
    "    out[#out + 1] = held[loc] or 0\n"
    "    out[#out + 1] = tonumber(v[3]) or 0\n"
    "    held[loc] = nil\n"
    "  end\n"
    "  local other = next(held)\n"
    "  if other then return redis.error_reply('a hold at unknown location ' .. other) end\n"
    "end\n"
    "local entries = redis.call('XRANGE', KEYS[#KEYS], '(' .. ARGV[1], '+')\n"
    "out[#out + 1] = #entries\n"
    "for _, e in ipairs(entries) do\n"
    "  local f = {}\n"
    "  for k = 1, #e[2], 2 do f[e[2][k]] = e[2][k + 1] end\n"
    "  out[#out + 1] = e[1]\n"
    "  out[#out + 1] = f.type or ''\n"
    "  out[#out + 1] = f.sku or ''\n"
    "  out[#out + 1] = f.location or ''\n"
    "  out[#out + 1] = f.quantity or ''\n"
    "  out[#out + 1] = f.reservation or ''\n"
    "  out[#out + 1] = f.reason or ''\n"
    "end\n"
    "return out\n";

#define PER_PLACE 4
#define PER_ENTRY 7
#define PLACES (WL_SKUS * WL_LOCS)

/* Ledger movement kinds, and what a hold's entries add up to. */
enum mv {
    MV_RESERVE,
    MV_MOVE_RELEASE,
    MV_RELEASE,
    MV_EXPIRE,
    MV_COMMIT,
    MV_RESTOCK,
    MV_SET,
    MV_ADJUST,
    MV_KINDS
};
/* Beside them, per hold: the units its reserve took beyond available. */
#define MV_UNCOVERED MV_KINDS
#define MV_SLOTS (MV_KINDS + 1)

struct entry {
    const char *id;
    enum mv kind;
    int sku, loc;
    long long q;
    const char *reservation;
    bool moved; /* reason update or transfer */
};

struct place {
    long long on_hand, reserved, held, limit;
};

void books_free(struct wl_books *b)
{
    free(b->taken);
    b->taken = NULL;
    b->n_taken = b->cap_taken = 0;
}

void books_init(struct wl_books *b)
{
    memset(b, 0, sizeof *b);
    redisReply *r = harness_redis(&H, "SCRIPT LOAD %s", look_script);
    if (r->type != REDIS_REPLY_STRING)
        fail_msg("cannot load the books script: %s", r->str ? r->str : "?");
    snprintf(b->sha, sizeof b->sha, "%s", r->str);
    freeReplyObject(r);
    snprintf(b->last_id, sizeof b->last_id, "0-0");
}

/* Runs the look from ledger entry `after` (exclusive). The caller frees the
 * reply. */
static redisReply *look(const struct wl_books *b, const struct wl *w, const char *after)
{
    char keys[2 * WL_SKUS + 1][40], locs[WL_LOCS][16], nkeys[16];
    const char *argv[4 + 2 * WL_SKUS + 1 + 1 + WL_LOCS];
    int argc = 0;
    snprintf(nkeys, sizeof nkeys, "%d", 2 * WL_SKUS + 1);
    argv[argc++] = "EVALSHA";
    argv[argc++] = b->sha;
    argv[argc++] = nkeys;
    for (int s = 0; s < WL_SKUS; s++) {
        snprintf(keys[s], sizeof keys[s], "{inv}:stock:W%d", s);
        snprintf(keys[WL_SKUS + s], sizeof keys[s], "{inv}:holds:W%d", s);
    }
    snprintf(keys[2 * WL_SKUS], sizeof keys[0], "{inv}:events");
    for (int k = 0; k < 2 * WL_SKUS + 1; k++)
        argv[argc++] = keys[k];
    argv[argc++] = after;
    for (int l = 0; l < WL_LOCS; l++) {
        snprintf(locs[l], sizeof locs[l], "L%d", l);
        argv[argc++] = locs[l];
    }
    redisReply *r = redisCommandArgv(H.redis, argc, argv, NULL);
    if (r == NULL)
        wl_fail(w, "the books script got no reply: %s", H.redis->errstr);
    if (r->type != REDIS_REPLY_ARRAY)
        wl_fail(w, "the books script failed: %s", r->str ? r->str : "?");
    if (r->elements < PLACES * PER_PLACE + 1)
        wl_fail(w, "the books script answered %zu elements", r->elements);
    return r;
}

static long long int_at(const struct wl *w, const redisReply *r, size_t i)
{
    if (i >= r->elements || r->element[i]->type != REDIS_REPLY_INTEGER)
        wl_fail(w, "the books script's element %zu is not a number", i);
    return r->element[i]->integer;
}

static const char *str_at(const struct wl *w, const redisReply *r, size_t i)
{
    if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
        wl_fail(w, "the books script's element %zu is not text", i);
    return r->element[i]->str;
}

static void read_places(const struct wl *w, const redisReply *r, struct place p[WL_SKUS][WL_LOCS])
{
    size_t i = 0;
    for (int s = 0; s < WL_SKUS; s++)
        for (int l = 0; l < WL_LOCS; l++) {
            p[s][l].on_hand = int_at(w, r, i++);
            p[s][l].reserved = int_at(w, r, i++);
            p[s][l].held = int_at(w, r, i++);
            p[s][l].limit = int_at(w, r, i++);
        }
}

/* Decodes ledger entry k of a look's reply. */
static struct entry entry_at(const struct wl *w, const redisReply *r, long k)
{
    static const char *const kinds[] = {"reserve", "release", "release", "expire",
                                        "commit",  "restock", "set",     "adjust"};
    size_t i = PLACES * PER_PLACE + 1 + (size_t)k * PER_ENTRY;
    const char *id = str_at(w, r, i), *type = str_at(w, r, i + 1);
    const char *reason = str_at(w, r, i + 6);
    struct entry e = {.id = id,
                      .kind = MV_KINDS,
                      .sku = wl_sku(str_at(w, r, i + 2)),
                      .loc = wl_loc(str_at(w, r, i + 3)),
                      .reservation = str_at(w, r, i + 5)};
    char *end;
    const char *q = str_at(w, r, i + 4);
    e.q = strtoll(q, &end, 10);
    for (int m = 0; m < MV_KINDS; m++)
        if (strcmp(type, kinds[m]) == 0) {
            e.kind = (enum mv)m;
            break;
        }
    if (e.kind == MV_MOVE_RELEASE && strcmp(reason, "update") != 0 &&
        strcmp(reason, "transfer") != 0)
        e.kind = MV_RELEASE;
    if (e.kind == MV_KINDS || e.sku < 0 || e.loc < 0 || *q == '\0' || *end != '\0')
        wl_fail(w, "ledger entry %s is not a movement of a known place: %s %s %s %s", id, type,
                str_at(w, r, i + 2), str_at(w, r, i + 3), q);
    bool of_hold = e.kind <= MV_RESTOCK;
    if (of_hold && (e.q < 1 || e.reservation[0] == '\0'))
        wl_fail(w, "ledger entry %s: a %s of %lld units for reservation '%s'", id, type, e.q,
                e.reservation);
    if (!of_hold && e.reservation[0] != '\0')
        wl_fail(w, "ledger entry %s: a %s names reservation %s", id, type, e.reservation);
    if (e.kind == MV_ADJUST && e.q == 0)
        wl_fail(w, "ledger entry %s: an adjust of 0", id);
    e.moved = strcmp(reason, "update") == 0 || strcmp(reason, "transfer") == 0;
    if (e.moved && e.kind != MV_RESERVE && e.kind != MV_MOVE_RELEASE)
        wl_fail(w, "ledger entry %s: a %s with reason %s", id, type, reason);
    return e;
}

/* The table of CONTRACT.md: what an entry does to on_hand and reserved. */
static void replay(const struct entry *e, long long on_hand[WL_SKUS][WL_LOCS],
                   long long reserved[WL_SKUS][WL_LOCS])
{
    switch (e->kind) {
    case MV_RESERVE:
        reserved[e->sku][e->loc] += e->q;
        break;
    case MV_MOVE_RELEASE:
    case MV_RELEASE:
    case MV_EXPIRE:
        reserved[e->sku][e->loc] -= e->q;
        break;
    case MV_COMMIT:
        on_hand[e->sku][e->loc] -= e->q;
        reserved[e->sku][e->loc] -= e->q;
        break;
    case MV_RESTOCK:
    case MV_SET:
    case MV_ADJUST:
        on_hand[e->sku][e->loc] += e->q;
        break;
    case MV_KINDS:
        break;
    }
}

static void check_places(struct wl *w, struct place p[WL_SKUS][WL_LOCS],
                         long long on_hand[WL_SKUS][WL_LOCS], long long reserved[WL_SKUS][WL_LOCS],
                         long long limit[WL_SKUS][WL_LOCS], const char *when)
{
    for (int s = 0; s < WL_SKUS; s++)
        for (int l = 0; l < WL_LOCS; l++) {
            const struct place *x = &p[s][l];
            long long bound = limit[s][l];
            if (x->reserved != x->held)
                wl_fail(w, "W%d@L%d: reserved %lld but the live holds there sum to %lld", s, l,
                        x->reserved, x->held);
            if (x->reserved < 0)
                wl_fail(w, "W%d@L%d: reserved %lld", s, l, x->reserved);
            if (!w->backorder_group[s][l] && x->on_hand - x->reserved < 0)
                wl_fail(w, "W%d@L%d has no backorder limit but on_hand %lld < reserved %lld", s, l,
                        x->on_hand, x->reserved);
            if (x->on_hand - x->reserved < -bound)
                wl_fail(w, "W%d@L%d: on_hand %lld - reserved %lld is below -limit (limit %lld)", s,
                        l, x->on_hand, x->reserved, bound);
            if (x->limit != bound)
                wl_fail(w, "W%d@L%d: Redis holds backorder limit %lld, the stock.sets made it %lld",
                        s, l, x->limit, bound);
            if (x->on_hand != on_hand[s][l] || x->reserved != reserved[s][l])
                wl_fail(w,
                        "W%d@L%d: on_hand %lld reserved %lld, but the ledger replayed from "
                        "empty %s gives on_hand %lld reserved %lld",
                        s, l, x->on_hand, x->reserved, when, on_hand[s][l], reserved[s][l]);
            w->on_hand_seen[s][l] = x->on_hand;
            w->reserved_seen[s][l] = x->reserved;
            if (x->on_hand < 0)
                w->negative_on_hand_seen++;
            if (x->on_hand - x->reserved < 0)
                w->backordered_seen++;
        }
}

/* Notes a reserve entry: before is on_hand - reserved there before it. */
static void note_taken(struct wl_books *b, const struct wl *w, const struct entry *e,
                       long long before)
{
    if (b->n_taken == b->cap_taken) {
        long cap = b->cap_taken ? 2 * b->cap_taken : 4096;
        struct wl_taken *more = realloc(b->taken, (size_t)cap * sizeof *more);
        assert_non_null(more);
        b->taken = more;
        b->cap_taken = cap;
    }
    struct wl_taken *t = &b->taken[b->n_taken++];
    snprintf(t->entry, sizeof t->entry, "%s", e->id);
    snprintf(t->id, sizeof t->id, "%s", e->reservation);
    t->sku = e->sku;
    t->loc = e->loc;
    t->q = e->q;
    t->uncovered = e->q - (before > e->q ? e->q : before > 0 ? before : 0);
    t->initial = !e->moved;
    t->step = w->step + 1;
}

void books_step(struct wl_books *b, struct wl *w)
{
    redisReply *r = look(b, w, b->last_id);
    struct place p[WL_SKUS][WL_LOCS];
    read_places(w, r, p);
    long n = (long)int_at(w, r, PLACES * PER_PLACE);
    for (long k = 0; k < n; k++) {
        struct entry e = entry_at(w, r, k);
        int s = e.sku, l = e.loc;
        long long before = b->on_hand[s][l] - b->reserved[s][l];
        replay(&e, b->on_hand, b->reserved);
        if (e.kind == MV_SET) {
            b->set_total[s][l] += e.q;
            b->limit[s][l] = wl_pair_set_entry(w, s, l, e.q, b->limit[s][l]);
        }
        if (e.kind == MV_ADJUST)
            b->adjust_total[s][l] += e.q;
        if (e.kind == MV_RESERVE)
            note_taken(b, w, &e, before);
        b->moves += e.moved;
        if (b->on_hand[s][l] - b->reserved[s][l] < -b->limit[s][l])
            wl_fail(w,
                    "ledger entry %s (%s of %lld) leaves W%d@L%d with on_hand %lld, reserved "
                    "%lld: below -limit (%lld)",
                    e.id, str_at(w, r, PLACES * PER_PLACE + 1 + (size_t)k * PER_ENTRY + 1), e.q, s,
                    l, b->on_hand[s][l], b->reserved[s][l], b->limit[s][l]);
    }
    if (n > 0)
        snprintf(b->last_id, sizeof b->last_id, "%s",
                 str_at(w, r, PLACES * PER_PLACE + 1 + (size_t)(n - 1) * PER_ENTRY));
    b->entries += n;
    check_places(w, p, b->on_hand, b->reserved, b->limit, "step by step");
    freeReplyObject(r);
}

/* Prints the ledger entries at t's place up to t's, the last few with the
 * counts they left, to show how it came about. */
static void print_history(const struct wl *w, const redisReply *r, long n, const struct wl_taken *t)
{
    enum { SHOWN = 16 };
    long at[SHOWN];
    long long on[SHOWN], res[SHOWN];
    long long on_hand[WL_SKUS][WL_LOCS] = {{0}}, reserved[WL_SKUS][WL_LOCS] = {{0}};
    long seen = 0;
    for (long k = 0; k < n; k++) {
        struct entry e = entry_at(w, r, k);
        replay(&e, on_hand, reserved);
        if (e.sku != t->sku || e.loc != t->loc)
            continue;
        at[seen % SHOWN] = k;
        on[seen % SHOWN] = on_hand[e.sku][e.loc];
        res[seen % SHOWN] = reserved[e.sku][e.loc];
        seen++;
        if (strcmp(e.id, t->entry) == 0)
            break;
    }
    fprintf(stderr, "  the ledger at W%d@L%d, up to entry %s:\n", t->sku, t->loc, t->entry);
    for (long x = seen > SHOWN ? seen - SHOWN : 0; x < seen; x++) {
        size_t i = PLACES * PER_PLACE + 1 + (size_t)at[x % SHOWN] * PER_ENTRY;
        fprintf(stderr, "    %s %-7s %3s  %-22s %-9s -> on_hand %lld reserved %lld\n",
                r->element[i]->str, r->element[i + 1]->str, r->element[i + 4]->str,
                r->element[i + 5]->str, r->element[i + 6]->str, on[x % SHOWN], res[x % SHOWN]);
    }
}

/* Holds sorted by id, to find a ledger entry's hold. */
static const struct wl *sort_w;

static int by_id(const void *a, const void *b)
{
    return strcmp(sort_w->holds[*(const int *)a].id, sort_w->holds[*(const int *)b].id);
}

static int hold_of(const struct wl *w, const int *sorted, const char *id)
{
    int lo = 0, hi = w->n_holds - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(w->holds[sorted[mid]].id, id);
        if (c == 0)
            return sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static const char *state_name(enum wl_status st)
{
    return st == WL_COMMITTED  ? "committed"
           : st == WL_RELEASED ? "released"
           : st == WL_EXPIRED  ? "expired"
                               : "held";
}

typedef long long hold_sums[MV_SLOTS][WL_SKUS][WL_LOCS];

/* What hold h's entries must add up to at (s, l), final holding f there. */
static void check_hold(struct wl *w, const struct wl_hold *h, long long (*m)[WL_SKUS][WL_LOCS],
                       int s, int l, long long f)
{
    long long res = m[MV_RESERVE][s][l], mv = m[MV_MOVE_RELEASE][s][l];
    long long rel = m[MV_RELEASE][s][l], exp = m[MV_EXPIRE][s][l];
    long long com = m[MV_COMMIT][s][l], sto = m[MV_RESTOCK][s][l];
    if (res - mv - rel - exp - com != 0)
        wl_fail(w,
                "hold %s at W%d@L%d: the ledger reserves %lld and gives back %lld (update and "
                "transfer) + %lld (release) + %lld (expire) + %lld (commit)",
                h->id, s, l, res, mv, rel, exp, com);
    long long want[MV_KINDS] = {0};
    switch (h->final) {
    case WL_COMMITTED:
        want[MV_COMMIT] = f;
        break;
    case WL_RELEASED:
        if (com > 0 || sto > 0)
            want[MV_COMMIT] = want[MV_RESTOCK] = f;
        else
            want[MV_RELEASE] = f;
        break;
    case WL_EXPIRED:
        want[MV_EXPIRE] = f;
        break;
    case WL_HELD:
        wl_fail(w, "hold %s is still held after the run", h->id);
    }
    static const enum mv terminal[] = {MV_RELEASE, MV_EXPIRE, MV_COMMIT, MV_RESTOCK};
    static const char *const names[] = {"release", "expire", "commit", "restock"};
    for (size_t t = 0; t < sizeof terminal / sizeof terminal[0]; t++)
        if (m[terminal[t]][s][l] != want[terminal[t]])
            wl_fail(w,
                    "hold %s (%s at the end) at W%d@L%d: its final allocations hold %lld, the "
                    "ledger has %s of %lld (want %lld)",
                    h->id, state_name(h->final), s, l, f, names[t], m[terminal[t]][s][l],
                    want[terminal[t]]);
}

void books_final(struct wl_books *b, struct wl *w)
{
    w->req = "(the books after the run)";
    w->answer = NULL;
    redisReply *r = look(b, w, "0-0");
    struct place p[WL_SKUS][WL_LOCS];
    read_places(w, r, p);
    long n = (long)int_at(w, r, PLACES * PER_PLACE);
    if (n != b->entries)
        wl_fail(w, "the ledger holds %ld entries, %ld were read step by step (trimmed?)", n,
                b->entries);

    int *sorted = calloc((size_t)w->n_holds + 1, sizeof *sorted);
    hold_sums *sums = calloc((size_t)w->n_holds + 1, sizeof *sums);
    assert_non_null(sorted);
    assert_non_null(sums);
    for (int i = 0; i < w->n_holds; i++)
        sorted[i] = i;
    sort_w = w;
    qsort(sorted, (size_t)w->n_holds, sizeof *sorted, by_id);

    long long on_hand[WL_SKUS][WL_LOCS] = {{0}}, reserved[WL_SKUS][WL_LOCS] = {{0}};
    long long set[WL_SKUS][WL_LOCS] = {{0}}, adjust[WL_SKUS][WL_LOCS] = {{0}};
    for (long k = 0; k < n; k++) {
        struct entry e = entry_at(w, r, k);
        replay(&e, on_hand, reserved);
        if (e.kind == MV_SET)
            set[e.sku][e.loc] += e.q;
        else if (e.kind == MV_ADJUST)
            adjust[e.sku][e.loc] += e.q;
        else {
            int h = hold_of(w, sorted, e.reservation);
            if (h < 0)
                wl_fail(w, "the ledger moves units for %s, a reservation nobody was answered",
                        e.reservation);
            sums[h][e.kind][e.sku][e.loc] += e.q;
        }
    }
    check_places(w, p, on_hand, reserved, b->limit, "at the end");

    /* Units beyond available stock: only a hold that allows backorders
     * takes them, and its reserve's answer counts them as backordered. */
    for (long k = 0; k < b->n_taken; k++) {
        const struct wl_taken *t = &b->taken[k];
        int h = hold_of(w, sorted, t->id);
        if (h < 0)
            wl_fail(w, "the ledger reserves units for %s, a reservation nobody was answered",
                    t->id);
        if (t->uncovered > 0 && !w->orders[w->holds[h].order].backorder) {
            print_history(w, r, n, t);
            wl_fail(w,
                    "at step %ld hold %s, made without allow_backorder, took %lld units of W%d "
                    "at L%d where only %lld were available (%s, ledger entry %s)",
                    t->step, t->id, t->q, t->sku, t->loc, t->q - t->uncovered,
                    t->initial ? "reserve" : "update or transfer", t->entry);
        }
        if (t->initial)
            sums[h][MV_UNCOVERED][t->sku][t->loc] += t->uncovered;
    }

    long long committed[WL_SKUS][WL_LOCS] = {{0}};
    for (int i = 0; i < w->n_holds; i++) {
        const struct wl_hold *h = &w->holds[i];
        long long f[WL_SKUS][WL_LOCS] = {{0}};
        for (int k = 0; k < h->n_alloc; k++)
            f[h->a[k].sku][h->a[k].loc] += h->a[k].q;
        for (int s = 0; s < WL_SKUS; s++)
            for (int l = 0; l < WL_LOCS; l++) {
                check_hold(w, h, sums[i], s, l, f[s][l]);
                if (sums[i][MV_UNCOVERED][s][l] != h->fresh_bo[s][l])
                    wl_fail(w,
                            "hold %s: its reserve took %lld units of W%d at L%d beyond available "
                            "stock, its answer said %d were backordered",
                            h->id, sums[i][MV_UNCOVERED][s][l], s, l, h->fresh_bo[s][l]);
                if (h->final == WL_COMMITTED)
                    committed[s][l] += f[s][l];
            }
    }
    for (int s = 0; s < WL_SKUS; s++)
        for (int l = 0; l < WL_LOCS; l++) {
            if (adjust[s][l] != w->adjusted[s][l])
                wl_fail(w, "W%d@L%d: the ledger's adjusts sum to %lld, stockd accepted %lld", s, l,
                        adjust[s][l], w->adjusted[s][l]);
            long long want = set[s][l] + w->adjusted[s][l] - committed[s][l];
            if (p[s][l].on_hand != want || p[s][l].reserved != 0)
                wl_fail(w,
                        "W%d@L%d: on_hand %lld reserved %lld after the run; want %lld (sets %lld "
                        "+ adjusts %lld - committed %lld) and 0",
                        s, l, p[s][l].on_hand, p[s][l].reserved, want, set[s][l], w->adjusted[s][l],
                        committed[s][l]);
        }
    free(sums);
    free(sorted);
    freeReplyObject(r);
}
