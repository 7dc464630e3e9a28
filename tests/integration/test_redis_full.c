/* Integration: Redis out of memory (maxmemory reached, noeviction). Redis
 * refuses a script's first write, and every script writes only after its
 * checks, so nothing is half done: each refused request is answered 2004
 * storage_full (retryable, nothing was done), never 2001 (Redis is
 * reachable). The books stay right, reads go on, the metrics count it,
 * /readyz says why writes fail, and the log is not flooded: one line for
 * the first refusal, one summary per window for the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "buf.h" /* xmalloc */

static long long used_memory(void)
{
    redisReply *r = harness_redis(&H, "INFO memory");
    const char *at = strstr(r->str, "used_memory:");
    long long used = at ? atoll(at + strlen("used_memory:")) : -1;
    freeReplyObject(r);
    return used;
}

/* Pipelines n reserves of one unit of sku, ids from first; counts the
 * answers by code into ok and full, and fails on any other code. */
static void reserve_many(int fd, const char *sku, int first, int n, int *ok, int *full)
{
    size_t cap = (size_t)n * 160, len = 0;
    char *all = xmalloc(cap);
    for (int k = 0; k < n; k++)
        len += (size_t)snprintf(all + len, cap - len,
                                "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"items\":[{"
                                "\"sku\":\"%s\",\"quantity\":1}],\"locations\":[\"L\"]}}\n",
                                first + k, sku);
    char **lines = client_exchange(fd, all, len, n, 120000);
    free(all);
    for (int k = 0; k < n; k++) {
        cJSON *r = cJSON_Parse(lines[k]);
        assert_non_null(r);
        int code = resp_error_code(r);
        if (code == 0) {
            (*ok)++;
        } else if (code == 2004) {
            assert_string_equal(resp_error_reason(r), "storage_full");
            (*full)++;
        } else {
            fail_msg("with Redis full: %s", lines[k]);
        }
        cJSON_Delete(r);
    }
    client_free_lines(lines, n);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    int i = harness_stockd(NULL);
    int fd = client_connect(H.stockd[i].port);
    client_stock_set(fd, "FULL", "L", 1000000000);
    int lines_before = harness_log_lines(i);

    /* Room for a few hundred holds, then Redis is full. */
    char limit[32];
    snprintf(limit, sizeof limit, "%lld", used_memory() + 256 * 1024);
    freeReplyObject(harness_redis(&H, "CONFIG SET maxmemory %s", limit));
    int ok = 0, full = 0, sent = 0;
    while (full == 0 && sent < 100000) {
        reserve_many(fd, "FULL", sent, 1000, &ok, &full);
        sent += 1000;
    }
    assert_true(ok > 0 && full > 0);
    /* 10,000 more while it is full: each one held or refused cleanly (a
     * little room comes and goes with Redis's own buffers). */
    reserve_many(fd, "FULL", sent, 10000, &ok, &full);
    assert_true(full > 5000);

    /* Reads still work, and the books are right: reserved is exactly the
     * holds that were acknowledged. */
    struct row row = stock_row(fd, "FULL", "L");
    assert_int_equal(row.reserved, ok);
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"stock.audit\"}");
    assert_int_equal(resp_error_code(r), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "ok")));
    cJSON_Delete(r);

    /* Counted, and shown. */
    assert_true(harness_metric(i, "stockd_redis_oom_total") >= full);
    assert_int_equal(harness_metric(i, "stockd_requests_total{method=\"reserve\",code=\"2004\","
                                       "reason=\"storage_full\"}"),
                     full);
    assert_int_equal(harness_metric(i, "stockd_redis_out_of_memory"), 1);
    char *body = NULL;
    assert_int_equal(harness_http_get(H.stockd[i].http_port, "/readyz", &body), 200);
    assert_non_null(strstr(body, "out of memory"));
    free(body);

    /* Not one log line per refusal: the first at once, the rest summed up. */
    int written = harness_log_lines(i) - lines_before;
    printf("%d refusals, %d log lines\n", full, written);
    assert_true(harness_log_count(i, "out of memory") >= 1);
    assert_true(written <= 30);

    /* Memory again: writes go through. */
    freeReplyObject(harness_redis(&H, "CONFIG SET maxmemory 0"));
    int ok_again = 0, full_again = 0;
    reserve_many(fd, "FULL", sent + 10000, 10, &ok_again, &full_again);
    assert_int_equal(ok_again, 10);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_out_of_memory, harness_flush_setup),
    };
    return harness_run("redis_full", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
