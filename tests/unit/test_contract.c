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
#include "config.h"
#include "dispatch.h"
#include "fake_store.h"
#include "log.h"
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

static struct config cfg;
static struct metrics metrics;
static struct request_pool *pool;
static int answers;
static char answer[4096];

static void on_done(struct request *req)
{
    answers++;
    size_t n = req->out.len < sizeof answer - 1 ? req->out.len : sizeof answer - 1;
    memcpy(answer, req->out.data, n);
    answer[n] = '\0';
    request_put(req);
}

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    char *argv[] = {"stockd", NULL};
    char err[256];
    /* The internal errors below are logged by design: keep the output for
     * cmocka's report. */
    log_setup((enum log_level)(LOG_ERROR + 1), LOG_TEXT);
    assert_int_equal(config_parse(&cfg, 1, argv, no_env, NULL, err, sizeof err), CONFIG_OK);
    metrics_init(&metrics);
    fake_reset();
    pool = request_pool_new(NULL, &cfg, &metrics, dispatch_handlers);
    answers = 0;
    answer[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    request_pool_free(pool);
    fake_reset();
    return 0;
}

static struct session session = {true};

static void start(const char *line)
{
    struct request *req = request_get(pool, NULL, on_done);
    request_start(req, &session, line, strlen(line));
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

#define BODY "'RID' 'held' 'o-1' 100 900000100 ''"
#define ALLOC " 'A' 'L' 2"
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
#define PLAN "[0 'o-1' 1 'A']"
#define SET                                                                                        \
    "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":\"L\","           \
    "\"on_hand\":5}}"
#define ADJUST                                                                                     \
    "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"A\",\"location\":\"L\","        \
    "\"delta\":-3}}"

static const struct contract_case cases[] = {
    /* stock.set */
    {"stock.set ok", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0]")}, 0, NULL, "\"available\":4"},
    {"stock.set below reserved", SET, {CALL(SCRIPT_STOCK_SET, "[1 7]")}, 1003, "below_reserved",
     "\"reserved\":7"},
    {"stock.set short reply", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1]")}, -32603, "internal", NULL},
    {"stock.set long reply", SET, {CALL(SCRIPT_STOCK_SET, "[0 5 1 0 9]")}, -32603, "internal", NULL},
    {"stock.set string for a number", SET, {CALL(SCRIPT_STOCK_SET, "[0 '5' 1 0]")}, -32603,
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

    /* stock.adjust */
    {"stock.adjust ok", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[0 2 0 0]")}, 0, NULL, "\"on_hand\":2"},
    {"stock.adjust short", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[1 3 1]")}, 1001, "out_of_stock",
     "\"requested\":3,\"available\":1"},
    {"stock.adjust too large", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[2]")}, -32602, "invalid_params",
     "\"field\":\"delta\""},
    {"stock.adjust short, no numbers", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[1]")}, -32603, "internal",
     NULL},
    {"stock.adjust too large, more", ADJUST, {CALL(SCRIPT_STOCK_ADJUST, "[2 1]")}, -32603, "internal",
     NULL},

    /* stock.get */
    {"stock.get rows sorted", "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}",
     {CALL(SCRIPT_STOCK_GET, "[0 'W2' 1 0 0 'W1' 5 2 1]")}, 0, NULL,
     "\"location\":\"W1\",\"on_hand\":5,\"reserved\":2,\"available\":2"},
    {"stock.get none", "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}",
     {CALL(SCRIPT_STOCK_GET, "[0]")}, 0, NULL, "\"locations\":[]"},
    {"stock.get broken group", "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}",
     {CALL(SCRIPT_STOCK_GET, "[0 'W1' 5 2]")}, -32603, "internal", NULL},
    {"stock.get number for a name", "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}",
     {CALL(SCRIPT_STOCK_GET, "[0 7 5 2 1]")}, -32603, "internal", NULL},

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
    {"reservation.get string for a time", GET,
     {CALL(SCRIPT_RESERVATION_GET, "[0 'RID' 'held' 'o-1' '100' 900 '']")}, -32603, "internal", NULL},

    /* extend */
    {"extend", "{\"id\":1,\"method\":\"extend\",\"params\":{\"reservation_id\":\"RID\","
               "\"ttl_ms\":5000}}",
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_EXTEND, "[0 " BODY ALLOC "]")}, 0, NULL, "\"expires_at\":900000100"},
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
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_EXTEND, "[2 'x']")}, -32603, "internal", NULL},

    /* commit: plan, then act */
    {"commit", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_COMMIT, "[0 'RID' 'committed' 'o-1' 100 9 ''" ALLOC "]")},
     0, NULL, "\"status\":\"committed\""},
    {"commit expired", COMMIT, {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_COMMIT, "[2]")}, 1003,
     "expired", NULL},
    {"commit released", COMMIT, {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_COMMIT, "[3]")}, 1003,
     "released", NULL},
    {"commit not found", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 '' -1]"), CALL(SCRIPT_COMMIT, "[1]")}, 1002, "not_found", NULL},
    {"commit, plan went stale once", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN),
      CALL(SCRIPT_COMMIT, "[4]"),
      CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 2 'A' 'B']"),
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
    {"commit, plan with a bad sku", COMMIT, {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 1 'A:B']")},
     -32603, "internal", NULL},
    {"commit, plan with a bad order", COMMIT, {CALL(SCRIPT_RESERVATION_PLAN, "[0 '{x}' 1 'A']")},
     -32603, "internal", NULL},
    {"commit, plan counts wrong", COMMIT, {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 3 'A']")}, -32603,
     "internal", NULL},
    {"commit, plan too long", COMMIT, {CALL(SCRIPT_RESERVATION_PLAN, "[0 'o-1' 1 'A' 'B']")}, -32603,
     "internal", NULL},
    {"commit, act times out", COMMIT,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), FAIL(SCRIPT_COMMIT, STORE_UNKNOWN)}, 2002, "timeout",
     NULL},

    /* release */
    {"release a hold", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_RELEASE, "[0 'RID' 'released' 'o-1' 1 9 'x'" ALLOC "]")},
     0, NULL, "\"status\":\"released\""},
    {"release a sale", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_RELEASE, "[1 'RID' 'released' 'o-1' 1 9 ''" ALLOC "]")},
     0, NULL, "\"status\":\"released\""},
    {"release past its deadline", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_RELEASE, "[2 'RID' 'expired' 'o-1' 1 9 ''" ALLOC "]")},
     0, NULL, "\"status\":\"expired\""},
    {"release again", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_RELEASE, "[3 'RID' 'released' 'o-1' 1 9 ''" ALLOC "]")},
     0, NULL, NULL},
    {"release not found", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, "[0 '' -1]"), CALL(SCRIPT_RELEASE, "[4]")}, 1002, "not_found", NULL},
    {"release with no body", RELEASE,
     {CALL(SCRIPT_RESERVATION_PLAN, PLAN), CALL(SCRIPT_RELEASE, "[0]")}, -32603, "internal", NULL},

    /* stock.audit: SCAN, the script per page, then ZSCAN and the index script */
    {"audit one page", "{\"id\":1,\"method\":\"stock.audit\"}",
     {CALL(CMD, "['0' ['{inv}:stock:A' '{inv}:stock:B']]"),
      CALL(SCRIPT_AUDIT, "[0 2 1 1 'A' 'L' 3 2 0]"),
      CALL(CMD, "['0' ['RID' '9']]"),
      CALL(SCRIPT_AUDIT_INDEX, "[0 1 0]")},
     0, NULL, "\"ok\":false,\"skus_checked\":2,\"holds\":1"},
    {"audit a page in two calls", "{\"id\":1,\"method\":\"stock.audit\"}",
     {CALL(CMD, "['0' ['{inv}:stock:A' '{inv}:stock:B']]"),
      CALL(SCRIPT_AUDIT, "[0 1 1 0 0]"),
      CALL(SCRIPT_AUDIT, "[0 1 0 0 0]"),
      CALL(CMD, "['0' []]")},
     0, NULL, "\"ok\":true,\"skus_checked\":2,\"holds\":1"},
    {"audit stale entries once", "{\"id\":1,\"method\":\"stock.audit\"}",
     {CALL(CMD, "['0' []]"),
      CALL(CMD, "['7' ['R1' '9']]"),
      CALL(SCRIPT_AUDIT_INDEX, "[0 0 1 'R1' 'missing']"),
      CALL(CMD, "['0' ['R1' '9']]"),
      CALL(SCRIPT_AUDIT_INDEX, "[0 0 1 'R1' 'missing']")},
     0, NULL, "\"stale_index\":[{\"reservation_id\":\"R1\",\"status\":\"missing\"}]"},
    {"audit one sku", "{\"id\":1,\"method\":\"stock.audit\",\"params\":{\"sku\":\"A\"}}",
     {CALL(SCRIPT_AUDIT, "[0 1 3 0 0]")}, 0, NULL, "\"ok\":true,\"skus_checked\":1,\"holds\":3"},
    {"audit a sku due late", "{\"id\":1,\"method\":\"stock.audit\",\"params\":{\"sku\":\"A\"}}",
     {CALL(SCRIPT_AUDIT, "[0 1 1 0 1 'A' -1 1700]")}, 0, NULL,
     "\"ok\":false,\"skus_checked\":1,\"holds\":1,\"differences\":[],\"stale_index\":[],"
     "\"late_due\":[{\"sku\":\"A\",\"due\":null,\"earliest\":1700}]"},
    {"audit late past the end", "{\"id\":1,\"method\":\"stock.audit\",\"params\":{\"sku\":"
                                "\"A\"}}",
     {CALL(SCRIPT_AUDIT, "[0 1 1 0 2 'A' -1 1700]")}, -32603, "internal", NULL},
    {"audit checked none", "{\"id\":1,\"method\":\"stock.audit\",\"params\":{\"sku\":\"A\"}}",
     {CALL(SCRIPT_AUDIT, "[0 0 0 0 0]")}, -32603, "internal", NULL},
    {"audit checked more than asked", "{\"id\":1,\"method\":\"stock.audit\",\"params\":{\"sku\":"
                                      "\"A\"}}",
     {CALL(SCRIPT_AUDIT, "[0 2 0 0 0]")}, -32603, "internal", NULL},
    {"audit SCAN of another shape", "{\"id\":1,\"method\":\"stock.audit\"}", {CALL(CMD, "['0']")},
     -32603, "internal", NULL},
    {"audit ZSCAN with a bad id", "{\"id\":1,\"method\":\"stock.audit\"}",
     {CALL(CMD, "['0' []]"), CALL(CMD, "['0' ['a b' '1']]")}, -32603, "internal", NULL},
    {"audit counts past the end", "{\"id\":1,\"method\":\"stock.audit\",\"params\":{\"sku\":"
                                  "\"A\"}}",
     {CALL(SCRIPT_AUDIT, "[0 1 0 9 'A']")}, -32603, "internal", NULL},
    {"audit index held more than asked", "{\"id\":1,\"method\":\"stock.audit\"}",
     {CALL(CMD, "['0' []]"), CALL(CMD, "['0' ['R1' '9']]"), CALL(SCRIPT_AUDIT_INDEX, "[0 2 0]")},
     -32603, "internal", NULL},
    {"audit a Redis error", "{\"id\":1,\"method\":\"stock.audit\"}",
     {CALL(CMD, "!ERR unknown command")}, -32603, "internal", NULL},
};

static void run_case(const struct contract_case *tc)
{
    setup(NULL);
    start(tc->request);
    for (size_t s = 0; s < sizeof tc->steps / sizeof tc->steps[0]; s++) {
        const struct step *st = &tc->steps[s];
        if (!st->used)
            break;
        if (answers != 0)
            fail_msg("%s: answered before step %zu: %s", tc->name, s, answer);
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
    if (answers != 1)
        fail_msg("%s: %d answers", tc->name, answers);
    if (fake.pending)
        fail_msg("%s: a call is still waiting after the answer", tc->name);
    cJSON *resp = cJSON_Parse(answer);
    if (resp == NULL)
        fail_msg("%s: the answer is not JSON: %s", tc->name, answer);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(resp, "error");
    int code = error ? cJSON_GetObjectItemCaseSensitive(error, "code")->valueint : 0;
    if (code != tc->code)
        fail_msg("%s: answered %d, expected %d: %s", tc->name, code, tc->code, answer);
    if (tc->reason != NULL) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(error, "data");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(data, "reason");
        if (!cJSON_IsString(reason) || strcmp(reason->valuestring, tc->reason) != 0)
            fail_msg("%s: reason is not %s: %s", tc->name, tc->reason, answer);
    }
    if (tc->has != NULL && strstr(answer, tc->has) == NULL)
        fail_msg("%s: the answer lacks %s: %s", tc->name, tc->has, answer);
    cJSON_Delete(resp);
    /* The kernel's books balance. */
    assert_int_equal(metrics.inflight, 0);
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
    request_pool_free(pool);
    pool = request_pool_new(NULL, &cfg, &metrics, handlers);
    start("{\"id\":1,\"method\":\"ping\"}");
    assert_int_equal(answers, 1);
    assert_non_null(strstr(answer, "\"code\":-32603"));
    assert_int_equal(metrics.internal_errors[INTERNAL_UNFINISHED], 1);
    teardown(NULL);

    setup(NULL);
    start(SET);
    reply_text("[0 1]");
    assert_int_equal(metrics.internal_errors[INTERNAL_MALFORMED], 1);
    teardown(NULL);

    setup(NULL);
    start(SET);
    reply_text("!ERR boom");
    assert_int_equal(metrics.internal_errors[INTERNAL_REDIS_ERROR], 1);
    teardown(NULL);
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
    assert_string_equal(fake_arg(ab + RESERVE_EA_N), "2");
    const char *tail[] = {"A", "2", "B", "1", "2", "L1", "L2"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(fake_arg(ab + RESERVE_EA_FIXED + i), tail[i]);
    assert_int_equal(fake.last.args.n, ab + RESERVE_EA_FIXED + 7);
    reply_text("[2 'A' 2 0 0]");
    teardown(NULL);
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
    reply_text("[0 'o-1' 2 'B' 'A']");
    assert_int_equal(fake.last.script, SCRIPT_COMMIT);
    const char *keys[] = {"{inv}:expiry",  "{inv}:events",    "{inv}:quarantine",
                          "{inv}:due",     "{inv}:res:RID",   "{inv}:order:o-1",
                          "{inv}:stock:A", "{inv}:stock:B",   "{inv}:holds:A",
                          "{inv}:holds:B"};
    assert_int_equal(fake.last.nkeys, 10);
    for (int i = 0; i < 10; i++)
        assert_string_equal(fake_arg(i), keys[i]);
    const char *argv[] = {"86400", "1000000", "", "0", "1", "1", "RID", "2", "A", "B"};
    assert_int_equal(fake.last.args.n, 10 + 10);
    for (int i = 0; i < 10; i++)
        assert_string_equal(fake_arg(10 + i), argv[i]);
    reply_text("[1]");
    assert_int_equal(answers, 1);
    teardown(NULL);
}

/* Redis known to be down: answered at once, 2001, nothing sent. */
static void test_redis_down_answers_at_once(void **state)
{
    (void)state;
    setup(NULL);
    fake.down = true;
    start(SET);
    assert_int_equal(answers, 1);
    assert_non_null(strstr(answer, "\"code\":2001"));
    assert_int_equal(fake.calls, 0);
    teardown(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_cases),
        cmocka_unit_test(test_internal_errors_are_counted),
        cmocka_unit_test(test_reserve_arguments),
        cmocka_unit_test(test_reserve_route),
        cmocka_unit_test(test_commit_keys_from_the_plan),
        cmocka_unit_test(test_redis_down_answers_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
