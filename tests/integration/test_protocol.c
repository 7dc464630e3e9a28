/* Integration: the wire protocol of the real stockd binary over TCP:
 * framing, the JSON-RPC envelope, notifications, errors that keep the
 * connection usable, oversized lines, and pipelining in request order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static void expect_line_id(int fd, long long id, int code)
{
    char *line = client_readline(fd, 5000);
    assert_non_null(line);
    cJSON *r = cJSON_Parse(line);
    assert_non_null(r);
    assert_string_equal(json_str(r, "jsonrpc"), "2.0");
    assert_int_equal(json_int(r, "id"), id);
    assert_int_equal(resp_error_code(r), code);
    cJSON_Delete(r);
    free(line);
}

static void test_ping(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    cJSON *r = client_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}");
    assert_int_equal(json_int(r, "id"), 7);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "pong")));
    assert_string_equal(json_str(resp_result(r), "redis"), "up");
    cJSON_Delete(r);
    /* jsonrpc may be omitted by clients; the response still carries it. */
    r = client_call(fd, "{\"id\":\"x-1\",\"method\":\"ping\"}");
    assert_string_equal(json_str(r, "jsonrpc"), "2.0");
    assert_string_equal(json_str(r, "id"), "x-1");
    cJSON_Delete(r);
    close(fd);
}

static void test_crlf_and_blank_lines(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    client_sends(
        fd, "\r\n   \t\n\n{\"id\":1,\"method\":\"ping\"}\r\n \n{\"id\":2,\"method\":\"ping\"}\n");
    expect_line_id(fd, 1, 0);
    expect_line_id(fd, 2, 0);
    /* Nothing else: the blank lines got no answer. */
    assert_null(client_readline(fd, 200));
    close(fd);
}

static void test_one_byte_at_a_time(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    const char *req = "{\"id\":3,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\",\"location\":"
                      "\"L\",\"on_hand\":4}}\n{\"id\":4,\"method\":\"ping\"}\n";
    for (size_t i = 0; req[i]; i++)
        client_send(fd, req + i, 1);
    expect_line_id(fd, 3, 0);
    expect_line_id(fd, 4, 0);
    assert_int_equal(stock_row(fd, "A", "L").on_hand, 4);
    close(fd);
}

static void test_parse_error_keeps_connection(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":");
    assert_int_equal(resp_error_code(r), -32700);
    assert_string_equal(resp_error_reason(r), "parse_error");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "id")));
    cJSON_Delete(r);
    r = client_call(fd, "not json at all");
    assert_int_equal(resp_error_code(r), -32700);
    cJSON_Delete(r);
    r = client_call(fd, "{\"id\":2,\"method\":\"ping\"} trailing");
    assert_int_equal(resp_error_code(r), -32700);
    cJSON_Delete(r);
    r = client_call(fd, "{\"id\":3,\"method\":\"ping\"}");
    assert_int_equal(resp_error_code(r), 0);
    assert_int_equal(json_int(r, "id"), 3);
    cJSON_Delete(r);
    close(fd);
}

static void test_envelope_errors(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        int code;
        const char *reason;
    } cases[] = {
        {"[{\"id\":1,\"method\":\"ping\"}]", -32600, "invalid_request"},
        {"42", -32600, "invalid_request"},
        {"{\"id\":1,\"method\":\"nope\"}", -32601, "method_not_found"},
        {"{\"id\":1,\"method\":\"PING\"}", -32601, "method_not_found"},
        {"{\"id\":1,\"method\":7}", -32600, "invalid_request"},
        {"{\"id\":1,\"jsonrpc\":\"1.0\",\"method\":\"ping\"}", -32600, "invalid_request"},
        {"{\"id\":1.5,\"method\":\"ping\"}", -32600, "invalid_request"},
        {"{\"id\":1,\"method\":\"ping\",\"params\":[1]}", -32600, "invalid_request"},
        {"{\"id\":1,\"method\":\"ping\",\"extra\":1}", -32600, "invalid_request"},
        {"{\"id\":1,\"id\":2,\"method\":\"ping\"}", -32600, "invalid_request"},
        {"{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"a:b\"}}", -32602,
         "invalid_params"},
        {"{\"id\":1,\"method\":\"stock.get\",\"params\":{}}", -32602, "invalid_params"},
        {"{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\",\"skuu\":1}}", -32602,
         "invalid_params"},
    };
    int fd = client_connect(H.stockd[0].port);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *r = client_call(fd, cases[i].req);
        if (resp_error_code(r) != cases[i].code)
            fail_msg("%s: got code %d, want %d", cases[i].req, resp_error_code(r), cases[i].code);
        assert_string_equal(resp_error_reason(r), cases[i].reason);
        const char *msg = json_str(cJSON_GetObjectItemCaseSensitive(r, "error"), "message");
        assert_true(strlen(msg) > 0);
        cJSON_Delete(r);
    }
    /* The field that was wrong is named. */
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\","
                               "\"skuu\":1}}");
    const cJSON *data =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "error"), "data");
    assert_string_equal(json_str(data, "field"), "skuu");
    cJSON_Delete(r);
    /* The connection is still fine. */
    r = client_call(fd, "{\"id\":9,\"method\":\"ping\"}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    close(fd);
}

static void test_string_id_echoed(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    cJSON *r = client_call(fd, "{\"id\":\"a\\\"b\\\\c\\u00e9\",\"method\":\"ping\"}");
    assert_string_equal(json_str(r, "id"), "a\"b\\c\xc3\xa9");
    cJSON_Delete(r);
    r = client_call(fd, "{\"id\":9007199254740991,\"method\":\"ping\"}");
    assert_true(json_int(r, "id") == 9007199254740991LL);
    cJSON_Delete(r);
    /* 2^53 + 1 would parse to 2^53 and come back changed: refused. */
    r = client_call(fd, "{\"id\":9007199254740993,\"method\":\"ping\"}");
    assert_int_equal(resp_error_code(r), -32600);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "id")));
    cJSON_Delete(r);
    close(fd);
}

static void test_notifications(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    /* Executed, never answered: also when it fails. */
    client_sends(fd, "{\"method\":\"stock.set\",\"params\":{\"sku\":\"N\",\"location\":\"L\","
                     "\"on_hand\":9}}\n");
    client_sends(fd, "{\"method\":\"stock.set\",\"params\":{\"sku\":\"bad sku\"}}\n");
    client_sends(fd, "{\"method\":\"nope\"}\n");
    cJSON *r = client_call(fd, "{\"id\":5,\"method\":\"stock.get\",\"params\":{\"sku\":\"N\"}}");
    assert_int_equal(json_int(r, "id"), 5);
    const cJSON *totals = cJSON_GetObjectItemCaseSensitive(resp_result(r), "totals");
    assert_int_equal(json_int(totals, "on_hand"), 9);
    cJSON_Delete(r);
    assert_null(client_readline(fd, 200));
    close(fd);
}

static void test_oversized_line(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    size_t n = 70000;
    char *big = malloc(n + 64);
    strcpy(big, "{\"id\":1,\"method\":\"ping\"}\n{\"id\":2,\"method\":\"ping\",\"x\":\"");
    size_t len = strlen(big);
    memset(big + len, 'a', n - len);
    client_send(fd, big, n);
    client_sends(fd, "\"}\n{\"id\":3,\"method\":\"ping\"}\n");
    /* The request before the oversized line is answered first. */
    expect_line_id(fd, 1, 0);
    char *line = client_readline(fd, 5000);
    assert_non_null(line);
    cJSON *r = cJSON_Parse(line);
    assert_int_equal(resp_error_code(r), -32600);
    assert_string_equal(resp_error_reason(r), "request_too_large");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "id")));
    cJSON_Delete(r);
    free(line);
    /* Then the connection is closed: request 3 is never answered. */
    assert_true(client_wait_closed(fd, 5000));
    close(fd);
    free(big);

    /* A line of exactly max_request_bytes is accepted. */
    fd = client_connect(H.stockd[0].port);
    char *exact = malloc(65536 + 2);
    const char *head = "{\"id\":4,\"method\":\"ping\",\"params\":null,\"jsonrpc\":\"2.0\"}";
    strcpy(exact, head);
    memset(exact + strlen(head), ' ', 65536 - strlen(head));
    exact[65536] = '\n';
    client_send(fd, exact, 65537);
    expect_line_id(fd, 4, 0);
    free(exact);
    close(fd);
}

static void test_pipelining_in_order(void **state)
{
    (void)state;
    enum { N = 5000 };
    int fd = client_connect(H.stockd[0].port);
    cJSON *r = client_call(fd, "{\"id\":0,\"method\":\"stock.set\",\"params\":{\"sku\":\"P\","
                               "\"location\":\"L\",\"on_hand\":1000000}}");
    cJSON_Delete(r);

    /* Valid Redis calls, fast validation errors and unknown methods,
     * interleaved, all in one write. */
    size_t cap = (size_t)N * 200;
    char *all = malloc(cap);
    size_t len = 0;
    for (int i = 1; i <= N; i++) {
        switch (i % 4) {
        case 0:
            len += (size_t)snprintf(all + len, cap - len,
                                    "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"items\":[{"
                                    "\"sku\":\"P\",\"quantity\":1}],\"locations\":[\"L\"]}}\n",
                                    i);
            break;
        case 1:
            len += (size_t)snprintf(
                all + len, cap - len,
                "{\"id\":%d,\"method\":\"stock.get\",\"params\":{\"sku\":\"P\"}}\n", i);
            break;
        case 2:
            len += (size_t)snprintf(
                all + len, cap - len,
                "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"items\":[]}}\n", i);
            break;
        default:
            len += (size_t)snprintf(all + len, cap - len, "{\"id\":%d,\"method\":\"nope\"}\n", i);
        }
    }
    /* Far beyond --max-pipeline (1024 by default): stockd reads it as
     * answers leave, and refuses none. */
    long rss_before = harness_rss_kb(0);
    char **lines = client_exchange(fd, all, len, N, 60000);
    long rss_after = harness_rss_kb(0);
    free(all);
    int reserved = 0;
    for (int i = 1; i <= N; i++) {
        const char *line = lines[i - 1];
        cJSON *resp = cJSON_Parse(line);
        assert_non_null(resp);
        if (json_int(resp, "id") != i)
            fail_msg("response %d carries id %lld: %s", i, json_int(resp, "id"), line);
        int want = i % 4 == 2 ? -32602 : i % 4 == 3 ? -32601 : 0;
        assert_int_equal(resp_error_code(resp), want);
        if (i % 4 == 0)
            reserved++;
        cJSON_Delete(resp);
    }
    client_free_lines(lines, N);
    assert_int_equal(stock_row(fd, "P", "L").reserved, reserved);
    printf("5000 pipelined requests: stockd RSS %ld -> %ld kB\n", rss_before, rss_after);
#if !defined(__SANITIZE_ADDRESS__)
    if (getenv("STOCKD_VALGRIND") == NULL)
        assert_true(rss_before > 0 && rss_after - rss_before < 32 * 1024);
#endif
    close(fd);
}

static void test_last_line_without_newline(void **state)
{
    (void)state;
    int fd = client_connect(H.stockd[0].port);
    client_sends(fd, "{\"id\":11,\"method\":\"ping\"}");
    shutdown(fd, SHUT_WR);
    expect_line_id(fd, 11, 0);
    assert_true(client_wait_closed(fd, 5000));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ping, harness_flush_setup),
        cmocka_unit_test_setup(test_crlf_and_blank_lines, harness_flush_setup),
        cmocka_unit_test_setup(test_one_byte_at_a_time, harness_flush_setup),
        cmocka_unit_test_setup(test_parse_error_keeps_connection, harness_flush_setup),
        cmocka_unit_test_setup(test_envelope_errors, harness_flush_setup),
        cmocka_unit_test_setup(test_string_id_echoed, harness_flush_setup),
        cmocka_unit_test_setup(test_notifications, harness_flush_setup),
        cmocka_unit_test_setup(test_oversized_line, harness_flush_setup),
        cmocka_unit_test_setup(test_pipelining_in_order, harness_flush_setup),
        cmocka_unit_test_setup(test_last_line_without_newline, harness_flush_setup),
    };
    return harness_run("protocol", tests, sizeof tests / sizeof tests[0], 1, NULL);
}
