/* Integration: the stock-level events the scripts append, on their own
 * against a real redis-server, called with EVAL and their embedded bodies
 * as stockd sends them (scripts_util.h). Each change that crosses a level
 * appends its entries to the stream in the script that makes it, chained
 * per (sku, location) by prev, and a stream key of another type fails,
 * before anything is written, only the calls that would append to it. No
 * stockd runs. */
#include <stdbool.h>
#include <string.h>

#include "scripts_util.h"

#include "reserve.h"
#include "stock.h"
#include "transition.h"

/* --- stock-level events -------------------------------------------------- */

/* The stock-events stream holds these entries, oldest first: the values of
 * type, sku, location, available, threshold, cause and reservation of
 * each (the fields in that order, then prev), one entry's joined to the
 * next by " | "; each one's prev is the id of the entry before it of its
 * (sku, location), '' for the first, and the last one's id is in the
 * <loc>:event field of its stock hash. */
#define stock_events_are(want) stock_events_at(__LINE__, want)
static void stock_events_at(int line, const char *want)
{
    static const char *const names[] = {"type",      "sku",   "location",    "available",
                                        "threshold", "cause", "reservation", "prev"};
    char got[2048] = "";
    redisReply *r = R("XRANGE " STOCK_EVENTS " - +");
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *fv = r->element[i]->element[1];
        assert_int_equal(fv->elements, 16);
        for (size_t j = 0; j < 16; j += 2) {
            assert_string_equal(fv->element[j]->str, names[j / 2]);
            if (j < 14)
                cat(got, sizeof got,
                    fmt("%s'%s'", j ? " " : i ? " | " : "", fv->element[j + 1]->str));
        }
        const char *prev = "", *sku = fv->element[3]->str, *loc = fv->element[5]->str;
        for (size_t k = 0; k < i; k++) {
            const redisReply *e = r->element[k]->element[1];
            if (strcmp(e->element[3]->str, sku) == 0 && strcmp(e->element[5]->str, loc) == 0)
                prev = r->element[k]->element[0]->str;
        }
        if (strcmp(fv->element[15]->str, prev) != 0)
            fail_msg("line %d: entry %zu: prev '%s', want '%s'", line, i, fv->element[15]->str,
                     prev);
        bool last = true;
        for (size_t k = i + 1; k < r->elements && last; k++) {
            const redisReply *e = r->element[k]->element[1];
            last = strcmp(e->element[3]->str, sku) != 0 || strcmp(e->element[5]->str, loc) != 0;
        }
        if (last) {
            const char *field = text_of(R("HGET " NS ":stock:%s %s:event", sku, loc));
            if (strcmp(field, fmt("'%s'", r->element[i]->element[0]->str)) != 0)
                fail_msg("line %d: %s@%s: event field %s", line, sku, loc, field);
        }
    }
    freeReplyObject(r);
    if (strcmp(got, want) != 0)
        fail_msg("line %d: stock events\nwant: %s\n got: %s", line, want, got);
}

/* Each change that crosses a level appends its entries in the script that
 * makes it: the orders of one batch each with their own id, in order; a
 * due hold given back (cause expire, its own id); stock_set and
 * stock_adjust (the safety stock counts; a threshold alone changes
 * nothing); releases and expiries. A stream key of another type fails
 * every order of a batch before anything is written, and only the
 * stock_adjust that would append to it. */
static void test_stock_events(void **state)
{
    (void)state;
    run("RPUSH " CHANNEL " L");
    is(call_stock_set_full("A", "L", "5", "", "", "3"), "%d 5 0 0 0 '3'", STOCK_SET_ST_OK);
    stock_events_are("'back_in_stock' 'A' 'L' '5' '0' 'set' ''");
    struct batch b;
    batch_init(&b);
    batch_add(&b, "r1", "", "auto", "", "A 2", "");
    batch_add(&b, "r2", "", "auto", "", "A 1", "");
    batch_add(&b, "r3", "", "auto", "", "A 2", "");
    batch_add(&b, "r4", "", "auto", "", "A 1", "");
    redisReply *r = batch_run(&b);
    is(detach(r, 3), "%d 'A' 1 0 0", RESERVE_ST_SHORT);
    freeReplyObject(r);
    stock_events_are("'back_in_stock' 'A' 'L' '5' '0' 'set' '' | "
                     "'low_stock' 'A' 'L' '3' '3' 'reserve' 'r1' | "
                     "'out_of_stock' 'A' 'L' '0' '0' 'reserve' 'r3'");
    is(R("HGET " STOCK("A") " L:reserved"), "'5'");

    /* r1 is due: the order that runs short gives it back, then holds. */
    run("HSET " RES("r1") " expires_at %lld", now() - 1);
    run("ZADD " HOLDS("A") " %lld r1:1:L:2", now() - 1);
    DONE(call_reserve("r5", "", "auto", "", "A 2", ""), "%d 0 %s 0 0 'A' 'L' 2 0", RESERVE_ST_HELD,
         head("r5"));
    stock_events_are("'back_in_stock' 'A' 'L' '5' '0' 'set' '' | "
                     "'low_stock' 'A' 'L' '3' '3' 'reserve' 'r1' | "
                     "'out_of_stock' 'A' 'L' '0' '0' 'reserve' 'r3' | "
                     "'back_in_stock' 'A' 'L' '2' '0' 'expire' 'r1' | "
                     "'out_of_stock' 'A' 'L' '0' '0' 'reserve' 'r5'");
    ledger_is(6, 2, "'expire' 'A' 'L' '2' 'r1' '' | 'reserve' 'A' 'L' '2' 'r5' ''");

    /* A release brings it back; safety stock takes it out again, and a
     * new threshold alone appends nothing. */
    DONE(call_transition(SCRIPT_RELEASE, "", "1", "r3", "-", "A", NULL, 0, NULL, 0),
         "%d %s 0 0 'A' 'L' 2 0", RELEASE_ST_RELEASED, head("r3"));
    is(call_stock_set_full("A", "L", "5", "", "", "1"), "%d 5 3 0 0 '1'", STOCK_SET_ST_OK);
    is(call_stock_set_full("A", "L", "5", "2", "", ""), "%d 5 3 2 0 '1'", STOCK_SET_ST_OK);
    DONE(call_adjust("A", "L", "1", ""), "%d 6 3 2 0 '1'", STOCK_ADJUST_ST_OK);
    stock_events_are("'back_in_stock' 'A' 'L' '5' '0' 'set' '' | "
                     "'low_stock' 'A' 'L' '3' '3' 'reserve' 'r1' | "
                     "'out_of_stock' 'A' 'L' '0' '0' 'reserve' 'r3' | "
                     "'back_in_stock' 'A' 'L' '2' '0' 'expire' 'r1' | "
                     "'out_of_stock' 'A' 'L' '0' '0' 'reserve' 'r5' | "
                     "'back_in_stock' 'A' 'L' '2' '0' 'release' 'r3' | "
                     "'low_stock' 'A' 'L' '0' '1' 'set' '' | "
                     "'out_of_stock' 'A' 'L' '0' '0' 'set' '' | "
                     "'back_in_stock' 'A' 'L' '1' '0' 'adjust' ''");

    /* Not a stream. */
    run("RENAME " STOCK_EVENTS " " NS ":kept");
    run("SET " STOCK_EVENTS " x");
    batch_init(&b);
    batch_add(&b, "r6", "", "auto", "", "A 1", "");
    batch_add(&b, "r7", "", "auto", "", "B 1", "");
    char *before = snapshot();
    r = batch_run(&b);
    is(r, "[%d '" STOCK_EVENTS " is a string, not a stream'] [%d '" STOCK_EVENTS
          " is a string, not a stream']",
       RESERVE_ST_BROKEN, RESERVE_ST_BROKEN);
    same(before);
    DONE(call_adjust("A", "L", "2", ""), "%d 8 3 2 0 '1'", STOCK_ADJUST_ST_OK);
    run("DEL " STOCK_EVENTS);
    run("RENAME " NS ":kept " STOCK_EVENTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_stock_events, scripts_setup),
    };
    return harness_run("scripts_events", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
