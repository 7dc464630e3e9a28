/* Integration: the scripts behind backorders, partial holds,
 * reservation.update and reservation.transfer, each on its own against a
 * real redis-server, called with EVAL and its embedded body as stockd sends
 * it (scripts_util.h): stock_set and stock_adjust with backorder limits,
 * low-stock thresholds and owed units, reserve with FLAGS, update.lua,
 * transfer.lua, and what the other scripts make of the records they leave.
 * Each test checks the reply element by element, the state left (stock
 * fields, records, holds indexes) and the ledger entries appended; every
 * refusal must leave the whole dataset as it was. No stockd runs. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scripts_util.h"

#include "reservation.h"
#include "reserve.h"
#include "result.h"
#include "stock.h"
#include "transition.h"

_Static_assert(HOLD_BACKORDER == 1 && HOLD_PARTIAL == 2, "the FLAGS given below");

/* The backorder limit of sku at loc. */
static void put_limit(const char *sku, const char *loc, long long limit)
{
    run("HSET " NS ":stock:%s %s:backorder %lld", sku, loc, limit);
}

/* reservation.update of rid (bound to order, '-' for none) whose lines
 * are the skus "A B", on channel web, to the items "sku qty ...". */
static redisReply *call_update(const char *rid, const char *order, const char *skus,
                               const char *items)
{
    const char *more[1 + 16];
    int n = words(items, more + 1, 16);
    more[0] = fmt("%d", n / 2);
    return call_transition(SCRIPT_UPDATE, "", "1", rid, order, skus,
                           (const char *const[]){CHANNEL, RULES}, 2, more, n + 1);
}

/* reservation.transfer of quantity ('' for all) units of sku from to. */
static redisReply *call_transfer(const char *rid, const char *order, const char *skus,
                                 const char *sku, const char *from, const char *to,
                                 const char *quantity)
{
    return call_transition(SCRIPT_TRANSFER, "", "1", rid, order, skus, NULL, 0,
                           (const char *const[]){sku, from, to, quantity}, 4);
}

/* The JSON cjson writes for the items {sku: quantity} of two lines is in
 * either order: the record's 'requested' is one of them. */
static void requested_is(const char *rid, const char *a, const char *b)
{
    redisReply *r = R("HGET " NS ":res:%s requested", rid);
    const char *got = text_of(r);
    if (strcmp(got, fmt("'{%s,%s}'", a, b)) != 0 && strcmp(got, fmt("'{%s,%s}'", b, a)) != 0)
        fail_msg("requested of %s: %s, expected {%s,%s}", rid, got, a, b);
}

/* --- stock --------------------------------------------------------------- */

static void test_stock_set_backorders(void **state)
{
    (void)state;
    /* The limit and the threshold are written with the count and come
     * back with the row; '' keeps each, 'none' clears the threshold. */
    is(call_stock_set_full("A", "L", "10", "", "3", "4"), "%d 10 0 0 3 '4'", STOCK_SET_ST_OK);
    is(R("HMGET " STOCK("A") " L:on_hand L:safety L:backorder L:low_stock"), "'10' nil '3' '4'");
    ledger_is(1, 1, "'set' 'A' 'L' '10' '' ''");
    is(call_stock_set_full("A", "L", "10", "1", "", ""), "%d 10 0 1 3 '4'", STOCK_SET_ST_OK);
    ledger_is(2, 1, "'set' 'A' 'L' '0' '' ''");
    is(call_stock_set_full("A", "L", "10", "", "0", "none"), "%d 10 0 1 0 ''", STOCK_SET_ST_OK);
    is(R("HMGET " STOCK("A") " L:backorder L:low_stock"), "'0' nil");
    /* A threshold of 0 is a threshold; clearing one that is not there is
     * nothing (the first unit of a row is back in stock: its event field). */
    is(call_stock_set_full("A", "L", "10", "", "", "0"), "%d 10 0 1 0 '0'", STOCK_SET_ST_OK);
    is(call_stock_set_full("M", "L", "1", "", "", "none"), "%d 1 0 0 0 ''", STOCK_SET_ST_OK);
    is(R("HKEYS " STOCK("M")), "'L:on_hand' 'L:event'");

    /* 12 reserved, 2 of them beyond on_hand: on_hand may go down to
     * reserved - limit, and no lower; nor may the limit go below what is
     * backordered. Safety stock is not counted (as in v1). */
    run("HSET " STOCK("A") " L:reserved 12 L:backorder 3");
    UNCHANGED(call_stock_set_full("A", "L", "8", "", "", ""), "%d 12", STOCK_SET_ST_BELOW_RESERVED);
    is(call_stock_set_full("A", "L", "9", "", "", ""), "%d 9 12 1 3 '0'", STOCK_SET_ST_OK);
    ledger_is(6, 1, "'set' 'A' 'L' '-1' '' ''");
    UNCHANGED(call_stock_set_full("A", "L", "9", "", "2", ""), "%d 12",
              STOCK_SET_ST_BELOW_RESERVED);
    UNCHANGED(call_stock_set_full("A", "L", "11", "", "0", "5"), "%d 12",
              STOCK_SET_ST_BELOW_RESERVED);
    is(call_stock_set_full("A", "L", "10", "", "2", ""), "%d 10 12 1 2 '0'", STOCK_SET_ST_OK);
    is(call_stock_set_full("A", "L", "12", "9", "0", ""), "%d 12 12 9 0 '0'", STOCK_SET_ST_OK);

    /* Units owed (on_hand below 0: backordered units sold) are paid from
     * the count first; the movement is the change of on_hand. */
    put_stock("B", "L", -2, 0, 0);
    is(call_stock_set_full("B", "L", "5", "", "", ""), "%d 3 0 0 0 ''", STOCK_SET_ST_OK);
    ledger_is(9, 1, "'set' 'B' 'L' '5' '' ''");
    put_stock("B", "M", -3, 1, 0);
    put_limit("B", "M", 5);
    is(call_stock_set_full("B", "M", "0", "", "", ""), "%d -3 1 0 5 ''", STOCK_SET_ST_OK);
    ledger_is(10, 1, "'set' 'B' 'M' '0' '' ''");
    is(call_stock_set_full("B", "M", "2", "", "", ""), "%d -1 1 0 5 ''", STOCK_SET_ST_OK);
    UNCHANGED(call_stock_set_full("B", "M", "0", "", "1", ""), "%d 1", STOCK_SET_ST_BELOW_RESERVED);
    /* Without a limit: the count, less what is owed, must cover the holds. */
    put_stock("B", "N", -2, 1, 0);
    UNCHANGED(call_stock_set_full("B", "N", "2", "", "", ""), "%d 1", STOCK_SET_ST_BELOW_RESERVED);
    is(call_stock_set_full("B", "N", "3", "", "", ""), "%d 1 1 0 0 ''", STOCK_SET_ST_OK);
}

static void test_stock_adjust_backorders(void **state)
{
    (void)state;
    /* A decrease may take on_hand down to reserved - limit: 6 reserved,
     * limit 3. available in a refusal is on_hand - reserved + limit. */
    put_stock("A", "L", 5, 6, 0);
    run("HSET " STOCK("A") " L:backorder 3 L:low_stock 2");
    is(call_adjust("A", "L", "-2", "damaged"), "%d 3 6 0 3 '2'", STOCK_ADJUST_ST_OK);
    ledger_is(1, 1, "'adjust' 'A' 'L' '-2' '' 'damaged'");
    UNCHANGED(call_adjust("A", "L", "-1", ""), "%d 1 0", STOCK_ADJUST_ST_SHORT);
    is(call_adjust("A", "L", "1", ""), "%d 4 6 0 3 '2'", STOCK_ADJUST_ST_OK);
    UNCHANGED(call_adjust("A", "L", "-3", ""), "%d 3 1", STOCK_ADJUST_ST_SHORT);

    /* Goods received pay what is owed first: on_hand goes up from below
     * 0; a decrease past the reserved units is refused as in v1. */
    put_stock("B", "L", -4, 0, 0);
    is(call_adjust("B", "L", "3", "received"), "%d -1 0 0 0 ''", STOCK_ADJUST_ST_OK);
    is(call_adjust("B", "L", "3", ""), "%d 2 0 0 0 ''", STOCK_ADJUST_ST_OK);
    ledger_is(4, 2, "'adjust' 'B' 'L' '3' '' 'received' | 'adjust' 'B' 'L' '3' '' ''");
    UNCHANGED(call_adjust("B", "L", "-3", ""), "%d 3 2", STOCK_ADJUST_ST_SHORT);
    /* Still owed: a decrease is refused without a limit. */
    put_stock("C", "L", -1, 0, 0);
    UNCHANGED(call_adjust("C", "L", "-1", ""), "%d 1 -1", STOCK_ADJUST_ST_SHORT);
}

static void test_stock_get_backorders(void **state)
{
    (void)state;
    /* Every row has its limit and threshold; a location known only by a
     * threshold is a row of zeros with it. */
    put_stock("A", "L1", 5, 7, 1);
    run("HSET " STOCK("A") " L1:backorder 3 L1:low_stock 4 L2:on_hand -2 L3:low_stock 9");
    is(call_stock_get("A", "L1 L2 L3 X"),
       "%d 'L1' 5 7 1 3 '4' 'L2' -2 0 0 0 '' 'L3' 0 0 0 0 '9' 'X' 0 0 0 0 ''", STOCK_GET_ST_OK);
    const char *all = text_of(call_stock_get("A", ""));
    static const char *const rows[] = {"'L1' 5 7 1 3 '4'", "'L2' -2 0 0 0 ''", "'L3' 0 0 0 0 '9'"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strstr(all, rows[i]) == NULL)
            fail_msg("no %s in %s", rows[i], all);
    assert_int_equal(strlen(all), strlen("0 'L1' 5 7 1 3 '4' 'L2' -2 0 0 0 '' 'L3' 0 0 0 0 '9'"));
}

/* --- reserve with FLAGS -------------------------------------------------- */

static void test_reserve_backorders(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1 L2");
    put_stock("A", "L1", 2, 0, 0);
    put_limit("A", "L1", 3);
    put_stock("A", "L2", 0, 0, 0);
    /* Without backorders the limit is not there. */
    UNCHANGED(call_reserve_flags("r0", "", "auto", "0", "A 4", ""), "%d 'A' 4 2 0",
              RESERVE_ST_SHORT);
    /* With them a line may take available + limit at a location; each
     * allocation says how many of its units stock did not cover, and the
     * record keeps that and the flags. */
    DONE(call_reserve_flags("r1", "", "auto", "1", "A 4", ""), "%d 0 %s 1 0 'A' 'L1' 4 2",
         RESERVE_ST_HELD, head("r1"));
    is(R("HMGET " RES("r1") " flags allocations shortages"), "'1' '[[\"A\",\"L1\",4,2]]' nil");
    is(R("HMGET " STOCK("A") " L1:on_hand L1:reserved"), "'2' '4'");
    is(R("ZRANGE " HOLDS("A") " 0 -1"), "'r1:1:L1:4'");
    ledger_is(1, 1, "'reserve' 'A' 'L1' '4' 'r1' ''");
    /* What is left is backorder capacity alone: available in a refusal
     * counts it. Then available is -limit, and nothing more is taken. */
    UNCHANGED(call_reserve_flags("r2", "", "auto", "1", "A 2", ""), "%d 'A' 2 1 0",
              RESERVE_ST_SHORT);
    DONE(call_reserve_flags("r2", "", "auto", "1", "A 1", ""), "%d 0 %s 1 0 'A' 'L1' 1 1",
         RESERVE_ST_HELD, head("r2"));
    UNCHANGED(call_reserve_flags("r3", "", "auto", "1", "A 1", ""), "%d 'A' 1 0 0",
              RESERVE_ST_SHORT);
    UNCHANGED(call_reserve_flags("r3", "", "auto", "0", "A 1", ""), "%d 'A' 1 0 0",
              RESERVE_ST_SHORT);

    /* Safety stock counts as in v1; a split takes each location's
     * capacity in turn, and says what each allocation backordered. */
    put_stock("B", "L1", 5, 0, 2);
    put_limit("B", "L1", 2);
    put_stock("B", "L2", 1, 0, 0);
    put_limit("B", "L2", 3);
    UNCHANGED(call_reserve_flags("r4", "", "split", "1", "B 10", ""), "%d 'B' 10 9 0",
              RESERVE_ST_SHORT);
    DONE(call_reserve_flags("r4", "", "split", "1", "B 8", ""),
         "%d 0 %s 1 0 'B' 'L1' 5 2 'B' 'L2' 3 2", RESERVE_ST_HELD, head("r4"));
    is(R("HGET " RES("r4") " allocations"), "'[[\"B\",\"L1\",5,2],[\"B\",\"L2\",3,2]]'");
    is(R("HMGET " STOCK("B") " L1:reserved L2:reserved"), "'5' '3'");

    /* Orders of one batch see each other's holds: the second order's
     * units are all backordered. A plain order beside them takes none. */
    put_stock("C", "L1", 2, 0, 0);
    put_limit("C", "L1", 3);
    struct batch b;
    batch_init(&b);
    batch_add_flags(&b, "r5", "", "auto", "1", "C 3", "");
    batch_add_flags(&b, "r6", "", "auto", "0", "C 1", "");
    batch_add_flags(&b, "r7", "", "auto", "1", "C 2", "");
    redisReply *r = batch_run(&b);
    assert_int_equal(r->elements, 3);
    is(detach(r, 0), "%d 0 %s 1 0 'C' 'L1' 3 1", RESERVE_ST_HELD, head("r5"));
    is(detach(r, 1), "%d 'C' 1 0 0", RESERVE_ST_SHORT);
    is(detach(r, 2), "%d 0 %s 1 0 'C' 'L1' 2 2", RESERVE_ST_HELD, head("r7"));
    freeReplyObject(r);
    is(R("HMGET " STOCK("C") " L1:on_hand L1:reserved"), "'2' '5'");
    is(R("HMGET " RES("r7") " flags allocations"), "'1' '[[\"C\",\"L1\",2,2]]'");
    is(R("EXISTS " RES("r6")), "0");
}

/* An order no plan fills, with allow_partial: every line as far as it can
 * be, the strategy choosing where. Stock: A@L1 3, A@L2 1, B@L2 3. */
static void test_reserve_partial(void **state)
{
    (void)state;
    static const struct {
        const char *strategy, *lines;
        const char *shortages, *allocs; /* as the reply has them */
        const char *json;               /* the record's shortages */
    } cases[] = {
        /* single: the location that covers most units (L2: 4). */
        {"single", "A 5 B 3", "1 'A' 5 1", "'A' 'L2' 1 0 'B' 'L2' 3 0", "[[\"A\",5,1]]"},
        /* per_line: A from the one with most of it, B from the first that
         * fills it. */
        {"per_line", "A 5 B 3", "1 'A' 5 3", "'A' 'L1' 3 0 'B' 'L2' 3 0", "[[\"A\",5,3]]"},
        {"split", "A 5 B 3", "1 'A' 5 4", "'A' 'L1' 3 0 'A' 'L2' 1 0 'B' 'L2' 3 0",
         "[[\"A\",5,4]]"},
        {"auto", "A 5 B 3", "1 'A' 5 4", "'A' 'L1' 3 0 'A' 'L2' 1 0 'B' 'L2' 3 0", "[[\"A\",5,4]]"},
        /* single, first among equals (3 units each); a line with none
         * there has no allocation, and is a shortage of 0. */
        {"single", "A 5 B 2", "2 'A' 5 3 'B' 2 0", "'A' 'L1' 3 0", "[[\"A\",5,3],[\"B\",2,0]]"},
        /* A line with no stock anywhere. */
        {"auto", "C 2 A 2", "1 'C' 2 0", "'A' 'L1' 2 0", "[[\"C\",2,0]]"},
        /* Filled after all: a partial hold without shortages. */
        {"auto", "A 4", "0", "'A' 'L1' 3 0 'A' 'L2' 1 0", NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(context, sizeof context, "(case %zu, %s)", c, cases[c].strategy);
        harness_flush(&H);
        run("RPUSH " CHANNEL " L1 L2");
        put_stock("A", "L1", 3, 0, 0);
        put_stock("A", "L2", 1, 0, 0);
        put_stock("B", "L2", 3, 0, 0);
        DONE(call_reserve_flags("r", "o", cases[c].strategy, "2", cases[c].lines, ""),
             "%d 0 %s 2 %s %s", RESERVE_ST_HELD, head("r"), cases[c].shortages, cases[c].allocs);
        if (cases[c].json)
            is(R("HMGET " RES("r") " flags shortages"), "'2' '%s'", cases[c].json);
        else
            is(R("HMGET " RES("r") " flags shortages"), "'2' nil");
        /* Exactly the units of the allocations were taken, each with its
         * ledger entry. */
        const char *w[16];
        int n = words(cases[c].allocs, w, 16);
        for (int i = 0; i < n; i += 4)
            is(R("HGET " NS ":stock:%s %s:reserved", fmt("%.1s", w[i] + 1),
                 fmt("%.2s", w[i + 1] + 1)),
               "'%s'", w[i + 2]);
        is(R("XLEN " EVENTS), "%d", n / 4);
    }
    context[0] = '\0';

    /* Nothing at all to take: short as without allow_partial, nothing
     * written. */
    UNCHANGED(call_reserve_flags("r2", "", "auto", "2", "C 1 D 2", ""), "%d 'C' 1 0 0",
              RESERVE_ST_SHORT);
    /* With backorders too, capacity counts the limits (all of A's stock
     * is held by the last case's hold). */
    put_limit("A", "L2", 2);
    DONE(call_reserve_flags("r3", "", "split", "3", "A 9", ""), "%d 0 %s 3 1 'A' 9 2 'A' 'L2' 2 2",
         RESERVE_ST_HELD, head("r3"));
    is(R("HMGET " RES("r3") " flags allocations shortages"),
       "'3' '[[\"A\",\"L2\",2,2]]' '[[\"A\",9,2]]'");
}

/* What reserve keeps for reservation.update, each only when it is not the
 * default, and the replay of a partial hold. */
static void test_reserve_record(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1 L2");
    put_stock("A", "L1", 3, 0, 0);
    put_stock("A", "L2", 3, 0, 0);
    DONE(call_reserve_flags("r1", "", "per_line", "0", "A 1", "L2 L1"), "%d 0 %s 0 0 'A' 'L2' 1 0",
         RESERVE_ST_HELD, head("r1"));
    is(R("HMGET " RES("r1") " channel strategy locs route flags shortages requested"),
       "'web' 'per_line' 'L2,L1' nil nil nil nil");
    DONE(call_reserve_flags("r2", "o-2", "split", "2", "A 8 B 1", ""),
         "%d 0 %s 2 2 'A' 8 5 'B' 1 0 'A' 'L1' 3 0 'A' 'L2' 2 0", RESERVE_ST_HELD, head("r2"));
    is(R("HMGET " RES("r2") " channel strategy locs flags"), "'web' 'split' nil '2'");
    /* A replay matches the items the reserve asked for: the shortages'
     * requested quantities, not what the hold has. */
    DONE(call_get("r2", "replay", "B 1 A 8"), "%d %s 2 2 'A' 8 5 'B' 1 0 'A' 'L1' 3 0 'A' 'L2' 2 0",
         RESERVATION_GET_ST_REPLAYED, head("r2"));
    static const char *const other[] = {"A 5", "A 5 B 0", "A 8", "A 5 B 1", "A 8 B 1 C 1"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        snprintf(context, sizeof context, "(%s)", other[i]);
        DONE(call_get("r2", "replay", other[i]), "%d", RESERVATION_GET_ST_MISMATCH);
    }
    context[0] = '\0';
    /* reservation.get shows the flags and the shortages. */
    DONE(call_get("r2", "get", ""), "%d %s 2 2 'A' 8 5 'B' 1 0 'A' 'L1' 3 0 'A' 'L2' 2 0",
         RESERVATION_GET_ST_FOUND, head("r2"));
}

/* --- reservation.update --------------------------------------------------- */

/* The deadline in rid's record. */
static long long expires_of(const char *rid)
{
    redisReply *r = R("HGET " NS ":res:%s expires_at", rid);
    long long e = r->str ? atoll(r->str) : -1;
    freeReplyObject(r);
    return e;
}

static void test_update_lines(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1 L2");
    put_stock("A", "L1", 5, 0, 0);
    put_stock("A", "L2", 5, 0, 0);
    put_stock("B", "L1", 5, 0, 0);
    DONE(call_reserve("r1", "o-1", "auto", "", "A 3 B 1", ""),
         "%d 0 %s 0 0 'A' 'L1' 3 0 'B' 'L1' 1 0", RESERVE_ST_HELD, head("r1"));
    char h[256];
    snprintf(h, sizeof h, "%s", head("r1"));
    long long e = expires_of("r1");

    /* An increase is planned like the reserve (auto over the channel):
     * the 4 units fit at L2 alone, a new allocation after A's. The
     * deadline does not move; the holds index has the new allocations at
     * it; the reserve's items are kept for its replay. */
    DONE(call_update("r1", "o-1", "A B", "A 7"), "%d %s 0 0 'A' 'L1' 3 0 'A' 'L2' 4 0 'B' 'L1' 1 0",
         UPDATE_ST_UPDATED, h);
    assert_string_equal(head("r1"), h);
    is(R("HMGET " STOCK("A") " L1:reserved L2:reserved"), "'3' '4'");
    is(R("HGET " RES("r1") " allocations"),
       "'[[\"A\",\"L1\",3],[\"A\",\"L2\",4],[\"B\",\"L1\",1]]'");
    is(R("ZRANGE " HOLDS("A") " 0 -1 WITHSCORES"), "'r1:1:L1:3' '%lld' 'r1:2:L2:4' '%lld'", e, e);
    is(R("ZRANGE " HOLDS("B") " 0 -1 WITHSCORES"), "'r1:3:L1:1' '%lld'", e);
    is(R("ZRANGE " DUE " 0 -1 WITHSCORES"), "'A' '%lld' 'B' '%lld'", e, e);
    requested_is("r1", "\"A\":3", "\"B\":1");
    ledger_is(3, 1, "'reserve' 'A' 'L2' '4' 'r1' 'update'");
    /* The quantities they are already: nothing is written. */
    UNCHANGED(call_update("r1", "o-1", "A B", "B 1 A 7"),
              "%d %s 0 0 'A' 'L1' 3 0 'A' 'L2' 4 0 'B' 'L1' 1 0", UPDATE_ST_UNCHANGED, h);
    /* Units joining the allocation at a location: A's at L2. */
    run("HSET " STOCK("A") " L1:on_hand 3");
    DONE(call_update("r1", "o-1", "A B", "A 8"), "%d %s 0 0 'A' 'L1' 3 0 'A' 'L2' 5 0 'B' 'L1' 1 0",
         UPDATE_ST_UPDATED, h);
    ledger_is(4, 1, "'reserve' 'A' 'L2' '1' 'r1' 'update'");

    /* A decrease gives back the last allocation of the line first; one
     * left with nothing is dropped. */
    DONE(call_update("r1", "o-1", "A B", "A 2"), "%d %s 0 0 'A' 'L1' 2 0 'B' 'L1' 1 0",
         UPDATE_ST_UPDATED, h);
    is(R("HMGET " STOCK("A") " L1:reserved L2:reserved"), "'2' '0'");
    is(R("ZRANGE " HOLDS("A") " 0 -1"), "'r1:1:L1:2'");
    is(R("ZRANGE " HOLDS("B") " 0 -1"), "'r1:2:L1:1'");
    ledger_is(6, 2, "'release' 'A' 'L2' '5' 'r1' 'update' | 'release' 'A' 'L1' '1' 'r1' 'update'");
    requested_is("r1", "\"A\":3", "\"B\":1");
    run("HSET " STOCK("A") " L1:on_hand 5");
    /* Quantity 0 drops a line; the last line cannot be dropped. */
    DONE(call_update("r1", "o-1", "A B", "B 0"), "%d %s 0 0 'A' 'L1' 2 0", UPDATE_ST_UPDATED, h);
    is(R("HGET " STOCK("B") " L1:reserved"), "'0'");
    is(R("EXISTS " HOLDS("B")), "0");
    ledger_is(7, 1, "'release' 'B' 'L1' '1' 'r1' 'update'");
    UNCHANGED(call_update("r1", "o-1", "A B", "A 0"), "%d", UPDATE_ST_NO_LINE_LEFT);
    /* An item that is no line of it (any more): nothing changes. */
    UNCHANGED(call_update("r1", "o-1", "A B", "A 0 B 0"), "%d 'B'", UPDATE_ST_NOT_A_LINE);
    UNCHANGED(call_update("r1", "o-1", "A", "A 5 C 1"), "%d 'C'", UPDATE_ST_NOT_A_LINE);

    /* More than there is: the extra units needed, and what auto could
     * find for them (summed over the candidates); nothing changes. */
    UNCHANGED(call_update("r1", "o-1", "A", "A 11"), "%d 'A' 9 8", UPDATE_ST_SHORT);
    DONE(call_update("r1", "o-1", "A", "A 10"), "%d %s 0 0 'A' 'L1' 5 0 'A' 'L2' 5 0",
         UPDATE_ST_UPDATED, h);
    /* The reserve's own items still replay it, no others. */
    DONE(call_get("r1", "replay", "A 3 B 1"), "%d %s 0 0 'A' 'L1' 5 0 'A' 'L2' 5 0",
         RESERVATION_GET_ST_REPLAYED, h);
    DONE(call_get("r1", "replay", "A 10"), "%d", RESERVATION_GET_ST_MISMATCH);
    /* A sku of its lines without its keys: plan again. */
    UNCHANGED(call_update("r1", "o-1", "B", "A 1"), "%d", UPDATE_ST_KEYS_MISSING);
}

static void test_update_not_held(void **state)
{
    (void)state;
    long long t = now();
    put_stock("A", "L1", 5, 2, 0);
    put_hold("r2", "", "committed", t + 600000, "A L1 1");
    put_hold("r3", "o-3", "released", t + 600000, "A L1 1");
    UNCHANGED(call_update("r2", "-", "A", "A 2"), "%d 'committed'", UPDATE_ST_NOT_HELD);
    UNCHANGED(call_update("r3", "o-3", "A", "A 2"), "%d 'released'", UPDATE_ST_NOT_HELD);
    UNCHANGED(call_update("r9", "-", "A", "A 2"), "%d", UPDATE_ST_NOT_FOUND);
    UNCHANGED(call_transfer("r2", "-", "A", "A", "L1", "L2", ""), "%d 'committed'",
              TRANSFER_ST_NOT_HELD);
    UNCHANGED(call_transfer("r9", "-", "A", "A", "L1", "L2", ""), "%d", TRANSFER_ST_NOT_FOUND);
    /* Held past its deadline: expired now, for good, its units given back. */
    put_hold("r4", "o-4", "held", t - 1000, "A L1 2");
    DONE(call_update("r4", "o-4", "A", "A 3"), "%d 'expired'", UPDATE_ST_NOT_HELD);
    is(R("HGET " STOCK("A") " L1:reserved"), "'0'");
    finished("r4", "o-4", "expired");
    ledger_is(1, 1, "'expire' 'A' 'L1' '2' 'r4' ''");
    /* Part of it given back by a reserve that found it due: expired too,
     * whatever its deadline; transfer alike. */
    put_stock("B", "L1", 5, 0, 0);
    put_hold("r5", "", "held", t + 600000, "A L1 1 B L1 1");
    run("HINCRBY " STOCK("A") " L1:reserved 1");
    run("ZREM " HOLDS("B") " r5:2:L1:1");
    DONE(call_transfer("r5", "-", "A B", "A", "L1", "L2", ""), "%d 'expired'",
         TRANSFER_ST_NOT_HELD);
    is(R("HMGET " STOCK("A") " L1:reserved"), "'0'");
    finished("r5", "", "expired");
    UNCHANGED(call_update("r5", "-", "A B", "A 1"), "%d 'expired'", UPDATE_ST_NOT_HELD);
}

/* The strategy's meaning for the extra units: single, only where the hold
 * is; per_line, a line only where it is (anywhere when it holds nothing);
 * and only among the locations the reserve asked for. */
static void test_update_strategies(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1 L2");
    put_stock("D", "L2", 3, 0, 0);
    DONE(call_reserve("r1", "", "single", "", "D 2", ""), "%d 0 %s 0 0 'D' 'L2' 2 0",
         RESERVE_ST_HELD, head("r1"));
    put_stock("D", "L1", 10, 0, 0);
    char h[256];
    snprintf(h, sizeof h, "%s", head("r1"));
    /* Short at L2: status, sku and the units needed. (available is not
     * checked: whether single measures it where the hold is, as a
     * reserve's single measures its first candidate, is undecided.) */
    char *before = snapshot();
    const char *got = text_of(call_update("r1", "-", "D", "D 4"));
    same(before);
    if (strncmp(got, fmt("%d 'D' 2 ", UPDATE_ST_SHORT), strlen(fmt("%d 'D' 2 ", UPDATE_ST_SHORT))))
        fail_msg("update of a single hold past its location's stock: %s", got);
    DONE(call_update("r1", "-", "D", "D 3"), "%d %s 0 0 'D' 'L2' 3 0", UPDATE_ST_UPDATED, h);

    put_stock("E", "L1", 2, 0, 0);
    put_stock("F", "L2", 1, 0, 0);
    DONE(call_reserve("r2", "", "per_line", "", "E 2 F 1", ""),
         "%d 0 %s 0 0 'E' 'L1' 2 0 'F' 'L2' 1 0", RESERVE_ST_HELD, head("r2"));
    snprintf(h, sizeof h, "%s", head("r2"));
    put_stock("E", "L2", 10, 0, 0);
    UNCHANGED(call_update("r2", "-", "E F", "E 3"), "%d 'E' 1 0", UPDATE_ST_SHORT);
    run("HINCRBY " STOCK("E") " L1:on_hand 1");
    DONE(call_update("r2", "-", "E F", "E 3 F 1"), "%d %s 0 0 'E' 'L1' 3 0 'F' 'L2' 1 0",
         UPDATE_ST_UPDATED, h);
    ledger_is(5, 1, "'reserve' 'E' 'L1' '1' 'r2' 'update'");
    /* A per_line line that holds nothing (a partial hold's shortage) takes
     * its units from the first location that fills it. */
    DONE(call_reserve_flags("r3", "", "per_line", "2", "E 1 G 2", ""),
         "%d 0 %s 2 1 'G' 2 0 'E' 'L2' 1 0", RESERVE_ST_HELD, head("r3"));
    snprintf(h, sizeof h, "%s", head("r3"));
    put_stock("G", "L1", 1, 0, 0);
    put_stock("G", "L2", 2, 0, 0);
    DONE(call_update("r3", "-", "E G", "G 2"), "%d %s 2 0 'E' 'L2' 1 0 'G' 'L2' 2 0",
         UPDATE_ST_UPDATED, h);
    is(R("HEXISTS " RES("r3") " shortages"), "0");

    /* The reserve asked for L2 only: L1's units are not for this hold. */
    put_stock("H", "L1", 10, 0, 0);
    put_stock("H", "L2", 1, 0, 0);
    DONE(call_reserve("r4", "", "split", "", "H 1", "L2"), "%d 0 %s 0 0 'H' 'L2' 1 0",
         RESERVE_ST_HELD, head("r4"));
    UNCHANGED(call_update("r4", "-", "H", "H 2"), "%d 'H' 1 0", UPDATE_ST_SHORT);
    run("HINCRBY " STOCK("H") " L2:on_hand 1");
    snprintf(h, sizeof h, "%s", head("r4"));
    DONE(call_update("r4", "-", "H", "H 2"), "%d %s 0 0 'H' 'L2' 2 0", UPDATE_ST_UPDATED, h);
}

/* Partial holds filled by an update, and holds with backorders. */
static void test_update_partial_and_backorders(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1 L2");
    put_stock("K", "L1", 3, 0, 0);
    DONE(call_reserve_flags("r6", "", "auto", "2", "K 5 M 2", ""),
         "%d 0 %s 2 2 'K' 5 3 'M' 2 0 'K' 'L1' 3 0", RESERVE_ST_HELD, head("r6"));
    char h[256];
    snprintf(h, sizeof h, "%s", head("r6"));
    /* Its plan names the skus of its shortages too, and its channel. */
    is(eval_ro(SCRIPT_RESERVATION_PLAN, (const char *[]){RES("r6")}, 1, (const char *[]){"100"}, 1),
       "%d '' 'web' 2 'K' 'M'", RESERVATION_PLAN_ST_OK);
    UNCHANGED(call_update("r6", "-", "K M", "M 2"), "%d 'M' 2 0", UPDATE_ST_SHORT);
    /* A line filled leaves the shortages; the others stay. */
    put_stock("M", "L2", 4, 0, 0);
    DONE(call_update("r6", "-", "K M", "M 2"), "%d %s 2 1 'K' 5 3 'K' 'L1' 3 0 'M' 'L2' 2 0",
         UPDATE_ST_UPDATED, h);
    is(R("HMGET " RES("r6") " shortages flags"), "'[[\"K\",5,3]]' '2'");
    requested_is("r6", "\"K\":5", "\"M\":2");
    ledger_is(2, 1, "'reserve' 'M' 'L2' '2' 'r6' 'update'");
    /* Listed at what it holds, a short line is filled as it is: no unit
     * moves, and it leaves the shortages. Then it is unchanged. */
    DONE(call_update("r6", "-", "K M", "K 3"), "%d %s 2 0 'K' 'L1' 3 0 'M' 'L2' 2 0",
         UPDATE_ST_UPDATED, h);
    is(R("HEXISTS " RES("r6") " shortages"), "0");
    ledger_is(2, 1, "'reserve' 'M' 'L2' '2' 'r6' 'update'");
    UNCHANGED(call_update("r6", "-", "K M", "K 3"), "%d %s 2 0 'K' 'L1' 3 0 'M' 'L2' 2 0",
              UPDATE_ST_UNCHANGED, h);
    DONE(call_get("r6", "replay", "K 5 M 2"), "%d %s 2 0 'K' 'L1' 3 0 'M' 'L2' 2 0",
         RESERVATION_GET_ST_REPLAYED, h);

    /* With backorders the increase may take the limit, and says what it
     * backordered; a decrease gives back backordered units first. */
    put_stock("J", "L1", 2, 0, 0);
    put_limit("J", "L1", 3);
    DONE(call_reserve_flags("r5", "", "auto", "1", "J 2", ""), "%d 0 %s 1 0 'J' 'L1' 2 0",
         RESERVE_ST_HELD, head("r5"));
    snprintf(h, sizeof h, "%s", head("r5"));
    DONE(call_update("r5", "-", "J", "J 4"), "%d %s 1 0 'J' 'L1' 4 2", UPDATE_ST_UPDATED, h);
    is(R("HGET " RES("r5") " allocations"), "'[[\"J\",\"L1\",4,2]]'");
    DONE(call_update("r5", "-", "J", "J 3"), "%d %s 1 0 'J' 'L1' 3 1", UPDATE_ST_UPDATED, h);
    UNCHANGED(call_update("r5", "-", "J", "J 6"), "%d 'J' 3 2", UPDATE_ST_SHORT);
    DONE(call_update("r5", "-", "J", "J 5"), "%d %s 1 0 'J' 'L1' 5 3", UPDATE_ST_UPDATED, h);
    is(R("HGET " STOCK("J") " L1:reserved"), "'5'");
}

/* --- reservation.transfer ------------------------------------------------- */

static void test_transfer(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1 L2");
    put_stock("K", "L1", 3, 0, 0);
    put_stock("K", "L2", 5, 0, 0);
    put_stock("K", "L3", 2, 0, 0); /* not in the channel */
    put_stock("M", "L1", 1, 0, 0);
    DONE(call_reserve("r1", "o-1", "auto", "", "K 3 M 1", ""),
         "%d 0 %s 0 0 'K' 'L1' 3 0 'M' 'L1' 1 0", RESERVE_ST_HELD, head("r1"));
    char h[256];
    snprintf(h, sizeof h, "%s", head("r1"));
    long long e = expires_of("r1");

    /* All of the line's units at from: the new allocation takes the old
     * one's place. A release at from, a reserve at to. */
    DONE(call_transfer("r1", "o-1", "K M", "K", "L1", "L2", ""),
         "%d %s 0 0 'K' 'L2' 3 0 'M' 'L1' 1 0", TRANSFER_ST_MOVED, h);
    assert_string_equal(head("r1"), h);
    is(R("HMGET " STOCK("K") " L1:reserved L2:reserved"), "'0' '3'");
    is(R("HGET " RES("r1") " allocations"), "'[[\"K\",\"L2\",3],[\"M\",\"L1\",1]]'");
    is(R("ZRANGE " HOLDS("K") " 0 -1 WITHSCORES"), "'r1:1:L2:3' '%lld'", e);
    is(R("ZRANGE " HOLDS("M") " 0 -1"), "'r1:2:L1:1'");
    ledger_is(4, 2,
              "'release' 'K' 'L1' '3' 'r1' 'transfer' | 'reserve' 'K' 'L2' '3' 'r1' 'transfer'");
    /* Retried: nothing at from and (at least) the units at to. */
    UNCHANGED(call_transfer("r1", "o-1", "K M", "K", "L1", "L2", ""),
              "%d %s 0 0 'K' 'L2' 3 0 'M' 'L1' 1 0", TRANSFER_ST_UNCHANGED, h);
    UNCHANGED(call_transfer("r1", "o-1", "K M", "K", "L1", "L2", "3"),
              "%d %s 0 0 'K' 'L2' 3 0 'M' 'L1' 1 0", TRANSFER_ST_UNCHANGED, h);
    UNCHANGED(call_transfer("r1", "o-1", "K M", "K", "L1", "L2", "4"), "%d 0", TRANSFER_ST_NOT_AT);
    UNCHANGED(call_transfer("r1", "o-1", "K M", "K", "L3", "L1", ""), "%d 0", TRANSFER_ST_NOT_AT);

    /* Some of them: a new allocation after the line's; then more join it. */
    DONE(call_transfer("r1", "o-1", "K M", "K", "L2", "L1", "1"),
         "%d %s 0 0 'K' 'L2' 2 0 'K' 'L1' 1 0 'M' 'L1' 1 0", TRANSFER_ST_MOVED, h);
    is(R("ZRANGE " HOLDS("K") " 0 -1"), "'r1:1:L2:2' 'r1:2:L1:1'");
    is(R("ZRANGE " HOLDS("M") " 0 -1"), "'r1:3:L1:1'");
    DONE(call_transfer("r1", "o-1", "K M", "K", "L2", "L1", "1"),
         "%d %s 0 0 'K' 'L2' 1 0 'K' 'L1' 2 0 'M' 'L1' 1 0", TRANSFER_ST_MOVED, h);
    is(R("HMGET " STOCK("K") " L1:reserved L2:reserved"), "'2' '1'");
    ledger_is(8, 2,
              "'release' 'K' 'L2' '1' 'r1' 'transfer' | 'reserve' 'K' 'L1' '1' 'r1' 'transfer'");
    /* More than the line holds at from: what it holds there. */
    UNCHANGED(call_transfer("r1", "o-1", "K M", "K", "L2", "L1", "2"), "%d 1", TRANSFER_ST_NOT_AT);
    UNCHANGED(call_transfer("r1", "o-1", "K M", "N", "L1", "L2", ""), "%d 'N'",
              TRANSFER_ST_NOT_A_LINE);
    /* to needs the units; it need not be in the channel. */
    UNCHANGED(call_transfer("r1", "o-1", "K M", "K", "L1", "L4", ""), "%d 'K' 2 0",
              TRANSFER_ST_SHORT);
    DONE(call_transfer("r1", "o-1", "K M", "K", "L1", "L3", ""),
         "%d %s 0 0 'K' 'L2' 1 0 'K' 'L3' 2 0 'M' 'L1' 1 0", TRANSFER_ST_MOVED, h);
    is(R("HMGET " STOCK("K") " L1:reserved L3:reserved"), "'0' '2'");
    run("HSET " STOCK("K") " L2:on_hand 2");
    UNCHANGED(call_transfer("r1", "o-1", "K M", "K", "L3", "L2", ""), "%d 'K' 2 1",
              TRANSFER_ST_SHORT);
    /* All of them, to where the line has an allocation: they join it,
     * and the one at from is gone. */
    run("HSET " STOCK("K") " L2:on_hand 5");
    DONE(call_transfer("r1", "o-1", "K M", "K", "L3", "L2", ""),
         "%d %s 0 0 'K' 'L2' 3 0 'M' 'L1' 1 0", TRANSFER_ST_MOVED, h);
    is(R("ZRANGE " HOLDS("K") " 0 -1"), "'r1:1:L2:3'");
    is(R("HMGET " STOCK("K") " L1:reserved L2:reserved L3:reserved"), "'0' '3' '0'");
    UNCHANGED(call_transfer("r1", "o-1", "K", "K", "L2", "L1", "1"), "%d",
              TRANSFER_ST_KEYS_MISSING);
}

static void test_transfer_backorders_and_shortages(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1 L2");
    put_stock("P", "L1", 2, 0, 0);
    put_stock("P", "L2", 0, 0, 0);
    put_limit("P", "L2", 3);
    /* A plain hold never takes backorder capacity at to. */
    DONE(call_reserve("r1", "", "auto", "", "P 1", ""), "%d 0 %s 0 0 'P' 'L1' 1 0", RESERVE_ST_HELD,
         head("r1"));
    UNCHANGED(call_transfer("r1", "-", "P", "P", "L1", "L2", ""), "%d 'P' 1 0", TRANSFER_ST_SHORT);
    /* One with backorders does, and the moved units say so. */
    DONE(call_reserve_flags("r2", "", "auto", "1", "P 1", ""), "%d 0 %s 1 0 'P' 'L1' 1 0",
         RESERVE_ST_HELD, head("r2"));
    char h[256];
    snprintf(h, sizeof h, "%s", head("r2"));
    DONE(call_transfer("r2", "-", "P", "P", "L1", "L2", ""), "%d %s 1 0 'P' 'L2' 1 1",
         TRANSFER_ST_MOVED, h);
    is(R("HGET " RES("r2") " allocations"), "'[[\"P\",\"L2\",1,1]]'");
    is(R("HMGET " STOCK("P") " L1:reserved L2:reserved"), "'1' '1'");
    /* Back to L1, where stock covers it: backordered goes down. */
    DONE(call_transfer("r2", "-", "P", "P", "L2", "L1", ""), "%d %s 1 0 'P' 'L1' 1 0",
         TRANSFER_ST_MOVED, h);

    /* A partial hold's short line holds nothing to move. */
    put_stock("R", "L1", 1, 0, 0);
    DONE(call_reserve_flags("r3", "", "auto", "2", "R 1 Q 2", ""),
         "%d 0 %s 2 1 'Q' 2 0 'R' 'L1' 1 0", RESERVE_ST_HELD, head("r3"));
    UNCHANGED(call_transfer("r3", "-", "Q R", "Q", "L1", "L2", ""), "%d 'Q'",
              TRANSFER_ST_NOT_A_LINE);
}

/* --- the other scripts, on holds with backorders and shortages ----------- */

static void test_backorder_lifecycle(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L1");
    put_stock("Q", "L1", 2, 0, 0);
    put_limit("Q", "L1", 3);
    DONE(call_reserve_flags("r1", "", "auto", "1", "Q 4", ""), "%d 0 %s 1 0 'Q' 'L1' 4 2",
         RESERVE_ST_HELD, head("r1"));
    /* A commit of backordered units takes on_hand below 0: what the
     * location owes. */
    redisReply *r = call_transition(SCRIPT_COMMIT, "", "1", "r1", "-", "Q", NULL, 0, NULL, 0);
    is(r, "%d %s 1 0 'Q' 'L1' 4 2", COMMIT_ST_COMMITTED, head("r1"));
    is(R("HMGET " STOCK("Q") " L1:on_hand L1:reserved"), "'-2' '0'");
    ledger_is(2, 1, "'commit' 'Q' 'L1' '4' 'r1' ''");
    DONE(call_get("r1", "get", ""), "%d %s 1 0 'Q' 'L1' 4 2", RESERVATION_GET_ST_FOUND, head("r1"));
    /* A count pays it first. */
    is(call_stock_set_full("Q", "L1", "3", "", "", ""), "%d 1 0 0 3 ''", STOCK_SET_ST_OK);

    /* A release and an expiry give the reserved units back, backordered
     * or not. */
    DONE(call_reserve_flags("r2", "", "auto", "1", "Q 3", ""), "%d 0 %s 1 0 'Q' 'L1' 3 2",
         RESERVE_ST_HELD, head("r2"));
    DONE(call_transition(SCRIPT_RELEASE, "changed mind", "1", "r2", "-", "Q", NULL, 0, NULL, 0),
         "%d %s 1 0 'Q' 'L1' 3 2", RELEASE_ST_RELEASED, head("r2"));
    is(R("HMGET " RES("r2") " status reason"), "'released' 'changed mind'");
    is(R("HGET " STOCK("Q") " L1:reserved"), "'0'");
    DONE(call_reserve_flags("r3", "", "auto", "3", "Q 9", ""), "%d 0 %s 3 1 'Q' 9 4 'Q' 'L1' 4 3",
         RESERVE_ST_HELD, head("r3"));
    run("HSET " RES("r3") " expires_at %lld", now() - 1);
    DONE(call_transition(SCRIPT_EXPIRE, "", "100", "r3", "-", "Q", NULL, 0, NULL, 0), "%d 1 0 0",
         EXPIRE_ST_OK);
    is(R("HGET " STOCK("Q") " L1:reserved"), "'0'");
    finished("r3", "", "expired");
    /* An allocation that says more is backordered than it holds is not
     * one stockd writes: the record is moved aside. */
    long long t = now();
    run("HSET " RES("rx") " status held created_at %lld expires_at %lld v 2 flags 1 allocations "
                          "[[\"Q\",\"L1\",1,2]]",
        t - 2000, t - 1000);
    run("ZADD " EXPIRY " %lld rx", t - 1000);
    DONE(call_transition(SCRIPT_EXPIRE, "", "100", "rx", "-", "Q", NULL, 0, NULL, 0),
         "%d 0 0 1 'rx' 'an allocation is not [sku, location, quantity(, backordered)]'",
         EXPIRE_ST_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_stock_set_backorders, scripts_setup),
        cmocka_unit_test_setup(test_stock_adjust_backorders, scripts_setup),
        cmocka_unit_test_setup(test_stock_get_backorders, scripts_setup),
        cmocka_unit_test_setup(test_reserve_backorders, scripts_setup),
        cmocka_unit_test_setup(test_reserve_partial, scripts_setup),
        cmocka_unit_test_setup(test_reserve_record, scripts_setup),
        cmocka_unit_test_setup(test_update_lines, scripts_setup),
        cmocka_unit_test_setup(test_update_not_held, scripts_setup),
        cmocka_unit_test_setup(test_update_strategies, scripts_setup),
        cmocka_unit_test_setup(test_update_partial_and_backorders, scripts_setup),
        cmocka_unit_test_setup(test_transfer, scripts_setup),
        cmocka_unit_test_setup(test_transfer_backorders_and_shortages, scripts_setup),
        cmocka_unit_test_setup(test_backorder_lifecycle, scripts_setup),
    };
    return harness_run("scripts_change", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
