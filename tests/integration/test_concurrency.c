/* Integration: no oversell under concurrency. Story scenario 1 (one unit,
 * two customers at the same moment), repeated, across two stockd replicas;
 * and a flash sale with many more buyers than units over two locations. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* on_hand - reserved - safety straight from the hash: what stock.get
 * reports is clamped at 0, so negativity must be looked for here. */
static long long raw_available(const char *sku, const char *loc)
{
    redisReply *r = harness_redis(&H, "HMGET {inv}:stock:%s %s:on_hand %s:reserved %s:safety", sku,
                                  loc, loc, loc);
    long long v[3] = {0, 0, 0};
    for (size_t i = 0; i < 3 && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            v[i] = atoll(r->element[i]->str);
    freeReplyObject(r);
    return v[0] - v[1] - v[2];
}

static void call_ok(int fd, const char *req)
{
    cJSON *r = client_call(fd, req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
}

/* Writes one request to each fd before reading any answer, so that the
 * requests race inside stockd and Redis; returns the parsed answers. */
static void race(int *fds, int n, char **reqs, cJSON **out)
{
    for (int i = 0; i < n; i++)
        client_sends(fds[i], reqs[i]);
    for (int i = 0; i < n; i++) {
        char *line = client_readline(fds[i], 10000);
        assert_non_null(line);
        out[i] = cJSON_Parse(line);
        assert_non_null(out[i]);
        free(line);
    }
}

static void test_last_unit_two_customers(void **state)
{
    (void)state;
    enum { ROUNDS = 300 };
    int admin = client_connect(H.stockd[0].port);
    int fds[2];
    for (int round = 0; round < ROUNDS; round++) {
        /* Odd rounds race across two replicas, even rounds on one. */
        fds[0] = client_connect(H.stockd[0].port);
        fds[1] = client_connect(H.stockd[round % 2].port);
        char sku[32];
        snprintf(sku, sizeof sku, "item-%d", round);
        char set[256];
        snprintf(set, sizeof set,
                 "{\"id\":0,\"method\":\"stock.set\",\"params\":{\"sku\":\"%s\",\"location\":"
                 "\"L1\",\"on_hand\":1}}",
                 sku);
        call_ok(admin, set);

        char req0[256], req1[256];
        snprintf(req0, sizeof req0,
                 "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"a-%d\",\"items\":"
                 "[{\"sku\":\"%s\",\"quantity\":1}],\"locations\":[\"L1\"]}}\n",
                 round, sku);
        snprintf(req1, sizeof req1,
                 "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"b-%d\",\"items\":"
                 "[{\"sku\":\"%s\",\"quantity\":1}],\"locations\":[\"L1\"]}}\n",
                 round, sku);
        char *reqs[2] = {req0, req1};
        cJSON *out[2];
        race(fds, 2, reqs, out);

        int ok = 0, oos = 0;
        for (int i = 0; i < 2; i++) {
            int code = resp_error_code(out[i]);
            if (code == 0) {
                ok++;
            } else if (code == 1001) {
                oos++;
                const cJSON *data = cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(out[i], "error"), "data");
                assert_int_equal(json_int(data, "available"), 0);
                assert_int_equal(json_int(data, "requested"), 1);
            }
            cJSON_Delete(out[i]);
        }
        if (ok != 1 || oos != 1)
            fail_msg("round %d: %d succeeded, %d out of stock", round, ok, oos);
        assert_int_equal(raw_available(sku, "L1"), 0);
        close(fds[0]);
        close(fds[1]);
    }
    close(admin);
}

static void test_flash_sale(void **state)
{
    (void)state;
    enum { UNITS_1 = 30, UNITS_2 = 20, UNITS = UNITS_1 + UNITS_2, BUYERS = 4 * UNITS };
    int admin = client_connect(H.stockd[0].port);
    call_ok(admin, "{\"id\":0,\"method\":\"stock.set\",\"params\":{\"sku\":\"HOT\",\"location\":"
                   "\"wh-1\",\"on_hand\":30}}");
    call_ok(admin, "{\"id\":0,\"method\":\"stock.set\",\"params\":{\"sku\":\"HOT\",\"location\":"
                   "\"wh-2\",\"on_hand\":20}}");
    call_ok(admin, "{\"id\":0,\"method\":\"channel.set\",\"params\":{\"channel\":\"web\","
                   "\"locations\":[\"wh-1\",\"wh-2\"]}}");

    int fds[BUYERS];
    char *reqs[BUYERS];
    cJSON *out[BUYERS];
    for (int i = 0; i < BUYERS; i++) {
        fds[i] = client_connect(H.stockd[i % 2].port);
        reqs[i] = malloc(256);
        snprintf(reqs[i], 256,
                 "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":\"fs-%d\",\"items\":"
                 "[{\"sku\":\"HOT\",\"quantity\":1}],\"channel\":\"web\"}}\n",
                 i, i);
    }
    race(fds, BUYERS, reqs, out);

    int ok = 0, oos = 0, at1 = 0, at2 = 0;
    for (int i = 0; i < BUYERS; i++) {
        int code = resp_error_code(out[i]);
        assert_int_equal(json_int(out[i], "id"), i);
        if (code == 0) {
            ok++;
            const cJSON *a = cJSON_GetArrayItem(
                cJSON_GetObjectItemCaseSensitive(resp_result(out[i]), "allocations"), 0);
            assert_int_equal(json_int(a, "quantity"), 1);
            if (strcmp(json_str(a, "location"), "wh-1") == 0)
                at1++;
            else if (strcmp(json_str(a, "location"), "wh-2") == 0)
                at2++;
        } else if (code == 1001) {
            oos++;
        }
        cJSON_Delete(out[i]);
        free(reqs[i]);
        close(fds[i]);
    }
    assert_int_equal(ok, UNITS);
    assert_int_equal(oos, BUYERS - UNITS);
    assert_int_equal(at1, UNITS_1);
    assert_int_equal(at2, UNITS_2);

    /* The books: every unit held once, none beyond on_hand. */
    struct row r1 = stock_row(admin, "HOT", "wh-1"), r2 = stock_row(admin, "HOT", "wh-2");
    assert_int_equal(r1.reserved, UNITS_1);
    assert_int_equal(r2.reserved, UNITS_2);
    assert_int_equal(raw_available("HOT", "wh-1"), 0);
    assert_int_equal(raw_available("HOT", "wh-2"), 0);
    assert_int_equal(harness_holds_left(), UNITS);
    close(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_last_unit_two_customers, harness_flush_setup),
        cmocka_unit_test_setup(test_flash_sale, harness_flush_setup),
    };
    return harness_run("concurrency", tests, sizeof tests / sizeof tests[0], 2, NULL);
}
