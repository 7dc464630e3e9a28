/* Unit tests of the request layer against the script contracts, through
 * the fake-store seam (fake_store.c): a request line goes in, each call it
 * makes is answered with a canned reply tree, and exactly one answer line
 * must come out. Every reply reader is fed the replies its contract allows,
 * and replies it does not allow (too short, wrong types, an unknown status,
 * not an array, a Redis error): each of those becomes a clear error, never
 * a guess and never a request left unanswered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "dispatch.h"
#include "fake_store.h"
#include "request.h"
#include "reservation.h"
#include "reserve.h"
#include "route.h"
#include "stock.h"
#include "transition.h"

/* The numbers the canned replies below use for statuses. */
_Static_assert(STOCK_SET_ST_BELOW_RESERVED == 1, "replies below");
_Static_assert(STOCK_ADJUST_ST_SHORT == 1 && STOCK_ADJUST_ST_TOO_LARGE == 2, "replies below");
_Static_assert(CHANNEL_GET_ST_UNKNOWN == 1, "replies below");
_Static_assert(RESERVE_ST_BOUND == 1 && RESERVE_ST_SHORT == 2 && RESERVE_ST_NO_CHANNEL == 3 &&
                   RESERVE_ST_BROKEN == 4,
               "replies below");
_Static_assert(RESERVATION_GET_ST_REPLAYED == 1 && RESERVATION_GET_ST_NOT_FOUND == 2 &&
                   RESERVATION_GET_ST_MISMATCH == 3,
               "replies below");
_Static_assert(EXTEND_ST_NOT_FOUND == 1 && EXTEND_ST_EXPIRED == 2 && EXTEND_ST_COMMITTED == 3 &&
                   EXTEND_ST_RELEASED == 4,
               "replies below");
_Static_assert(COMMIT_ST_NOT_FOUND == 1 && COMMIT_ST_EXPIRED == 2 && COMMIT_ST_RELEASED == 3 &&
                   COMMIT_ST_KEYS_MISSING == 4,
               "replies below");
_Static_assert(RELEASE_ST_RESTOCKED == 1 && RELEASE_ST_EXPIRED == 2 && RELEASE_ST_UNCHANGED == 3 &&
                   RELEASE_ST_NOT_FOUND == 4 && RELEASE_ST_KEYS_MISSING == 5,
               "replies below");
_Static_assert(EXPIRE_ST_KEYS_MISSING == 1, "replies below");
_Static_assert(UPDATE_ST_UNCHANGED == 1 && UPDATE_ST_NOT_FOUND == 2 && UPDATE_ST_NOT_HELD == 3 &&
                   UPDATE_ST_NOT_A_LINE == 4 && UPDATE_ST_NO_LINE_LEFT == 5 &&
                   UPDATE_ST_SHORT == 6 && UPDATE_ST_KEYS_MISSING == 7 && UPDATE_STATUSES == 8,
               "replies below");
_Static_assert(TRANSFER_ST_UNCHANGED == 1 && TRANSFER_ST_NOT_FOUND == 2 &&
                   TRANSFER_ST_NOT_HELD == 3 && TRANSFER_ST_NOT_A_LINE == 4 &&
                   TRANSFER_ST_NOT_AT == 5 && TRANSFER_ST_SHORT == 6 &&
                   TRANSFER_ST_KEYS_MISSING == 7 && TRANSFER_STATUSES == 8,
               "replies below");
_Static_assert(HOLD_BACKORDER == 1 && HOLD_PARTIAL == 2, "replies below");

static int setup(void **state)
{
    (void)state;
    fake_kernel_setup();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_kernel_teardown();
    return 0;
}

static struct session session = {.authenticated = true};

static void start(const char *line)
{
    fake_start(&session, line);
}

static void reply_text(const char *text)
{
    redisReply *r = fake_parse(text);
    fake_reply(r);
    fake_reply_free(r);
}

/* --- the table ----------------------------------------------------------- */

#define CMD (-1) /* a plain command rather than a script */

struct step {
    bool used;         /* false: past the last step */
    int script;        /* the call expected */
    const char *reply; /* its canned reply; NULL: the outcome below */
    enum store_outcome outcome;
};

/* A call answered with a canned reply, and a call that ends without one. */
#define CALL(script, reply) {true, script, reply, STORE_REPLY}
#define FAIL(script, outcome) {true, script, NULL, outcome}

struct contract_case {
    const char *name;
    const char *request;
    struct step steps[12];
    int code;           /* of the answer: 0 for a result */
    const char *reason; /* data.reason, or NULL */
    const char *has;    /* a piece the answer line holds, or NULL */
};

/* A reservation as reservation_reply writes it: id, status, order_id,
 * created_at, expires_at, reason, then flags (HOLD_*) and the number of
 * shortages (FLAGS0: a plain hold), then the shortages and allocations. */
#define FLAGS0 " 0 0"
#define BODY "'RID' 'held' 'o-1' 100 900000100 ''" FLAGS0
#define ALLOC " 'A' 'L' 2 0"
#define GET "{\"id\":1,\"method\":\"reservation.get\",\"params\":{\"reservation_id\":\"RID\"}}"
#define RESERVE                                                                                    \
    "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"o-1\",\"items\":[{\"sku\":\"A\","   \
    "\"quantity\":2}]}}"
#define RESERVE_EXPLAIN                                                                            \
    "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"o-1\",\"items\":[{\"sku\":\"A\","   \
    "\"quantity\":2}],\"explain\":true}}"
#define LOCATION_SET                                                                               \
    "{\"id\":1,\"method\":\"location.set\",\"params\":{\"location\":\"W\",\"lat\":52.52,\"lng\":13.4,"\
    "\"zone\":\"DE\",\"priority\":5,\"tags\":[\"a\",\"b\"]}}"
#define LOCATION_GET "{\"id\":1,\"method\":\"location.get\",\"params\":{\"location\":\"W\"}}"
#define LOCATION_LIST "{\"id\":1,\"method\":\"location.list\"}"
#define COMMIT "{\"id\":1,\"method\":\"commit\",\"params\":{\"reservation_id\":\"RID\"}}"
#define RELEASE "{\"id\":1,\"method\":\"release\",\"params\":{\"reservation_id\":\"RID\"}}"
#define PLAN "[0 'o-1' 'default' 1 'A']"
#define UPDATE                                                                                     \
    "{\"id\":1,\"method\":\"reservation.update\",\"params\":{\"reservation_id\":\"RID\","          \
    "\"items\":[{\"sku\":\"A\",\"quantity\":3}]}}"
#define TRANSFER                                                                                   \
    "{\"id\":1,\"method\":\"reservation.transfer\",\"params\":{\"reservation_id\":\"RID\","        \
    "\"sku\":\"A\",\"from\":\"L\",\"to\":\"M\"}}"
#define SET                                                                                        \
    "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":\"L\","           \
    "\"on_hand\":5}}"
#define GET_STOCK "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}"
#define ADJUST                                                                                     \
    "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"A\",\"location\":\"L\","        \
    "\"delta\":-3}}"

#define AUDIT_ALL "{\"id\":1,\"method\":\"stock.audit\"}"
#define AUDIT_A "{\"id\":1,\"method\":\"stock.audit\",\"params\":{\"sku\":\"A\"}}"
/* audit.lua with no sku, asked whether the ledger is whole: it is, with
 * `added` entries. */
#define PROBE(added) CALL(SCRIPT_AUDIT, "[0 0 0 0 0 " #added " 0]")
/* A ledger entry as XRANGE returns it. */
#define ENTRY(id, type, sku, qty)                                                                  \
    "['" id "' ['type' '" type "' 'sku' '" sku "' 'location' 'L' 'quantity' '" qty "' "            \
    "'reservation' '' 'reason' '']]"

static const struct contract_case cases[] = {
    /* stock.set: {OK, on_hand, reserved, safety, backorder_limit, low_stock ('' none)} */
    {"stock.set ok", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 0 '']")}, 0, NULL,
     "{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":5,\"reserved\":1,\"available\":4,"
     "\"safety_stock\":0,\"backorder_limit\":0,\"low_stock_threshold\":null,\"backordered\":0}"},
    {"stock.set with backorders", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 8 1 4 '3']")}, 0, NULL,
     "\"on_hand\":5,\"reserved\":8,\"available\":-3,\"safety_stock\":1,\"backorder_limit\":4,"
     "\"low_stock_threshold\":3,\"backordered\":3"},
    {"stock.set owed", SET, {CALL(SCRIPT_STOCK_SET, "[0 -2 0 0 0 '0']")}, 0, NULL,
     "\"on_hand\":-2,\"reserved\":0,\"available\":-2,\"safety_stock\":0,\"backorder_limit\":0,"
     "\"low_stock_threshold\":0,\"backordered\":2"},
    {"stock.set largest threshold", SET,
     {CALL(SCRIPT_STOCK_SET, "[0 5 0 0 1000000000 '1000000000000000']")}, 0, NULL,
     "\"backorder_limit\":1000000000,\"low_stock_threshold\":1000000000000000,\"backordered\":0"},
    {"stock.set below reserved", SET, {CALL(SCRIPT_STOCK_SET, "[1 7]")}, 1003, "below_reserved",
     "\"reserved\":7"},
    {"stock.set short reply", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 0]")}, -32603, "internal",
     NULL},
    {"stock.set the v1 reply", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0]")}, -32603, "internal",
     NULL},
    {"stock.set long reply", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 0 '' 9]")}, -32603, "internal",
     NULL},
    {"stock.set string for a number", SET, {CALL(SCRIPT_STOCK_SET, "[0 '5' 1 0 0 '']")}, -32603,
     "internal", NULL},
    {"stock.set limit as text", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 '4' '']")}, -32603,
     "internal", NULL},
    {"stock.set threshold as a number", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 0 3]")}, -32603,
     "internal", NULL},
    {"stock.set threshold nil", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 0 nil]")}, -32603,
     "internal", NULL},
    {"stock.set threshold not whole", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 0 '1.5']")}, -32603,
     "internal", NULL},
    {"stock.set threshold negative", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 0 '-1']")}, -32603,
     "internal", NULL},
    {"stock.set threshold past the largest", SET,
     {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 0 '1000000000000001']")}, -32603, "internal", NULL},
    {"stock.set threshold 'none'", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 0 'none']")}, -32603,
     "internal", NULL},
    {"stock.set unknown status", SET, {CALL(SCRIPT_STOCK_SET, "[2]")}, -32603, "internal", NULL},
    {"stock.set negative status", SET, {CALL(SCRIPT_STOCK_SET, "[-32603]")}, -32603, "internal", NULL},
    {"stock.set empty array", SET, {CALL(SCRIPT_STOCK_SET, "[]")}, -32603, "internal", NULL},
    {"stock.set status reply", SET, {CALL(SCRIPT_STOCK_SET, "+OK")}, -32603, "internal", NULL},
    {"stock.set nil", SET, {CALL(SCRIPT_STOCK_SET, "nil")}, -32603, "internal", NULL},
    {"stock.set below reserved, no count", SET, {CALL(SCRIPT_STOCK_SET, "[1]")}, -32603, "internal",
     NULL},
    /* what the Redis side can say, for any call */
    {"script error", SET, {CALL(SCRIPT_STOCK_SET, "!ERR user_script:3: attempt to index nil")},
     -32603, "internal", NULL},
    {"redis out of memory", SET,
     {CALL(SCRIPT_STOCK_SET, "!OOM command not allowed when used memory > 'maxmemory'.")}, 2004,
     "storage_full", NULL},
    {"redis loading", SET, {CALL(SCRIPT_STOCK_SET, "!LOADING Redis is loading")}, 2001,
     "unavailable", NULL},
    {"redis busy", SET, {CALL(SCRIPT_STOCK_SET, "!BUSY Redis is busy running a script")}, 2001,
     "unavailable", NULL},
    {"redis a replica", SET, {CALL(SCRIPT_STOCK_SET, "!READONLY You can't write")}, 2001,
     "unavailable", NULL},
    {"never sent", SET, {FAIL(SCRIPT_STOCK_SET, STORE_NOT_SENT)}, 2001, "unavailable", NULL},
    {"outcome unknown", SET, {FAIL(SCRIPT_STOCK_SET, STORE_UNKNOWN)}, 2002, "timeout", NULL},
    {"replicas did not confirm", SET, {FAIL(SCRIPT_STOCK_SET, STORE_NOT_REPLICATED)}, 2002,
     "replication", "\"message\":\"Fewer replicas than required"},
    {"reserve, replicas did not confirm", RESERVE, {FAIL(SCRIPT_RESERVE, STORE_NOT_REPLICATED)},
     2002, "replication", NULL},

    /* stock.adjust: the same row, {SHORT, requested, available}, {TOO_LARGE} */
    {"stock.adjust ok", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[0 2 0 0 0 '']")}, 0, NULL,
     "\"on_hand\":2,\"reserved\":0,\"available\":2,\"safety_stock\":0,\"backorder_limit\":0,"
     "\"low_stock_threshold\":null,\"backordered\":0"},
    {"stock.adjust into what is owed", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[0 -1 2 0 3 '5']")}, 0,
     NULL,
     "\"on_hand\":-1,\"reserved\":2,\"available\":-3,\"safety_stock\":0,\"backorder_limit\":3,"
     "\"low_stock_threshold\":5,\"backordered\":3"},
    {"stock.adjust short", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[1 3 1]")}, 1001, "out_of_stock",
     "\"sku\":\"A\",\"location\":\"L\",\"requested\":3,\"available\":1"},
    {"stock.adjust short, available below 0", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[1 3 -2]")},
     1001, "out_of_stock", "\"requested\":3,\"available\":-2"},
    {"stock.adjust too large", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[2]")}, -32602, "invalid_params",
     "\"field\":\"delta\""},
    {"stock.adjust the v1 reply", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[0 2 0 0]")}, -32603,
     "internal", NULL},
    {"stock.adjust threshold not a number", ADJUST,
     {CALL(SCRIPT_STOCK_ADJUST, "[0 2 0 0 0 'low']")}, -32603, "internal", NULL},
    {"stock.adjust short, no numbers", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[1]")}, -32603, "internal",
     NULL},
    {"stock.adjust short, more", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[1 3 1 0]")}, -32603,
     "internal", NULL},
    {"stock.adjust too large, more", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[2 1]")}, -32603, "internal",
     NULL},

    /* stock.get: groups of six, location then the row's counts */
    {"stock.get rows sorted", GET_STOCK,
     {CALL(SCRIPT_STOCK_GET, "[0 'W2' 1 0 0 0 '' 'W1' 5 2 1 0 '7']")}, 0, NULL,
     "\"locations\":[{\"sku\":\"A\",\"location\":\"W1\",\"on_hand\":5,\"reserved\":2,"
     "\"available\":2,\"safety_stock\":1,\"backorder_limit\":0,\"low_stock_threshold\":7,"
     "\"backordered\":0},{\"sku\":\"A\",\"location\":\"W2\""},
    {"stock.get totals with backorders", GET_STOCK,
     {CALL(SCRIPT_STOCK_GET, "[0 'W1' 1 3 0 2 '' 'W2' 4 0 0 0 '' 'W3' -1 0 0 0 '']")}, 0, NULL,
     "\"totals\":{\"on_hand\":4,\"reserved\":3,\"available\":1,\"backordered\":3}"},
    {"stock.get none", GET_STOCK, {CALL(SCRIPT_STOCK_GET, "[0]")}, 0, NULL,
     "\"locations\":[],\"totals\":{\"on_hand\":0,\"reserved\":0,\"available\":0,"
     "\"backordered\":0}"},
    {"stock.get broken group", GET_STOCK, {CALL(SCRIPT_STOCK_GET, "[0 'W1' 5 2 1 0]")}, -32603,
     "internal", NULL},
    {"stock.get groups of four (v1)", GET_STOCK,
     {CALL(SCRIPT_STOCK_GET, "[0 'W1' 5 2 1 'W2' 1 0 0]")}, -32603, "internal", NULL},
    {"stock.get number for a name", GET_STOCK, {CALL(SCRIPT_STOCK_GET, "[0 7 5 2 1 0 '']")}, -32603,
     "internal", NULL},
    {"stock.get bad threshold", GET_STOCK, {CALL(SCRIPT_STOCK_GET, "[0 'W1' 5 2 1 0 'x']")}, -32603,
     "internal", NULL},
    {"stock.get limit as text", GET_STOCK, {CALL(SCRIPT_STOCK_GET, "[0 'W1' 5 2 1 '0' '']")},
     -32603, "internal", NULL},

    /* channel.set, channel.get */
    {"channel.set", "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"web\","
                    "\"locations\":[\"A\",\"B\"]}}",
     {CALL(SCRIPT_CHANNEL_SET, "[0 '' 'A' 'B']")}, 0, NULL,
     "\"locations\":[\"A\",\"B\"],\"rules\":[\"channel_order\"]"},
    {"channel.get with rules", "{\"id\":1,\"method\":\"channel.get\",\"params\":{\"channel\":\"x\"}}",
     {CALL(SCRIPT_CHANNEL_GET, "[0 'nearest,priority' 'A']")}, 0, NULL,
     "\"locations\":[\"A\"],\"rules\":[\"nearest\",\"priority\"]"},
    {"channel.get unknown rule", "{\"id\":1,\"method\":\"channel.get\",\"params\":{\"channel\":\"x\"}}",
     {CALL(SCRIPT_CHANNEL_GET, "[0 'fastest' 'A']")}, -32603, "internal", NULL},
    {"channel.get no locations", "{\"id\":1,\"method\":\"channel.get\",\"params\":{\"channel\":\"x\"}}",
     {CALL(SCRIPT_CHANNEL_GET, "[0 '']")}, -32603, "internal", NULL},
    {"channel.get unknown", "{\"id\":1,\"method\":\"channel.get\",\"params\":{\"channel\":\"x\"}}",
     {CALL(SCRIPT_CHANNEL_GET, "[1]")}, 1005, "unknown_channel", NULL},
    {"channel.get number", "{\"id\":1,\"method\":\"channel.get\",\"params\":{\"channel\":\"x\"}}",
     {CALL(SCRIPT_CHANNEL_GET, "[0 '' 'A' 3]")}, -32603, "internal", NULL},
    {"channel.set status 1", "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"w\","
                             "\"locations\":[\"A\"]}}",
     {CALL(SCRIPT_CHANNEL_SET, "[1]")}, -32603, "internal", NULL},

    /* reserve */
    {"reserve held", RESERVE, {CALL(SCRIPT_RESERVE, "[0 0 " BODY ALLOC "]")}, 0, NULL,
     "\"replayed\":false"},
    {"reserve replayed", RESERVE,
     {CALL(SCRIPT_RESERVE, "[1 'RID']"), CALL(SCRIPT_RESERVATION_GET, "[1 " BODY ALLOC "]")}, 0, NULL,
     "\"replayed\":true"},
    {"reserve replay of other items", RESERVE,
     {CALL(SCRIPT_RESERVE, "[1 'RID']"), CALL(SCRIPT_RESERVATION_GET, "[3]")}, 1004,
     "idempotency_conflict", NULL},
    {"reserve bound to a bad id", RESERVE, {CALL(SCRIPT_RESERVE, "[1 'a:b']")}, -32603, "internal",
     NULL},
    {"reserve bound to a record gone since", RESERVE,
     {CALL(SCRIPT_RESERVE, "[1 'RID']"), CALL(SCRIPT_RESERVATION_GET, "[2]"),
      CALL(SCRIPT_RESERVE, "[0 0 " BODY ALLOC "]")},
     0, NULL, "\"replayed\":false"},
    {"reserve bound to a record gone, twice", RESERVE,
     {CALL(SCRIPT_RESERVE, "[1 'RID']"), CALL(SCRIPT_RESERVATION_GET, "[2]"),
      CALL(SCRIPT_RESERVE, "[1 'R2']"), CALL(SCRIPT_RESERVATION_GET, "[2]")},
     1002, "not_found", NULL},
    {"reserve short", RESERVE, {CALL(SCRIPT_RESERVE, "[2 'A' 2 1 0]")}, 1001, "out_of_stock",
     "\"sku\":\"A\",\"requested\":2,\"available\":1"},
    {"reserve short, bad sku", RESERVE, {CALL(SCRIPT_RESERVE, "[2 'A B' 2 1 0]")}, -32603, "internal",
     NULL},
    {"reserve no channel", RESERVE, {CALL(SCRIPT_RESERVE, "[3]")}, 1005, "unknown_channel", NULL},
    {"reserve held, broken allocation", RESERVE, {CALL(SCRIPT_RESERVE, "[0 0 " BODY " 'A' 'L']")},
     -32603, "internal", NULL},
    {"reserve held, no body", RESERVE, {CALL(SCRIPT_RESERVE, "[0 0]")}, -32603, "internal", NULL},
    {"reserve broken data", RESERVE, {CALL(SCRIPT_RESERVE, "[4 'WRONGTYPE']")}, -32603, "internal",
     NULL},
    {"reserve broken, no why", RESERVE, {CALL(SCRIPT_RESERVE, "[4]")}, -32603, "internal", NULL},
    {"reserve status 5", RESERVE, {CALL(SCRIPT_RESERVE, "[5]")}, -32603, "internal", NULL},
    {"reserve held, explained", RESERVE_EXPLAIN,
     {CALL(SCRIPT_RESERVE, "[0 2 'L' '1.2500' 'DE' 5 'M' '' '' -3 " BODY ALLOC "]")}, 0, NULL,
     "\"explain\":[{\"location\":\"L\",\"distance_km\":1.2500,\"zone\":\"DE\",\"priority\":5},"
     "{\"location\":\"M\",\"priority\":-3}]"},
    {"reserve held, explained unasked", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 1 'L' '' '' 0 " BODY ALLOC "]")}, -32603, "internal", NULL},
    {"reserve held, explain distance not a number", RESERVE_EXPLAIN,
     {CALL(SCRIPT_RESERVE, "[0 1 'L' '1.5km' '' 0 " BODY ALLOC "]")}, -32603, "internal", NULL},
    {"reserve held, explain count past the end", RESERVE_EXPLAIN,
     {CALL(SCRIPT_RESERVE, "[0 9 'L' '' '' 0 " BODY ALLOC "]")}, -32603, "internal", NULL},
    {"reserve held, explain count negative", RESERVE_EXPLAIN,
     {CALL(SCRIPT_RESERVE, "[0 -1 " BODY ALLOC "]")}, -32603, "internal", NULL},
    {"reserve short, explained", RESERVE_EXPLAIN,
     {CALL(SCRIPT_RESERVE, "[2 'A' 2 1 1 'L' '3.0000' '' 0]")}, 1001, "out_of_stock",
     "\"available\":1,\"explain\":[{\"location\":\"L\",\"distance_km\":3.0000,\"priority\":0}]"},
    {"reserve short, explain cut short", RESERVE_EXPLAIN,
     {CALL(SCRIPT_RESERVE, "[2 'A' 2 1 1 'L' '3.0000' '']")}, -32603, "internal", NULL},
    /* flags and shortages: a plain hold shows neither backordered nor
     * shortages; HOLD_BACKORDER (1) shows each allocation's backordered,
     * HOLD_PARTIAL (2) the shortages, [] when every line was filled. */
    {"reserve held, plain", RESERVE, {CALL(SCRIPT_RESERVE, "[0 0 " BODY " 'A' 'L' 2 0]")}, 0, NULL,
     "\"allocations\":[{\"sku\":\"A\",\"location\":\"L\",\"quantity\":2}],\"replayed\":false}"},
    {"reserve held, backorders", RESERVE,
     {CALL(SCRIPT_RESERVE,
           "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 1 0 'A' 'L' 2 1 'A' 'M' 3 0]")},
     0, NULL,
     "\"allocations\":[{\"sku\":\"A\",\"location\":\"L\",\"quantity\":2,\"backordered\":1},"
     "{\"sku\":\"A\",\"location\":\"M\",\"quantity\":3,\"backordered\":0}],\"replayed\":false}"},
    {"reserve held, partial", RESERVE,
     {CALL(SCRIPT_RESERVE,
           "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 2 2 'B' 5 2 'C' 4 0 'A' 'L' 2 0 'B' 'L' 2 "
           "0]")},
     0, NULL,
     "\"allocations\":[{\"sku\":\"A\",\"location\":\"L\",\"quantity\":2},{\"sku\":\"B\","
     "\"location\":\"L\",\"quantity\":2}],\"shortages\":[{\"sku\":\"B\",\"requested\":5,"
     "\"allocated\":2},{\"sku\":\"C\",\"requested\":4,\"allocated\":0}],\"replayed\":false}"},
    {"reserve held, partial and filled", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 2 0 'A' 'L' 2 0]")}, 0, NULL,
     "\"quantity\":2}],\"shortages\":[],\"replayed\":false"},
    {"reserve held, both", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 3 1 'A' 5 2 'A' 'L' 2 2]")},
     0, NULL,
     "\"quantity\":2,\"backordered\":2}],\"shortages\":[{\"sku\":\"A\",\"requested\":5,"
     "\"allocated\":2}]"},
    {"reserve held, explained with backorders", RESERVE_EXPLAIN,
     {CALL(SCRIPT_RESERVE,
           "[0 1 'L' '' '' 0 'RID' 'held' 'o-1' 100 900000100 '' 1 0 'A' 'L' 2 2]")},
     0, NULL, "\"backordered\":2}],\"replayed\":false,\"explain\":[{\"location\":\"L\""},
    {"reserve held, v1 allocations", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 0 0 'A' 'L' 2]")}, -32603,
     "internal", NULL},
    {"reserve held, v1 body", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 'A' 'L' 2]")}, -32603,
     "internal", NULL},
    {"reserve held, unknown flag", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 4 0" ALLOC "]")}, -32603,
     "internal", NULL},
    {"reserve held, negative flags", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' -1 0" ALLOC "]")}, -32603,
     "internal", NULL},
    {"reserve held, flags as text", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' '2' 0" ALLOC "]")}, -32603,
     "internal", NULL},
    {"reserve held, shortages negative", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 2 -1" ALLOC "]")}, -32603,
     "internal", NULL},
    {"reserve held, shortages past the end", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 2 2 'B' 5 2]")}, -32603,
     "internal", NULL},
    {"reserve held, a shortage cut short", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 2 1 'B' 5" ALLOC "]")},
     -32603, "internal", NULL},
    {"reserve held, a shortage's count as text", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 2 1 'B' '5' 2" ALLOC "]")},
     -32603, "internal", NULL},
    {"reserve held, backordered as text", RESERVE,
     {CALL(SCRIPT_RESERVE, "[0 0 'RID' 'held' 'o-1' 100 900000100 '' 1 0 'A' 'L' 2 '1']")},
     -32603, "internal", NULL},

    /* location.set, location.get, location.list */
    {"location.set", LOCATION_SET, {CALL(SCRIPT_LOCATION_SET, "[0 '52.52' '13.4' 'DE' '5' 'a,b']")},
     0, NULL,
     "{\"location\":\"W\",\"lat\":52.52,\"lng\":13.4,\"zone\":\"DE\",\"priority\":5,"
     "\"tags\":[\"a\",\"b\"]}"},
    {"location.get", LOCATION_GET, {CALL(SCRIPT_LOCATION_GET, "[0 '' '' '' '0' '']")}, 0, NULL,
     "{\"location\":\"W\",\"priority\":0,\"tags\":[]}"},
    {"location.get unknown", LOCATION_GET, {CALL(SCRIPT_LOCATION_GET, "[1]")}, 1002, "not_found",
     NULL},
    {"location.get lat not a number", LOCATION_GET,
     {CALL(SCRIPT_LOCATION_GET, "[0 'NaN' '1' '' '0' '']")}, -32603, "internal", NULL},
    {"location.get lat without lng", LOCATION_GET,
     {CALL(SCRIPT_LOCATION_GET, "[0 '1' '' '' '0' '']")}, -32603, "internal", NULL},
    {"location.get a lat that would break the JSON", LOCATION_GET,
     {CALL(SCRIPT_LOCATION_GET, "[0 '1,\"x\":2' '1' '' '0' '']")}, -32603, "internal", NULL},
    {"location.get priority out of range", LOCATION_GET,
     {CALL(SCRIPT_LOCATION_GET, "[0 '' '' '' '5000' '']")}, -32603, "internal", NULL},
    {"location.get priority not whole", LOCATION_GET,
     {CALL(SCRIPT_LOCATION_GET, "[0 '' '' '' '1.5' '']")}, -32603, "internal", NULL},
    {"location.get priority as a number", LOCATION_GET,
     {CALL(SCRIPT_LOCATION_GET, "[0 '' '' '' 1 '']")}, -32603, "internal", NULL},
    {"location.get bad tag", LOCATION_GET, {CALL(SCRIPT_LOCATION_GET, "[0 '' '' '' '0' 'a,b c']")},
     -32603, "internal", NULL},
    {"location.get bad zone", LOCATION_GET, {CALL(SCRIPT_LOCATION_GET, "[0 '' '' 'a\"b' '0' '']")},
     -32603, "internal", NULL},
    {"location.list", LOCATION_LIST,
     {CALL(SCRIPT_LOCATION_LIST, "[0 '0' 'B' '1' '-2.5e1' 'Z' '-1' 't' 'A' '' '' '' '0' '']")}, 0,
     NULL,
     "{\"locations\":[{\"location\":\"A\",\"priority\":0,\"tags\":[]},{\"location\":\"B\","
     "\"lat\":1,\"lng\":-2.5e1,\"zone\":\"Z\",\"priority\":-1,\"tags\":[\"t\"]}]}"},
    /* Pages until the cursor is 0, sorted, a name HSCAN gave twice once. */
    {"location.list in pages", LOCATION_LIST,
     {CALL(SCRIPT_LOCATION_LIST, "[0 '17' 'C' '' '' '' '12' '1,2']"),
      CALL(SCRIPT_LOCATION_LIST, "[0 '5' 'A' '' '' '' '-3' '' 'C' '' '' '' '12' '1,2']"),
      CALL(SCRIPT_LOCATION_LIST, "[0 '0' 'B' '' '' '' '1000' '']")},
     0, NULL,
     "{\"locations\":[{\"location\":\"A\",\"priority\":-3,\"tags\":[]},{\"location\":\"B\","
     "\"priority\":1000,\"tags\":[]},{\"location\":\"C\",\"priority\":12,\"tags\":[\"1\","
     "\"2\"]}]}"},
    {"location.list empty", LOCATION_LIST, {CALL(SCRIPT_LOCATION_LIST, "[0 '0']")}, 0, NULL,
     "{\"locations\":[]}"},
    {"location.list no cursor", LOCATION_LIST, {CALL(SCRIPT_LOCATION_LIST, "[0]")}, -32603,
     "internal", NULL},
    {"location.list broken group", LOCATION_LIST,
     {CALL(SCRIPT_LOCATION_LIST, "[0 '0' 'A' '' '' '' '0']")}, -32603, "internal", NULL},
    {"location.list bad name", LOCATION_LIST,
     {CALL(SCRIPT_LOCATION_LIST, "[0 '0' 'A:B' '' '' '' '0' '']")}, -32603, "internal", NULL},
    {"location.list bad page later", LOCATION_LIST,
     {CALL(SCRIPT_LOCATION_LIST, "[0 '9' 'A' '' '' '' '0' '']"),
      CALL(SCRIPT_LOCATION_LIST, "[0 '0' 'B' '' '' '' 'x' '']")},
     -32603, "internal", NULL},

    /* reservation.get */
    {"reservation.get", GET, {CALL(SCRIPT_RESERVATION_GET, "[0 " BODY ALLOC "]")}, 0, NULL,
     "\"order_id\":\"o-1\""},
    {"reservation.get not found", GET, {CALL(SCRIPT_RESERVATION_GET, "[2]")}, 1002, "not_found", NULL},
    {"reservation.get of a partial hold with backorders", GET,
     {CALL(SCRIPT_RESERVATION_GET,
           "[0 'RID' 'held' 'o-1' 100 900000100 '' 3 1 'B' 2 0 'A' 'L' 2 1]")},
     0, NULL,
     "\"allocations\":[{\"sku\":\"A\",\"location\":\"L\",\"quantity\":2,\"backordered\":1}],"
     "\"shortages\":[{\"sku\":\"B\",\"requested\":2,\"allocated\":0}]}"},
    {"reserve replayed, partial", RESERVE,
     {CALL(SCRIPT_RESERVE, "[1 'RID']"),
      CALL(SCRIPT_RESERVATION_GET,
           "[1 'RID' 'held' 'o-1' 100 900000100 '' 2 1 'A' 5 2 'A' 'L' 2 0]")},
     0, NULL, "\"shortages\":[{\"sku\":\"A\",\"requested\":5,\"allocated\":2}],\"replayed\":true"},
    {"reservation.get string for a time", GET,
     {CALL(SCRIPT_RESERVATION_GET, "[0 'RID' 'held' 'o-1' '100' 900 '']")}, -32603, "internal", NULL},

    /* extend */
    {"extend", "{\"id\":1,\"method\":\"extend\",\"params\":{\"reservation_id\":\"RID\","
               "\"ttl_ms\":5000}}",
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_EXTEND, "[0 " BODY ALLOC "]")}, 0, NULL, "\"expires_at\":900000100"},
    {"extend expired", "{\"id\":1,\"method\":\"extend\",\"params\":{\"reservation_id\":\"RID\","
                       "\"ttl_ms\":5000}}",
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_EXTEND, "[2]")}, 1003, "expired", NULL},
    {"extend committed", "{\"id\":1,\"method\":\"extend\",\"params\":{\"reservation_id\":\"RID\","
                         "\"ttl_ms\":5000}}",
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_EXTEND, "[3]")}, 1003, "committed", NULL},
    {"extend released", "{\"id\":1,\"method\":\"extend\",\"params\":{\"reservation_id\":\"RID\","
                        "\"ttl_ms\":5000}}",
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_EXTEND, "[4]")}, 1003, "released", NULL},
    {"extend not found", "{\"id\":1,\"method\":\"extend\",\"params\":{\"reservation_id\":\"RID\","
                         "\"ttl_ms\":5000}}",
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_EXTEND, "[1]")}, 1002, "not_found", NULL},
    {"extend expired, more", "{\"id\":1,\"method\":\"extend\",\"params\":{\"reservation_id\":"
                             "\"RID\",\"ttl_ms\":5000}}",
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_EXTEND, "[2 'x']")}, -32603, "internal", NULL},

    /* reservation.update: plan, then act. {UPDATED | UNCHANGED, reservation}
     * answer it with changed; the failures carry their data. */
    {"update", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[0 " BODY ALLOC "]")}, 0, NULL,
     "\"quantity\":2}],\"changed\":true}"},
    {"update unchanged", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[1 " BODY ALLOC "]")}, 0, NULL,
     "\"quantity\":2}],\"changed\":false}"},
    {"update of a partial hold with backorders", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_UPDATE, "[0 'RID' 'held' 'o-1' 100 900000100 '' 3 0 'A' 'L' 3 1]")},
     0, NULL, "\"quantity\":3,\"backordered\":1}],\"shortages\":[],\"changed\":true}"},
    {"update not found", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 '' 'default' -1]"), CALL(SCRIPT_UPDATE, "[2]")}, 1002,
     "not_found", NULL},
    {"update committed", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[3 'committed']")}, 1003,
     "not_held", "\"data\":{\"reason\":\"not_held\",\"status\":\"committed\"}"},
    {"update expired", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[3 'expired']")}, 1003,
     "not_held", "\"status\":\"expired\""},
    {"update of a sku that is no line", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[4 'C']")}, -32602,
     "invalid_params", "\"field\":\"items\",\"sku\":\"C\""},
    {"update dropping every line", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[5]")}, -32602, "invalid_params",
     "\"data\":{\"reason\":\"invalid_params\",\"field\":\"items\"}"},
    {"update short", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[6 'A' 1 0]")}, 1001,
     "out_of_stock", "\"sku\":\"A\",\"requested\":1,\"available\":0}"},
    {"update short, backorder capacity", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[6 'A' 7 5]")}, 1001,
     "out_of_stock", "\"requested\":7,\"available\":5"},
    {"update, plan went stale once", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[7]"),
      CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 'default' 2 'A' 'B']"),
      CALL(SCRIPT_UPDATE, "[1 " BODY ALLOC "]")},
     0, NULL, "\"changed\":false"},
    {"update, plan stale every time", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[7]"),
      CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[7]"),
      CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[7]")},
     -32603, "internal", NULL},
    {"update, plan with a bad channel", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 'a b' 1 'A']")}, -32603, "internal", NULL},
    {"update, plan with a number for a channel", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 7 1 'A']")}, -32603, "internal", NULL},
    {"update, plan of the v1 shape", UPDATE, {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 1 'A']")},
     -32603, "internal", NULL},
    {"update not found, more", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[2 'x']")}, -32603, "internal",
     NULL},
    {"update not held, no status", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[3]")}, -32603, "internal", NULL},
    {"update not held, a bad status", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[3 'not \"held\"']")}, -32603,
     "internal", NULL},
    {"update no line, no sku", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[4]")}, -32603, "internal", NULL},
    {"update no line, a bad sku", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[4 'a:b']")}, -32603, "internal",
     NULL},
    {"update no line left, more", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[5 'A']")}, -32603, "internal",
     NULL},
    {"update short, cut short", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[6 'A' 1]")}, -32603, "internal",
     NULL},
    {"update short, a count as text", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[6 'A' '1' 0]")}, -32603,
     "internal", NULL},
    {"update updated, no body", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[0]")}, -32603, "internal", NULL},
    {"update unknown status", UPDATE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_UPDATE, "[8]")}, -32603, "internal", NULL},

    /* reservation.transfer: the same, its own failures */
    {"transfer", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_TRANSFER, "[0 'RID' 'held' 'o-1' 100 900000100 ''" FLAGS0 " 'A' 'M' 2 0]")},
     0, NULL, "\"location\":\"M\",\"quantity\":2}],\"changed\":true}"},
    {"transfer retried", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[1 " BODY ALLOC "]")}, 0, NULL,
     "\"changed\":false}"},
    {"transfer with backorders", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_TRANSFER, "[0 'RID' 'held' 'o-1' 100 900000100 '' 1 0 'A' 'M' 2 2]")},
     0, NULL, "\"quantity\":2,\"backordered\":2}],\"changed\":true}"},
    {"transfer not found", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 '' 'default' -1]"), CALL(SCRIPT_TRANSFER, "[2]")}, 1002,
     "not_found", NULL},
    {"transfer released", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[3 'released']")}, 1003,
     "not_held", "\"data\":{\"reason\":\"not_held\",\"status\":\"released\"}"},
    {"transfer of a sku it does not hold", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[4 'A']")}, -32602,
     "invalid_params", "\"field\":\"sku\",\"sku\":\"A\""},
    {"transfer of more than it holds there", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[5 1]")}, 1003,
     "not_at_location", "\"data\":{\"reason\":\"not_at_location\",\"location\":\"L\",\"held\":1}"},
    {"transfer from where it holds nothing", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[5 0]")}, 1003,
     "not_at_location", "\"location\":\"L\",\"held\":0}"},
    {"transfer short", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[6 'A' 2 1]")}, 1001,
     "out_of_stock", "\"sku\":\"A\",\"requested\":2,\"available\":1}"},
    {"transfer, plan went stale once", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[7]"),
      CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[0 " BODY ALLOC "]")},
     0, NULL, "\"changed\":true"},
    {"transfer not at, no count", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[5]")}, -32603, "internal", NULL},
    {"transfer not at, count as text", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[5 '1']")}, -32603, "internal",
     NULL},
    {"transfer not at, more", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[5 1 'L']")}, -32603, "internal",
     NULL},
    {"transfer no line, no sku", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[4]")}, -32603, "internal", NULL},
    {"transfer short, more", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[6 'A' 2 1 0]")}, -32603,
     "internal", NULL},
    {"transfer not held, a number", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[3 3]")}, -32603, "internal",
     NULL},
    {"transfer unknown status", TRANSFER,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_TRANSFER, "[8]")}, -32603, "internal", NULL},

    /* commit: plan, then act */
    {"commit", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_COMMIT, "[0 'RID' 'committed' 'o-1' 100 9 ''" FLAGS0 ALLOC "]")},
     0, NULL, "\"status\":\"committed\""},
    {"commit expired", COMMIT, {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_COMMIT, "[2]")}, 1003,
     "expired", NULL},
    {"commit released", COMMIT, {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_COMMIT, "[3]")}, 1003,
     "released", NULL},
    {"commit not found", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 '' 'default' -1]"),
      CALL(SCRIPT_COMMIT, "[1]")}, 1002, "not_found", NULL},
    {"commit, plan went stale once", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_COMMIT, "[4]"),
      CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 'default' 2 'A' 'B']"),
      CALL(SCRIPT_COMMIT, "[0 " BODY ALLOC "]")},
     0, NULL, NULL},
    {"commit, plan stale every time", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_COMMIT, "[4]"),
      CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_COMMIT, "[4]"),
      CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_COMMIT, "[4]")},
     -32603, "internal", NULL},
    {"commit, plan with a bad sku", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 'default' 1 'A:B']")}, -32603, "internal", NULL},
    {"commit, plan with a bad order", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 '{x}' 'default' 1 'A']")}, -32603, "internal", NULL},
    {"commit, plan counts wrong", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 'default' 3 'A']")}, -32603, "internal", NULL},
    {"commit, plan too long", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 'default' 1 'A' 'B']")}, -32603, "internal", NULL},
    {"commit, plan without the channel (v1)", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 1 'A']")}, -32603, "internal", NULL},
    {"commit, act times out", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), FAIL(SCRIPT_COMMIT, STORE_UNKNOWN)}, 2002, "timeout",
     NULL},
    {"commit, act not confirmed by the replicas", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), FAIL(SCRIPT_COMMIT, STORE_NOT_REPLICATED)}, 2002,
     "replication", NULL},

    /* release */
    {"release a hold", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_RELEASE, "[0 'RID' 'released' 'o-1' 1 9 'x'" FLAGS0 ALLOC "]")},
     0, NULL, "\"status\":\"released\""},
    {"release a sale", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_RELEASE, "[1 'RID' 'released' 'o-1' 1 9 ''" FLAGS0 ALLOC "]")},
     0, NULL, "\"status\":\"released\""},
    {"release past its deadline", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_RELEASE, "[2 'RID' 'expired' 'o-1' 1 9 ''" FLAGS0 ALLOC "]")},
     0, NULL, "\"status\":\"expired\""},
    {"release again", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_RELEASE, "[3 'RID' 'released' 'o-1' 1 9 ''" FLAGS0 ALLOC "]")},
     0, NULL, NULL},
    {"release not found", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 '' 'default' -1]"),
      CALL(SCRIPT_RELEASE, "[4]")}, 1002, "not_found", NULL},
    {"release with no body", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_RELEASE, "[0]")}, -32603, "internal", NULL},

    /* stock.audit: is the ledger whole (the script with no sku), its pages
     * (XRANGE), SCAN, the script per page with the ledger segment, the
     * skus only the ledger names, then ZSCAN and the index script. The
     * script's ledger part: added, rows per sku checked, then the tail. */
    {"audit one page", AUDIT_ALL,
     {PROBE(0), CALL(CMD, "['0' ['{inv}:stock:A' '{inv}:stock:B']]"),
      CALL(SCRIPT_AUDIT, "[0 2 1 1 'A' 'L' 3 2 0 0 0 0 0]"), CALL(CMD, "['0' ['RID' '9']]"),
      CALL(SCRIPT_AUDIT_INDEX, "[0 1 0]")},
     0, NULL, "\"ok\":false,\"skus_checked\":2,\"holds\":1"},
    {"audit a page in two calls", AUDIT_ALL,
     {PROBE(0), CALL(CMD, "['0' ['{inv}:stock:A' '{inv}:stock:B']]"),
      CALL(SCRIPT_AUDIT, "[0 1 1 0 0 0 0 0]"), CALL(SCRIPT_AUDIT, "[0 1 0 0 0 0 0 0]"),
      CALL(CMD, "['0' []]")},
     0, NULL,
     "\"ok\":true,\"skus_checked\":2,\"holds\":1,\"differences\":[],\"stale_index\":[],"
     "\"late_due\":[],\"ledger\":{\"replayed\":true,\"entries\":0,\"differences\":[]}}"},
    {"audit stale entries once", AUDIT_ALL,
     {PROBE(0), CALL(CMD, "['0' []]"), CALL(CMD, "['7' ['R1' '9']]"),
      CALL(SCRIPT_AUDIT_INDEX, "[0 0 1 'R1' 'missing']"), CALL(CMD, "['0' ['R1' '9']]"),
      CALL(SCRIPT_AUDIT_INDEX, "[0 0 1 'R1' 'missing']")},
     0, NULL, "\"stale_index\":[{\"reservation_id\":\"R1\",\"status\":\"missing\"}]"},
    {"audit one sku", AUDIT_A, {PROBE(0), CALL(SCRIPT_AUDIT, "[0 1 3 0 0 0 0 0]")}, 0, NULL,
     "\"ok\":true,\"skus_checked\":1,\"holds\":3"},
    {"audit a sku due late", AUDIT_A, {PROBE(0), CALL(SCRIPT_AUDIT, "[0 1 1 0 1 'A' -1 1700 0 0 0]")},
     0, NULL,
     "\"ok\":false,\"skus_checked\":1,\"holds\":1,\"differences\":[],\"stale_index\":[],"
     "\"late_due\":[{\"sku\":\"A\",\"due\":null,\"earliest\":1700}]"},
    {"audit late past the end", AUDIT_A, {PROBE(0), CALL(SCRIPT_AUDIT, "[0 1 1 0 2 'A' -1 1700]")},
     -32603, "internal", NULL},
    {"audit checked none", AUDIT_A, {PROBE(0), CALL(SCRIPT_AUDIT, "[0 0 0 0 0 0 0]")}, -32603,
     "internal", NULL},
    {"audit checked more than asked", AUDIT_A, {PROBE(0), CALL(SCRIPT_AUDIT, "[0 2 0 0 0 0 0 0 0]")},
     -32603, "internal", NULL},
    {"audit SCAN of another shape", AUDIT_ALL, {PROBE(0), CALL(CMD, "['0']")}, -32603, "internal",
     NULL},
    {"audit ZSCAN with a bad id", AUDIT_ALL,
     {PROBE(0), CALL(CMD, "['0' []]"), CALL(CMD, "['0' ['a b' '1']]")}, -32603, "internal", NULL},
    {"audit counts past the end", AUDIT_A, {PROBE(0), CALL(SCRIPT_AUDIT, "[0 1 0 9 'A']")}, -32603,
     "internal", NULL},
    {"audit index held more than asked", AUDIT_ALL,
     {PROBE(0), CALL(CMD, "['0' []]"), CALL(CMD, "['0' ['R1' '9']]"),
      CALL(SCRIPT_AUDIT_INDEX, "[0 2 0]")},
     -32603, "internal", NULL},
    {"audit a Redis error", AUDIT_ALL, {CALL(SCRIPT_AUDIT, "!ERR unknown command")}, -32603,
     "internal", NULL},
    {"audit a Redis error on SCAN", AUDIT_ALL, {PROBE(0), CALL(CMD, "!ERR unknown command")},
     -32603, "internal", NULL},
    /* The ledger: replayed (a page, then the tail the check read with the
     * counts), with and without a difference. */
    {"audit ledger difference", AUDIT_A,
     {PROBE(3),
      CALL(CMD, "[" ENTRY("1-1", "set", "A", "5") ENTRY("1-2", "reserve", "A", "2")
                    ENTRY("1-3", "set", "B", "9") "]"),
      CALL(SCRIPT_AUDIT, "[0 1 1 0 0 4 1 'L' '5' '3' 1 '1-4' 'commit' 'A' 'L' '1']")},
     0, NULL,
     "\"ok\":false,\"skus_checked\":1,\"holds\":1,\"differences\":[],\"stale_index\":[],"
     "\"late_due\":[],\"ledger\":{\"replayed\":true,\"entries\":4,\"differences\":[{\"sku\":\"A\","
     "\"location\":\"L\",\"on_hand\":5,\"reserved\":3,\"ledger_on_hand\":4,\"ledger_reserved\":1}]}}"},
    {"audit ledger clean", AUDIT_A,
     {PROBE(3),
      CALL(CMD, "[" ENTRY("1-1", "set", "A", "5") ENTRY("1-2", "reserve", "A", "2")
                    ENTRY("1-3", "set", "B", "9") "]"),
      CALL(SCRIPT_AUDIT, "[0 1 1 0 0 4 1 'L' '4' '1' 1 '1-4' 'commit' 'A' 'L' '1']")},
     0, NULL, "\"ok\":true,\"skus_checked\":1,\"holds\":1"},
    /* A location the ledger never names must have nothing; a sku only the
     * ledger names is checked after SCAN's. */
    {"audit ledger names no such location", AUDIT_A,
     {PROBE(0), CALL(SCRIPT_AUDIT, "[0 1 0 0 0 0 2 'M' '' '0' 'N' '2' '' 0]")}, 0, NULL,
     "\"differences\":[{\"sku\":\"A\",\"location\":\"N\",\"on_hand\":2,\"reserved\":0,"
     "\"ledger_on_hand\":0,\"ledger_reserved\":0}]"},
    {"audit a sku only the ledger names", AUDIT_ALL,
     {PROBE(1), CALL(CMD, "[" ENTRY("1-1", "adjust", "Z", "-5") "]"), CALL(CMD, "['0' []]"),
      CALL(SCRIPT_AUDIT, "[0 1 0 0 0 1 0 0]"), CALL(CMD, "['0' []]")},
     0, NULL,
     "\"ok\":false,\"skus_checked\":1,\"holds\":0,\"differences\":[],\"stale_index\":[],"
     "\"late_due\":[],\"ledger\":{\"replayed\":true,\"entries\":1,\"differences\":[{\"sku\":\"Z\","
     "\"location\":\"L\",\"on_hand\":0,\"reserved\":0,\"ledger_on_hand\":-5,\"ledger_reserved\":0}]}}"},
    /* Not replayed: trimmed before, or during the audit; entries it cannot
     * replay; Redis that does not count. The rest of the audit goes on. */
    {"audit ledger trimmed", AUDIT_A,
     {CALL(SCRIPT_AUDIT, "[2 'trimmed' 1500 1000]"), CALL(SCRIPT_AUDIT, "[0 1 0 0 0]")}, 0, NULL,
     "\"ok\":true,\"skus_checked\":1,\"holds\":0,\"differences\":[],\"stale_index\":[],"
     "\"late_due\":[],\"ledger\":{\"replayed\":false,\"entries\":1000,\"differences\":[],"
     "\"why\":\"the ledger was trimmed (--ledger-maxlen) or had entries deleted: it holds 1000 of "
     "the 1500 entries ever added to it\"}}"},
    {"audit ledger trimmed during the audit", AUDIT_A,
     {PROBE(1), CALL(CMD, "[" ENTRY("1-1", "set", "A", "5") "]"),
      CALL(SCRIPT_AUDIT, "[2 'trimmed' 3 1]"), CALL(SCRIPT_AUDIT, "[0 1 0 0 0]")},
     0, NULL, "\"replayed\":false,\"entries\":1,\"differences\":[],\"why\":\"the ledger was "
              "trimmed (--ledger-maxlen) during the audit"},
    {"audit ledger entry of an unknown type", AUDIT_A,
     {PROBE(1), CALL(CMD, "[" ENTRY("1-1", "teleport", "A", "5") "]"),
      CALL(SCRIPT_AUDIT, "[0 1 0 0 0]")},
     0, NULL, "\"replayed\":false,\"entries\":1,\"differences\":[],\"why\":\"ledger entry 1-1 "
              "cannot be replayed: type teleport"},
    {"audit ledger tail of an unknown type", AUDIT_A,
     {PROBE(0), CALL(SCRIPT_AUDIT, "[0 1 0 0 0 1 0 1 '1-1' 'set' 'A' 'L' 'x']")}, 0, NULL,
     "\"ok\":true,\"skus_checked\":1,\"holds\":0,\"differences\":[],\"stale_index\":[],"
     "\"late_due\":[],\"ledger\":{\"replayed\":false,\"entries\":1,\"differences\":[],\"why\":"
     "\"ledger entry 1-1 cannot be replayed"},
    {"audit ledger uncounted", AUDIT_A,
     {CALL(SCRIPT_AUDIT, "[2 'uncounted' 0 7]"), CALL(SCRIPT_AUDIT, "[0 1 0 0 0]")}, 0, NULL,
     "\"replayed\":false,\"entries\":7,\"differences\":[],\"why\":\"Redis does not count"},
    /* Behind: more after the cursor than one call reads. The replay reads
     * on (here the stream ends at once), then the call is made again. */
    {"audit ledger behind", AUDIT_A,
     {PROBE(0), CALL(SCRIPT_AUDIT, "[1 5000]"), CALL(CMD, "[]"),
      CALL(SCRIPT_AUDIT, "[0 1 0 0 0 0 0 0]")},
     0, NULL, "\"ok\":true,\"skus_checked\":1"},
    {"audit ledger rows past the end", AUDIT_A,
     {PROBE(0), CALL(SCRIPT_AUDIT, "[0 1 0 0 0 0 5 'L']")}, -32603, "internal", NULL},
    {"audit ledger tail past the end", AUDIT_A,
     {PROBE(0), CALL(SCRIPT_AUDIT, "[0 1 0 0 0 0 0 2 '1-1' 'set' 'A' 'L' '1']")}, -32603,
     "internal", NULL},
    {"audit ledger page of another shape", AUDIT_A, {PROBE(1), CALL(CMD, "['1-1']")}, -32603,
     "internal", NULL},
    {"audit ledger probe of another shape", AUDIT_A, {CALL(SCRIPT_AUDIT, "[0 0 0 0 0 1]")}, -32603,
     "internal", NULL},
    {"audit ledger behind without a count", AUDIT_A, {CALL(SCRIPT_AUDIT, "[1]")}, -32603,
     "internal", NULL},
};

static void run_case(const struct contract_case *tc)
{
    setup(NULL);
    start(tc->request);
    for (size_t s = 0; s < sizeof tc->steps / sizeof tc->steps[0]; s++) {
        const struct step *st = &tc->steps[s];
        if (!st->used)
            break;
        if (kernel.answers != 0)
            fail_msg("%s: answered before step %zu: %s", tc->name, s, kernel.answer);
        if (!fake.pending)
            fail_msg("%s: step %zu: no call was made", tc->name, s);
        if (fake.last.script != st->script)
            fail_msg("%s: step %zu: called %d, expected %d", tc->name, s, fake.last.script,
                     st->script);
        if (st->reply != NULL)
            reply_text(st->reply);
        else
            fake_outcome(st->outcome);
    }
    /* Never a hang: exactly one answer, and nothing left waiting. */
    if (kernel.answers != 1)
        fail_msg("%s: %d answers", tc->name, kernel.answers);
    if (fake.pending)
        fail_msg("%s: a call is still waiting after the answer", tc->name);
    int code;
    cJSON *resp = fake_answer(tc->name, &code);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(resp, "error");
    if (code != tc->code)
        fail_msg("%s: answered %d, expected %d: %s", tc->name, code, tc->code, kernel.answer);
    if (tc->reason != NULL) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(error, "data");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(data, "reason");
        if (!cJSON_IsString(reason) || strcmp(reason->valuestring, tc->reason) != 0)
            fail_msg("%s: reason is not %s: %s", tc->name, tc->reason, kernel.answer);
    }
    if (tc->has != NULL && strstr(kernel.answer, tc->has) == NULL)
        fail_msg("%s: the answer lacks %s: %s", tc->name, tc->has, kernel.answer);
    cJSON_Delete(resp);
    /* The kernel's books balance. */
    assert_int_equal(kernel.metrics.inflight, 0);
    teardown(NULL);
}

static void test_contract_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* A handler that returns without answering or calling: a bug. */
static void forgetful_handler(struct request *req)
{
    (void)req;
}

/* The kernel's safety net: a reader that returns without answering, a reply
 * of a shape its contract does not allow, and an unexpected Redis error are
 * each answered -32603 and counted by cause. */
static void test_internal_errors_are_counted(void **state)
{
    (void)state;
    setup(NULL);
    request_handler_fn handlers[METHOD_COUNT];
    memcpy(handlers, dispatch_handlers, sizeof handlers);
    handlers[METHOD_PING] = forgetful_handler;
    request_pool_free(kernel.pool);
    kernel.pool = request_pool_new(NULL, &kernel.cfg, &kernel.metrics, handlers);
    start("{\"id\":1,\"method\":\"ping\"}");
    assert_int_equal(kernel.answers, 1);
    assert_non_null(strstr(kernel.answer, "\"code\":-32603"));
    assert_int_equal(kernel.metrics.internal_errors[INTERNAL_UNFINISHED], 1);
    teardown(NULL);

    setup(NULL);
    start(SET);
    reply_text("[0 1]");
    assert_int_equal(kernel.metrics.internal_errors[INTERNAL_MALFORMED], 1);
    teardown(NULL);

    setup(NULL);
    start(SET);
    reply_text("!ERR boom");
    assert_int_equal(kernel.metrics.internal_errors[INTERNAL_REDIS_ERROR], 1);
    teardown(NULL);
}

/* stock.set's ARGV: '' keeps the safety stock, the backorder limit and
 * the threshold; a null threshold is 'none' (cleared). */
static void test_stock_set_arguments(void **state)
{
    (void)state;
    static const struct {
        const char *extra; /* params after on_hand */
        const char *safety, *backorder, *low_stock;
    } set_cases[] = {
        {"", "", "", ""},
        {",\"safety_stock\":2,\"backorder_limit\":0,\"low_stock_threshold\":0", "2", "0", "0"},
        {",\"backorder_limit\":1000000000", "", "1000000000", ""},
        {",\"low_stock_threshold\":null", "", "", "none"},
        {",\"low_stock_threshold\":1000000000000000,\"backorder_limit\":7", "", "7",
         "1000000000000000"},
    };
    for (size_t i = 0; i < sizeof set_cases / sizeof set_cases[0]; i++) {
        char req[512];
        snprintf(req, sizeof req,
                 "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":"
                 "\"L\",\"on_hand\":5%s}}",
                 set_cases[i].extra);
        setup(NULL);
        start(req);
        assert_int_equal(fake.last.script, SCRIPT_STOCK_SET);
        assert_int_equal(fake.last.nkeys, STOCK_SET_K_FIXED);
        assert_int_equal(fake.last.args.n, STOCK_SET_K_FIXED + STOCK_SET_A_FIXED);
        assert_string_equal(fake_arg(STOCK_SET_K_STOCK), "{inv}:stock:A");
        assert_string_equal(fake_arg(STOCK_SET_K_EVENTS), "{inv}:events");
        assert_string_equal(fake_arg(STOCK_SET_K_STOCK_EVENTS), "{inv}:stock-events");
        int a = STOCK_SET_K_FIXED;
        assert_string_equal(fake_arg(a + STOCK_SET_A_LOCATION), "L");
        assert_string_equal(fake_arg(a + STOCK_SET_A_ON_HAND), "5");
        assert_string_equal(fake_arg(a + STOCK_SET_A_SKU), "A");
        assert_string_equal(fake_arg(a + STOCK_SET_A_MAXLEN), "1000000");
        if (strcmp(fake_arg(a + STOCK_SET_A_SAFETY), set_cases[i].safety) != 0 ||
            strcmp(fake_arg(a + STOCK_SET_A_BACKORDER), set_cases[i].backorder) != 0 ||
            strcmp(fake_arg(a + STOCK_SET_A_LOW_STOCK), set_cases[i].low_stock) != 0)
            fail_msg("%s: SAFETY '%s' BACKORDER '%s' LOW_STOCK '%s'", set_cases[i].extra,
                     fake_arg(a + STOCK_SET_A_SAFETY), fake_arg(a + STOCK_SET_A_BACKORDER),
                     fake_arg(a + STOCK_SET_A_LOW_STOCK));
        reply_text("[0 5 0 0 0 '']");
        assert_int_equal(kernel.answers, 1);
        teardown(NULL);
    }
}

/* What the builders send, position by position, is the contract. */
static void test_reserve_arguments(void **state)
{
    (void)state;
    setup(NULL);
    start("{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"A\",\"quantity\":2},"
          "{\"sku\":\"B\",\"quantity\":1}],\"channel\":\"web\",\"locations\":[\"L1\",\"L2\"],"
          "\"strategy\":\"split\",\"ttl_ms\":5000}}");
    assert_true(fake.pending);
    /* A batch of one: the shared KEYS, then the order's own. */
    int kb = RESERVE_K_FIXED;
    assert_int_equal(fake.last.nkeys, kb + RESERVE_EK_FIXED + 4);
    assert_string_equal(fake_arg(RESERVE_K_DUE), "{inv}:due");
    assert_string_equal(fake_arg(RESERVE_K_EVENTS), "{inv}:events");
    assert_string_equal(fake_arg(RESERVE_K_LOCATIONS), "{inv}:locations");
    assert_string_equal(fake_arg(RESERVE_K_STOCK_EVENTS), "{inv}:stock-events");
    char res_key[64];
    snprintf(res_key, sizeof res_key, "%s", fake_arg(kb + RESERVE_EK_RES));
    assert_int_equal(strlen(res_key), strlen("{inv}:res:") + REQUEST_ID_LEN);
    /* No order_id: the binding key is the reservation's own. */
    assert_string_equal(fake_arg(kb + RESERVE_EK_ORDER), res_key);
    assert_string_equal(fake_arg(kb + RESERVE_EK_CHANNEL), "{inv}:channel:web");
    assert_string_equal(fake_arg(kb + RESERVE_EK_RULES), "{inv}:rules:web");
    assert_string_equal(fake_arg(kb + RESERVE_EK_FIXED), "{inv}:stock:A");
    assert_string_equal(fake_arg(kb + RESERVE_EK_FIXED + 1), "{inv}:stock:B");
    assert_string_equal(fake_arg(kb + RESERVE_EK_FIXED + 2), "{inv}:holds:A");
    assert_string_equal(fake_arg(kb + RESERVE_EK_FIXED + 3), "{inv}:holds:B");
    int a = fake.last.nkeys;
    assert_string_equal(fake_arg(a + RESERVE_A_MAXLEN), "1000000");
    int ab = a + RESERVE_A_FIXED;
    assert_string_equal(fake_arg(ab + RESERVE_EA_ID), res_key + strlen("{inv}:res:"));
    assert_string_equal(fake_arg(ab + RESERVE_EA_ORDER_ID), "");
    assert_string_equal(fake_arg(ab + RESERVE_EA_TTL), "5000");
    assert_string_equal(fake_arg(ab + RESERVE_EA_STRATEGY), "split");
    assert_string_equal(fake_arg(ab + RESERVE_EA_STALE), "");
    assert_string_equal(fake_arg(ab + RESERVE_EA_ROUTE), "");
    assert_string_equal(fake_arg(ab + RESERVE_EA_FLAGS), "0");
    assert_string_equal(fake_arg(ab + RESERVE_EA_CHANNEL), "web");
    assert_string_equal(fake_arg(ab + RESERVE_EA_N), "2");
    const char *tail[] = {"A", "2", "B", "1", "2", "L1", "L2"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(fake_arg(ab + RESERVE_EA_FIXED + i), tail[i]);
    assert_int_equal(fake.last.args.n, ab + RESERVE_EA_FIXED + 7);
    reply_text("[2 'A' 2 0 0]");
    teardown(NULL);
}

/* allow_backorder and allow_partial go as one FLAGS argument (HOLD_*),
 * and the channel by name, "default" when the request names none. */
static void test_reserve_flags(void **state)
{
    (void)state;
    static const struct {
        const char *extra; /* params after items */
        const char *flags, *channel;
    } flag_cases[] = {
        {"", "0", "default"},
        {",\"allow_backorder\":false,\"allow_partial\":false", "0", "default"},
        {",\"allow_backorder\":true", "1", "default"},
        {",\"allow_partial\":true,\"channel\":\"store/eu\"", "2", "store/eu"},
        {",\"allow_partial\":true,\"allow_backorder\":true,\"channel\":\"default\"", "3",
         "default"},
    };
    for (size_t i = 0; i < sizeof flag_cases / sizeof flag_cases[0]; i++) {
        char req[512];
        snprintf(req, sizeof req,
                 "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"A\","
                 "\"quantity\":1}]%s}}",
                 flag_cases[i].extra);
        setup(NULL);
        start(req);
        assert_true(fake.pending);
        int kb = RESERVE_K_FIXED, ab = fake.last.nkeys + RESERVE_A_FIXED;
        if (strcmp(fake_arg(ab + RESERVE_EA_FLAGS), flag_cases[i].flags) != 0)
            fail_msg("%s: FLAGS %s, expected %s", flag_cases[i].extra,
                     fake_arg(ab + RESERVE_EA_FLAGS), flag_cases[i].flags);
        if (strcmp(fake_arg(ab + RESERVE_EA_CHANNEL), flag_cases[i].channel) != 0)
            fail_msg("%s: CHANNEL %s", flag_cases[i].extra, fake_arg(ab + RESERVE_EA_CHANNEL));
        /* The channel's keys name the same channel. */
        char key[64];
        snprintf(key, sizeof key, "{inv}:channel:%s", flag_cases[i].channel);
        assert_string_equal(fake_arg(kb + RESERVE_EK_CHANNEL), key);
        assert_string_equal(fake_arg(ab + RESERVE_EA_N), "1");
        assert_string_equal(fake_arg(ab + RESERVE_EA_FIXED), "A");
        reply_text("[2 'A' 1 0 0]");
        assert_int_equal(kernel.answers, 1);
        teardown(NULL);
    }
}

/* The order's route: destination, zone, max_distance_km and explain, in
 * one argument, packed (route.h); empty for an order that has none. */
static void test_reserve_route(void **state)
{
    (void)state;
    static const struct {
        const char *extra; /* params after items */
        struct route want;
        bool empty;
    } routes[] = {
        {"", {.zone = {"", 0}}, true},
        {",\"explain\":false", {.zone = {"", 0}}, true},
        {",\"explain\":true", {.zone = {"", 0}, .explain = true}, false},
        {",\"destination\":{\"lat\":52.52,\"lng\":-13.405}",
         {.has_dest = true, .lat = 52.52, .lng = -13.405, .zone = {"", 0}}, false},
        {",\"destination\":{\"lat\":0.1,\"lng\":180,\"zone\":\"EU/DE\"},\"max_distance_km\":12.5,"
         "\"explain\":true",
         {true, 0.1, 180, {"EU/DE", 5}, true, 12.5, true}, false},
        {",\"destination\":{\"lat\":-90,\"lng\":1e-7},\"max_distance_km\":1e300",
         {true, -90, 1e-7, {"", 0}, true, 1e300, false}, false},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        char req[512];
        snprintf(req, sizeof req,
                 "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"A\","
                 "\"quantity\":1}]%s}}",
                 routes[i].extra);
        setup(NULL);
        start(req);
        assert_true(fake.pending);
        int at = fake.last.nkeys + RESERVE_A_FIXED + RESERVE_EA_ROUTE;
        struct str got = args_get(&fake.last.args, at);
        struct buf want;
        buf_init(&want);
        if (!routes[i].empty)
            route_pack(&want, &routes[i].want);
        if (got.n != want.len || (got.n > 0 && memcmp(got.p, want.data, got.n) != 0))
            fail_msg("%s: the route differs (%zu bytes, expected %zu)", routes[i].extra, got.n,
                     want.len);
        buf_free(&want);
        reply_text("[2 'A' 1 0 0]");
        teardown(NULL);
    }
}

/* The act is given exactly the keys the plan named: the binding, and each
 * sku's stock key once. */
static void test_commit_keys_from_the_plan(void **state)
{
    (void)state;
    setup(NULL);
    start(COMMIT);
    assert_int_equal(fake.last.script, SCRIPT_RESERVATION_PLAN);
    assert_int_equal(fake.last.nkeys, 1);
    assert_string_equal(fake_arg(0), "{inv}:res:RID");
    /* The channel is update's; commit's keys do not name it. */
    reply_text("[0 'o-1' 'web' 2 'B' 'A']");
    assert_int_equal(fake.last.script, SCRIPT_COMMIT);
    const char *keys[] = {"{inv}:expiry",       "{inv}:events",    "{inv}:quarantine",
                          "{inv}:due",          "{inv}:locations", "{inv}:stock-events",
                          "{inv}:res:RID",      "{inv}:order:o-1", "{inv}:stock:A",
                          "{inv}:stock:B",      "{inv}:holds:A",   "{inv}:holds:B"};
    assert_int_equal(fake.last.nkeys, 12);
    for (int i = 0; i < 12; i++)
        assert_string_equal(fake_arg(i), keys[i]);
    const char *argv[] = {"86400", "1000000", "", "0", "1", "1", "RID", "2", "A", "B"};
    assert_int_equal(fake.last.args.n, 12 + 10);
    for (int i = 0; i < 10; i++)
        assert_string_equal(fake_arg(12 + i), argv[i]);
    reply_text("[1]");
    assert_int_equal(kernel.answers, 1);
    teardown(NULL);
}

/* Checks the last call's KEYS and ARGV against want (NULL-terminated
 * lists). */
static void expect_call(int script, const char *const *keys, const char *const *argv)
{
    assert_int_equal(fake.last.script, script);
    int nk = 0, na = 0;
    while (keys[nk] != NULL)
        nk++;
    while (argv[na] != NULL)
        na++;
    if (fake.last.nkeys != nk || fake.last.args.n != nk + na)
        fail_msg("%d keys and %d args, expected %d and %d", fake.last.nkeys,
                 fake.last.args.n - fake.last.nkeys, nk, na);
    for (int i = 0; i < nk + na; i++) {
        const char *want = i < nk ? keys[i] : argv[i - nk];
        if (strcmp(fake_arg(i), want) != 0)
            fail_msg("%s[%d] is '%s', expected '%s'", i < nk ? "KEYS" : "ARGV",
                     (i < nk ? i : i - nk) + 1, fake_arg(i), want);
    }
}

/* reservation.update's act: the transition's keys, then the channel and
 * rules keys of the reservation's channel (from the plan); its ARGV end
 * with u and the items as given, quantity 0 included. */
static void test_update_arguments(void **state)
{
    (void)state;
    setup(NULL);
    start("{\"id\":1,\"method\":\"reservation.update\",\"params\":{\"reservation_id\":\"RID\","
          "\"items\":[{\"sku\":\"B\",\"quantity\":0},{\"sku\":\"A\",\"quantity\":3}]}}");
    assert_int_equal(fake.last.script, SCRIPT_RESERVATION_PLAN);
    assert_int_equal(fake.last.nkeys, 1);
    assert_string_equal(fake_arg(0), "{inv}:res:RID");
    reply_text("[0 'o-1' 'store/eu' 2 'B' 'A']");
    expect_call(SCRIPT_UPDATE,
                (const char *const[]){"{inv}:expiry", "{inv}:events", "{inv}:quarantine",
                                      "{inv}:due", "{inv}:locations", "{inv}:stock-events",
                                      "{inv}:res:RID", "{inv}:order:o-1", "{inv}:stock:A",
                                      "{inv}:stock:B", "{inv}:holds:A", "{inv}:holds:B",
                                      "{inv}:channel:store/eu", "{inv}:rules:store/eu", NULL},
                (const char *const[]){"86400", "1000000", "", "0", "1", "1", "RID", "2", "A", "B",
                                      "2", "B", "0", "A", "3", NULL});
    /* A plan that went stale: planned again, and the act follows the new
     * plan (another channel, no binding, one sku). */
    reply_text("[7]");
    assert_int_equal(fake.last.script, SCRIPT_RESERVATION_PLAN);
    reply_text("[0 '' 'default' 1 'A']");
    expect_call(SCRIPT_UPDATE,
                (const char *const[]){"{inv}:expiry", "{inv}:events", "{inv}:quarantine",
                                      "{inv}:due", "{inv}:locations", "{inv}:stock-events",
                                      "{inv}:res:RID", "{inv}:res:RID", "{inv}:stock:A",
                                      "{inv}:holds:A", "{inv}:channel:default",
                                      "{inv}:rules:default", NULL},
                (const char *const[]){"86400", "1000000", "", "0", "1", "1", "RID", "1", "A", "2",
                                      "B", "0", "A", "3", NULL});
    reply_text("[1 " BODY ALLOC "]");
    assert_int_equal(kernel.answers, 1);
    assert_non_null(strstr(kernel.answer, "\"changed\":false"));
    teardown(NULL);
}

/* reservation.transfer's act: the transition's keys only; its ARGV end
 * with sku, from, to and the quantity ('' for all). */
static void test_transfer_arguments(void **state)
{
    (void)state;
    static const struct {
        const char *params;
        const char *quantity;
    } transfer_cases[] = {
        {"\"sku\":\"B\",\"from\":\"wh-1\",\"to\":\"wh-2\"", ""},
        {"\"to\":\"wh-2\",\"quantity\":1000000000,\"from\":\"wh-1\",\"sku\":\"B\"", "1000000000"},
    };
    for (size_t i = 0; i < sizeof transfer_cases / sizeof transfer_cases[0]; i++) {
        char req[512];
        snprintf(req, sizeof req,
                 "{\"id\":1,\"method\":\"reservation.transfer\",\"params\":{\"reservation_id\":"
                 "\"RID\",%s}}",
                 transfer_cases[i].params);
        setup(NULL);
        start(req);
        assert_int_equal(fake.last.script, SCRIPT_RESERVATION_PLAN);
        reply_text("[0 'o-1' 'web' 2 'B' 'A']");
        expect_call(SCRIPT_TRANSFER,
                    (const char *const[]){"{inv}:expiry", "{inv}:events", "{inv}:quarantine",
                                          "{inv}:due", "{inv}:locations", "{inv}:stock-events",
                                          "{inv}:res:RID", "{inv}:order:o-1", "{inv}:stock:A",
                                          "{inv}:stock:B", "{inv}:holds:A", "{inv}:holds:B", NULL},
                    (const char *const[]){"86400", "1000000", "", "0", "1", "1", "RID", "2", "A",
                                          "B", "B", "wh-1", "wh-2", transfer_cases[i].quantity,
                                          NULL});
        /* NOT_AT names the request's from. */
        reply_text("[5 3]");
        assert_int_equal(kernel.answers, 1);
        assert_non_null(strstr(kernel.answer, "\"location\":\"wh-1\",\"held\":3"));
        teardown(NULL);
    }
}

/* Redis known to be down: answered at once, 2001, nothing sent. */
/* stock.audit's calls, position by position: the probe and each check
 * carry the ledger segment after their own KEYS and ARGV; the replay reads
 * after the last entry it has. */
static void test_audit_arguments(void **state)
{
    (void)state;
    setup(NULL);
    start(AUDIT_A);
    assert_int_equal(fake.last.script, SCRIPT_AUDIT);
    assert_int_equal(fake.last.nkeys, AUDIT_K_FIXED + AUDIT_EK_FIXED);
    assert_string_equal(fake_arg(AUDIT_K_DUE), "{inv}:due");
    assert_string_equal(fake_arg(AUDIT_K_EXPIRY), "{inv}:expiry");
    assert_string_equal(fake_arg(AUDIT_K_FIXED + AUDIT_EK_EVENTS), "{inv}:events");
    int a = fake.last.nkeys;
    assert_int_equal(fake.last.args.n, a + AUDIT_A_FIXED + AUDIT_EA_FIXED);
    assert_string_equal(fake_arg(a + AUDIT_A_BUDGET), "20000");
    assert_string_equal(fake_arg(a + AUDIT_A_M), "0");
    assert_string_equal(fake_arg(a + AUDIT_A_FIXED + AUDIT_EA_READ), "0");
    assert_string_equal(fake_arg(a + AUDIT_A_FIXED + AUDIT_EA_CURSOR), "0-0");
    assert_string_equal(fake_arg(a + AUDIT_A_FIXED + AUDIT_EA_TAIL), "4000");
    reply_text("[0 0 0 0 0 2 0]");
    assert_int_equal(fake.last.script, CMD);
    static const char *const xrange[] = {"XRANGE", "{inv}:events", "(0-0", "+", "COUNT", "1000"};
    assert_int_equal(fake.last.args.n, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(fake_arg(i), xrange[i]);
    reply_text("[" ENTRY("5-1", "set", "A", "5") ENTRY("5-2", "reserve", "B", "1") "]");
    assert_int_equal(fake.last.script, SCRIPT_AUDIT);
    assert_int_equal(fake.last.nkeys, AUDIT_K_FIXED + 2 + AUDIT_EK_FIXED);
    assert_string_equal(fake_arg(AUDIT_K_FIXED), "{inv}:stock:A");
    assert_string_equal(fake_arg(AUDIT_K_FIXED + 1), "{inv}:holds:A");
    assert_string_equal(fake_arg(AUDIT_K_FIXED + 2 + AUDIT_EK_EVENTS), "{inv}:events");
    a = fake.last.nkeys;
    assert_int_equal(fake.last.args.n, a + AUDIT_A_FIXED + 1 + AUDIT_EA_FIXED);
    assert_string_equal(fake_arg(a + AUDIT_A_M), "1");
    assert_string_equal(fake_arg(a + AUDIT_A_FIXED), "A");
    int la = a + AUDIT_A_FIXED + 1;
    assert_string_equal(fake_arg(la + AUDIT_EA_READ), "2");
    assert_string_equal(fake_arg(la + AUDIT_EA_CURSOR), "5-2");
    /* B's entry was read, not summed: the audit of A replays A's only. */
    reply_text("[0 1 0 0 0 2 1 'L' '5' '' 0]");
    assert_int_equal(kernel.answers, 1);
    assert_non_null(strstr(kernel.answer, "\"ok\":true"));
    assert_non_null(strstr(kernel.answer, "\"ledger\":{\"replayed\":true,\"entries\":2,"));
    teardown(NULL);
}

static void test_redis_down_answers_at_once(void **state)
{
    (void)state;
    setup(NULL);
    fake.down = true;
    start(SET);
    assert_int_equal(kernel.answers, 1);
    assert_non_null(strstr(kernel.answer, "\"code\":2001"));
    assert_int_equal(fake.calls, 0);
    teardown(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_cases),
        cmocka_unit_test(test_internal_errors_are_counted),
        cmocka_unit_test(test_stock_set_arguments),
        cmocka_unit_test(test_reserve_arguments),
        cmocka_unit_test(test_reserve_flags),
        cmocka_unit_test(test_reserve_route),
        cmocka_unit_test(test_commit_keys_from_the_plan),
        cmocka_unit_test(test_audit_arguments),
        cmocka_unit_test(test_update_arguments),
        cmocka_unit_test(test_transfer_arguments),
        cmocka_unit_test(test_redis_down_answers_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
