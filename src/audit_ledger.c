/* The ledger replay of stock.audit and the JSON of its result (see
 * audit_ledger.h). The book is two open-addressing hash tables over two
 * arrays: skus by name, and (sku, location)s by sku index and name, each
 * (sku, location) also on a list from its sku, so that one sku's sums are
 * found without a walk of the others. */
#include "audit_ledger.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"

struct ledger_sku {
    size_t name, len; /* in the book's names */
    int first;        /* its first location, -1 for none */
    bool checked;
};

struct ledger_loc {
    int sku;
    int next;         /* the sku's next location, -1 at the end */
    size_t name, len; /* in the book's names */
    long long on_hand, reserved;
};

/* A table of indexes into one of the arrays: slot value index + 1, 0 free;
 * cap is 0 or a power of two, never more than half full. */
struct slots {
    int *v; /* owned */
    size_t cap;
};

struct audit_ledger {
    struct buf names;        /* owned: every name, back to back */
    struct ledger_sku *skus; /* owned */
    size_t n_skus, skus_cap;
    struct ledger_loc *locs; /* owned */
    size_t n_locs, locs_cap;
    struct slots by_sku, by_loc;
};

static const struct {
    const char *type;
    int on_hand, reserved;
} moves[] = {
#define X(type, on_hand, reserved) {type, on_hand, reserved},
    AUDIT_LEDGER_TYPES(X)
#undef X
};

int audit_ledger_move(struct str type, struct str quantity, struct ledger_move *out)
{
    size_t i = 0;
    bool negative = quantity.n > 0 && quantity.p[0] == '-';
    if (negative)
        i = 1;
    if (i == quantity.n || quantity.n - i > 18)
        return -1; /* 18 digits: |q| < 10^18 fits, and so does -q */
    long long q = 0;
    for (; i < quantity.n; i++) {
        if (quantity.p[i] < '0' || quantity.p[i] > '9')
            return -1;
        q = q * 10 + (quantity.p[i] - '0');
    }
    if (negative)
        q = -q;
    for (size_t t = 0; t < sizeof moves / sizeof moves[0]; t++)
        if (str_eq(type, (struct str){moves[t].type, strlen(moves[t].type)})) {
            out->on_hand = moves[t].on_hand * q;
            out->reserved = moves[t].reserved * q;
            return 0;
        }
    return -1;
}

/* --- the book ------------------------------------------------------------ */

static uint64_t hash(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL; /* FNV-1a */
    }
    return h;
}

#define HASH_SEED 14695981039346656037ULL

static uint64_t sku_hash(struct str sku)
{
    return hash(HASH_SEED, sku.p, sku.n);
}

static uint64_t loc_hash(int sku, struct str loc)
{
    return hash(HASH_SEED ^ ((uint64_t)sku * 0x9E3779B97F4A7C15ULL), loc.p, loc.n);
}

static struct str name(const struct audit_ledger *l, size_t off, size_t len)
{
    return (struct str){l->names.data + off, len};
}

struct str audit_ledger_name(const struct audit_ledger *l, int i)
{
    return name(l, l->skus[i].name, l->skus[i].len);
}

static struct str loc_name(const struct audit_ledger *l, int i)
{
    return name(l, l->locs[i].name, l->locs[i].len);
}

/* Makes room in t for one more index; hash_of(l, i) is index i's hash. */
static void slots_reserve(const struct audit_ledger *l, struct slots *t, size_t n,
                          uint64_t (*hash_of)(const struct audit_ledger *l, int i))
{
    if ((n + 1) * 2 <= t->cap)
        return;
    size_t cap = t->cap ? t->cap * 2 : 64;
    int *v = xcalloc(cap, sizeof *v);
    for (size_t s = 0; s < t->cap; s++) {
        if (t->v[s] == 0)
            continue;
        size_t at = hash_of(l, t->v[s] - 1) & (cap - 1);
        while (v[at] != 0)
            at = (at + 1) & (cap - 1);
        v[at] = t->v[s];
    }
    free(t->v);
    t->v = v;
    t->cap = cap;
}

static uint64_t sku_hash_of(const struct audit_ledger *l, int i)
{
    return sku_hash(audit_ledger_name(l, i));
}

static uint64_t loc_hash_of(const struct audit_ledger *l, int i)
{
    return loc_hash(l->locs[i].sku, loc_name(l, i));
}

/* The slot of sku in by_sku: the one that holds it, or the free one where
 * it would go. by_sku must have a free slot. */
static size_t sku_slot(const struct audit_ledger *l, struct str sku)
{
    size_t mask = l->by_sku.cap - 1;
    size_t s = sku_hash(sku) & mask;
    while (l->by_sku.v[s] != 0 && !str_eq(audit_ledger_name(l, l->by_sku.v[s] - 1), sku))
        s = (s + 1) & mask;
    return s;
}

static size_t loc_slot(const struct audit_ledger *l, int sku, struct str loc)
{
    size_t mask = l->by_loc.cap - 1;
    size_t s = loc_hash(sku, loc) & mask;
    for (int v; (v = l->by_loc.v[s]) != 0; s = (s + 1) & mask)
        if (l->locs[v - 1].sku == sku && str_eq(loc_name(l, v - 1), loc))
            break;
    return s;
}

struct audit_ledger *audit_ledger_new(void)
{
    struct audit_ledger *l = xcalloc(1, sizeof *l);
    buf_init(&l->names);
    return l;
}

void audit_ledger_free(struct audit_ledger *l)
{
    if (l == NULL)
        return;
    buf_free(&l->names);
    free(l->skus);
    free(l->locs);
    free(l->by_sku.v);
    free(l->by_loc.v);
    free(l);
}

int audit_ledger_find(const struct audit_ledger *l, struct str sku)
{
    if (l->by_sku.cap == 0)
        return -1;
    return l->by_sku.v[sku_slot(l, sku)] - 1;
}

int audit_ledger_sku(struct audit_ledger *l, struct str sku)
{
    slots_reserve(l, &l->by_sku, l->n_skus, sku_hash_of);
    size_t s = sku_slot(l, sku);
    if (l->by_sku.v[s] != 0)
        return l->by_sku.v[s] - 1;
    if (l->n_skus >= INT_MAX - 1)
        abort(); /* two billion skus: far past any memory this runs in */
    l->skus = xgrow(l->skus, &l->skus_cap, l->n_skus + 1, sizeof *l->skus);
    l->skus[l->n_skus] = (struct ledger_sku){l->names.len, sku.n, -1, false};
    buf_append(&l->names, sku.p, sku.n);
    l->by_sku.v[s] = (int)++l->n_skus;
    return (int)l->n_skus - 1;
}

int audit_ledger_add(struct audit_ledger *l, struct str sku, struct str location,
                     const struct ledger_move *m)
{
    int k = audit_ledger_sku(l, sku);
    slots_reserve(l, &l->by_loc, l->n_locs, loc_hash_of);
    size_t s = loc_slot(l, k, location);
    if (l->by_loc.v[s] == 0) {
        if (l->n_locs >= INT_MAX - 1)
            abort();
        l->locs = xgrow(l->locs, &l->locs_cap, l->n_locs + 1, sizeof *l->locs);
        l->locs[l->n_locs] =
            (struct ledger_loc){k, l->skus[k].first, l->names.len, location.n, 0, 0};
        buf_append(&l->names, location.p, location.n);
        l->skus[k].first = (int)l->n_locs;
        l->by_loc.v[s] = (int)++l->n_locs;
    }
    struct ledger_loc *c = &l->locs[l->by_loc.v[s] - 1];
    long long on_hand, reserved;
    if (__builtin_add_overflow(c->on_hand, m->on_hand, &on_hand) ||
        __builtin_add_overflow(c->reserved, m->reserved, &reserved))
        return -1;
    c->on_hand = on_hand;
    c->reserved = reserved;
    return 0;
}

int audit_ledger_count(const struct audit_ledger *l)
{
    return (int)l->n_skus;
}

bool audit_ledger_checked(const struct audit_ledger *l, int i)
{
    return l->skus[i].checked;
}

void audit_ledger_set_checked(struct audit_ledger *l, int i)
{
    l->skus[i].checked = true;
}

/* --- the comparison ------------------------------------------------------ */

/* A location's counts from one source: the stock hash (have) or the
 * replay (book or tail). */
struct item {
    struct str location;
    long long on_hand, reserved, ledger_on_hand, ledger_reserved;
};

static int item_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct item *)a)->location, ((const struct item *)b)->location);
}

/* a + b, held at the end of the range rather than wrapped (only a ledger
 * of absurd quantities gets there, and then it differs anyway). */
static long long sum(long long a, long long b)
{
    long long s;
    if (__builtin_add_overflow(a, b, &s))
        return b > 0 ? LLONG_MAX : LLONG_MIN;
    return s;
}

static void append_difference(struct buf *list, struct str sku, const struct item *it)
{
    buf_appends(list, list->len > 0 ? ",{\"sku\":" : "{\"sku\":");
    json_write_string(list, sku.p, sku.n);
    buf_appends(list, ",\"location\":");
    json_write_string(list, it->location.p, it->location.n);
    buf_appends(list, ",\"on_hand\":");
    buf_append_int(list, it->on_hand);
    buf_appends(list, ",\"reserved\":");
    buf_append_int(list, it->reserved);
    buf_appends(list, ",\"ledger_on_hand\":");
    buf_append_int(list, it->ledger_on_hand);
    buf_appends(list, ",\"ledger_reserved\":");
    buf_append_int(list, it->ledger_reserved);
    buf_appendc(list, '}');
}

long long audit_ledger_compare(const struct audit_ledger *l, struct str sku,
                               const struct ledger_row *rows, size_t n_rows,
                               const struct ledger_tail *tail, size_t n_tail,
                               struct audit_ledger_report *r)
{
    int k = audit_ledger_find(l, sku);
    size_t n = n_rows + n_tail;
    for (int c = k < 0 ? -1 : l->skus[k].first; c >= 0; c = l->locs[c].next)
        n++;
    if (n == 0)
        return 0;
    struct item *items = xmalloc(n * sizeof *items);
    size_t at = 0;
    for (size_t i = 0; i < n_rows; i++)
        items[at++] = (struct item){rows[i].location, rows[i].on_hand, rows[i].reserved, 0, 0};
    for (int c = k < 0 ? -1 : l->skus[k].first; c >= 0; c = l->locs[c].next)
        items[at++] = (struct item){loc_name(l, c), 0, 0, l->locs[c].on_hand, l->locs[c].reserved};
    for (size_t i = 0; i < n_tail; i++)
        items[at++] =
            (struct item){tail[i].location, 0, 0, tail[i].move.on_hand, tail[i].move.reserved};
    qsort(items, n, sizeof *items, item_cmp);
    long long found = 0;
    for (size_t i = 0; i < n;) {
        struct item t = items[i];
        size_t j = i + 1;
        for (; j < n && str_eq(items[j].location, t.location); j++) {
            t.on_hand = sum(t.on_hand, items[j].on_hand);
            t.reserved = sum(t.reserved, items[j].reserved);
            t.ledger_on_hand = sum(t.ledger_on_hand, items[j].ledger_on_hand);
            t.ledger_reserved = sum(t.ledger_reserved, items[j].ledger_reserved);
        }
        i = j;
        if (t.on_hand == t.ledger_on_hand && t.reserved == t.ledger_reserved)
            continue;
        found++;
        if (r->n_differences++ < AUDIT_LEDGER_LIST)
            append_difference(&r->differences, sku, &t);
    }
    free(items);
    return found;
}

/* --- the result ---------------------------------------------------------- */

void audit_ledger_result(struct buf *out, long long skus_checked, long long holds,
                         const struct buf *differences, const struct buf *stale,
                         const struct buf *late, const struct audit_ledger_report *r)
{
    bool ledger_ok = !r->replayed || r->n_differences == 0;
    bool ok = differences->len == 0 && stale->len == 0 && late->len == 0 && ledger_ok;
    buf_appends(out, ok ? "{\"ok\":true" : "{\"ok\":false");
    buf_appends(out, ",\"skus_checked\":");
    buf_append_int(out, skus_checked);
    buf_appends(out, ",\"holds\":");
    buf_append_int(out, holds);
    buf_appends(out, ",\"differences\":[");
    buf_append(out, differences->data, differences->len);
    buf_appends(out, "],\"stale_index\":[");
    buf_append(out, stale->data, stale->len);
    buf_appends(out, "],\"late_due\":[");
    buf_append(out, late->data, late->len);
    buf_appends(out, r->replayed ? "],\"ledger\":{\"replayed\":true"
                                 : "],\"ledger\":{\"replayed\":false");
    buf_appends(out, ",\"entries\":");
    buf_append_int(out, r->entries);
    buf_appends(out, ",\"differences\":[");
    if (r->replayed)
        buf_append(out, r->differences.data, r->differences.len);
    buf_appendc(out, ']');
    long long listed = r->n_differences < AUDIT_LEDGER_LIST ? r->n_differences : AUDIT_LEDGER_LIST;
    if (r->replayed && r->n_differences > listed) {
        buf_appends(out, ",\"omitted\":");
        buf_append_int(out, r->n_differences - listed);
    }
    if (!r->replayed) {
        buf_appends(out, ",\"why\":");
        json_write_string(out, r->why, strlen(r->why));
    }
    buf_appends(out, "}}");
}
