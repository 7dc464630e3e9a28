/* Integration: health, readiness and metrics over HTTP. /healthz never
 * depends on Redis; /readyz follows Redis going and coming back, and says
 * draining once SIGTERM arrives; /metrics passes promtool's checks and its
 * counters move as requests are made; anything else is 404, 405 or 400. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"


static void wait_ready(int port, int want_status)
{
    long long give_up = harness_now_ms() + 15000;
    for (;;) {
        char *body;
        int status = harness_http_get(port, "/readyz", &body);
        free(body);
        if (status == want_status)
            return;
        if (harness_now_ms() > give_up)
            fail_msg("/readyz never answered %d", want_status);
    }
}

static void test_health_and_readiness(void **state)
{
    (void)state;
    int http = H.stockd[0].http_port;
    char *body;
    assert_int_equal(harness_http_get(http, "/healthz", &body), 200);
    assert_string_equal(body, "ok\n");
    free(body);
    assert_int_equal(harness_http_get(http, "/readyz", &body), 200);
    /* Ready, then what an operator reads there: the master in use and the
     * durability asked for. */
    char want[128];
    snprintf(want, sizeof want,
             "ready\nredis: master 127.0.0.1:%d (direct), failovers seen 0\ndurability: none\n",
             H.redis_port);
    assert_string_equal(body, want);
    free(body);

    /* Redis goes: not ready, but alive. */
    harness_kill_redis(&H);
    wait_ready(http, 503);
    /* It says why: down between attempts, connecting during one. */
    assert_int_equal(harness_http_get(http, "/readyz", &body), 503);
    if (strcmp(body, "redis down\n") != 0 && strcmp(body, "redis connecting\n") != 0)
        fail_msg("/readyz said '%s'", body);
    free(body);
    assert_int_equal(harness_http_get(http, "/healthz", &body), 200);
    free(body);
    harness_restart_redis(&H);
    wait_ready(http, 200);
}

static void test_bad_requests(void **state)
{
    (void)state;
    int http = H.stockd[0].http_port;
    char *body;
    assert_int_equal(harness_http_get(http, "/nope", &body), 404);
    free(body);
    assert_int_equal(harness_http_get(http, "/metrics/x", &body), 404);
    free(body);
    assert_int_equal(harness_http_raw(http, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &body),
                     405);
    free(body);
    assert_int_equal(harness_http_raw(http, "hello there\r\n\r\n", &body), 400);
    free(body);
    assert_int_equal(harness_http_raw(http, "GET metrics HTTP/1.1\r\n\r\n", &body), 400);
    free(body);
    /* A query string does not change the path. */
    assert_int_equal(harness_http_get(http, "/healthz?verbose=1", &body), 200);
    free(body);
}

static void test_metrics_move_and_pass_promtool(void **state)
{
    (void)state;
    int http = H.stockd[0].http_port;
    int fd = harness_client(0);
    char *before, *after;
    assert_int_equal(harness_http_get(http, "/metrics", &before), 200);

    cJSON_Delete(client_call(fd, "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"M\","
                                 "\"location\":\"L\",\"on_hand\":2}}"));
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":"
                               "\"M\",\"quantity\":2}],\"locations\":[\"L\"]}}");
    char id[64];
    snprintf(id, sizeof id, "%s", json_str(resp_result(r), "reservation_id"));
    cJSON_Delete(r);
    cJSON_Delete(client_call(fd, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":"
                                 "\"M\",\"quantity\":1}],\"locations\":[\"L\"]}}"));
    cJSON_Delete(client_callf(fd, "{\"id\":1,\"method\":\"release\",\"params\":{"
                                  "\"reservation_id\":\"%s\"}}",
                              id));
    cJSON_Delete(client_call(fd, "{\"id\":1,\"method\":\"nope\"}"));
    assert_int_equal(harness_http_get(http, "/metrics", &after), 200);

    static const struct {
        const char *series;
        double delta;
    } moved[] = {
        {"stockd_requests_total{method=\"stock.set\",code=\"0\",reason=\"ok\"}", 1},
        {"stockd_requests_total{method=\"reserve\",code=\"0\",reason=\"ok\"}", 1},
        {"stockd_requests_total{method=\"reserve\",code=\"1001\",reason=\"out_of_stock\"}", 1},
        {"stockd_requests_total{method=\"unknown\",code=\"-32601\",reason=\"method_not_found\"}", 1},
        {"stockd_out_of_stock_total", 1},
        {"stockd_compensations_total{from=\"held\"}", 1},
        {"stockd_request_duration_seconds_count{method=\"reserve\"}", 2},
    };
    for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++) {
        double a = metric_value(before, moved[i].series), b = metric_value(after, moved[i].series);
        if (a < 0)
            a = 0; /* a labelled series appears with its first sample */
        if (b - a != moved[i].delta)
            fail_msg("%s moved by %g, want %g", moved[i].series, b - a, moved[i].delta);
    }
    assert_true(metric_value(after, "stockd_redis_up") == 1);
    assert_true(metric_value(after, "stockd_client_connections") >= 1);
    assert_true(metric_value(after, "stockd_redis_connects_total") >= 1);
    assert_true(metric_value(after, "stockd_build_info{version=\"0.1.0\"}") == 1);
    assert_true(metric_value(after, "process_resident_memory_bytes") > 0);

    /* promtool: the exposition is well-formed and follows the conventions. */
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.txt", H.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(after, f);
    fclose(f);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s'", path);
    int status = system(cmd);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(before);
    free(after);
}

static void test_readyz_says_draining(void **state)
{
    (void)state;
    static const char *const args[] = {"--request-timeout-ms", "3000", NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int http = H.stockd[i].http_port;
    int fd = client_connect(H.stockd[i].port);
    /* A request waits on a stopped Redis, so the drain takes a while. */
    harness_signal_redis(&H, SIGSTOP);
    client_sends(fd, "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}\n");
    int probe = client_connect(H.stockd[i].port);
    cJSON_Delete(client_call(probe, "{\"id\":2,\"method\":\"ping\"}"));
    close(probe);
    harness_signal_stockd(i, SIGTERM);
    harness_wait_log(i, "draining", 5000);
    char *body;
    assert_int_equal(harness_http_get(http, "/readyz", &body), 503);
    assert_string_equal(body, "draining\n");
    free(body);
    assert_int_equal(harness_http_get(http, "/healthz", &body), 200);
    free(body);
    harness_signal_redis(&H, SIGCONT);
    char *answer = client_readline(fd, 10000); /* the waiting request is answered */
    assert_non_null(answer);
    free(answer);
    int status = harness_reap_stockd(i);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_readiness),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test_setup(test_metrics_move_and_pass_promtool, harness_flush_setup),
        cmocka_unit_test(test_readyz_says_draining),
    };
    return harness_run("http", tests, sizeof tests / sizeof tests[0], 1, NULL);
}
