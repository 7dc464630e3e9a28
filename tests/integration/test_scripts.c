/* Integration: each script of lua/ on its own against a real redis-server,
 * called with EVAL and its embedded body (contract and helpers included), as
 * stockd sends it. Every KEYS and ARGV array is filled by the positions of
 * the script's C contract (the enums of stock.h, reserve.h, ...), so a script
 * that reads a key or an argument from another position than its C
 * declaration fails here. Each test checks the reply element by element, the
 * state the script leaves (hash fields, index scores, bindings, TTLs, lists)
 * and the ledger entries it appends; a refusal, and every call of a
 * read-only script, must leave the whole dataset as it was. No stockd runs. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scripts_util.h"

#include "audit.h"
#include "reservation.h"
#include "reserve.h"
#include "sweeper.h"
#include "stock.h"
#include "transition.h"

/* commit, release, extend or expire in the layout of transition.h
 * (call_transition); expire's budget is act_budget. */
static const char *act_budget = "500";
static redisReply *call_act(enum script_id script, const char *reason, const char *ids,
                            const char *orders, const char *skus)
{
    return call_transition(script, reason, act_budget, ids, orders, skus, NULL, 0, NULL, 0);
}

static redisReply *call_extend(const char *rid, const char *skus)
{
    return call_act(SCRIPT_EXTEND, "", rid, "-", skus);
}

/* audit of the skus of a page "A B" with a budget of index members. */
static redisReply *call_audit(const char *skus, const char *budget)
{
    const char *sku[4];
    int m = words(skus, sku, 4);
    const char *keys[AUDIT_K_FIXED + 2 * 4] = {[AUDIT_K_DUE] = DUE, [AUDIT_K_EXPIRY] = EXPIRY};
    const char *args[AUDIT_A_FIXED + 4] = {[AUDIT_A_BUDGET] = budget, [AUDIT_A_M] = fmt("%d", m)};
    for (int j = 0; j < m; j++) {
        keys[AUDIT_K_FIXED + j] = fmt(NS ":stock:%s", sku[j]);
        keys[AUDIT_K_FIXED + m + j] = fmt(NS ":holds:%s", sku[j]);
        args[AUDIT_A_FIXED + j] = sku[j];
    }
    return eval_ro(SCRIPT_AUDIT, keys, AUDIT_K_FIXED + 2 * m, args, AUDIT_A_FIXED + m);
}

/* audit_index of the ids "r1 r2". */
static redisReply *call_audit_index(const char *ids)
{
    const char *id[8];
    int k = words(ids, id, 8);
    const char *keys[AUDIT_INDEX_K_FIXED + 8] = {[AUDIT_INDEX_K_EXPIRY] = EXPIRY};
    const char *args[AUDIT_INDEX_A_FIXED + 8] = {[AUDIT_INDEX_A_K] = fmt("%d", k)};
    for (int i = 0; i < k; i++) {
        keys[AUDIT_INDEX_K_FIXED + i] = fmt(NS ":res:%s", id[i]);
        args[AUDIT_INDEX_A_FIXED + i] = id[i];
    }
    return eval_ro(SCRIPT_AUDIT_INDEX, keys, AUDIT_INDEX_K_FIXED + k, args,
                   AUDIT_INDEX_A_FIXED + k);
}

static redisReply *call_due(const char *limit)
{
    const char *keys[EXPIRE_DUE_K_FIXED] = {[EXPIRE_DUE_K_EXPIRY] = EXPIRY,
                                            [EXPIRE_DUE_K_DUE] = DUE,
                                            [EXPIRE_DUE_K_QUARANTINE] = QUARANTINE};
    const char *args[EXPIRE_DUE_A_FIXED] = {[EXPIRE_DUE_A_LIMIT] = limit,
                                            [EXPIRE_DUE_A_HOLDS] = NS ":holds:",
                                            [EXPIRE_DUE_A_RES] = NS ":res:"};
    return eval(SCRIPT_EXPIRE_DUE, keys, EXPIRE_DUE_K_FIXED, args, EXPIRE_DUE_A_FIXED);
}

/* --- stock and channels -------------------------------------------------- */

/* The end of a stock row of a location without backorders or a low-stock
 * threshold: backorder_limit 0, threshold ''. */
#define ROW0 " 0 ''"

static void test_stock_set(void **state)
{
    (void)state;
    /* A first set creates the row; reserved is not written (it reads as 0),
     * and the ledger records the whole on_hand as the movement. */
    is(call_stock_set("A", "L", "10", "3"), "%d 10 0 3" ROW0, STOCK_SET_ST_OK);
    is(R("HMGET " STOCK("A") " L:on_hand L:reserved L:safety"), "'10' nil '3'");
    ledger_is(1, 1, "'set' 'A' 'L' '10' '' ''");
    /* '' keeps the current safety stock; the movement is the change. */
    is(call_stock_set("A", "L", "12", ""), "%d 12 0 3" ROW0, STOCK_SET_ST_OK);
    is(R("HMGET " STOCK("A") " L:on_hand L:safety"), "'12' '3'");
    ledger_is(2, 1, "'set' 'A' 'L' '2' '' ''");
    /* Only the safety stock changes: a movement of 0, still recorded. */
    is(call_stock_set("A", "L", "12", "5"), "%d 12 0 5" ROW0, STOCK_SET_ST_OK);
    is(R("HMGET " STOCK("A") " L:on_hand L:safety"), "'12' '5'");
    ledger_is(3, 1, "'set' 'A' 'L' '0' '' ''");

    /* With units reserved, on_hand may go down to them (a negative
     * movement) but not below: then nothing at all is written, not even
     * the new safety stock, and the ledger does not move. */
    run("HSET " STOCK("A") " L:reserved 4");
    is(call_stock_set("A", "L", "4", ""), "%d 4 4 5" ROW0, STOCK_SET_ST_OK);
    ledger_is(4, 1, "'set' 'A' 'L' '-8' '' ''");
    UNCHANGED(call_stock_set("A", "L", "3", "0"), "%d 4", STOCK_SET_ST_BELOW_RESERVED);

    /* Each location is its own row (L's reserved and safety are not M's),
     * and the largest on_hand comes back exactly, as an integer. */
    is(call_stock_set("A", "M", "1000000000000000", ""), "%d 1000000000000000 0 0" ROW0,
       STOCK_SET_ST_OK);
    ledger_is(5, 1, "'set' 'A' 'M' '1000000000000000' '' ''");
}

static void test_stock_adjust(void **state)
{
    (void)state;
    put_stock("A", "L", 5, 2, 1);
    /* A receipt: the reason goes to the ledger with the delta. */
    is(call_adjust("A", "L", "7", "received PO-17"), "%d 12 2 1" ROW0, STOCK_ADJUST_ST_OK);
    is(R("HGET " STOCK("A") " L:on_hand"), "'12'");
    ledger_is(1, 1, "'adjust' 'A' 'L' '7' '' 'received PO-17'");
    is(call_adjust("A", "L", "-3", ""), "%d 9 2 1" ROW0, STOCK_ADJUST_ST_OK);
    ledger_is(2, 1, "'adjust' 'A' 'L' '-3' '' ''");

    /* Below the reserved units: requested is -delta and available is
     * on_hand - reserved (an adjust may take the safety stock). Down to
     * exactly the reserved units is fine. */
    UNCHANGED(call_adjust("A", "L", "-8", "damaged"), "%d 8 7", STOCK_ADJUST_ST_SHORT);
    is(call_adjust("A", "L", "-7", ""), "%d 2 2 1" ROW0, STOCK_ADJUST_ST_OK);
    /* Past the largest on_hand: refused; exactly the largest: accepted. */
    UNCHANGED(call_adjust("A", "L", "99", ""), "%d", STOCK_ADJUST_ST_TOO_LARGE);
    is(call_adjust("A", "L", "98", ""), "%d 100 2 1" ROW0, STOCK_ADJUST_ST_OK);
    ledger_is(4, 1, "'adjust' 'A' 'L' '98' '' ''");

    /* A location without stock has nothing to take, and may receive. */
    UNCHANGED(call_adjust("A", "M", "-1", ""), "%d 1 0", STOCK_ADJUST_ST_SHORT);
    is(call_adjust("A", "M", "4", "found"), "%d 4 0 0" ROW0, STOCK_ADJUST_ST_OK);
    is(R("HMGET " STOCK("A") " M:on_hand L:on_hand"), "'4' '100'");
    ledger_is(5, 1, "'adjust' 'A' 'M' '4' '' 'found'");

    /* Above the largest on_hand (a restock can do that): a decrease moves
     * toward the range and is allowed; an increase is not. */
    put_stock("B", "L", 150, 0, 0);
    is(call_adjust("B", "L", "-1", ""), "%d 149 0 0" ROW0, STOCK_ADJUST_ST_OK);
    UNCHANGED(call_adjust("B", "L", "1", ""), "%d", STOCK_ADJUST_ST_TOO_LARGE);
}

static void test_stock_get(void **state)
{
    (void)state;
    put_stock("A", "L1", 10, 2, 1);
    /* A location with only on_hand, one whose name holds ':', and fields
     * that are no location's stock field, which must be ignored. */
    run("HSET " STOCK("A") " L2:on_hand 5 dc:3:on_hand 8 dc:3:reserved 1 note x L9:colour red");
    /* Listed: in the order asked, zeros for an unknown location. */
    is(call_stock_get("A", "L1 X L2"), "%d 'L1' 10 2 1" ROW0 " 'X' 0 0 0" ROW0 " 'L2' 5 0 0" ROW0,
       STOCK_GET_ST_OK);

    /* None listed: every location the hash knows, in any order: each row
     * is there, and nothing else. */
    const char *all = text_of(call_stock_get("A", ""));
    static const char *const rows[] = {"'L1' 10 2 1" ROW0, "'L2' 5 0 0" ROW0, "'dc:3' 8 1 0" ROW0};
    assert_int_equal(atoi(all), STOCK_GET_ST_OK);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strstr(all, rows[i]) == NULL)
            fail_msg("no %s in %s", rows[i], all);
    assert_int_equal(strlen(all),
                     strlen("0 'L1' 10 2 1" ROW0 " 'L2' 5 0 0" ROW0 " 'dc:3' 8 1 0" ROW0));

    /* An unknown sku: no rows, or zeros for the listed locations. */
    is(call_stock_get("Z", ""), "%d", STOCK_GET_ST_OK);
    is(call_stock_get("Z", "L1"), "%d 'L1' 0 0 0" ROW0, STOCK_GET_ST_OK);
}

static void test_channels(void **state)
{
    (void)state;
    const char *get[CHANNEL_GET_K_FIXED] = {[CHANNEL_GET_K_CHANNEL] = CHANNEL,
                                            [CHANNEL_GET_K_RULES] = RULES};
    const char *set[CHANNEL_SET_K_FIXED] = {[CHANNEL_SET_K_CHANNEL] = CHANNEL,
                                            [CHANNEL_SET_K_RULES] = RULES};
    is(eval_ro(SCRIPT_CHANNEL_GET, get, CHANNEL_GET_K_FIXED, NULL, 0), "%d",
       CHANNEL_GET_ST_UNKNOWN);
    is(eval(SCRIPT_CHANNEL_SET, set, CHANNEL_SET_K_FIXED, (const char *[]){"", "L2", "L1", "L3"}, 4),
       "%d '' 'L2' 'L1' 'L3'", CHANNEL_SET_ST_OK);
    is(R("LRANGE " CHANNEL " 0 -1"), "'L2' 'L1' 'L3'");
    is(R("EXISTS " RULES), "0");
    /* A set replaces the list; it never appends to it. With rules, they are
     * kept beside it. */
    is(eval(SCRIPT_CHANNEL_SET, set, CHANNEL_SET_K_FIXED, (const char *[]){"nearest,priority", "L3"},
            2),
       "%d 'nearest,priority' 'L3'", CHANNEL_SET_ST_OK);
    is(R("LRANGE " CHANNEL " 0 -1"), "'L3'");
    is(R("GET " RULES), "'nearest,priority'");
    is(eval_ro(SCRIPT_CHANNEL_GET, get, CHANNEL_GET_K_FIXED, NULL, 0), "%d 'nearest,priority' 'L3'",
       CHANNEL_GET_ST_OK);
    /* A set without rules goes back to the default. */
    is(eval(SCRIPT_CHANNEL_SET, set, CHANNEL_SET_K_FIXED, (const char *[]){"", "L3"}, 2),
       "%d '' 'L3'", CHANNEL_SET_ST_OK);
    is(R("EXISTS " RULES), "0");
    ledger_is(0, 0, "%s", "");
    is(eval_ro(SCRIPT_CHANNEL_GET, get, CHANNEL_GET_K_FIXED, NULL, 0), "%d '' 'L3'",
       CHANNEL_GET_ST_OK);
    /* A key of another type is refused before anything is written. */
    run("SET " CHANNEL " x");
    redisReply *r = redisCommand(H.redis, "EVALSHA %s 2 %s %s nearest L1",
                                 scripts[SCRIPT_CHANNEL_SET].sha1, CHANNEL, RULES);
    assert_true(r != NULL && r->type == REDIS_REPLY_ERROR && strstr(r->str, "not a list"));
    freeReplyObject(r);
    is(R("EXISTS " RULES), "0");
    is(R("GET " CHANNEL), "'x'");
}

/* --- reserve ------------------------------------------------------------- */

/* Channel web = L1, L2, and skus A and B there with avail = {A@L1, A@L2,
 * B@L1, B@L2} units free: one unit reserved and one of safety stock on top,
 * so that a script that forgot either would take too much. */
static void put_ab(const long long avail[4])
{
    run("RPUSH " CHANNEL " L1 L2");
    for (int i = 0; i < 4; i++)
        put_stock(i < 2 ? "A" : "B", i % 2 ? "L2" : "L1", avail[i] + 2, 1, 1);
}

/* Checks a HELD reply of reserve sent after t0, and frees it: created now,
 * due TTL_MS later, a plain hold (flags 0, no shortages) with these
 * allocations ("'sku' 'loc' q ...", each 0 backordered in the reply), and
 * a record and index entry that say the same. fresh: on put_ab's stock with
 * an empty ledger; then exactly the allocations were added to reserved,
 * each with its 'reserve' entry. */
#define held_is(...) held_at(__LINE__, __VA_ARGS__)
static void held_at(int line, redisReply *r, long long t0, const char *rid, const char *order_id,
                    const char *allocs, bool fresh)
{
    if (r->elements < 10 || r->element[5]->type != REDIS_REPLY_INTEGER)
        is_at(line, r, "%d 0 '%s' 'held' ...", RESERVE_ST_HELD, rid); /* fails, showing it */
    long long created = r->element[5]->integer, reserved[2][2] = {{1, 1}, {1, 1}};
    assert_in_range(created, t0, now());
    char json[512] = "[", events[1024] = "", want[512] = "";
    const char *w[48];
    for (int i = 0, k = words(allocs, w, 48); i < k; i++)
        cat(want, sizeof want, fmt("%s%s", w[i], i % 3 == 2 ? " 0 " : " "));
    size_t n = (r->elements - 10) / 4;
    for (size_t i = 0; i < n; i++) {
        redisReply **a = r->element + 10 + 4 * i;
        assert_true(a[0]->type == REDIS_REPLY_STRING && a[1]->type == REDIS_REPLY_STRING &&
                    a[2]->type == REDIS_REPLY_INTEGER);
        cat(json, sizeof json,
            fmt("%s[\"%s\",\"%s\",%lld]", i ? "," : "", a[0]->str, a[1]->str, a[2]->integer));
        cat(events, sizeof events,
            fmt("%s'reserve' '%s' '%s' '%lld' '%s' ''", i ? " | " : "", a[0]->str, a[1]->str,
                a[2]->integer, rid));
        /* Its sku is due no later than the deadline. */
        redisReply *d = R("ZSCORE " DUE " %s", a[0]->str);
        if (d->type != REDIS_REPLY_STRING || atoll(d->str) > created + TTL_MS)
            fail_msg("line %d: %s is not due by %lld", line, a[0]->str, created + TTL_MS);
        freeReplyObject(d);
        int s = a[0]->str[0] - 'A', l = a[1]->str[1] - '1';
        if (s >= 0 && s < 2 && l >= 0 && l < 2)
            reserved[s][l] += a[2]->integer;
    }
    cat(json, sizeof json, "]");
    is_at(line, r, "%d 0 '%s' 'held' '%s' %lld %lld '' 0 0 %.*s", RESERVE_ST_HELD, rid, order_id,
          created, created + TTL_MS, (int)strlen(want) - 1, want);
    is_at(line,
          R("HMGET " NS ":res:%s status order_id created_at expires_at reason allocations flags "
            "shortages",
            rid),
          "'held' '%s' '%lld' '%lld' nil '%s' nil nil", order_id, created, created + TTL_MS, json);
    /* Not in the expiry index (holds before the due index were). */
    is_at(line, R("ZSCORE " EXPIRY " %s", rid), "nil");
    if (fresh) {
        is_at(line, R("HMGET " STOCK("A") " L1:reserved L2:reserved"), "'%lld' '%lld'",
              reserved[0][0], reserved[0][1]);
        is_at(line, R("HMGET " STOCK("B") " L1:reserved L2:reserved"), "'%lld' '%lld'",
              reserved[1][0], reserved[1][1]);
        ledger_at(line, (long long)n, (int)n, "%s", events);
    }
}

static void test_reserve_held(void **state)
{
    (void)state;
    put_ab((const long long[]){3, 3, 1, 2});
    long long t0 = now();
    /* Only L2 has both lines, so single takes them there. The record has
     * its six fields (no reason yet) and what reservation.update needs to
     * know of the reserve (channel, strategy), the order is bound to it, nothing
     * of a live hold expires by TTL, and on_hand does not move. Each
     * allocation is in its sku's holds index, with the deadline. */
    held_is(call_reserve("r1", "o-1", "single", "", "A 3 B 2", ""), t0, "r1", "o-1",
            "'A' 'L2' 3 'B' 'L2' 2", true);
    is(R("HMGET " RES("r1") " channel strategy locs route flags"), "'web' 'single' nil nil nil");
    is(R("HLEN " RES("r1")), "8");
    is(R("HGET " RES("r1") " v"), "'2'");
    redisReply *d = R("HGET " RES("r1") " expires_at");
    long long deadline = atoll(d->str);
    freeReplyObject(d);
    is(R("ZRANGE " HOLDS("A") " 0 -1 WITHSCORES"), "'r1:1:L2:3' '%lld'", deadline);
    is(R("ZRANGE " HOLDS("B") " 0 -1 WITHSCORES"), "'r1:2:L2:2' '%lld'", deadline);
    is(R("GET " ORDER("o-1")), "'r1'");
    is(R("TTL " RES("r1")), "-1");
    is(R("TTL " ORDER("o-1")), "-1");
    is(R("HMGET " STOCK("A") " L1:on_hand L2:on_hand"), "'5' '5'");

    /* Without an order_id no binding is written, and the record key that
     * stands in for it in KEYS is not overwritten. */
    held_is(reserve_a("r2", 1), t0, "r2", "", "'A' 'L1' 1", false);
    is(R("KEYS " NS ":order:*"), "'" ORDER("o-1") "'");
    is(R("HGET " STOCK("A") " L1:reserved"), "'2'");
    ledger_is(3, 1, "'reserve' 'A' 'L1' '1' 'r2' ''");

    /* The largest line quantity round-trips through the record's JSON. */
    put_stock("C", "L1", 2000000000, 0, 0);
    held_is(call_reserve("r3", "", "auto", "", "C 1000000000", ""), t0, "r3", "",
            "'C' 'L1' 1000000000", false);
}

/* A batch handles its orders one after another, each all or nothing with
 * its own reply: a later order sees an earlier one's hold, and an order
 * whose data is broken fails alone, having written nothing. */
static void test_reserve_batch(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1");
    put_stock("A", "L1", 3, 0, 0);
    put_stock("B", "L1", 5, 0, 0);
    put_stock("C", "L1", 5, 0, 0);
    run("HSET " STOCK("C") " L1:reserved 1.5"); /* not a whole number */
    run("SET " HOLDS("B") " not-a-zset");
    struct batch b;
    batch_init(&b);
    batch_add(&b, "r1", "o-1", "auto", "", "A 2", "");
    batch_add(&b, "r2", "", "auto", "", "A 2", "");     /* 1 left after r1 */
    batch_add(&b, "r3", "", "auto", "", "A 1 B 1", ""); /* B's index is broken */
    batch_add(&b, "r4", "", "auto", "", "C 1", "");     /* C's reserved is broken */
    batch_add(&b, "r5", "o-1", "auto", "", "A 1", "");  /* bound by r1 */
    batch_add(&b, "r6", "", "auto", "", "A 1", "");     /* the last unit */
    redisReply *r = batch_run(&b);
    assert_int_equal(r->elements, 6);
    assert_int_equal(r->element[0]->element[0]->integer, RESERVE_ST_HELD);
    is(detach(r, 1), "%d 'A' 2 1 0", RESERVE_ST_SHORT);
    assert_int_equal(r->element[2]->element[0]->integer, RESERVE_ST_BROKEN);
    assert_non_null(strstr(r->element[2]->element[1]->str, "holds index"));
    assert_int_equal(r->element[3]->element[0]->integer, RESERVE_ST_BROKEN);
    assert_non_null(strstr(r->element[3]->element[1]->str, "not a whole number"));
    is(detach(r, 4), "%d 'r1'", RESERVE_ST_BOUND);
    assert_int_equal(r->element[5]->element[0]->integer, RESERVE_ST_HELD);
    freeReplyObject(r);
    /* r1 and r6 hold all of A; r3 took nothing of A (its first line) nor of
     * B, r4 nothing of C; no record, index entry or ledger entry of theirs. */
    is(R("HMGET " STOCK("A") " L1:reserved"), "'3'");
    is(R("HMGET " STOCK("B") " L1:reserved"), "'0'");
    is(R("HMGET " STOCK("C") " L1:reserved"), "'1.5'");
    is(R("ZRANGE " HOLDS("A") " 0 -1"), "'r1:1:L1:2' 'r6:1:L1:1'");
    is(R("EXISTS " RES("r3") " " RES("r4") " " RES("r2") " " RES("r5")), "0");
    is(R("EXISTS " EXPIRY), "0");
    is(R("ZRANGE " DUE " 0 -1"), "'A'");
    ledger_is(2, 2, "'reserve' 'A' 'L1' '2' 'r1' '' | 'reserve' 'A' 'L1' '1' 'r6' ''");
    /* The allocations are the JSON a reader decodes. */
    is(R("HGET " RES("r1") " allocations"), "'[[\"A\",\"L1\",2]]'");
}

/* A shared key of another type fails every order of the batch, and
 * nothing is written. */
static void test_reserve_batch_shared_broken(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1");
    put_stock("A", "L1", 3, 0, 0);
    run("SET " EVENTS " not-a-stream");
    struct batch b;
    batch_init(&b);
    batch_add(&b, "r1", "", "auto", "", "A 1", "");
    batch_add(&b, "r2", "", "auto", "", "A 1", "");
    char *before = snapshot();
    redisReply *r = batch_run(&b);
    assert_int_equal(r->elements, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(r->element[i]->element[0]->integer, RESERVE_ST_BROKEN);
        assert_non_null(strstr(r->element[i]->element[1]->str, "not a stream"));
    }
    freeReplyObject(r);
    same(before);
}

static void test_reserve_strategies(void **state)
{
    (void)state;
    static const struct {
        const char *strategy;
        long long avail[4]; /* A@L1, A@L2, B@L1, B@L2 */
        const char *lines;
        const char *held, *short_; /* the allocations, or sku requested available */
    } cases[] = {
        /* Both lines fit at L2 only: single (and auto) take both there,
         * per_line each line at its first fit, split greedily in order. */
        {"single", {3, 3, 1, 2}, "A 3 B 2", "'A' 'L2' 3 'B' 'L2' 2", NULL},
        {"auto", {3, 3, 1, 2}, "A 3 B 2", "'A' 'L2' 3 'B' 'L2' 2", NULL},
        {"per_line", {3, 3, 1, 2}, "A 3 B 2", "'A' 'L1' 3 'B' 'L2' 2", NULL},
        {"split", {3, 3, 1, 2}, "A 3 B 2", "'A' 'L1' 3 'B' 'L1' 1 'B' 'L2' 1", NULL},
        /* No location has both lines: single is short, measured at the
         * most preferred location; auto falls back to per_line. */
        {"single", {1, 3, 2, 0}, "A 3 B 2", NULL, "'A' 3 1"},
        {"per_line", {1, 3, 2, 0}, "A 3 B 2", "'A' 'L2' 3 'B' 'L1' 2", NULL},
        {"auto", {1, 3, 2, 0}, "A 3 B 2", "'A' 'L2' 3 'B' 'L1' 2", NULL},
        {"split", {1, 3, 2, 0}, "A 3 B 2", "'A' 'L1' 1 'A' 'L2' 2 'B' 'L1' 2", NULL},
        /* A split passes over a location with nothing free. */
        {"split", {0, 3, 1, 2}, "A 2 B 2", "'A' 'L2' 2 'B' 'L1' 1 'B' 'L2' 1", NULL},
        /* No location has the line: only a split, auto's last resort. */
        {"per_line", {2, 2, 0, 0}, "A 3", NULL, "'A' 3 2"},
        {"auto", {2, 2, 0, 0}, "A 3", "'A' 'L1' 2 'A' 'L2' 1", NULL},
        /* Too little anywhere: available as each strategy fills a line
         * (at the first location, the best one, all of them). */
        {"single", {1, 2, 0, 0}, "A 4", NULL, "'A' 4 1"},
        {"per_line", {1, 2, 0, 0}, "A 4", NULL, "'A' 4 2"},
        {"split", {1, 2, 0, 0}, "A 4", NULL, "'A' 4 3"},
        {"auto", {1, 2, 0, 0}, "A 4", NULL, "'A' 4 3"},
        /* The reply names the line that is short, not the first line. */
        {"split", {5, 0, 1, 0}, "A 3 B 2", NULL, "'B' 2 1"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(context, sizeof context, "(case %zu, %s)", c, cases[c].strategy);
        harness_flush(&H);
        put_ab(cases[c].avail);
        long long t0 = now();
        if (cases[c].held)
            held_is(call_reserve("r", "", cases[c].strategy, "", cases[c].lines, ""), t0, "r", "",
                    cases[c].held, true);
        else
            UNCHANGED(call_reserve("r", "", cases[c].strategy, "", cases[c].lines, ""), "%d %s 0",
                      RESERVE_ST_SHORT, cases[c].short_);
    }
    context[0] = '\0';
}

static void test_reserve_locations(void **state)
{
    (void)state;
    put_ab((const long long[]){3, 3, 0, 0});
    put_stock("A", "L3", 10, 0, 0);
    long long t0 = now();
    /* Requested locations keep the request's order, limited to the
     * channel's: L3, first and well stocked, is not in the channel and is
     * dropped, and L2 comes before L1. None in the channel: short, with
     * nothing available. */
    held_is(call_reserve("r1", "", "single", "", "A 1", "L3 L2 L1"), t0, "r1", "", "'A' 'L2' 1",
            false);
    UNCHANGED(call_reserve("r2", "", "auto", "", "A 1", "L3"), "%d 'A' 1 0 0", RESERVE_ST_SHORT);
    /* Without a channel the requested locations are used as they are;
     * without either there is nowhere to look. */
    run("DEL " CHANNEL);
    held_is(call_reserve("r3", "", "single", "", "A 1", "L3"), t0, "r3", "", "'A' 'L3' 1", false);
    is(R("HGET " STOCK("A") " L3:reserved"), "'1'");
    UNCHANGED(reserve_a("r4", 1), "%d", RESERVE_ST_NO_CHANNEL);

    /* L4 has 2 free above its safety stock; L5 is 1 below its own, which
     * counts as 0 free, never as -1 against L4's units. */
    put_stock("S", "L4", 5, 0, 3);
    put_stock("S", "L5", 2, 0, 3);
    UNCHANGED(call_reserve("r5", "", "single", "", "S 3", "L4 L5"), "%d 'S' 3 2 0",
              RESERVE_ST_SHORT);
    UNCHANGED(call_reserve("r5", "", "split", "", "S 3", "L4 L5"), "%d 'S' 3 2 0", RESERVE_ST_SHORT);
    held_is(call_reserve("r5", "", "split", "", "S 2", "L4 L5"), t0, "r5", "", "'S' 'L4' 2",
            false);
    is(R("HMGET " STOCK("S") " L4:reserved L5:reserved"), "'2' '0'");
}

static void test_reserve_bound_and_due(void **state)
{
    (void)state;
    put_ab((const long long[]){1, 0, 0, 0});
    /* A bound order_id answers the bound id and writes nothing, even when
     * the stock would allow the hold. */
    run("SET " ORDER("o-1") " r-old");
    UNCHANGED(call_reserve("r1", "o-1", "auto", "", "A 1", ""), "%d 'r-old'", RESERVE_ST_BOUND);
    /* A binding to a record gone since (given as stale) is bound anew; a
     * binding to another id is still bound. */
    UNCHANGED(call_reserve("r1", "o-1", "auto", "r-other", "A 1", ""), "%d 'r-old'",
              RESERVE_ST_BOUND);
    run("EXPIRE " ORDER("o-1") " 100");
    held_is(call_reserve("r1", "o-1", "auto", "r-old", "A 1", ""), 0, "r1", "o-1", "'A' 'L1' 1",
            false);
    is(R("GET " ORDER("o-1")), "'r1'");
    is(R("TTL " ORDER("o-1")), "-1");
    ledger_is(1, 1, "'reserve' 'A' 'L1' '1' 'r1' ''");

    /* Short while allocations on its own sku are past their deadline: the
     * reserve gives those back (an 'expire' entry each), and then holds.
     * The due hold's record is the sweeper's to finish: still held, its
     * allocation on B not touched, its A allocation gone from the index. */
    long long t = now();
    put_stock("A", "L2", 4, 0, 0);
    put_hold("rd", "", "held", t - 1000, "A L2 3 B L2 1");
    run("HINCRBY " STOCK("A") " L2:reserved 3");
    run("HINCRBY " STOCK("B") " L2:reserved 1");
    held_is(call_reserve("r2", "", "single", "", "A 4", "L2"), t, "r2", "", "'A' 'L2' 4", false);
    is(R("HMGET " STOCK("A") " L2:on_hand L2:reserved"), "'4' '4'");
    is(R("HMGET " STOCK("B") " L2:reserved"), "'2'");
    ledger_is(3, 2, "'expire' 'A' 'L2' '3' 'rd' '' | 'reserve' 'A' 'L2' '4' 'r2' ''");
    is(R("HGET " RES("rd") " status"), "'held'");
    is(R("ZRANGE " HOLDS("A") " 0 -1"), "'r1:1:L1:1' 'r2:1:L2:4'");
    is(R("ZCARD " HOLDS("B")), "1");

    /* Nothing due on its skus: short, and nothing written. A hold that is
     * not due is never touched. */
    put_hold("rn", "", "held", t + 600000, "C L1 1");
    put_stock("C", "L1", 1, 1, 0);
    run("RPUSH " CHANNEL " L1");
    UNCHANGED(call_reserve("r3", "", "auto", "", "C 1", "L1"), "%d 'C' 1 0 0", RESERVE_ST_SHORT);
    /* Due, but not enough even then: the due units are given back (that
     * is an expiry, not part of the order), and the answer is short. */
    put_stock("D", "L1", 2, 1, 0);
    put_hold("re", "", "held", t - 1000, "D L1 1");
    is(call_reserve("r4", "", "auto", "", "D 3", "L1"), "%d 'D' 3 2 0", RESERVE_ST_SHORT);
    is(R("HGET " STOCK("D") " L1:reserved"), "'0'");
    is(R("ZCARD " HOLDS("D")), "0");
}

/* --- reservation_get, extend, reservation_plan ---------------------------- */

static void test_reservation_get(void **state)
{
    (void)state;
    long long e = now() + 600000, c = e - 60000;
    put_hold("r1", "o-1", "held", e, "A L1 2 B L2 1 A L2 3");
    put_hold("r2", "", "released", e, "C L1 1");
    run("HSET " RES("r2") " reason %s", "customer cancelled");
    /* A plain hold: flags 0, no shortages, each allocation 0 backordered. */
    is(call_get("r1", "get", ""), "%d 'r1' 'held' 'o-1' %lld %lld '' 0 0 %s",
       RESERVATION_GET_ST_FOUND, c, e, "'A' 'L1' 2 0 'B' 'L2' 1 0 'A' 'L2' 3 0");
    is(call_get("r2", "get", ""), "%d 'r2' 'released' '' %lld %lld 'customer cancelled' 0 0 %s",
       RESERVATION_GET_ST_FOUND, c, e, "'C' 'L1' 1 0");

    /* A replay matches the per-sku sums of the allocations, in any order. */
    is(call_get("r1", "replay", "A 5 B 1"), "%d 'r1' 'held' 'o-1' %lld %lld '' 0 0 %s",
       RESERVATION_GET_ST_REPLAYED, c, e, "'A' 'L1' 2 0 'B' 'L2' 1 0 'A' 'L2' 3 0");
    is(call_get("r1", "replay", "B 1 A 5"), "%d 'r1' 'held' 'o-1' %lld %lld '' 0 0 %s",
       RESERVATION_GET_ST_REPLAYED, c, e, "'A' 'L1' 2 0 'B' 'L2' 1 0 'A' 'L2' 3 0");
    /* Any other items: one allocation's quantity instead of the sum, a
     * line fewer, a line more, another sku, another quantity. */
    static const char *const other[] = {"A 2 B 1", "A 5", "A 5 B 1 C 1", "A 5 C 1", "A 5 B 2"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        snprintf(context, sizeof context, "(%s)", other[i]);
        is(call_get("r1", "replay", other[i]), "%d", RESERVATION_GET_ST_MISMATCH);
    }
    context[0] = '\0';
    is(call_get("r9", "get", ""), "%d", RESERVATION_GET_ST_NOT_FOUND);
    is(call_get("r9", "replay", "A 5"), "%d", RESERVATION_GET_ST_NOT_FOUND);

    /* Held past its deadline, not swept yet: reported expired, also by a
     * replay; the record is not changed. */
    long long p = now() - 1000;
    put_hold("r3", "o-3", "held", p, "A L1 2");
    is(call_get("r3", "get", ""), "%d 'r3' 'expired' 'o-3' %lld %lld '' 0 0 'A' 'L1' 2 0",
       RESERVATION_GET_ST_FOUND, p - 60000, p);
    is(call_get("r3", "replay", "A 2"), "%d 'r3' 'expired' 'o-3' %lld %lld '' 0 0 'A' 'L1' 2 0",
       RESERVATION_GET_ST_REPLAYED, p - 60000, p);
}

static void test_extend(void **state)
{
    (void)state;
    long long t = now();
    put_hold("r1", "o-1", "held", t + 10000, "A L1 2");
    /* The new deadline is now + ttl, in the record and the index alike. */
    redisReply *r = call_extend("r1", "A");
    assert_int_equal(r->elements, 13);
    long long t1 = now(), deadline = r->element[5]->integer;
    assert_in_range(deadline, t + 60000, t1 + 60000);
    is(r, "%d 'r1' 'held' 'o-1' %lld %lld '' 0 0 'A' 'L1' 2 0", EXTEND_ST_EXTENDED, t - 50000,
       deadline);
    is(R("HMGET " RES("r1") " status created_at expires_at"), "'held' '%lld' '%lld'", t - 50000,
       deadline);
    is(R("ZSCORE " EXPIRY " r1"), "'%lld'", deadline);
    /* The sku stays due at the earlier deadline (moved later by a sweep). */
    is(R("ZSCORE " DUE " A"), "'%lld'", t + 10000);
    is(R("ZSCORE " HOLDS("A") " r1:1:L1:2"), "'%lld'", deadline);
    is(R("TTL " RES("r1")), "-1");
    ledger_is(0, 0, "%s", "");

    /* Past its deadline but not swept yet: never revived. Not held: the
     * state says why. Either way nothing is written. */
    put_hold("r2", "", "held", t - 1000, "A L1 1");
    put_hold("r3", "", "expired", t + 600000, "A L1 1");
    put_hold("r4", "", "committed", t + 600000, "A L1 1");
    put_hold("r5", "", "released", t + 600000, "A L1 1");
    UNCHANGED(call_extend("r2", "A"), "%d", EXTEND_ST_EXPIRED);
    UNCHANGED(call_extend("r3", "A"), "%d", EXTEND_ST_EXPIRED);
    UNCHANGED(call_extend("r4", "A"), "%d", EXTEND_ST_COMMITTED);
    UNCHANGED(call_extend("r5", "A"), "%d", EXTEND_ST_RELEASED);
    UNCHANGED(call_extend("r9", "A"), "%d", EXTEND_ST_NOT_FOUND);
    /* An allocation a reserve gave back: expired, whatever the clock. */
    put_hold("r6", "", "held", t + 600000, "A L1 1 B L1 1");
    run("ZREM " HOLDS("B") " r6:2:L1:1");
    UNCHANGED(call_extend("r6", "A B"), "%d", EXTEND_ST_EXPIRED);
    UNCHANGED(call_extend("r6", "A"), "%d", EXTEND_ST_KEYS_MISSING);
}

static void test_reservation_plan(void **state)
{
    (void)state;
    long long e = now() + 600000;
    put_hold("r1", "o-1", "held", e, "A L1 2 B L1 1 A L2 1");
    put_hold("r2", "", "committed", e, "C L1 1");
    /* Per reservation: its order_id, its channel ('default' for a record
     * that names none) and its distinct skus in first-seen order, whatever
     * its state; a missing one is '', 'default' and -1. */
    const char *three[] = {RES("r1"), RES("r2"), RES("r9")};
    is(eval_ro(SCRIPT_RESERVATION_PLAN, three, 3, (const char *[]){"100"}, 1),
       "%d 'o-1' 'default' 2 'A' 'B' '' 'default' 1 'C' '' 'default' -1", RESERVATION_PLAN_ST_OK);
    /* A budget of allocations: the plan stops after the record that
     * reaches it, and always reads the first. */
    is(eval_ro(SCRIPT_RESERVATION_PLAN, three, 3, (const char *[]){"3"}, 1),
       "%d 'o-1' 'default' 2 'A' 'B'", RESERVATION_PLAN_ST_OK);
    is(eval_ro(SCRIPT_RESERVATION_PLAN, three, 3, (const char *[]){"0"}, 1),
       "%d 'o-1' 'default' 2 'A' 'B'", RESERVATION_PLAN_ST_OK);
    is(eval_ro(SCRIPT_RESERVATION_PLAN, three, 3, (const char *[]){"4"}, 1),
       "%d 'o-1' 'default' 2 'A' 'B' '' 'default' 1 'C'", RESERVATION_PLAN_ST_OK);
}

/* --- commit, release, expire --------------------------------------------- */

static void test_commit(void **state)
{
    (void)state;
    long long t = now(), e = t + 600000, c = e - 60000;
    put_stock("A", "L1", 10, 3, 0);
    put_stock("B", "L2", 5, 1, 0);
    put_hold("r1", "o-1", "held", e, "A L1 3 B L2 1");
    /* Sold: on_hand and reserved go down together, and the record and its
     * binding now expire. Stock keys are matched to skus by name, so they
     * are given in another order than the allocations. Again: the same
     * answer, and nothing is sold twice. */
    is(call_act(SCRIPT_COMMIT, "", "r1", "o-1", "B A"),
       "%d 'r1' 'committed' 'o-1' %lld %lld '' 0 0 'A' 'L1' 3 0 'B' 'L2' 1 0", COMMIT_ST_COMMITTED,
       c, e);
    is(R("HMGET " STOCK("A") " L1:on_hand L1:reserved"), "'7' '0'");
    is(R("HMGET " STOCK("B") " L2:on_hand L2:reserved"), "'4' '0'");
    is(R("GET " ORDER("o-1")), "'r1'");
    finished("r1", "o-1", "committed");
    ledger_is(2, 2, "'commit' 'A' 'L1' '3' 'r1' '' | 'commit' 'B' 'L2' '1' 'r1' ''");
    UNCHANGED(call_act(SCRIPT_COMMIT, "", "r1", "o-1", "A B"),
              "%d 'r1' 'committed' 'o-1' %lld %lld '' 0 0 'A' 'L1' 3 0 'B' 'L2' 1 0",
              COMMIT_ST_COMMITTED, c, e);

    /* Past its deadline a hold is never sold: its units go back to
     * available as an expiry, and a second commit finds it expired. */
    put_stock("C", "L1", 4, 2, 0);
    put_hold("r2", "", "held", t - 1000, "C L1 2");
    is(call_act(SCRIPT_COMMIT, "", "r2", "-", "C"), "%d", COMMIT_ST_EXPIRED);
    is(R("HMGET " STOCK("C") " L1:on_hand L1:reserved"), "'4' '0'");
    finished("r2", "", "expired");
    ledger_is(3, 1, "'expire' 'C' 'L1' '2' 'r2' ''");
    UNCHANGED(call_act(SCRIPT_COMMIT, "", "r2", "-", "C"), "%d", COMMIT_ST_EXPIRED);

    /* Released before, unknown, and a held sku without its stock key. */
    put_hold("r3", "", "released", e, "A L1 1");
    put_hold("r4", "o-4", "held", e, "A L1 1 B L2 1");
    run("HINCRBY " STOCK("A") " L1:reserved 1");
    run("HINCRBY " STOCK("B") " L2:reserved 1");
    UNCHANGED(call_act(SCRIPT_COMMIT, "", "r3", "-", "A"), "%d", COMMIT_ST_RELEASED);
    UNCHANGED(call_act(SCRIPT_COMMIT, "", "r9", "-", "A"), "%d", COMMIT_ST_NOT_FOUND);
    UNCHANGED(call_act(SCRIPT_COMMIT, "", "r4", "o-4", "A"), "%d", COMMIT_ST_KEYS_MISSING);

    /* A hold a reserve found due gave its A units back already: it is
     * expired, only its other allocation goes back now, nothing is sold. */
    put_stock("E", "L1", 5, 2, 0);
    put_stock("F", "L1", 5, 1, 0);
    put_hold("r5", "", "held", e, "E L1 2 F L1 1");
    run("ZREM " HOLDS("E") " r5:1:L1:2");
    run("HINCRBY " STOCK("E") " L1:reserved -2");
    is(call_act(SCRIPT_COMMIT, "", "r5", "-", "E F"), "%d", COMMIT_ST_EXPIRED);
    is(R("HMGET " STOCK("E") " L1:on_hand L1:reserved"), "'5' '0'");
    is(R("HMGET " STOCK("F") " L1:on_hand L1:reserved"), "'5' '0'");
    ledger_is(4, 1, "'expire' 'F' 'L1' '1' 'r5' ''");
    finished("r5", "", "expired");

    /* A record made before the holds index (no v): its allocations are
     * not in any index, and it is sold whole. */
    put_stock("G", "L1", 5, 2, 0);
    run("HSET " RES("r6") " status held created_at %lld expires_at %lld allocations "
        "[[\"G\",\"L1\",2]]", c, e);
    run("ZADD " EXPIRY " %lld r6", e);
    is(call_act(SCRIPT_COMMIT, "", "r6", "-", "G"),
       "%d 'r6' 'committed' '' %lld %lld '' 0 0 'G' 'L1' 2 0", COMMIT_ST_COMMITTED, c, e);
    is(R("HMGET " STOCK("G") " L1:on_hand L1:reserved"), "'3' '0'");
}

static void test_release(void **state)
{
    (void)state;
    long long t = now(), e = t + 600000, c = e - 60000;
    put_stock("A", "L1", 10, 3, 0);
    put_hold("r1", "o-1", "held", e, "A L1 3");
    /* A hold given back: reserved goes down, the reason is recorded.
     * Again: UNCHANGED, with the record as it is. */
    is(call_act(SCRIPT_RELEASE, "customer cancelled", "r1", "o-1", "A"),
       "%d 'r1' 'released' 'o-1' %lld %lld 'customer cancelled' 0 0 'A' 'L1' 3 0",
       RELEASE_ST_RELEASED, c, e);
    is(R("HMGET " STOCK("A") " L1:on_hand L1:reserved"), "'10' '0'");
    is(R("HGET " RES("r1") " reason"), "'customer cancelled'");
    finished("r1", "o-1", "released");
    ledger_is(1, 1, "'release' 'A' 'L1' '3' 'r1' 'customer cancelled'");
    UNCHANGED(call_act(SCRIPT_RELEASE, "again", "r1", "o-1", "A"),
              "%d 'r1' 'released' 'o-1' %lld %lld 'customer cancelled' 0 0 'A' 'L1' 3 0",
              RELEASE_ST_UNCHANGED, c, e);

    /* A committed order given back: restocked, on_hand goes back up. */
    put_stock("B", "L2", 4, 0, 0);
    put_hold("r2", "o-2", "committed", e, "B L2 2");
    is(call_act(SCRIPT_RELEASE, "returned", "r2", "o-2", "B"),
       "%d 'r2' 'released' 'o-2' %lld %lld 'returned' 0 0 'B' 'L2' 2 0", RELEASE_ST_RESTOCKED, c,
       e);
    is(R("HMGET " STOCK("B") " L2:on_hand L2:reserved"), "'6' '0'");
    is(R("HGET " RES("r2") " reason"), "'returned'");
    finished("r2", "o-2", "released");
    ledger_is(2, 1, "'restock' 'B' 'L2' '2' 'r2' 'returned'");

    /* Held past its deadline: the units go back as an expiry, without the
     * release's reason. Again: UNCHANGED. */
    put_stock("C", "L1", 5, 2, 0);
    put_hold("r3", "", "held", t - 1000, "C L1 2");
    is(call_act(SCRIPT_RELEASE, "too late", "r3", "-", "C"),
       "%d 'r3' 'expired' '' %lld %lld '' 0 0 'C' 'L1' 2 0", RELEASE_ST_EXPIRED, t - 61000,
       t - 1000);
    is(R("HMGET " STOCK("C") " L1:on_hand L1:reserved"), "'5' '0'");
    is(R("HGET " RES("r3") " reason"), "nil");
    finished("r3", "", "expired");
    ledger_is(3, 1, "'expire' 'C' 'L1' '2' 'r3' ''");
    UNCHANGED(call_act(SCRIPT_RELEASE, "", "r3", "-", "C"),
              "%d 'r3' 'expired' '' %lld %lld '' 0 0 'C' 'L1' 2 0", RELEASE_ST_UNCHANGED, t - 61000,
              t - 1000);

    /* Unknown, and a held sku without its stock key. */
    put_hold("r4", "", "held", e, "A L1 1 B L2 1");
    run("HINCRBY " STOCK("A") " L1:reserved 1");
    run("HINCRBY " STOCK("B") " L2:reserved 1");
    UNCHANGED(call_act(SCRIPT_RELEASE, "", "r9", "-", "A"), "%d", RELEASE_ST_NOT_FOUND);
    UNCHANGED(call_act(SCRIPT_RELEASE, "x", "r4", "-", "B"), "%d", RELEASE_ST_KEYS_MISSING);
}

static void test_expire(void **state)
{
    (void)state;
    long long t = now();
    /* A batch of a due hold, one not yet due, an index entry without a
     * record and one whose record is not held any more. */
    put_stock("A", "L1", 10, 3, 0);
    put_hold("r1", "o-1", "held", t - 2000, "A L1 2");
    put_hold("r2", "", "held", t + 600000, "A L1 1");
    put_hold("r4", "", "committed", t + 600000, "A L1 5");
    run("ZADD " EXPIRY " %lld r3 %lld r4", t - 3000, t - 1000);
    is(call_act(SCRIPT_EXPIRE, "", "r1 r2 r3 r4", "o-1 - - -", "A"), "%d 1 0 0", EXPIRE_ST_OK);
    /* The due hold gave its 2 units back as an expiry. */
    is(R("HMGET " STOCK("A") " L1:on_hand L1:reserved"), "'10' '1'");
    finished("r1", "o-1", "expired");
    ledger_is(1, 1, "'expire' 'A' 'L1' '2' 'r1' ''");
    /* The one not due is untouched; the stale index entries are dropped,
     * but the records behind them are not the sweeper's to change. */
    is(R("ZRANGE " EXPIRY " 0 -1 WITHSCORES"), "'r2' '%lld'", t + 600000);
    is(R("HGET " RES("r2") " status"), "'held'");
    is(R("HGET " RES("r4") " status"), "'committed'");
    is(R("TTL " RES("r4")), "-1");
    /* Another replica's sweep of the same batch: nothing more. */
    UNCHANGED(call_act(SCRIPT_EXPIRE, "", "r1 r2 r3 r4", "o-1 - - -", "A"), "%d 0 0 0",
              EXPIRE_ST_OK);

    /* A due sku without its stock key: nothing at all happens, not even
     * the drop of the stale entry (r6) checked before it. */
    put_stock("B", "L2", 5, 1, 0);
    put_hold("r5", "", "held", t - 1000, "B L2 1");
    run("ZADD " EXPIRY " %lld r6", t - 1000);
    UNCHANGED(call_act(SCRIPT_EXPIRE, "", "r6 r5", "- -", "A"), "%d", EXPIRE_ST_KEYS_MISSING);
    is(call_act(SCRIPT_EXPIRE, "", "r6 r5", "- -", "B"), "%d 1 0 0", EXPIRE_ST_OK);
    is(R("HGET " STOCK("B") " L2:reserved"), "'0'");
    is(R("ZRANGE " EXPIRY " 0 -1"), "'r2'");

    /* An id given twice in one batch is released once, and a held one
     * that is not due stays indexed. */
    put_stock("C", "L3", 5, 3, 0);
    put_hold("r7", "", "held", t - 1000, "C L3 3");
    is(call_act(SCRIPT_EXPIRE, "", "r7 r2 r7 r2", "- - - -", "A C"), "%d 1 0 0", EXPIRE_ST_OK);
    is(R("HGET " STOCK("C") " L3:reserved"), "'0'");
    ledger_is(3, 1, "'expire' 'C' 'L3' '3' 'r7' ''");
    is(R("ZRANGE " EXPIRY " 0 -1"), "'r2'");

    /* The budget bounds allocations, not holds: a hold of 5 allocations
     * with a budget of 2 takes three calls; the record says how far it
     * got, and stays held (and due) until the last one. */
    act_budget = "2";
    put_stock("D", "L1", 10, 5, 0);
    put_hold("r8", "", "held", t - 1000, "D L1 1 D L1 1 D L1 1 D L1 1 D L1 1");
    is(call_act(SCRIPT_EXPIRE, "", "r8", "-", "D"), "%d 0 1 0", EXPIRE_ST_OK);
    is(R("HMGET " RES("r8") " status swept"), "'held' '2'");
    is(R("HGET " STOCK("D") " L1:reserved"), "'3'");
    is(R("ZCARD " HOLDS("D")), "3");
    is(call_act(SCRIPT_EXPIRE, "", "r8", "-", "D"), "%d 0 1 0", EXPIRE_ST_OK);
    is(call_act(SCRIPT_EXPIRE, "", "r8", "-", "D"), "%d 1 0 0", EXPIRE_ST_OK);
    is(R("HGET " STOCK("D") " L1:reserved"), "'0'");
    is(R("ZCARD " HOLDS("D")), "0");
    finished("r8", "", "expired");
    ledger_is(8, 5, "'expire' 'D' 'L1' '1' 'r8' '' | 'expire' 'D' 'L1' '1' 'r8' '' | "
                    "'expire' 'D' 'L1' '1' 'r8' '' | 'expire' 'D' 'L1' '1' 'r8' '' | "
                    "'expire' 'D' 'L1' '1' 'r8' ''");
    act_budget = "500";

    /* A record that cannot be read is moved aside, once, with why; the
     * rest of the batch goes on. */
    put_hold("r9", "", "held", t - 1000, "C L3 1");
    run("HINCRBY " STOCK("C") " L3:reserved 1");
    run("HSET " RES("rx") " status held allocations {broken expires_at %lld created_at 1", t - 1000);
    run("ZADD " EXPIRY " %lld rx", t - 1000);
    is(call_act(SCRIPT_EXPIRE, "", "rx r9", "- -", "C"), "%d 1 0 1 'rx' 'allocations are not JSON'",
       EXPIRE_ST_OK);
    is(R("HGETALL " QUARANTINE), "'rx' 'allocations are not JSON'");
    is(R("ZRANGE " EXPIRY " 0 -1"), "'r2'");
    is(R("HGET " RES("rx") " status"), "'held'");
    UNCHANGED(call_act(SCRIPT_EXPIRE, "", "rx", "-", "C"), "%d 0 0 0", EXPIRE_ST_OK);
}

/* --- expire_due, audit --------------------------------------------------- */

static void test_expire_due(void **state)
{
    (void)state;
    is(call_due("10"), "%d 0", EXPIRE_DUE_ST_OK);
    long long t = now();
    /* Holds made before the due index: by id, oldest deadline first, at
     * most the limit. */
    run("ZADD " EXPIRY " %lld a %lld b %lld c %lld d", t - 3000, t - 1000, t - 2000, t + 600000);
    is(call_due("10"), "%d 0 'a' 'c' 'b'", EXPIRE_DUE_ST_OK);
    is(call_due("2"), "%d 0 'a' 'c'", EXPIRE_DUE_ST_OK);
    run("DEL " EXPIRY);

    /* Through the due index: the due members of each due sku's holds
     * index, each id once, skus oldest first, at most the limit. */
    put_hold("r1", "", "held", t - 3000, "A L1 1 B L1 1");
    put_hold("r2", "", "held", t - 1000, "A L2 2");
    put_hold("r3", "", "held", t + 600000, "A L1 1");
    put_hold("r4", "", "held", t - 2000, "B L2 1");
    run("DEL " EXPIRY);
    char *before = snapshot();
    is(call_due("10"), "%d 0 'r1' 'r2' 'r4'", EXPIRE_DUE_ST_OK);
    is(call_due("2"), "%d 0 'r1' 'r2'", EXPIRE_DUE_ST_OK);
    same(before); /* nothing moved while something was due on each sku */

    /* A sku with nothing due any more (its holds finished or given back)
     * moves to its next deadline; one with no holds leaves the index. */
    run("ZREM " HOLDS("A") " r1:1:L1:1 r2:1:L2:2");
    run("ZREM " HOLDS("B") " r1:2:L1:1 r4:1:L2:1");
    is(call_due("10"), "%d 0", EXPIRE_DUE_ST_OK);
    is(R("ZRANGE " DUE " 0 -1 WITHSCORES"), "'A' '%lld'", t + 600000);

    /* A due hold whose record is gone is moved aside (counted), and one
     * moved aside is passed over; the sku moves on to its next hold. */
    put_hold("r5", "", "held", t - 1000, "C L1 1");
    put_hold("r6", "", "held", t - 500, "C L1 1");
    put_hold("r7", "", "held", t + 5000, "C L1 1");
    run("DEL " EXPIRY " " RES("r5"));
    run("HSET " QUARANTINE " r6 unreadable");
    is(call_due("10"), "%d 1", EXPIRE_DUE_ST_OK);
    is(R("HGET " QUARANTINE " r5"), "'the record is gone; its holds on C stay reserved'");
    is(R("ZSCORE " DUE " C"), "'%lld'", t + 5000);
    is(R("ZCARD " HOLDS("C")), "3"); /* their units stay where they are */
    /* Every hold of a sku moved aside: looked at again a minute later. */
    run("ZREM " HOLDS("C") " r7:1:L1:1");
    run("ZADD " DUE " %lld C", t - 100);
    is(call_due("10"), "%d 0", EXPIRE_DUE_ST_OK);
    redisReply *d = R("ZSCORE " DUE " C");
    assert_true(atoll(d->str) >= t + 60000);
    freeReplyObject(d);
}

static void test_audit(void **state)
{
    (void)state;
    long long e = now() + 600000;
    put_hold("r1", "", "held", e, "A L1 2 B L2 1");
    put_hold("r2", "", "held", e, "A L1 1");
    put_stock("A", "L1", 10, 3, 0);
    put_stock("A", "L2", 10, 0, 0);
    put_stock("B", "L2", 5, 1, 0);
    /* The books agree: both skus checked, 3 holds on them, no difference. */
    is(call_audit("A B", "100"), "%d 2 3 0 0", AUDIT_ST_OK);
    /* A reserved count altered by hand: sku, location, reserved, expected. */
    run("HSET " STOCK("A") " L1:reserved 5");
    is(call_audit("A B", "100"), "%d 2 3 1 'A' 'L1' 5 3 0", AUDIT_ST_OK);
    /* A reserved field gone while holds count units there reads as 0. */
    run("HDEL " STOCK("B") " L2:reserved");
    is(call_audit("A B", "100"), "%d 2 3 2 'A' 'L1' 5 3 'B' 'L2' 0 1 0", AUDIT_ST_OK);
    /* The budget: A's 2 members use it up, B waits for the next call; the
     * first sku is read whatever the budget. */
    is(call_audit("A B", "2"), "%d 1 2 1 'A' 'L1' 5 3 0", AUDIT_ST_OK);
    is(call_audit("A B", "0"), "%d 1 2 1 'A' 'L1' 5 3 0", AUDIT_ST_OK);
    is(call_audit("B", "0"), "%d 1 1 1 'B' 'L2' 0 1 0", AUDIT_ST_OK);

    /* The due index: a sku whose holds it names too late, or not at all,
     * unless its earliest hold is one the expiry index has by id. */
    run("ZREM " EXPIRY " r1 r2");
    run("ZADD " DUE " %lld A", e + 5);
    is(call_audit("A", "100"), "%d 1 2 1 'A' 'L1' 5 3 1 'A' %lld %lld", AUDIT_ST_OK, e + 5, e);
    run("ZREM " DUE " A");
    is(call_audit("A", "100"), "%d 1 2 1 'A' 'L1' 5 3 1 'A' -1 %lld", AUDIT_ST_OK, e);
    run("ZADD " EXPIRY " %lld r1 %lld r2", e, e);
    is(call_audit("A", "100"), "%d 1 2 1 'A' 'L1' 5 3 0", AUDIT_ST_OK);
    run("ZADD " DUE " %lld A", e);

    /* The index: entries that are not live holds are reported with their
     * state ('missing' without a record, 'unreadable' when it cannot be
     * read); ids no longer in the index are skipped. */
    put_hold("r3", "", "committed", e, "A L1 4");
    run("HSET " RES("r5") " status held allocations nonsense");
    run("ZADD " EXPIRY " %lld r3 %lld r4 %lld r5", e, e, e);
    is(call_audit_index("r1 r2 r3 r4 r5 r6"),
       "%d 2 3 'r3' 'committed' 'r4' 'missing' 'r5' 'unreadable'", AUDIT_INDEX_ST_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_stock_set, scripts_setup),
        cmocka_unit_test_setup(test_stock_adjust, scripts_setup),
        cmocka_unit_test_setup(test_stock_get, scripts_setup),
        cmocka_unit_test_setup(test_channels, scripts_setup),
        cmocka_unit_test_setup(test_reserve_held, scripts_setup),
        cmocka_unit_test_setup(test_reserve_batch, scripts_setup),
        cmocka_unit_test_setup(test_reserve_batch_shared_broken, scripts_setup),
        cmocka_unit_test_setup(test_reserve_strategies, scripts_setup),
        cmocka_unit_test_setup(test_reserve_locations, scripts_setup),
        cmocka_unit_test_setup(test_reserve_bound_and_due, scripts_setup),
        cmocka_unit_test_setup(test_reservation_get, scripts_setup),
        cmocka_unit_test_setup(test_extend, scripts_setup),
        cmocka_unit_test_setup(test_reservation_plan, scripts_setup),
        cmocka_unit_test_setup(test_commit, scripts_setup),
        cmocka_unit_test_setup(test_release, scripts_setup),
        cmocka_unit_test_setup(test_expire, scripts_setup),
        cmocka_unit_test_setup(test_expire_due, scripts_setup),
        cmocka_unit_test_setup(test_audit, scripts_setup),
    };
    return harness_run("scripts", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
