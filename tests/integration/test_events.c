/* Integration: stock-level events. Every path that changes available at a
 * (sku, location) (reserve, commit, release, expiry by the sweeper or by a
 * reserve that gives back due holds, stock.adjust, stock.set,
 * reservation.update and reservation.transfer) appends low_stock,
 * out_of_stock and back_in_stock entries to {inv}:stock-events when it
 * crosses a level, one entry per crossing, chained per (sku, location) by
 * prev. The tests read the stream back; after each one, the chains are
 * checked and stock.audit must agree. Racing clients are checked against
 * the crossings that the ledger's movements imply. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "backorder_util.h"

#define STREAM "{inv}:stock-events"

/* --- the stream, read back ------------------------------------------------ */

/* One entry of the stream. */
struct event {
    char id[48], prev[48];
    char type[16], sku[64], loc[64], cause[16], rid[64];
    long long available, threshold;
};

/* The fields every entry has, in this order. */
static const char *const entry_fields[] = {"type",      "sku",   "location",    "available",
                                           "threshold", "cause", "reservation", "prev"};

static void copy(char *dst, size_t size, const redisReply *v)
{
    if (v->type != REDIS_REPLY_STRING || v->len >= size)
        fail_msg("a stream value that is not a short string");
    memcpy(dst, v->str, v->len + 1);
}

/* Every entry of the stream, oldest first, in *out (malloc'd; free it);
 * their count. Fails on an entry without exactly the fields above. */
static int read_events(struct event **out)
{
    int n = 0, cap = 0;
    *out = NULL;
    char from[64] = "-";
    for (;;) {
        redisReply *r = harness_redis(&H, "XRANGE " STREAM " %s + COUNT 1000", from);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        size_t got = r->elements;
        for (size_t i = 0; i < got; i++) {
            const redisReply *id = r->element[i]->element[0], *fv = r->element[i]->element[1];
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                struct event *grown = realloc(*out, (size_t)cap * sizeof **out);
                assert_non_null(grown);
                *out = grown;
            }
            struct event *e = &(*out)[n++];
            if (fv->elements != 16)
                fail_msg("entry %s has %zu fields and values", id->str, fv->elements);
            for (size_t f = 0; f < 8; f++)
                if (strcmp(fv->element[2 * f]->str, entry_fields[f]) != 0)
                    fail_msg("entry %s: field %zu is %s, not %s", id->str, f,
                             fv->element[2 * f]->str, entry_fields[f]);
            copy(e->id, sizeof e->id, id);
            copy(e->type, sizeof e->type, fv->element[1]);
            copy(e->sku, sizeof e->sku, fv->element[3]);
            copy(e->loc, sizeof e->loc, fv->element[5]);
            e->available = atoll(fv->element[7]->str);
            e->threshold = atoll(fv->element[9]->str);
            copy(e->cause, sizeof e->cause, fv->element[11]);
            copy(e->rid, sizeof e->rid, fv->element[13]);
            copy(e->prev, sizeof e->prev, fv->element[15]);
            snprintf(from, sizeof from, "(%s", e->id);
        }
        freeReplyObject(r);
        if (got < 1000)
            return n;
    }
}

/* Names given to reservation ids, so that an entry reads "... r2". */
static struct {
    char id[64], name[16];
} names[64];
static int n_names;

static void name_id(const char *id, const char *name)
{
    assert_true(n_names < 64);
    snprintf(names[n_names].id, sizeof names[0].id, "%s", id);
    snprintf(names[n_names].name, sizeof names[0].name, "%s", name);
    n_names++;
}

static const char *id_name(const char *id)
{
    if (id[0] == '\0')
        return "-";
    for (int i = 0; i < n_names; i++)
        if (strcmp(names[i].id, id) == 0)
            return names[i].name;
    return id;
}

/* The stream from entry `from` on as "type sku@location available/threshold
 * cause reservation" joined by "; " (static storage). */
static const char *events_from(int from)
{
    static char out[8192];
    struct event *e;
    int n = read_events(&e);
    out[0] = '\0';
    size_t len = 0;
    for (int i = from; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s %s@%s %lld/%lld %s %s",
                                i > from ? "; " : "", e[i].type, e[i].sku, e[i].loc,
                                e[i].available, e[i].threshold, e[i].cause, id_name(e[i].rid));
    free(e);
    return out;
}

static long long stream_len(void)
{
    redisReply *r = harness_redis(&H, "XLEN " STREAM);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* The whole stream is want. */
#define expect_events(want) expect_events_at(__LINE__, 0, want)
/* The entries from index from on are want ("" for none). */
#define expect_new_events(from, want) expect_events_at(__LINE__, from, want)
static void expect_events_at(int line, int from, const char *want)
{
    const char *got = events_from(from);
    if (strcmp(got, want) != 0)
        fail_msg("line %d: stock events from %d\nwant: %s\n got: %s", line, from, want, got);
}

/* The id of an entry's (sku, location) chain position: -1 when none
 * before it. */
static int chain_before(const struct event *e, int i)
{
    for (int j = i - 1; j >= 0; j--)
        if (strcmp(e[j].sku, e[i].sku) == 0 && strcmp(e[j].loc, e[i].loc) == 0)
            return j;
    return -1;
}

/* What every stream must be: each entry's prev is the id of the entry
 * before it of its (sku, location) ('' for the first); out_of_stock and
 * back_in_stock alternate per (sku, location); each entry's available is
 * on the side of its level that its type says; and the <loc>:event field
 * of each stock hash names the last entry of its location. Returns the
 * number of entries. */
static int check_chains(void)
{
    struct event *e;
    int n = read_events(&e);
    for (int i = 0; i < n; i++) {
        int j = chain_before(e, i);
        if (strcmp(e[i].prev, j < 0 ? "" : e[j].id) != 0)
            fail_msg("entry %d (%s) of %s@%s: prev '%s', want '%s'", i, e[i].id, e[i].sku,
                     e[i].loc, e[i].prev, j < 0 ? "" : e[j].id);
        bool low = strcmp(e[i].type, "low_stock") == 0;
        bool out = strcmp(e[i].type, "out_of_stock") == 0;
        bool back = strcmp(e[i].type, "back_in_stock") == 0;
        if (!(low && e[i].available <= e[i].threshold && e[i].threshold >= 0) &&
            !(out && e[i].available <= 0 && e[i].threshold == 0) &&
            !(back && e[i].available > 0 && e[i].threshold == 0))
            fail_msg("entry %d: %s with available %lld, threshold %lld", i, e[i].type,
                     e[i].available, e[i].threshold);
        /* The last entry about 0 of this (sku, location) is the other one. */
        for (int k = j; (out || back) && k >= 0; k = chain_before(e, k)) {
            if (strcmp(e[k].type, "low_stock") == 0)
                continue;
            if (strcmp(e[k].type, e[i].type) == 0)
                fail_msg("entries %d and %d of %s@%s: two %s in a row", k, i, e[i].sku, e[i].loc,
                         e[i].type);
            break;
        }
        bool last = true;
        for (int k = i + 1; k < n && last; k++)
            last = strcmp(e[k].sku, e[i].sku) != 0 || strcmp(e[k].loc, e[i].loc) != 0;
        if (last) {
            redisReply *r =
                harness_redis(&H, "HGET {inv}:stock:%s %s:event", e[i].sku, e[i].loc);
            if (r->type != REDIS_REPLY_STRING || strcmp(r->str, e[i].id) != 0)
                fail_msg("%s@%s: event field '%s', want '%s'", e[i].sku, e[i].loc,
                         r->type == REDIS_REPLY_STRING ? r->str : "(none)", e[i].id);
            freeReplyObject(r);
        }
    }
    free(e);
    return n;
}

/* --- the crossings the ledger implies ------------------------------------- */

static long long available_of(long long on_hand, long long reserved, long long safety)
{
    long long a = on_hand - reserved - safety;
    if (a >= 0)
        return a;
    return on_hand - reserved < 0 ? on_hand - reserved : 0;
}

static void field_of(const redisReply *fv, const char *name, char *out, size_t size)
{
    for (size_t f = 0; f + 1 < fv->elements; f += 2)
        if (strcmp(fv->element[f]->str, name) == 0) {
            snprintf(out, size, "%s", fv->element[f + 1]->str);
            return;
        }
    fail_msg("a ledger entry without %s", name);
}

static long long hash_int(const char *sku, const char *field, long long absent)
{
    redisReply *r = harness_redis(&H, "HGET {inv}:stock:%s %s", sku, field);
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : absent;
    freeReplyObject(r);
    return v;
}

struct counts {
    int low, out, back;
};

/* Replays the ledger's movements at (sku, loc) from empty, with the safety
 * stock and threshold the row has now (the caller kept them constant), and
 * derives the entries each movement's change of available implies, in
 * order; the stream's entries of (sku, loc) must be exactly those. Returns
 * how many of each type. */
static struct counts stream_matches_ledger(const char *sku, const char *loc)
{
    char f_saf[80], f_low[80];
    snprintf(f_saf, sizeof f_saf, "%s:safety", loc);
    snprintf(f_low, sizeof f_low, "%s:low_stock", loc);
    long long safety = hash_int(sku, f_saf, 0), low = hash_int(sku, f_low, -1);
    char *want = NULL, *got = NULL;
    size_t want_len = 0, got_len = 0;
    FILE *w = open_memstream(&want, &want_len);
    struct counts c = {0, 0, 0};
    long long on_hand = 0, reserved = 0;
    char from[64] = "-";
    for (;;) {
        redisReply *r = harness_redis(&H, "XRANGE {inv}:events %s + COUNT 5000", from);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *fv = r->element[i]->element[1];
            char type[16], s[64], l[64], q[32], rid[64], reason[64];
            field_of(fv, "type", type, sizeof type);
            field_of(fv, "sku", s, sizeof s);
            field_of(fv, "location", l, sizeof l);
            field_of(fv, "quantity", q, sizeof q);
            field_of(fv, "reservation", rid, sizeof rid);
            field_of(fv, "reason", reason, sizeof reason);
            snprintf(from, sizeof from, "(%s", r->element[i]->element[0]->str);
            if (strcmp(s, sku) != 0 || strcmp(l, loc) != 0)
                continue;
            long long qty = atoll(q), before = available_of(on_hand, reserved, safety);
            const char *cause = type;
            if (strcmp(type, "reserve") == 0) {
                reserved += qty;
            } else if (strcmp(type, "release") == 0 || strcmp(type, "expire") == 0) {
                reserved -= qty;
            } else if (strcmp(type, "commit") == 0) {
                on_hand -= qty;
                reserved -= qty;
            } else {
                on_hand += qty; /* restock, adjust, set */
                if (strcmp(type, "restock") == 0)
                    cause = "release";
            }
            if (strcmp(reason, "update") == 0 || strcmp(reason, "transfer") == 0)
                cause = reason;
            long long after = available_of(on_hand, reserved, safety);
            if (low >= 0 && before > low && after <= low) {
                fprintf(w, "low_stock %lld/%lld %s %s; ", after, low, cause, rid);
                c.low++;
            }
            if (before > 0 && after <= 0) {
                fprintf(w, "out_of_stock %lld/0 %s %s; ", after, cause, rid);
                c.out++;
            } else if (before <= 0 && after > 0) {
                fprintf(w, "back_in_stock %lld/0 %s %s; ", after, cause, rid);
                c.back++;
            }
        }
        size_t got_n = r->elements;
        freeReplyObject(r);
        if (got_n < 5000)
            break;
    }
    fclose(w);
    FILE *g = open_memstream(&got, &got_len);
    struct event *e;
    int n = read_events(&e);
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].sku, sku) == 0 && strcmp(e[i].loc, loc) == 0)
            fprintf(g, "%s %lld/%lld %s %s; ", e[i].type, e[i].available, e[i].threshold,
                    e[i].cause, e[i].rid);
    fclose(g);
    free(e);
    if (strcmp(want, got) != 0)
        fail_msg("%s@%s: the stream is not what the ledger implies\nwant: %s\n got: %s", sku, loc,
                 want, got);
    free(want);
    free(got);
    return c;
}

/* --- shared steps ----------------------------------------------------------- */

static int events_teardown(void **state)
{
    (void)state;
    check_chains();
    audit_ok_on(conn());
    n_names = 0;
    return 0;
}

/* A reserve of params that must succeed, its id named name. */
static void hold_as(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hold_as(const char *name, const char *fmt, ...)
{
    char params[1024], id[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(params, sizeof params, fmt, ap);
    va_end(ap);
    cJSON_Delete(reserve_ok(id, "%s", params));
    name_id(id, name);
}

/* The id named name. */
static const char *id_of(const char *name)
{
    for (int i = 0; i < n_names; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].id;
    fail_msg("no reservation named %s", name);
    return NULL;
}

/* A hold of quantity of sku at loc that expires in a second; waits until
 * Redis's clock has passed its deadline. stockd 0 does not sweep in a
 * test's time, so the hold is still held when this returns. */
static void hold_past_deadline(const char *name, const char *sku, const char *loc, int quantity)
{
    char id[64];
    cJSON *r = reserve_ok(
        id, "{'items':[{'sku':'%s','quantity':%d}],'locations':['%s'],'ttl_ms':1000}", sku,
        quantity, loc);
    long long expires = json_int(res(r), "expires_at");
    cJSON_Delete(r);
    name_id(id, name);
    harness_wait_redis_time(&H, expires + 1);
}

static void ok(cJSON *r)
{
    cJSON_Delete(must(r));
}

/* --- each cause ------------------------------------------------------------ */

static void test_reserve_crossings(void **state)
{
    (void)state;
    /* A row's first units bring it back in stock (its available was 0). */
    stock("A", "L", 10, ",'low_stock_threshold':5");
    expect_events("back_in_stock A@L 10/0 set -");
    hold_as("r1", "{'items':[{'sku':'A','quantity':4}],'locations':['L']}");
    hold_as("r2", "{'items':[{'sku':'A','quantity':1}],'locations':['L']}");
    hold_as("r3", "{'items':[{'sku':'A','quantity':2}],'locations':['L']}");
    hold_as("r4", "{'items':[{'sku':'A','quantity':3}],'locations':['L']}");
    expect_err(rpc("reserve", "{'items':[{'sku':'A','quantity':1}],'locations':['L']}"), 1001,
               "out_of_stock");
    expect_new_events(1, "low_stock A@L 5/5 reserve r2; out_of_stock A@L 0/0 reserve r4");

    /* Through both levels at once: low_stock first. */
    stock("A", "M", 6, ",'low_stock_threshold':2");
    hold_as("r5", "{'items':[{'sku':'A','quantity':6}],'locations':['M']}");
    expect_new_events(3, "back_in_stock A@M 6/0 set -; low_stock A@M 0/2 reserve r5; "
                         "out_of_stock A@M 0/0 reserve r5");

    /* One order, two lines: each location's own entries, the order's id. */
    stock("B", "L", 3, "");
    stock("C", "L", 1, "");
    hold_as("r6", "{'items':[{'sku':'B','quantity':3},{'sku':'C','quantity':1}],"
                  "'locations':['L']}");
    expect_new_events(8, "out_of_stock B@L 0/0 reserve r6; out_of_stock C@L 0/0 reserve r6");

    /* Split over two locations, and a threshold at each. */
    stock("D", "L1", 4, ",'low_stock_threshold':3");
    stock("D", "L2", 5, ",'low_stock_threshold':3");
    hold_as("r7", "{'items':[{'sku':'D','quantity':6}],'locations':['L1','L2'],"
                  "'strategy':'split'}");
    expect_new_events(12, "low_stock D@L1 0/3 reserve r7; out_of_stock D@L1 0/0 reserve r7; "
                          "low_stock D@L2 3/3 reserve r7");

    /* A backorder goes below 0 once; further down is no crossing. */
    stock("E", "L", 2, ",'backorder_limit':5");
    hold_as("r8", "{'items':[{'sku':'E','quantity':4}],'locations':['L'],"
                  "'allow_backorder':true}");
    hold_as("r9", "{'items':[{'sku':'E','quantity':1}],'locations':['L'],"
                  "'allow_backorder':true}");
    expect_new_events(15, "back_in_stock E@L 2/0 set -; out_of_stock E@L -2/0 reserve r8");

    /* The <loc>:event fields are no location and no count. */
    redisReply *f = harness_redis(&H, "HEXISTS {inv}:stock:A L:event");
    assert_int_equal(f->integer, 1);
    freeReplyObject(f);
    cJSON *r = must(rpc("stock.get", "{'sku':'A'}"));
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(res(r), "locations");
    assert_int_equal(cJSON_GetArraySize(locs), 2);
    assert_string_equal(json_str(cJSON_GetArrayItem(locs, 0), "location"), "L");
    assert_string_equal(rowfmt(cJSON_GetArrayItem(locs, 0)), "oh=10 res=10 av=0 bo=0 lim=0");
    assert_string_equal(json_str(cJSON_GetArrayItem(locs, 1), "location"), "M");
    assert_string_equal(rowfmt(cJSON_GetArrayItem(locs, 1)), "oh=6 res=6 av=0 bo=0 lim=0");
    cJSON_Delete(r);
}

static void test_commit_changes_no_level_but_expires(void **state)
{
    (void)state;
    stock("A", "L", 2, ",'low_stock_threshold':1");
    hold_as("r1", "{'items':[{'sku':'A','quantity':2}],'locations':['L']}");
    expect_events("back_in_stock A@L 2/0 set -; low_stock A@L 0/1 reserve r1; "
                  "out_of_stock A@L 0/0 reserve r1");
    /* Sold: on_hand and reserved go down together, available stays 0. */
    ok(rpc("commit", "{'reservation_id':'%s'}", id_of("r1")));
    expect_new_events(3, "");

    /* A hold committed past its deadline expires there: its units are back. */
    stock("B", "L", 3, "");
    hold_past_deadline("r2", "B", "L", 3);
    expect_err(rpc("commit", "{'reservation_id':'%s'}", id_of("r2")), 1003, "expired");
    expect_new_events(3, "back_in_stock B@L 3/0 set -; out_of_stock B@L 0/0 reserve r2; "
                         "back_in_stock B@L 3/0 expire r2");
}

static void test_release_brings_stock_back(void **state)
{
    (void)state;
    stock("A", "L", 3, ",'low_stock_threshold':2");
    hold_as("r1", "{'items':[{'sku':'A','quantity':3}],'locations':['L']}");
    ok(rpc("release", "{'reservation_id':'%s','reason':'cancelled'}", id_of("r1")));
    /* Up through the threshold is no event; up through 0 is. */
    expect_events("back_in_stock A@L 3/0 set -; low_stock A@L 0/2 reserve r1; "
                  "out_of_stock A@L 0/0 reserve r1; back_in_stock A@L 3/0 release r1");

    /* A committed order given back: on_hand comes back. */
    hold_as("r2", "{'items':[{'sku':'A','quantity':3}],'locations':['L']}");
    ok(rpc("commit", "{'reservation_id':'%s'}", id_of("r2")));
    ok(rpc("release", "{'reservation_id':'%s'}", id_of("r2")));
    expect_new_events(4, "low_stock A@L 0/2 reserve r2; out_of_stock A@L 0/0 reserve r2; "
                         "back_in_stock A@L 3/0 release r2");
    assert_string_equal(rowstr("A", "L"), "oh=3 res=0 av=3 bo=0 lim=0");

    /* Released past its deadline: an expiry. */
    hold_past_deadline("r3", "A", "L", 3);
    cJSON_Delete(rpc("release", "{'reservation_id':'%s'}", id_of("r3")));
    expect_new_events(7, "low_stock A@L 0/2 reserve r3; out_of_stock A@L 0/0 reserve r3; "
                         "back_in_stock A@L 3/0 expire r3");
}

/* The sweeper's expiry: a stockd that sweeps every 50 ms, stopped after. */
static void test_sweeper_expiry(void **state)
{
    (void)state;
    static const char *const args[] = {"--sweep-interval-ms", "50", NULL};
    int sweeper = harness_stockd(&(struct stockd_opts){.args = args});
    stock("A", "L", 2, ",'low_stock_threshold':1");
    stock("A", "M", 5, "");
    hold_as("r1", "{'items':[{'sku':'A','quantity':3}],'locations':['L','M'],"
                  "'strategy':'split','ttl_ms':1000}");
    long long deadline = harness_now_ms() + 20000;
    while (stream_len() < 5 && harness_now_ms() < deadline)
        harness_wait_redis_time(&H, harness_redis_time_ms(&H) + 20);
    expect_events("back_in_stock A@L 2/0 set -; back_in_stock A@M 5/0 set -; "
                  "low_stock A@L 0/1 reserve r1; out_of_stock A@L 0/0 reserve r1; "
                  "back_in_stock A@L 2/0 expire r1");
    cJSON *r = get_res(id_of("r1"));
    assert_string_equal(json_str(res(r), "status"), "expired");
    cJSON_Delete(r);
    harness_signal_stockd(sweeper, SIGTERM);
    int status = harness_reap_stockd(sweeper);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A reserve that runs short gives back the due holds on its skus first. */
static void test_reserve_gives_back_due_holds(void **state)
{
    (void)state;
    stock("A", "L", 2, "");
    hold_past_deadline("r1", "A", "L", 2);
    hold_as("r2", "{'items':[{'sku':'A','quantity':2}],'locations':['L']}");
    expect_events("back_in_stock A@L 2/0 set -; out_of_stock A@L 0/0 reserve r1; "
                  "back_in_stock A@L 2/0 expire r1; out_of_stock A@L 0/0 reserve r2");
    /* Given back and short all the same: the give-back stays. */
    stock("B", "L", 1, "");
    hold_past_deadline("r3", "B", "L", 1);
    expect_err(rpc("reserve", "{'items':[{'sku':'B','quantity':2}],'locations':['L']}"), 1001,
               "out_of_stock");
    expect_new_events(4, "back_in_stock B@L 1/0 set -; out_of_stock B@L 0/0 reserve r3; "
                         "back_in_stock B@L 1/0 expire r3");
}

static void test_adjust_crossings(void **state)
{
    (void)state;
    stock("A", "L", 10, ",'low_stock_threshold':4");
    ok(rpc("stock.adjust", "{'sku':'A','location':'L','delta':-5}"));
    ok(rpc("stock.adjust", "{'sku':'A','location':'L','delta':-1}"));
    ok(rpc("stock.adjust", "{'sku':'A','location':'L','delta':-1}"));
    ok(rpc("stock.adjust", "{'sku':'A','location':'L','delta':-3}"));
    ok(rpc("stock.adjust", "{'sku':'A','location':'L','delta':1}"));
    ok(rpc("stock.adjust", "{'sku':'A','location':'L','delta':9}"));
    ok(rpc("stock.adjust", "{'sku':'A','location':'L','delta':-10}"));
    expect_events("back_in_stock A@L 10/0 set -; low_stock A@L 4/4 adjust -; "
                  "out_of_stock A@L 0/0 adjust -; back_in_stock A@L 1/0 adjust -; "
                  "low_stock A@L 0/4 adjust -; out_of_stock A@L 0/0 adjust -");

    /* Units owed: goods received pay them first; back in stock only when
     * available is above 0 again. */
    stock("B", "L", 1, ",'backorder_limit':5");
    hold_as("r1", "{'items':[{'sku':'B','quantity':4}],'locations':['L'],"
                  "'allow_backorder':true}");
    ok(rpc("commit", "{'reservation_id':'%s'}", id_of("r1")));
    assert_string_equal(rowstr("B", "L"), "oh=-3 res=0 av=-3 bo=3 lim=5");
    ok(rpc("stock.adjust", "{'sku':'B','location':'L','delta':2}"));
    ok(rpc("stock.adjust", "{'sku':'B','location':'L','delta':5}"));
    expect_new_events(6, "back_in_stock B@L 1/0 set -; out_of_stock B@L -3/0 reserve r1; "
                         "back_in_stock B@L 4/0 adjust -");
}

static void test_set_crossings(void **state)
{
    (void)state;
    stock("A", "L", 10, "");
    stock("A", "L", 6, ",'low_stock_threshold':5");
    stock("A", "L", 5, "");
    /* The threshold alone changes no available: nothing. */
    stock("A", "L", 5, ",'low_stock_threshold':7");
    /* Safety stock takes available down, and back. */
    stock("A", "L", 5, ",'safety_stock':5");
    stock("A", "L", 5, ",'safety_stock':0");
    stock("A", "L", 8, ",'low_stock_threshold':null");
    stock("A", "L", 0, "");
    expect_events("back_in_stock A@L 10/0 set -; low_stock A@L 5/5 set -; "
                  "out_of_stock A@L 0/0 set -; back_in_stock A@L 5/0 set -; "
                  "out_of_stock A@L 0/0 set -");
    /* A cycle count below what is reserved is refused: nothing. */
    stock("B", "L", 4, ",'low_stock_threshold':1");
    hold_as("r1", "{'items':[{'sku':'B','quantity':3}],'locations':['L']}");
    expect_err(rpc("stock.set", "{'sku':'B','location':'L','on_hand':2}"), 1003,
               "below_reserved");
    stock("B", "L", 3, "");
    expect_new_events(5, "back_in_stock B@L 4/0 set -; low_stock B@L 1/1 reserve r1; "
                         "out_of_stock B@L 0/0 set -");
}

static void test_update_crossings(void **state)
{
    (void)state;
    stock("A", "L", 5, ",'low_stock_threshold':2");
    stock("B", "L", 1, "");
    hold_as("r1", "{'items':[{'sku':'A','quantity':2},{'sku':'B','quantity':1}],"
                  "'locations':['L']}");
    expect_events("back_in_stock A@L 5/0 set -; back_in_stock B@L 1/0 set -; "
                  "out_of_stock B@L 0/0 reserve r1");
    ok(update(id_of("r1"), "[{'sku':'A','quantity':3}]"));
    ok(update(id_of("r1"), "[{'sku':'A','quantity':5}]"));
    /* One update, a decrease and an increase: the decrease first. */
    ok(update(id_of("r1"), "[{'sku':'A','quantity':1},{'sku':'B','quantity':0}]"));
    expect_new_events(3, "low_stock A@L 2/2 update r1; out_of_stock A@L 0/0 update r1; "
                         "back_in_stock A@L 4/0 update r1; back_in_stock B@L 1/0 update r1");
    /* More than there is: nothing. */
    expect_err(update(id_of("r1"), "[{'sku':'A','quantity':6}]"), 1001, "out_of_stock");
    expect_new_events(7, "");
}

static void test_transfer_crossings(void **state)
{
    (void)state;
    stock("A", "L1", 2, ",'low_stock_threshold':1");
    stock("A", "L2", 3, ",'low_stock_threshold':2");
    hold_as("r1", "{'items':[{'sku':'A','quantity':2}],'locations':['L1']}");
    ok(transfer(id_of("r1"), "'sku':'A','from':'L1','to':'L2'"));
    ok(transfer(id_of("r1"), "'sku':'A','from':'L2','to':'L1','quantity':1"));
    expect_events("back_in_stock A@L1 2/0 set -; back_in_stock A@L2 3/0 set -; "
                  "low_stock A@L1 0/1 reserve r1; out_of_stock A@L1 0/0 reserve r1; "
                  "back_in_stock A@L1 2/0 transfer r1; low_stock A@L2 1/2 transfer r1; "
                  "low_stock A@L1 1/1 transfer r1");
    /* To a location that lacks the units: nothing. */
    stock("A", "L3", 0, "");
    expect_err(transfer(id_of("r1"), "'sku':'A','from':'L1','to':'L3'"), 1001, "out_of_stock");
    expect_new_events(7, "");
}

/* --- one entry per crossing --------------------------------------------- */

/* Reserves that keep a location below its threshold append nothing after
 * the first crossing; the last unit taken and given back is one
 * out_of_stock and one back_in_stock. */
static void test_thousand_reserves_one_entry(void **state)
{
    (void)state;
    int n = getenv("STOCKD_VALGRIND") ? 200 : 1000;
    /* Threshold n: the first reserve takes available from n + 1 to n, the
     * last leaves 1. */
    char extra[64], want[256];
    snprintf(extra, sizeof extra, ",'low_stock_threshold':%d", n);
    stock("K", "L", n + 1, extra);
    size_t size = (size_t)n * 128, len = 0;
    char *all = malloc(size);
    assert_non_null(all);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(all + len, size - len,
                                "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":"
                                "\"K\",\"quantity\":1}],\"locations\":[\"L\"]}}\n",
                                i);
    char **lines = client_exchange(conn(), all, len, n, 60000);
    int held = 0;
    for (int i = 0; i < n; i++) {
        cJSON *r = cJSON_Parse(lines[i]);
        held += resp_error_code(r) == 0;
        if (i == 0 && resp_error_code(r) == 0)
            name_id(json_str(res(r), "reservation_id"), "first");
        cJSON_Delete(r);
    }
    client_free_lines(lines, n);
    free(all);
    assert_int_equal(held, n);
    assert_int_equal(harness_ledger_count("reserve", "sku", "K", false), n);
    snprintf(want, sizeof want, "back_in_stock K@L %d/0 set -; low_stock K@L %d/%d reserve first",
             n + 1, n, n);
    expect_events(want);

    hold_as("last", "{'items':[{'sku':'K','quantity':1}],'locations':['L']}");
    ok(rpc("release", "{'reservation_id':'%s'}", id_of("last")));
    expect_new_events(2, "out_of_stock K@L 0/0 reserve last; back_in_stock K@L 1/0 release last");
    struct counts c = stream_matches_ledger("K", "L");
    assert_true(c.low == 1 && c.out == 1 && c.back == 2);
}

enum { FDS = 6, PER_ROUND = 8, MAX_HOLDS = 4096 };
enum act { RESERVE, RELEASE, COMMIT, ADJUST };

/* Each connection's holds, oldest first (from first[f] on). */
static char held_ids[FDS][MAX_HOLDS][40];
static int n_held[FDS], first_held[FDS];

static const char *const race_skus[2] = {"C", "D"};

/* Appends one request to a pipeline on connection f: the kind that x
 * (0..99) picks for the sku it picks, most of them reserves while that
 * sku's stock drains (drain[sku]), releases and goods received while it
 * fills. */
static enum act pick(int f, unsigned x, const bool *drain, int id, char *buf, size_t size,
                     size_t *len)
{
    int s = (int)(x / 3) % 2;
    const char *sku = race_skus[s];
    bool has_hold = first_held[f] < n_held[f];
    enum act a = ADJUST;
    if (x < (drain[s] ? 75u : 10u))
        a = RESERVE;
    else if (x < (drain[s] ? 88u : 55u) && has_hold)
        a = RELEASE;
    else if (x < (drain[s] ? 94u : 60u) && has_hold)
        a = COMMIT;
    char params[256];
    const char *method = "reserve";
    if (a == RESERVE && x % 5 == 0 && drain[0] && drain[1]) {
        snprintf(params, sizeof params,
                 "{\"items\":[{\"sku\":\"C\",\"quantity\":%u},{\"sku\":\"D\",\"quantity\":%u}],"
                 "\"locations\":[\"L\"]}",
                 1 + x % 3, 1 + x % 2);
    } else if (a == RESERVE) {
        snprintf(params, sizeof params,
                 "{\"items\":[{\"sku\":\"%s\",\"quantity\":%u}],\"locations\":[\"L\"]}", sku,
                 1 + x % 4);
    } else if (a == ADJUST) {
        method = "stock.adjust";
        snprintf(params, sizeof params, "{\"sku\":\"%s\",\"location\":\"L\",\"delta\":%d}", sku,
                 drain[s] ? -(int)(1 + x % 2) : (int)(1 + x % 4));
    } else {
        method = a == RELEASE ? "release" : "commit";
        snprintf(params, sizeof params, "{\"reservation_id\":\"%s\"}",
                 held_ids[f][first_held[f]++]);
    }
    *len += (size_t)snprintf(buf + *len, size - *len,
                             "{\"id\":%d,\"method\":\"%s\",\"params\":%s}\n", id, method, params);
    return a;
}

/* Reads the answers to a pipeline of n requests of kinds acts on fds[f]. */
static void read_answers(int *fds, int f, const enum act *acts, int n)
{
    for (int k = 0; k < n; k++) {
        char *line = client_readline(fds[f], 30000);
        assert_non_null(line);
        cJSON *r = cJSON_Parse(line);
        assert_non_null(r);
        int code = resp_error_code(r);
        if (json_int(r, "id") != k)
            fail_msg("answer %d on connection %d: %s", k, f, line);
        if (acts[k] == RESERVE && code == 0) {
            assert_true(n_held[f] < MAX_HOLDS);
            snprintf(held_ids[f][n_held[f]++], sizeof held_ids[0][0], "%s",
                     json_str(res(r), "reservation_id"));
        } else if (!(code == 0 || (code == 1001 && (acts[k] == RESERVE || acts[k] == ADJUST)))) {
            fail_msg("answer %d on connection %d: %s", k, f, line);
        }
        cJSON_Delete(r);
        free(line);
    }
}

/* Clients race around the levels: six connections over two replicas, each
 * sending pipelines of reserves (of one line or two), releases, commits and
 * adjustments of two skus that share a threshold, all written before any
 * answer is read; each sku's stock drains to 0 and fills again to above
 * the threshold, over and over. No crossing has two entries and none lacks
 * its entry:
 * the stream is exactly what the ledger's movements imply, in order, so
 * out_of_stock and back_in_stock alternate and low_stock counts the
 * downward crossings of the threshold. */
static void test_racing_clients(void **state)
{
    (void)state;
    int rounds = getenv("STOCKD_VALGRIND") ? 15 : 80;
    stock("C", "L", 24, ",'low_stock_threshold':10");
    stock("D", "L", 24, ",'low_stock_threshold':10");
    int fds[FDS];
    for (int f = 0; f < FDS; f++) {
        fds[f] = client_connect(H.stockd[f % 2].port);
        n_held[f] = first_held[f] = 0;
    }
    unsigned seed = 15;
    static char bufs[FDS][PER_ROUND * 320];
    enum act acts[FDS][PER_ROUND];
    bool drain[2] = {true, true};
    int cycles[2] = {0, 0};
    for (int round = 0; round < rounds; round++) {
        for (int s = 0; s < 2; s++) {
            long long available = stock_row(conn(), race_skus[s], "L").available;
            if (drain[s] && available <= 0) {
                drain[s] = false;
            } else if (!drain[s] && available >= 16) {
                drain[s] = true;
                cycles[s]++;
            }
        }
        for (int f = 0; f < FDS; f++) {
            size_t len = 0;
            for (int k = 0; k < PER_ROUND; k++)
                acts[f][k] = pick(f, (unsigned)rand_r(&seed) % 100, drain, k, bufs[f],
                                  sizeof bufs[f], &len);
            client_send(fds[f], bufs[f], len);
        }
        for (int f = 0; f < FDS; f++)
            read_answers(fds, f, acts[f], PER_ROUND);
    }
    /* Every hold left goes back, and goods arrive: back in stock. */
    for (int f = 0; f < FDS; f++) {
        for (int i = first_held[f]; i < n_held[f]; i++)
            cJSON_Delete(must(rpc_fd(fds[f], "release", "{'reservation_id':'%s'}",
                                     held_ids[f][i])));
        close(fds[f]);
    }
    ok(rpc("stock.adjust", "{'sku':'C','location':'L','delta':30}"));
    ok(rpc("stock.adjust", "{'sku':'D','location':'L','delta':30}"));

    int total = check_chains();
    struct counts c = stream_matches_ledger("C", "L"), d = stream_matches_ledger("D", "L");
    printf("racing clients: %d rounds, %d and %d refills; %d entries; C: %d low, %d out, %d "
           "back; D: %d low, %d out, %d back\n",
           rounds, cycles[0], cycles[1], total, c.low, c.out, c.back, d.low, d.out, d.back);
    assert_int_equal(total, c.low + c.out + c.back + d.low + d.out + d.back);
    /* Each sku went down through both levels and came back at least once
     * (its first units are a back_in_stock too). */
    assert_true(cycles[0] > 0 && cycles[1] > 0);
    assert_true(c.low > 0 && c.out > 0 && c.back > 1 && d.low > 0 && d.out > 0 && d.back > 1);
}

/* --- nothing appended for what is refused --------------------------------- */

/* Refused and invalid requests change nothing and append nothing; a stream
 * key of another type fails, before they change anything, the calls that
 * could append to it, and no other. */
static void test_refused_requests_append_nothing(void **state)
{
    (void)state;
    stock("A", "L", 3, ",'low_stock_threshold':2");
    stock("A", "M", 1, "");
    hold_as("r1", "{'items':[{'sku':'A','quantity':1}],'locations':['L']}");
    const char *stream = "back_in_stock A@L 3/0 set -; back_in_stock A@M 1/0 set -; "
                         "low_stock A@L 2/2 reserve r1";
    expect_events(stream);

    char *before = world(id_of("r1"), "A");
    expect_err(rpc("reserve", "{'items':[{'sku':'A','quantity':5}],'locations':['L']}"), 1001,
               "out_of_stock");
    expect_err(rpc("stock.adjust", "{'sku':'A','location':'L','delta':-3}"), 1001,
               "out_of_stock");
    expect_err(rpc("stock.set", "{'sku':'A','location':'L','on_hand':0}"), 1003,
               "below_reserved");
    expect_err(update(id_of("r1"), "[{'sku':'A','quantity':10}]"), 1001, "out_of_stock");
    expect_err(transfer(id_of("r1"), "'sku':'A','from':'L','to':'N'"), 1001, "out_of_stock");
    expect_field(rpc("stock.set", "{'sku':'A','location':'L','on_hand':0,"
                                  "'low_stock_threshold':-1}"),
                 "low_stock_threshold", "negative threshold");
    expect_field(rpc("stock.adjust", "{'sku':'A','location':'L','delta':0}"), "delta",
                 "zero delta");
    expect_field(rpc("reserve", "{'items':[{'sku':'A','quantity':0}],'locations':['L']}"),
                 "items[0].quantity", "zero quantity");
    same_world(before, id_of("r1"), "A");
    expect_events(stream);

    /* Not a stream: every reserve, a crossing adjust and a release fail
     * whole. */
    freeReplyObject(harness_redis(&H, "RENAME " STREAM " {inv}:kept"));
    freeReplyObject(harness_redis(&H, "SET " STREAM " not-a-stream"));
    before = world(id_of("r1"), "A");
    expect_err(rpc("reserve", "{'items':[{'sku':'A','quantity':1}],'locations':['M']}"), -32603,
               "internal");
    expect_err(rpc("stock.adjust", "{'sku':'A','location':'L','delta':-2}"), -32603, "internal");
    expect_err(rpc("release", "{'reservation_id':'%s'}", id_of("r1")), -32603, "internal");
    expect_err(rpc("stock.set", "{'sku':'A','location':'M','on_hand':0}"), -32603, "internal");
    same_world(before, id_of("r1"), "A");
    /* One that crosses nothing appends nothing: it goes through. */
    ok(rpc("stock.adjust", "{'sku':'A','location':'M','delta':1}"));
    assert_string_equal(rowstr("A", "M"), "oh=2 res=0 av=2 bo=0 lim=0");
    freeReplyObject(harness_redis(&H, "RENAME {inv}:kept " STREAM));
    expect_events(stream);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, harness_flush_setup, events_teardown)

int main(void)
{
    /* Two replicas, neither sweeping in a test's time (a test that needs the
     * sweeper starts one). */
    static const char *const args[] = {"--sweep-interval-ms", "60000", NULL};
    const struct CMUnitTest tests[] = {
        TEST(test_reserve_crossings),
        TEST(test_commit_changes_no_level_but_expires),
        TEST(test_release_brings_stock_back),
        TEST(test_sweeper_expiry),
        TEST(test_reserve_gives_back_due_holds),
        TEST(test_adjust_crossings),
        TEST(test_set_crossings),
        TEST(test_update_crossings),
        TEST(test_transfer_crossings),
        TEST(test_thousand_reserves_one_entry),
        TEST(test_racing_clients),
        TEST(test_refused_requests_append_nothing),
    };
    return harness_run("events", tests, sizeof tests / sizeof tests[0], 2, args);
}
