/* Integration: stock levels (stock.set, stock.adjust, stock.get) and sales
 * channels (channel.set, channel.get) against the real binary and Redis,
 * including the checks that refuse a change and leave Redis untouched. */
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

static const cJSON *error_data(const cJSON *r)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "error"), "data");
}

static long long dbsize(void)
{
    redisReply *r = harness_redis(&H, "DBSIZE");
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static void test_set_returns_row(void **state)
{
    (void)state;
    cJSON *r = client_call(conn(), "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\","
                                   "\"location\":\"wh-east\",\"on_hand\":10,\"safety_stock\":3}}");
    const cJSON *row = resp_result(r);
    assert_string_equal(json_str(row, "sku"), "A");
    assert_string_equal(json_str(row, "location"), "wh-east");
    assert_int_equal(json_int(row, "on_hand"), 10);
    assert_int_equal(json_int(row, "reserved"), 0);
    assert_int_equal(json_int(row, "safety_stock"), 3);
    assert_int_equal(json_int(row, "available"), 7);
    cJSON_Delete(r);

    /* Without safety_stock the current one is kept. */
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\","
                            "\"location\":\"wh-east\",\"on_hand\":12}}");
    assert_int_equal(json_int(resp_result(r), "safety_stock"), 3);
    assert_int_equal(json_int(resp_result(r), "available"), 9);
    cJSON_Delete(r);

    /* The key layout operators read with redis-cli. */
    redisReply *rr = harness_redis(&H, "HGET {inv}:stock:A wh-east:on_hand");
    assert_string_equal(rr->str, "12");
    freeReplyObject(rr);
    rr = harness_redis(&H, "HGET {inv}:stock:A wh-east:safety");
    assert_string_equal(rr->str, "3");
    freeReplyObject(rr);

    /* The largest on_hand is accepted and comes back exactly. */
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"B\","
                            "\"location\":\"L\",\"on_hand\":1000000000000000}}");
    assert_true(json_int(resp_result(r), "on_hand") == 1000000000000000LL);
    cJSON_Delete(r);
}

static void test_adjust(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "L", 5);
    cJSON *r =
        client_call(conn(), "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"A\","
                            "\"location\":\"L\",\"delta\":7,\"reason\":\"received PO-17\"}}");
    assert_int_equal(json_int(resp_result(r), "on_hand"), 12);
    cJSON_Delete(r);
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"A\","
                            "\"location\":\"L\",\"delta\":-2}}");
    assert_int_equal(json_int(resp_result(r), "on_hand"), 10);
    cJSON_Delete(r);

    /* Hold 4, then try to take on_hand below the 4 reserved. */
    r = client_call(conn(),
                    "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"A\","
                    "\"quantity\":4}],\"locations\":[\"L\"]}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"A\","
                            "\"location\":\"L\",\"delta\":-7}}");
    assert_int_equal(resp_error_code(r), 1001);
    assert_string_equal(resp_error_reason(r), "out_of_stock");
    assert_int_equal(json_int(error_data(r), "requested"), 7);
    assert_int_equal(json_int(error_data(r), "available"), 6);
    cJSON_Delete(r);
    struct row row = stock_row(conn(), "A", "L");
    assert_int_equal(row.on_hand, 10);
    assert_int_equal(row.reserved, 4);
    /* Down to exactly the reserved units is fine. */
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"A\","
                            "\"location\":\"L\",\"delta\":-6}}");
    assert_int_equal(json_int(resp_result(r), "on_hand"), 4);
    assert_int_equal(json_int(resp_result(r), "available"), 0);
    cJSON_Delete(r);

    /* An adjustment on a location without stock can only add. */
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"Z\","
                            "\"location\":\"L\",\"delta\":-1}}");
    assert_int_equal(resp_error_code(r), 1001);
    cJSON_Delete(r);
    /* Past the largest on_hand is refused. */
    client_stock_set(conn(), "M", "L", 1000000000000000LL);
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"M\","
                            "\"location\":\"L\",\"delta\":1}}");
    assert_int_equal(resp_error_code(r), -32602);
    assert_string_equal(json_str(error_data(r), "field"), "delta");
    cJSON_Delete(r);
}

static void test_set_below_reserved(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "L", 5);
    cJSON *r =
        client_call(conn(), "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":"
                            "\"A\",\"quantity\":3}],\"locations\":[\"L\"]}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\","
                            "\"location\":\"L\",\"on_hand\":2}}");
    assert_int_equal(resp_error_code(r), 1003);
    assert_string_equal(resp_error_reason(r), "below_reserved");
    assert_int_equal(json_int(error_data(r), "reserved"), 3);
    cJSON_Delete(r);
    assert_int_equal(stock_row(conn(), "A", "L").on_hand, 5);
    client_stock_set(conn(), "A", "L", 3);
    struct row row = stock_row(conn(), "A", "L");
    assert_int_equal(row.on_hand, 3);
    assert_int_equal(row.available, 0);
}

static void test_get(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "zeta", 1);
    client_stock_set(conn(), "A", "Alpha", 2);
    client_stock_set(conn(), "A", "mid", 3);
    cJSON *r =
        client_call(conn(), "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}");
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(resp_result(r), "locations");
    assert_int_equal(cJSON_GetArraySize(locs), 3);
    /* Ordered by location name, bytewise. */
    assert_string_equal(json_str(cJSON_GetArrayItem(locs, 0), "location"), "Alpha");
    assert_string_equal(json_str(cJSON_GetArrayItem(locs, 1), "location"), "mid");
    assert_string_equal(json_str(cJSON_GetArrayItem(locs, 2), "location"), "zeta");
    const cJSON *totals = cJSON_GetObjectItemCaseSensitive(resp_result(r), "totals");
    assert_int_equal(json_int(totals, "on_hand"), 6);
    assert_int_equal(json_int(totals, "reserved"), 0);
    assert_int_equal(json_int(totals, "available"), 6);
    cJSON_Delete(r);

    /* Only the listed locations, an unknown one as zeros. */
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\","
                            "\"locations\":[\"zeta\",\"nowhere\"]}}");
    locs = cJSON_GetObjectItemCaseSensitive(resp_result(r), "locations");
    assert_int_equal(cJSON_GetArraySize(locs), 2);
    assert_string_equal(json_str(cJSON_GetArrayItem(locs, 0), "location"), "nowhere");
    assert_int_equal(json_int(cJSON_GetArrayItem(locs, 0), "on_hand"), 0);
    assert_int_equal(json_int(cJSON_GetArrayItem(locs, 1), "on_hand"), 1);
    cJSON_Delete(r);

    /* An unknown sku is not an error. */
    r = client_call(conn(), "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"none\"}}");
    assert_int_equal(resp_error_code(r), 0);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(resp_result(r), "locations")), 0);
    totals = cJSON_GetObjectItemCaseSensitive(resp_result(r), "totals");
    assert_int_equal(json_int(totals, "on_hand"), 0);
    assert_int_equal(json_int(totals, "available"), 0);
    cJSON_Delete(r);
}

static void test_channels(void **state)
{
    (void)state;
    cJSON *r = client_call(conn(), "{\"id\":1,\"method\":\"channel.get\",\"params\":{\"channel\":"
                                   "\"web\"}}");
    assert_int_equal(resp_error_code(r), 1005);
    assert_string_equal(resp_error_reason(r), "unknown_channel");
    cJSON_Delete(r);

    r = client_call(conn(), "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"web\","
                            "\"locations\":[\"store-9\",\"wh-east\",\"a-dc\"]}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    r = client_call(conn(),
                    "{\"id\":1,\"method\":\"channel.get\",\"params\":{\"channel\":\"web\"}}");
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(resp_result(r), "locations");
    assert_int_equal(cJSON_GetArraySize(locs), 3);
    assert_string_equal(cJSON_GetArrayItem(locs, 0)->valuestring, "store-9");
    assert_string_equal(cJSON_GetArrayItem(locs, 2)->valuestring, "a-dc");
    cJSON_Delete(r);

    /* Replaced whole, not appended. */
    r = client_call(conn(), "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"web\","
                            "\"locations\":[\"wh-east\"]}}");
    cJSON_Delete(r);
    redisReply *rr = harness_redis(&H, "LRANGE {inv}:channel:web 0 -1");
    assert_int_equal(rr->elements, 1);
    assert_string_equal(rr->element[0]->str, "wh-east");
    freeReplyObject(rr);
}

static void test_bad_input_changes_nothing(void **state)
{
    (void)state;
    client_stock_set(conn(), "A", "L", 5);
    long long before = dbsize();
    static const char *const bad[] = {
        "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":\"L\","
        "\"on_hand\":-1}}",
        "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":\"L\","
        "\"on_hand\":1.5}}",
        "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":\"L\","
        "\"on_hand\":\"7\"}}",
        "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":\"L\","
        "\"on_hand\":1000000000000001}}",
        "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":\"L:x\","
        "\"on_hand\":1}}",
        "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"{A}\",\"location\":\"L\","
        "\"on_hand\":1}}",
        "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"A\",\"location\":\"L\","
        "\"delta\":0}}",
        "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"A\",\"location\":\"L\","
        "\"delta\":9007199254740993}}",
        "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"web\",\"locations\":[]}}",
        "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"web\",\"locations\":"
        "[\"a\",\"a\"]}}",
        "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"web web\",\"locations\":"
        "[\"a\"]}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *r = client_call(conn(), bad[i]);
        if (resp_error_code(r) != -32602)
            fail_msg("%s: got %d", bad[i], resp_error_code(r));
        assert_true(strlen(json_str(error_data(r), "field")) > 0);
        cJSON_Delete(r);
    }
    assert_int_equal(dbsize(), before);
    assert_int_equal(stock_row(conn(), "A", "L").on_hand, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_set_returns_row, harness_flush_setup),
        cmocka_unit_test_setup(test_adjust, harness_flush_setup),
        cmocka_unit_test_setup(test_set_below_reserved, harness_flush_setup),
        cmocka_unit_test_setup(test_get, harness_flush_setup),
        cmocka_unit_test_setup(test_channels, harness_flush_setup),
        cmocka_unit_test_setup(test_bad_input_changes_nothing, harness_flush_setup),
    };
    return harness_run("stock", tests, sizeof tests / sizeof tests[0], 1, NULL);
}
