/* The status page over HTTP (ui.h): the page and its files with their
 * Content-Security-Policy; the open overview, whose numbers follow the
 * load; the data endpoints, which need the bearer token (401 without or
 * with a wrong one, 403 when stockd has none) and answer exactly what the
 * JSON-RPC method answers, a client's text escaped; with tenants, a
 * tenant's token shows that tenant's data only; a client that goes away
 * while Redis is stuck, and a request that outlives Redis's answer time,
 * leave stockd well. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#include "harness.h"

#define TOKEN "ui-s3cret"

/* A GET with an Authorization header (NULL: none): the status, the body
 * (malloc'd) and, when head is given, the whole answer. */
static int get(int http, const char *path, const char *auth, char **body)
{
    char req[4096];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n", path,
             auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
    return harness_http_raw(http, req, body);
}

static cJSON *get_json(int http, const char *path, const char *auth, int want_status)
{
    char *body = NULL;
    int status = get(http, path, auth, &body);
    if (status != want_status)
        fail_msg("GET %s: %d, not %d: %s", path, status, want_status, body ? body : "");
    cJSON *j = cJSON_Parse(body);
    if (j == NULL)
        fail_msg("GET %s: not JSON: %s", path, body);
    free(body);
    return j;
}

static int start_with_token(void)
{
    char path[512];
    harness_write_file("ui-token", TOKEN "\n", path, sizeof path);
    const char *args[] = {"--auth-token-file", path, NULL};
    return harness_stockd(&(struct stockd_opts){.args = args});
}

static void test_page_and_its_files(void **state)
{
    (void)state;
    int http = H.stockd[start_with_token()].http_port;
    char *body = NULL;
    char req[] = "GET /ui HTTP/1.1\r\n\r\n";
    /* harness_http_raw gives the body; the head is checked on a raw read */
    assert_int_equal(harness_http_raw(http, req, &body), 200);
    assert_non_null(strstr(body, "<!doctype html>"));
    free(body);
    int fd = client_connect(http);
    client_sends(fd, "GET /ui/ HTTP/1.1\r\n\r\n");
    char head[4096] = "";
    size_t n = 0;
    for (char *line; (line = client_readline(fd, 2000)) != NULL; free(line)) {
        if (line[0] == '\r') { /* the empty line after the head */
            free(line);
            break;
        }
        n += (size_t)snprintf(head + n, sizeof head - n, "%s\n", line);
    }
    close(fd);
    assert_non_null(strstr(head, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(head, "Content-Type: text/html; charset=utf-8"));
    assert_non_null(strstr(head, "Content-Security-Policy: default-src 'none'; script-src 'self'"));
    assert_non_null(strstr(head, "X-Content-Type-Options: nosniff"));
    assert_int_equal(get(http, "/ui/ui.js", NULL, &body), 200);
    free(body);
    assert_int_equal(get(http, "/ui/ui.css", NULL, &body), 200);
    free(body);
    assert_int_equal(get(http, "/ui/nope.js", NULL, &body), 404);
    free(body);
    assert_int_equal(get(http, "/ui/api/nope", NULL, &body), 404);
    free(body);
    assert_int_equal(harness_http_raw(http, "POST /ui/api/stock HTTP/1.1\r\n\r\n", &body), 405);
    free(body);
    /* the probes are as they were */
    assert_int_equal(get(http, "/healthz", NULL, &body), 200);
    free(body);
    char *big = malloc(3000);
    memset(big, 'a', 2999);
    big[2999] = '\0';
    memcpy(big, "/ui/api/stock?sku=", 18);
    assert_int_equal(get(http, big, "Bearer " TOKEN, &body), 414);
    free(body);
    free(big);
}

static double num(cJSON *j, const char *a, const char *b)
{
    cJSON *x = cJSON_GetObjectItem(j, a);
    if (b != NULL)
        x = cJSON_GetObjectItem(x, b);
    if (!cJSON_IsNumber(x))
        fail_msg("%s.%s is not a number", a, b ? b : "");
    return x->valuedouble;
}

static void test_overview_follows_the_load(void **state)
{
    (void)state;
    int i = start_with_token();
    int http = H.stockd[i].http_port, fd = harness_client(i);
    cJSON *r = client_call(
        fd,
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"auth\",\"params\":{\"token\":\"" TOKEN "\"}}");
    cJSON_Delete(r);
    cJSON_Delete(client_call(fd,
                             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stock.set\",\"params\":"
                             "{\"sku\":\"OV\",\"location\":\"w1\",\"on_hand\":1000}}"));
    cJSON_Delete(client_call(fd,
                             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"channel.set\",\"params\":"
                             "{\"channel\":\"web\",\"locations\":[\"w1\"]}}"));
    /* open: no token needed */
    cJSON *o = get_json(http, "/ui/api/overview", NULL, 200);
    cJSON *res = cJSON_GetObjectItem(o, "result");
    assert_string_equal(cJSON_GetObjectItem(res, "auth")->valuestring, "token");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "redis"), "up")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "ready"), "ok")));
    cJSON_Delete(o);
    /* 40 reserves, 5 of them refused for stock: the next samples see them */
    for (int k = 0; k < 40; k++) {
        r = client_callf(
            fd,
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"reserve\",\"params\":{\"order_id\":"
            "\"ov-%d\",\"channel\":\"web\",\"items\":[{\"sku\":\"OV\",\"quantity\":%d}]}}",
            k, k < 35 ? 1 : 5000);
        assert_int_equal(resp_error_code(r), k < 35 ? 0 : 1001);
        cJSON_Delete(r);
    }
    long long until = harness_now_ms() + 8000;
    double held = 0, refused = 0, reserve_total = 0, p99 = -1;
    while (harness_now_ms() < until) {
        o = get_json(http, "/ui/api/overview", NULL, 200);
        res = cJSON_GetObjectItem(o, "result");
        held = num(res, "rates", "reserves_held");
        cJSON *errs = cJSON_GetObjectItem(res, "errors");
        refused = 0;
        for (int k = 0; k < cJSON_GetArraySize(errs); k++)
            if (cJSON_GetObjectItem(cJSON_GetArrayItem(errs, k), "code")->valueint == 1001)
                refused = num(cJSON_GetArrayItem(errs, k), "total", NULL);
        cJSON *methods = cJSON_GetObjectItem(res, "methods");
        for (int k = 0; k < cJSON_GetArraySize(methods); k++)
            if (strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(methods, k), "method")->valuestring,
                       "reserve") == 0)
                reserve_total = num(cJSON_GetArrayItem(methods, k), "total", NULL);
        cJSON *p = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(res, "latency"), "reserve"), "p99_ms");
        p99 = cJSON_IsNumber(p) ? p->valuedouble : -1;
        cJSON_Delete(o);
        if (held > 0 && p99 > 0)
            break;
        usleep(100 * 1000); /* the next once-a-second sample */
    }
    assert_true(held > 0);
    assert_true(p99 > 0 && p99 <= 5000);
    assert_int_equal((int)refused, 5);
    assert_int_equal((int)reserve_total, 40);
}

static void test_data_needs_the_token(void **state)
{
    (void)state;
    int i = start_with_token();
    int http = H.stockd[i].http_port, fd = harness_client(i);
    cJSON_Delete(client_call(
        fd,
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"auth\",\"params\":{\"token\":\"" TOKEN "\"}}"));
    cJSON_Delete(client_call(fd,
                             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stock.set\",\"params\":"
                             "{\"sku\":\"SECRET-1\",\"location\":\"w1\",\"on_hand\":7}}"));
    const char *paths[] = {"/ui/api/stock?sku=SECRET-1",
                           "/ui/api/reservation?id=x",
                           "/ui/api/ledger",
                           "/ui/api/holds",
                           "/ui/api/low-stock",
                           "/ui/api/auth"};
    const char *bad[] = {NULL, "Bearer wrong", "Basic " TOKEN, "Bearer " TOKEN "x", "Bearer"};
    double failures = harness_metric(i, "stockd_auth_failures_total");
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            char *body = NULL;
            assert_int_equal(get(http, paths[p], bad[b], &body), 401);
            assert_null(strstr(body, "SECRET-1"));
            assert_null(strstr(body, "result"));
            assert_non_null(strstr(body, "\"code\":1006"));
            free(body);
        }
    /* wrong tokens are counted as auth's are (not a missing one) */
    assert_true(harness_metric(i, "stockd_auth_failures_total") >= failures + 6 * 2);
    cJSON *a = get_json(http, "/ui/api/auth", "Bearer " TOKEN, 200);
    assert_true(
        cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "result"), "authenticated")));
    cJSON_Delete(a);

    /* without any token configured: 403, and no data */
    int open = harness_stockd(NULL);
    char *body = NULL;
    assert_int_equal(get(H.stockd[open].http_port, "/ui/api/stock?sku=SECRET-1", NULL, &body), 403);
    assert_null(strstr(body, "result"));
    assert_non_null(strstr(body, "--auth-token-file"));
    free(body);
    assert_int_equal(get(H.stockd[open].http_port, "/ui/api/stock?sku=SECRET-1", "Bearer x", &body),
                     403);
    free(body);
    /* the overview stays open */
    assert_int_equal(get(H.stockd[open].http_port, "/ui/api/overview", NULL, &body), 200);
    assert_non_null(strstr(body, "\"auth\":\"none\""));
    free(body);
}

/* The result of a JSON-RPC answer and of the page's answer are the same. */
static void assert_same_result(cJSON *rpc, cJSON *page)
{
    char *a = cJSON_PrintUnformatted(cJSON_GetObjectItem(rpc, "result"));
    char *b = cJSON_PrintUnformatted(cJSON_GetObjectItem(page, "result"));
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_data_is_what_a_client_is_answered(void **state)
{
    (void)state;
    int i = start_with_token();
    int http = H.stockd[i].http_port, fd = harness_client(i);
    const char *auth = "Bearer " TOKEN;
    cJSON_Delete(client_call(
        fd,
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"auth\",\"params\":{\"token\":\"" TOKEN "\"}}"));
    cJSON_Delete(client_call(fd,
                             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stock.set\",\"params\":"
                             "{\"sku\":\"D-1\",\"location\":\"w1\",\"on_hand\":9}}"));
    cJSON_Delete(client_call(fd,
                             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stock.set\",\"params\":"
                             "{\"sku\":\"D-1\",\"location\":\"w2\",\"on_hand\":4}}"));
    cJSON_Delete(client_call(fd,
                             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"channel.set\",\"params\":"
                             "{\"channel\":\"web\",\"locations\":[\"w2\",\"w1\"]}}"));
    cJSON *r =
        client_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"reserve\",\"params\":{"
                        "\"order_id\":\"o-1\",\"channel\":\"web\",\"items\":[{\"sku\":\"D-1\","
                        "\"quantity\":6}]}}");
    assert_int_equal(resp_error_code(r), 0);
    char id[64];
    snprintf(id, sizeof id, "%s",
             cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "reservation_id")->valuestring);
    cJSON_Delete(r);
    /* released with a reason full of markup: stored and shown as text */
    const char *reason = "<img src=x onerror=\\\"alert(1)\\\"><b>bold</b> & \\u00e9";
    r = client_callf(fd,
                     "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"release\",\"params\":{"
                     "\"reservation_id\":\"%s\",\"reason\":\"%s\"}}",
                     id, reason);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);

    cJSON *rpc = client_call(
        fd, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"stock.get\",\"params\":{\"sku\":\"D-1\"}}");
    cJSON *page = get_json(http, "/ui/api/stock?sku=D-1", auth, 200);
    assert_same_result(rpc, page);
    cJSON_Delete(rpc);
    cJSON_Delete(page);

    char path[128];
    rpc = client_callf(fd,
                       "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"reservation.get\",\"params\":{"
                       "\"reservation_id\":\"%s\"}}",
                       id);
    snprintf(path, sizeof path, "/ui/api/reservation?id=%s", id);
    page = get_json(http, path, auth, 200);
    assert_same_result(rpc, page);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(page, "result"), "reason")->valuestring,
        "<img src=x onerror=\"alert(1)\"><b>bold</b> & \xc3\xa9");
    cJSON_Delete(rpc);
    cJSON_Delete(page);

    /* a sku with markup: refused by validation, nothing echoed */
    char *body = NULL;
    assert_int_equal(
        get(http, "/ui/api/stock?sku=%3Cscript%3Ealert(1)%3C%2Fscript%3E", auth, &body), 400);
    assert_non_null(strstr(body, "-32602"));
    assert_null(strstr(body, "<script>"));
    free(body);
    assert_int_equal(get(http, "/ui/api/stock", auth, &body), 400); /* sku missing */
    free(body);
    assert_int_equal(get(http, "/ui/api/stock?sku=%ZZ", auth, &body), 400);
    free(body);
    assert_int_equal(get(http, "/ui/api/reservation?id=no-such-id", auth, &body), 404);
    assert_non_null(strstr(body, "\"code\":1002"));
    free(body);
    assert_int_equal(get(http, "/ui/api/ledger?count=0", auth, &body), 400);
    free(body);

    /* the ledger's newest movement is the release, with its reason as text */
    page = get_json(http, "/ui/api/ledger?count=5", auth, 200);
    cJSON *entries = cJSON_GetObjectItem(cJSON_GetObjectItem(page, "result"), "entries");
    assert_true(cJSON_GetArraySize(entries) >= 2);
    cJSON *newest = cJSON_GetArrayItem(entries, 0);
    assert_string_equal(cJSON_GetObjectItem(newest, "type")->valuestring, "release");
    assert_string_equal(cJSON_GetObjectItem(newest, "reason")->valuestring,
                        "<img src=x onerror=\"alert(1)\"><b>bold</b> & \xc3\xa9");
    cJSON_Delete(page);
    /* the page's own methods are not on the wire */
    r = client_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ui.ledger\",\"params\":{}}");
    assert_int_equal(resp_error_code(r), -32601);
    cJSON_Delete(r);
}

static void test_tenants_see_their_own(void **state)
{
    (void)state;
    char path[512];
    harness_write_file("ui-tenants", "acme tok-acme\nhooli tok-hooli\n", path, sizeof path);
    const char *args[] = {"--tenants-file", path, NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int http = H.stockd[i].http_port, fd = harness_client(i);
    cJSON_Delete(client_call(
        fd,
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"auth\",\"params\":{\"token\":\"tok-acme\"}}"));
    cJSON_Delete(client_call(fd,
                             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stock.set\",\"params\":"
                             "{\"sku\":\"T-1\",\"location\":\"w1\",\"on_hand\":3}}"));
    cJSON *a = get_json(http, "/ui/api/auth", "Bearer tok-hooli", 200);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(a, "result"), "tenant")->valuestring, "hooli");
    cJSON_Delete(a);
    cJSON *p = get_json(http, "/ui/api/stock?sku=T-1", "Bearer tok-acme", 200);
    cJSON *totals = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "result"), "totals");
    assert_int_equal(cJSON_GetObjectItem(totals, "on_hand")->valueint, 3);
    cJSON_Delete(p);
    p = get_json(http, "/ui/api/stock?sku=T-1", "Bearer tok-hooli", 200);
    totals = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "result"), "totals");
    assert_int_equal(cJSON_GetObjectItem(totals, "on_hand")->valueint, 0);
    cJSON_Delete(p);
    cJSON *o = get_json(http, "/ui/api/overview", NULL, 200);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "result"), "auth")->valuestring,
                        "tenants");
    cJSON_Delete(o);
    assert_true(
        harness_metric(
            i, "stockd_tenant_requests_total{tenant=\"acme\",method=\"stock.get\",code=\"0\"}") >=
        1);
}

static void test_stuck_redis_and_a_client_that_leaves(void **state)
{
    (void)state;
    harness_skip_in_cluster("stops the one Redis");
    int i = start_with_token();
    int http = H.stockd[i].http_port;
    harness_signal_redis(&H, SIGSTOP);
    /* a client that goes away before the answer */
    for (int k = 0; k < 5; k++) {
        int fd = client_connect(http);
        client_sends(fd,
                     "GET /ui/api/stock?sku=S HTTP/1.1\r\nAuthorization: Bearer " TOKEN "\r\n\r\n");
        close(fd);
    }
    /* one that waits: answered once the request's time is up */
    char *body = NULL;
    long long t0 = harness_now_ms();
    int status = get(http, "/ui/api/stock?sku=S", "Bearer " TOKEN, &body);
    harness_signal_redis(&H, SIGCONT);
    assert_true(status == 503 || status == 504);
    assert_non_null(strstr(body, "\"error\""));
    assert_true(harness_now_ms() - t0 < 5000);
    free(body);
    harness_wait_redis_up(H.stockd[i].port, 10000);
    cJSON *p = get_json(http, "/ui/api/stock?sku=S", "Bearer " TOKEN, 200);
    cJSON_Delete(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_and_its_files),
        cmocka_unit_test_setup(test_overview_follows_the_load, harness_flush_setup),
        cmocka_unit_test_setup(test_data_needs_the_token, harness_flush_setup),
        cmocka_unit_test_setup(test_data_is_what_a_client_is_answered, harness_flush_setup),
        cmocka_unit_test_setup(test_tenants_see_their_own, harness_flush_setup),
        cmocka_unit_test_setup(test_stuck_redis_and_a_client_that_leaves, harness_flush_setup),
    };
    return harness_run("ui", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
