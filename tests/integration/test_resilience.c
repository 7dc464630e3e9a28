/* Integration: stockd keeps answering when Redis fails. Killed and
 * restarted: calls are answered 2001/2002 at once, stockd reconnects by
 * itself. Stopped (SIGSTOP): calls are answered 2002 within the request
 * timeout, ping still answers, and it recovers after SIGCONT. Busy: calls
 * past their deadline are answered 2002 and the connection stays; silent
 * past --redis-stuck-ms: reconnected. Script cache
 * flushed: callers see nothing. And while a connection is being made (at
 * start, or after the connection broke), a request waits for it within its
 * deadline instead of being refused. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
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

/* Redis busy (every client paused for 900 ms, as a long script would hold
 * it): a request past its deadline is answered 2002 and forgotten, but the
 * connection stays, since Redis has not been silent for --redis-stuck-ms;
 * the next request after the pause is answered at once. A Redis that stays
 * silent longer than that is taken as stuck: the connection is made again. */
static void test_busy_redis_is_not_stuck(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    cJSON_Delete(client_call(fd, get_req));
    double before = harness_metric(0, "stockd_redis_disconnects_total");
    freeReplyObject(harness_redis(&H, "CLIENT PAUSE 900 ALL"));
    long long t0 = now_ms();
    cJSON *r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 2002);
    assert_true(now_ms() - t0 < TIMEOUT_MS + 300);
    cJSON_Delete(r);
    /* Once Redis answers again (the harness's own connection waits for the
     * pause too), the same connection serves the next request. */
    freeReplyObject(harness_redis(&H, "PING"));
    r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    assert_true(harness_metric(0, "stockd_redis_disconnects_total") == before);

    /* Silent for longer than --redis-stuck-ms (400 ms here): reconnected. */
    static const char *const args[] = {"--request-timeout-ms", "300", "--redis-stuck-ms", "400",
                                       NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int other = client_connect(H.stockd[i].port);
    cJSON_Delete(client_call(other, get_req));
    before = harness_metric(i, "stockd_redis_disconnects_total");
    freeReplyObject(harness_redis(&H, "CLIENT PAUSE 1500 ALL"));
    r = client_call(other, get_req);
    assert_int_equal(resp_error_code(r), 2002);
    cJSON_Delete(r);
    harness_wait_log(i, "Redis answered nothing while calls waited", 5000);
    freeReplyObject(harness_redis(&H, "PING"));
    harness_wait_redis_up(H.stockd[i].port, 15000);
    assert_true(harness_metric(i, "stockd_redis_disconnects_total") > before);
    close(other);
    close(fd);
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

/* Waits until stockd i holds n requests in flight (/metrics), and fails if
 * an answer arrives on fd first: the request must wait, not be refused. */
static void wait_in_flight(int i, int fd, int n)
{
    long long give_up = now_ms() + 10000;
    while (harness_metric(i, "stockd_requests_in_flight") < n) {
        char *line = client_readline(fd, 10);
        if (line != NULL)
            fail_msg("answered while Redis could not answer: %s", line);
        if (now_ms() > give_up)
            fail_msg("stockd never held the request");
    }
}

/* 20 cold starts: the first request, sent the moment the port opens, gets
 * a result. */
static void test_cold_starts(void **state)
{
    (void)state;
    for (int k = 0; k < 20; k++) {
        char listen[32];
        int port = harness_free_port();
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
        const char *args[] = {"--listen", listen, NULL};
        int i = harness_stockd(&(struct stockd_opts){.args = args, .no_wait = true});
        int fd = client_connect_retry(port, 15000);
        cJSON *r = client_callf(fd,
                                "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"COLD-%d\","
                                "\"location\":\"L\",\"on_hand\":1}}",
                                k);
        if (resp_error_code(r) != 0)
            fail_msg("cold start %d: the first request was answered %d", k, resp_error_code(r));
        cJSON_Delete(r);
        close(fd);
        harness_signal_stockd(i, SIGTERM);
        int status = harness_reap_stockd(i);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

/* Redis stopped while stockd starts: the TCP connect succeeds, the
 * handshake waits. A request sent meanwhile waits too, and gets its result
 * once Redis answers. */
static void test_request_waits_for_the_handshake(void **state)
{
    (void)state;
    static const char *const args[] = {"--request-timeout-ms", "5000", NULL};
    harness_signal_redis(&H, SIGSTOP);
    int i = harness_stockd(&(struct stockd_opts){.args = args, .listening_only = true});
    int fd = client_connect(H.stockd[i].port);
    client_sends(fd, "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"HS\","
                     "\"location\":\"L\",\"on_hand\":4}}\n");
    wait_in_flight(i, fd, 1);
    harness_signal_redis(&H, SIGCONT);
    char *line = client_readline(fd, 10000);
    assert_non_null(line);
    cJSON *r = cJSON_Parse(line);
    free(line);
    assert_int_equal(resp_error_code(r), 0);
    assert_int_equal(json_int(resp_result(r), "on_hand"), 4);
    cJSON_Delete(r);
    close(fd);
}

/* The connection breaks, and the new one is slow to complete (Redis
 * paused): a request sent meanwhile waits for it. */
static void test_request_waits_for_a_reconnect(void **state)
{
    (void)state;
    static const char *const args[] = {"--request-timeout-ms", "5000", NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = client_connect(H.stockd[i].port);
    cJSON *r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    /* In one step: drop every stockd connection, and hold every command
     * for 1.5 s, the new connection's handshake among them. */
    freeReplyObject(harness_redis(&H, "MULTI"));
    freeReplyObject(harness_redis(&H, "CLIENT KILL TYPE normal SKIPME yes"));
    freeReplyObject(harness_redis(&H, "CLIENT PAUSE 1500 ALL"));
    redisReply *x = harness_redis(&H, "EXEC");
    assert_int_equal(x->type, REDIS_REPLY_ARRAY);
    freeReplyObject(x);
    client_sends(fd, "{\"id\":2,\"method\":\"stock.set\",\"params\":{\"sku\":\"RC\","
                     "\"location\":\"L\",\"on_hand\":7}}\n");
    wait_in_flight(i, fd, 1);
    char *line = client_readline(fd, 10000);
    assert_non_null(line);
    r = cJSON_Parse(line);
    free(line);
    assert_int_equal(resp_error_code(r), 0);
    assert_int_equal(json_int(resp_result(r), "on_hand"), 7);
    cJSON_Delete(r);
    close(fd);
    harness_wait_redis_up(H.stockd[0].port, 15000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_killed_and_restarted),
        cmocka_unit_test(test_redis_stopped),
        cmocka_unit_test(test_busy_redis_is_not_stuck),
        cmocka_unit_test(test_script_flush_is_invisible),
        cmocka_unit_test(test_cold_starts),
        cmocka_unit_test(test_request_waits_for_the_handshake),
        cmocka_unit_test(test_request_waits_for_a_reconnect),
    };
    static const char *const args[] = {"--request-timeout-ms", "300", NULL};
    return harness_run("resilience", tests, sizeof tests / sizeof tests[0], 1, args);
}
