/* Integration: stock-level events, cause by cause, through the real
 * stockd. Every path that changes available at a (sku, location) (reserve,
 * commit, release, expiry by the sweeper or by a reserve that gives back
 * due holds, stock.adjust, stock.set, reservation.update and
 * reservation.transfer) appends to {inv}:stock-events exactly the
 * low_stock, out_of_stock and back_in_stock entries of the levels it
 * crosses, and a refused or invalid request appends nothing. After each
 * test the prev chains are checked and stock.audit must agree. */
#include <sys/wait.h>

#include "events_util.h"

/* --- steps of these tests --------------------------------------------------- */

static long long stream_len(void)
{
    redisReply *r = harness_redis(&H, "XLEN " STREAM);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
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
        TEST(test_refused_requests_append_nothing),
    };
    return harness_run("events", tests, sizeof tests / sizeof tests[0], 2, args);
}
