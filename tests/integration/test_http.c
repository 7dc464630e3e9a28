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

#include "buf.h" /* xrealloc */

/* Sends raw bytes to the HTTP port and reads until the server closes.
 * Returns the status code; *body (malloc'd) holds the body. */
static int http_raw(int port, const char *request, char **body)
{
    int fd = client_connect(port);
    client_sends(fd, request);
    size_t cap = 1 << 16, len = 0;
    char *resp = malloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        if (len + 4096 > cap)
            resp = xrealloc(resp, cap *= 2);
        ssize_t n = recv(fd, resp + len, cap - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    resp[len] = '\0';
    int status = 0;
    sscanf(resp, "HTTP/1.1 %d", &status);
    const char *sep = strstr(resp, "\r\n\r\n");
    if (body)
        *body = strdup(sep ? sep + 4 : "");
    free(resp);
    return status;
}

static int http_get(int port, const char *path, char **body)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: stockd\r\n\r\n", path);
    return http_raw(port, req, body);
}

/* The value of one sample line of the exposition ("name{labels} value"). */
static double metric(const char *text, const char *series)
{
    const char *p = text;
    size_t n = strlen(series);
    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return atof(p + n + 1);
        p += n;
    }
    return -1;
}

static void wait_ready(int port, int want_status)
{
    long long give_up = harness_now_ms() + 15000;
    for (;;) {
        char *body;
        int status = http_get(port, "/readyz", &body);
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
    assert_int_equal(http_get(http, "/healthz", &body), 200);
    assert_string_equal(body, "ok\n");
    free(body);
    assert_int_equal(http_get(http, "/readyz", &body), 200);
    assert_string_equal(body, "ready\n");
    free(body);

    /* Redis goes: not ready, but alive. */
    harness_kill_redis(&H);
    wait_ready(http, 503);
    assert_int_equal(http_get(http, "/readyz", &body), 503);
    assert_string_equal(body, "redis down\n");
    free(body);
    assert_int_equal(http_get(http, "/healthz", &body), 200);
    free(body);
    harness_restart_redis(&H);
    wait_ready(http, 200);
}

static void test_bad_requests(void **state)
{
    (void)state;
    int http = H.stockd[0].http_port;
    char *body;
    assert_int_equal(http_get(http, "/nope", &body), 404);
    free(body);
    assert_int_equal(http_get(http, "/metrics/x", &body), 404);
    free(body);
    assert_int_equal(http_raw(http, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &body),
                     405);
    free(body);
    assert_int_equal(http_raw(http, "hello there\r\n\r\n", &body), 400);
    free(body);
    assert_int_equal(http_raw(http, "GET metrics HTTP/1.1\r\n\r\n", &body), 400);
    free(body);
    /* A query string does not change the path. */
    assert_int_equal(http_get(http, "/healthz?verbose=1", &body), 200);
    free(body);
}

static void test_metrics_move_and_pass_promtool(void **state)
{
    (void)state;
    int http = H.stockd[0].http_port;
    int fd = harness_client(0);
    char *before, *after;
    assert_int_equal(http_get(http, "/metrics", &before), 200);

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
    assert_int_equal(http_get(http, "/metrics", &after), 200);

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
        double a = metric(before, moved[i].series), b = metric(after, moved[i].series);
        if (a < 0)
            a = 0; /* a labelled series appears with its first sample */
        if (b - a != moved[i].delta)
            fail_msg("%s moved by %g, want %g", moved[i].series, b - a, moved[i].delta);
    }
    assert_true(metric(after, "stockd_redis_up") == 1);
    assert_true(metric(after, "stockd_client_connections") >= 1);
    assert_true(metric(after, "stockd_redis_connects_total") >= 1);
    assert_true(metric(after, "stockd_build_info{version=\"0.1.0\"}") == 1);
    assert_true(metric(after, "process_resident_memory_bytes") > 0);

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
    int i = harness_add_stockd(args);
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
    assert_int_equal(http_get(http, "/readyz", &body), 503);
    assert_string_equal(body, "draining\n");
    free(body);
    assert_int_equal(http_get(http, "/healthz", &body), 200);
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
