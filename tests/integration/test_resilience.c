/* Integration: stockd keeps answering when Redis fails. Killed and
 * restarted: calls are answered 2001/2002 at once, stockd reconnects by
 * itself. Stopped (SIGSTOP): calls are answered 2002 within the request
 * timeout, ping still answers, and it recovers after SIGCONT. Script cache
 * flushed: callers see nothing. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TIMEOUT_MS 300 /* --request-timeout-ms, below */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const get_req = "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}";

static void test_redis_killed_and_restarted(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    cJSON *r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);

    harness_kill_redis(&H);
    /* Answered at once, and never with a result Redis did not give. */
    long long t0 = now_ms();
    for (int i = 0; i < 20; i++) {
        r = client_call(fd, get_req);
        int code = resp_error_code(r);
        if (code != 2001 && code != 2002)
            fail_msg("with Redis dead: code %d", code);
        cJSON_Delete(r);
    }
    assert_true(now_ms() - t0 < 20 * (TIMEOUT_MS + 200));
    r = client_call(fd, "{\"id\":2,\"method\":\"ping\"}");
    assert_string_equal(json_str(resp_result(r), "redis"), "down");
    cJSON_Delete(r);

    harness_restart_redis(&H);
    harness_wait_redis_up(H.stockd[0].port, 15000);
    r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    close(fd);
}

static void test_redis_stopped(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    int probe = client_connect(H.stockd[0].port);
    harness_signal_redis(&H, SIGSTOP);
    long long t0 = now_ms();
    cJSON *r = client_call(fd, get_req);
    long long waited = now_ms() - t0;
    assert_int_equal(resp_error_code(r), 2002);
    assert_string_equal(resp_error_reason(r), "timeout");
    cJSON_Delete(r);
    /* Within the request timeout, give or take the loop's granularity. */
    assert_true(waited >= TIMEOUT_MS - 20 && waited < TIMEOUT_MS + 500);
    /* ping never waits for Redis. */
    t0 = now_ms();
    r = client_call(probe, "{\"id\":3,\"method\":\"ping\"}");
    assert_true(now_ms() - t0 < 200);
    cJSON_Delete(r);

    harness_signal_redis(&H, SIGCONT);
    harness_wait_redis_up(H.stockd[0].port, 15000);
    r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    close(fd);
    close(probe);
}

static void test_script_flush_is_invisible(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    for (int i = 0; i < 5; i++) {
        freeReplyObject(harness_redis(&H, "SCRIPT FLUSH"));
        cJSON *r = client_callf(fd,
                                "{\"id\":%d,\"method\":\"stock.set\",\"params\":{\"sku\":\"F\","
                                "\"location\":\"L\",\"on_hand\":%d}}",
                                i, i + 1);
        assert_int_equal(resp_error_code(r), 0);
        assert_int_equal(json_int(resp_result(r), "on_hand"), i + 1);
        cJSON_Delete(r);
    }
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_killed_and_restarted),
        cmocka_unit_test(test_redis_stopped),
        cmocka_unit_test(test_script_flush_is_invisible),
    };
    static const char *const args[] = {"--request-timeout-ms", "300", NULL};
    return harness_run("resilience", tests, sizeof tests / sizeof tests[0], 1, args);
}
