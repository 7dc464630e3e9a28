/* Integration: stockd keeps answering when Redis fails. Killed and
 * restarted: calls are answered 2001/2002 at once, stockd reconnects by
 * itself. Stopped (SIGSTOP): calls are answered 2002 within the request
 * timeout, ping still answers, and it recovers after SIGCONT. Script cache
 * flushed: callers see nothing. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define TIMEOUT_MS 300

static struct harness h;
static int stop_failures; /* cmocka does not fail the run for a teardown */
static int port;

static int group_setup(void **state)
{
    (void)state;
    static const char *const args[] = {"--request-timeout-ms", "300", NULL};
    harness_start_redis(&h);
    port = h.stockd[harness_start_stockd(&h, args)].port;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop_failures = harness_stop(&h);
    return stop_failures;
}

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
    int fd = client_connect(port);
    cJSON *r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);

    harness_kill_redis(&h);
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

    harness_restart_redis(&h);
    harness_wait_redis_up(port, 15000);
    r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    close(fd);
}

static void test_redis_stopped(void **state)
{
    (void)state;
    int fd = client_connect(port);
    int probe = client_connect(port);
    harness_signal_redis(&h, SIGSTOP);
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

    harness_signal_redis(&h, SIGCONT);
    harness_wait_redis_up(port, 15000);
    r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    close(fd);
    close(probe);
}

static void test_script_flush_is_invisible(void **state)
{
    (void)state;
    int fd = client_connect(port);
    for (int i = 0; i < 5; i++) {
        freeReplyObject(harness_redis(&h, "SCRIPT FLUSH"));
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
    int failed = cmocka_run_group_tests_name("resilience", tests, group_setup, group_teardown);
    return failed != 0 || stop_failures != 0;
}
