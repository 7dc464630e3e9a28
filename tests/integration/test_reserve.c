/* Integration: reserve and reservation.get. The location rules of story
 * scenario 2 (channel order, shipping-rule order filtered by the channel),
 * every strategy on cases where they differ, all-or-nothing orders, the
 * exact out_of_stock data, idempotent replays and the records in Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* The test's connection to the one stockd. */
static int conn(void)
{
    return harness_client(0);
}

static void call_ok(const char *req)
{
    cJSON *r = client_call(conn(), req);
    if (resp_error_code(r) != 0)
        fail_msg("%s failed: %s", req, cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
}

static void set_channel(const char *channel, const char *locations_json)
{
    char req[512];
    snprintf(
        req, sizeof req,
        "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"%s\",\"locations\":%s}}",
        channel, locations_json);
    call_ok(req);
}

static cJSON *reserve(const char *params)
{
    return client_callf(conn(), "{\"id\":1,\"method\":\"reserve\",\"params\":%s}", params);
}

/* Allocations as "sku@location=q" joined by ",", in reply order. */
static const char *allocs(const cJSON *result)
{
    static char out[1024];
    out[0] = '\0';
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(result, "allocations"))
    {
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, "%s%s@%s=%lld", n ? "," : "", json_str(a, "sku"),
                 json_str(a, "location"), json_int(a, "quantity"));
    }
    return out;
}

static const cJSON *error_data(const cJSON *r)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "error"), "data");
}

static void expect_out_of_stock(cJSON *r, const char *sku, long long requested, long long available)
{
    assert_int_equal(resp_error_code(r), 1001);
    assert_string_equal(resp_error_reason(r), "out_of_stock");
    assert_string_equal(json_str(error_data(r), "sku"), sku);
    assert_int_equal(json_int(error_data(r), "requested"), requested);
    assert_int_equal(json_int(error_data(r), "available"), available);
}

/* Story scenario 2: the location comes from the channel's order, not from
 * the alphabet or the order stock was recorded in. */
static void test_channel_order_decides(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "a-dc", 5); /* first alphabetically and first recorded */
    client_stock_set(conn(), "A", "z-store", 5);
    client_stock_set(conn(), "A", "m-wh", 5);
    set_channel("web", "[\"m-wh\",\"z-store\",\"a-dc\"]");

    cJSON *r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":2}],\"channel\":\"web\"}");
    assert_string_equal(allocs(resp_result(r)), "A@m-wh=2");
    cJSON_Delete(r);
    assert_int_equal(stock_row(conn(), "A", "m-wh").reserved, 2);
    assert_int_equal(stock_row(conn(), "A", "a-dc").reserved, 0);

    /* When the preferred location runs short, the next in channel order. */
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":4}],\"channel\":\"web\"}");
    assert_string_equal(allocs(resp_result(r)), "A@z-store=4");
    cJSON_Delete(r);
}

/* Shipping rules: the request's locations, in the request's order, limited
 * to the locations the channel allows. */
static void test_request_locations_filtered_by_channel(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "a-dc", 5);
    client_stock_set(conn(), "A", "z-store", 5);
    client_stock_set(conn(), "A", "m-wh", 5);
    client_stock_set(conn(), "A", "outside", 100);
    set_channel("web", "[\"m-wh\",\"z-store\",\"a-dc\"]");

    cJSON *r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"channel\":\"web\","
                       "\"locations\":[\"z-store\",\"m-wh\"]}");
    assert_string_equal(allocs(resp_result(r)), "A@z-store=1");
    cJSON_Delete(r);

    /* A location outside the channel is never used, even with stock. */
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"channel\":\"web\","
                "\"locations\":[\"outside\",\"a-dc\"]}");
    assert_string_equal(allocs(resp_result(r)), "A@a-dc=1");
    cJSON_Delete(r);
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":50}],\"channel\":\"web\","
                "\"locations\":[\"outside\",\"a-dc\"]}");
    expect_out_of_stock(r, "A", 50, 4);
    cJSON_Delete(r);
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"channel\":\"web\","
                "\"locations\":[\"outside\"]}");
    expect_out_of_stock(r, "A", 1, 0); /* no candidate left */
    cJSON_Delete(r);
    assert_int_equal(stock_row(conn(), "A", "outside").reserved, 0);

    /* A channel that is not configured does not filter explicit locations. */
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"channel\":\"pos\","
                "\"locations\":[\"outside\"]}");
    assert_string_equal(allocs(resp_result(r)), "A@outside=1");
    cJSON_Delete(r);
}

static void test_unknown_and_default_channel(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "L1", 5);
    cJSON *r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"channel\":\"nope\"}");
    assert_int_equal(resp_error_code(r), 1005);
    assert_string_equal(resp_error_reason(r), "unknown_channel");
    cJSON_Delete(r);
    /* Without channel: the channel named "default". */
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":1}]}");
    assert_int_equal(resp_error_code(r), 1005);
    cJSON_Delete(r);
    set_channel("default", "[\"L1\"]");
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":1}]}");
    assert_string_equal(allocs(resp_result(r)), "A@L1=1");
    cJSON_Delete(r);
    assert_int_equal(stock_row(conn(), "A", "L1").reserved, 1);
}

/* One stock picture on which the strategies choose differently:
 *        A  B
 *   L1   2  1
 *   L2   1  2
 *   L3   2  2
 * An order for A x2, B x2. */
static void strategy_stock(void)
{
    client_stock_set(conn(), "A", "L1", 2);
    client_stock_set(conn(), "B", "L1", 1);
    client_stock_set(conn(), "A", "L2", 1);
    client_stock_set(conn(), "B", "L2", 2);
    client_stock_set(conn(), "A", "L3", 2);
    client_stock_set(conn(), "B", "L3", 2);
    set_channel("web", "[\"L1\",\"L2\",\"L3\"]");
}

static void test_strategies_differ(void **state)
{
    (void)state;
    static const struct {
        const char *strategy;
        const char *allocs;
    } cases[] = {
        {"single", "A@L3=2,B@L3=2"},
        {"per_line", "A@L1=2,B@L2=2"},
        {"split", "A@L1=2,B@L1=1,B@L2=1"},
        {"auto", "A@L3=2,B@L3=2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        harness_flush(&H);
        strategy_stock();
        char params[256];
        snprintf(params, sizeof params,
                 "{\"items\":[{\"sku\":\"A\",\"quantity\":2},{\"sku\":\"B\",\"quantity\":2}],"
                 "\"channel\":\"web\",\"strategy\":\"%s\"}",
                 cases[i].strategy);
        cJSON *r = reserve(params);
        if (strcmp(allocs(resp_result(r)), cases[i].allocs) != 0)
            fail_msg("%s: got %s, want %s", cases[i].strategy, allocs(resp_result(r)),
                     cases[i].allocs);
        cJSON_Delete(r);
    }
}

static void test_auto_falls_back(void **state)
{
    (void)state;
    /* No L3: nothing fills the whole order, so auto takes per_line. */
    client_stock_set(conn(), "A", "L1", 2);
    client_stock_set(conn(), "B", "L1", 1);
    client_stock_set(conn(), "A", "L2", 1);
    client_stock_set(conn(), "B", "L2", 2);
    set_channel("web", "[\"L1\",\"L2\"]");
    const char *order = "{\"items\":[{\"sku\":\"A\",\"quantity\":2},{\"sku\":\"B\","
                        "\"quantity\":2}],\"channel\":\"web\",\"strategy\":\"%s\"}";
    char params[256];
    snprintf(params, sizeof params, order, "single");
    cJSON *r = reserve(params);
    /* single reports the first short line at the most preferred candidate. */
    expect_out_of_stock(r, "B", 2, 1);
    cJSON_Delete(r);
    snprintf(params, sizeof params, order, "auto");
    r = reserve(params);
    assert_string_equal(allocs(resp_result(r)), "A@L1=2,B@L2=2");
    cJSON_Delete(r);

    /* A x3 fits nowhere whole: auto splits it. per_line cannot. */
    harness_flush(&H);
    client_stock_set(conn(), "A", "L1", 2);
    client_stock_set(conn(), "A", "L2", 1);
    set_channel("web", "[\"L1\",\"L2\"]");
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":3}],\"channel\":\"web\","
                "\"strategy\":\"per_line\"}");
    expect_out_of_stock(r, "A", 3, 2); /* the best single location has 2 */
    cJSON_Delete(r);
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":3}],\"channel\":\"web\"}");
    assert_string_equal(allocs(resp_result(r)), "A@L1=2,A@L2=1");
    cJSON_Delete(r);
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"channel\":\"web\","
                "\"strategy\":\"split\"}");
    expect_out_of_stock(r, "A", 1, 0);
    cJSON_Delete(r);
}

static void test_all_or_nothing(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "L1", 10);
    client_stock_set(conn(), "B", "L1", 3);
    client_stock_set(conn(), "B", "L2", 1);
    set_channel("web", "[\"L1\",\"L2\"]");
    cJSON *r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"B\",\"quantity\":5}],"
                       "\"channel\":\"web\"}");
    expect_out_of_stock(r, "B", 5, 4);
    cJSON_Delete(r);
    /* The first line, which could be filled, was not touched. */
    struct row a = stock_row(conn(), "A", "L1");
    assert_int_equal(a.reserved, 0);
    assert_int_equal(a.available, 10);
    assert_int_equal(stock_row(conn(), "B", "L1").reserved, 0);
    assert_int_equal(harness_holds_left(), 0);
}

static void test_safety_stock_is_not_sold(void **state)
{
    (void)state;
    call_ok("{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":\"L1\","
            "\"on_hand\":5,\"safety_stock\":2}}");
    cJSON *r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":4}],\"locations\":[\"L1\"]}");
    expect_out_of_stock(r, "A", 4, 3);
    cJSON_Delete(r);
    r = reserve("{\"items\":[{\"sku\":\"A\",\"quantity\":3}],\"locations\":[\"L1\"]}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
}

static void test_record_in_redis(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "L1", 5);
    client_stock_set(conn(), "B", "L1", 5);
    cJSON *r = reserve("{\"order_id\":\"ord-1001\",\"items\":[{\"sku\":\"A\",\"quantity\":2},"
                       "{\"sku\":\"B\",\"quantity\":1}],\"locations\":[\"L1\"],\"ttl_ms\":60000}");
    const cJSON *res = resp_result(r);
    const char *id = json_str(res, "reservation_id");
    assert_int_equal(strlen(id), 22); /* 128 random bits, 6 to a character */
    assert_true(id[0] != '-');        /* never read as a command-line option */
    assert_string_equal(json_str(res, "status"), "held");
    assert_string_equal(json_str(res, "order_id"), "ord-1001");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "replayed")));
    long long created = json_int(res, "created_at"), expires = json_int(res, "expires_at");
    assert_int_equal(expires - created, 60000);

    /* Times come from the Redis clock. */
    redisReply *t = harness_redis(&H, "TIME");
    long long redis_ms = atoll(t->element[0]->str) * 1000 + atoll(t->element[1]->str) / 1000;
    freeReplyObject(t);
    assert_true(redis_ms - created >= 0 && redis_ms - created < 5000);

    redisReply *rr = harness_redis(&H, "HGET {inv}:res:%s status", id);
    assert_string_equal(rr->str, "held");
    freeReplyObject(rr);
    /* Each sku is due no later than the hold's deadline. */
    rr = harness_redis(&H, "ZSCORE {inv}:due A");
    assert_int_equal(atoll(rr->str), expires);
    freeReplyObject(rr);
    rr = harness_redis(&H, "ZSCORE {inv}:due B");
    assert_int_equal(atoll(rr->str), expires);
    freeReplyObject(rr);
    rr = harness_redis(&H, "GET {inv}:order:ord-1001");
    assert_string_equal(rr->str, id);
    freeReplyObject(rr);

    /* reservation.get tells the same story. */
    cJSON *g = client_callf(conn(),
                            "{\"id\":2,\"method\":\"reservation.get\",\"params\":{"
                            "\"reservation_id\":\"%s\"}}",
                            id);
    const cJSON *gr = resp_result(g);
    assert_string_equal(json_str(gr, "reservation_id"), id);
    assert_string_equal(json_str(gr, "status"), "held");
    assert_int_equal(json_int(gr, "expires_at"), expires);
    assert_string_equal(allocs(gr), "A@L1=2,B@L1=1");
    assert_null(cJSON_GetObjectItemCaseSensitive(gr, "replayed"));
    cJSON_Delete(g);
    cJSON_Delete(r);

    g = client_call(conn(), "{\"id\":2,\"method\":\"reservation.get\",\"params\":{"
                            "\"reservation_id\":\"0123456789abcdef0123456789abcdef\"}}");
    assert_int_equal(resp_error_code(g), 1002);
    assert_string_equal(resp_error_reason(g), "not_found");
    cJSON_Delete(g);
    g = client_call(conn(), "{\"id\":2,\"method\":\"reservation.get\",\"params\":{"
                            "\"reservation_id\":\"x:y\"}}");
    assert_int_equal(resp_error_code(g), -32602);
    cJSON_Delete(g);
}

static void test_idempotent_retry(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "L1", 5);
    client_stock_set(conn(), "B", "L1", 5);
    cJSON *first = reserve("{\"order_id\":\"o-7\",\"items\":[{\"sku\":\"A\",\"quantity\":2},"
                           "{\"sku\":\"B\",\"quantity\":1}],\"locations\":[\"L1\"]}");
    const char *id = json_str(resp_result(first), "reservation_id");
    /* Same items in another order: the same reservation, replayed. */
    cJSON *again = reserve("{\"order_id\":\"o-7\",\"items\":[{\"sku\":\"B\",\"quantity\":1},"
                           "{\"sku\":\"A\",\"quantity\":2}],\"locations\":[\"L1\"]}");
    assert_string_equal(json_str(resp_result(again), "reservation_id"), id);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(again), "replayed")));
    assert_int_equal(json_int(resp_result(again), "created_at"),
                     json_int(resp_result(first), "created_at"));
    cJSON_Delete(again);
    assert_int_equal(stock_row(conn(), "A", "L1").reserved, 2);

    /* Other quantities, or another item set: a conflict, nothing changes. */
    static const char *const conflicts[] = {
        "{\"order_id\":\"o-7\",\"items\":[{\"sku\":\"A\",\"quantity\":3},{\"sku\":\"B\","
        "\"quantity\":1}],\"locations\":[\"L1\"]}",
        "{\"order_id\":\"o-7\",\"items\":[{\"sku\":\"A\",\"quantity\":2}],\"locations\":[\"L1\"]}",
        "{\"order_id\":\"o-7\",\"items\":[{\"sku\":\"A\",\"quantity\":2},{\"sku\":\"B\","
        "\"quantity\":1},{\"sku\":\"C\",\"quantity\":1}],\"locations\":[\"L1\"]}",
    };
    for (size_t i = 0; i < sizeof conflicts / sizeof conflicts[0]; i++) {
        cJSON *r = reserve(conflicts[i]);
        assert_int_equal(resp_error_code(r), 1004);
        assert_string_equal(resp_error_reason(r), "idempotency_conflict");
        cJSON_Delete(r);
    }
    assert_int_equal(stock_row(conn(), "A", "L1").reserved, 2);
    assert_int_equal(stock_row(conn(), "B", "L1").reserved, 1);
    cJSON_Delete(first);
}

static void test_reserve_validation(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "L1", 5);
    static const struct {
        const char *params;
        const char *field;
    } cases[] = {
        {"{}", "items"},
        {"{\"items\":[]}", "items"},
        {"{\"items\":[{\"sku\":\"A\",\"quantity\":0}]}", "items[0].quantity"},
        {"{\"items\":[{\"sku\":\"A\",\"quantity\":1000000001}]}", "items[0].quantity"},
        {"{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":1}]}", "items"},
        {"{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"strategy\":\"best\"}", "strategy"},
        {"{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"ttl_ms\":999}", "ttl_ms"},
        {"{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"ttl_ms\":86400001}", "ttl_ms"},
        {"{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"order_id\":\"\"}", "order_id"},
        {"{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"locations\":[\"L1\",\"L1\"]}", "locations"},
        {"{\"items\":[{\"sku\":\"A b\",\"quantity\":1}]}", "items[0].sku"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *r = reserve(cases[i].params);
        assert_int_equal(resp_error_code(r), -32602);
        if (strcmp(json_str(error_data(r), "field"), cases[i].field) != 0)
            fail_msg("%s: field %s, want %s", cases[i].params, json_str(error_data(r), "field"),
                     cases[i].field);
        cJSON_Delete(r);
    }
    assert_int_equal(stock_row(conn(), "A", "L1").reserved, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_channel_order_decides, harness_flush_setup),
        cmocka_unit_test_setup(test_request_locations_filtered_by_channel, harness_flush_setup),
        cmocka_unit_test_setup(test_unknown_and_default_channel, harness_flush_setup),
        cmocka_unit_test_setup(test_strategies_differ, harness_flush_setup),
        cmocka_unit_test_setup(test_auto_falls_back, harness_flush_setup),
        cmocka_unit_test_setup(test_all_or_nothing, harness_flush_setup),
        cmocka_unit_test_setup(test_safety_stock_is_not_sold, harness_flush_setup),
        cmocka_unit_test_setup(test_record_in_redis, harness_flush_setup),
        cmocka_unit_test_setup(test_idempotent_retry, harness_flush_setup),
        cmocka_unit_test_setup(test_reserve_validation, harness_flush_setup),
    };
    return harness_run("reserve", tests, sizeof tests / sizeof tests[0], 1, NULL);
}
