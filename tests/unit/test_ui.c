/* Unit tests of the status page's pure parts: query parameters and their
 * escapes, bearer tokens, the JSON-RPC line an endpoint runs (a client's
 * text stays a JSON string), HTTP statuses (ui_query.h); latency quantiles
 * in the histogram's buckets, rates over the sample ring, and the
 * overview's JSON with its values (ui_stats.h); and the sweeper and audit
 * series on /metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "buf.h"
#include "metrics.h"
#include "ui_query.h"
#include "ui_stats.h"

static void test_query_param(void **state)
{
    (void)state;
    char v[16];
    assert_int_equal(ui_query_param("sku=A-1&count=5", "sku", v, sizeof v), 3);
    assert_string_equal(v, "A-1");
    assert_int_equal(ui_query_param("sku=A-1&count=5", "count", v, sizeof v), 1);
    assert_string_equal(v, "5");
    assert_int_equal(ui_query_param("xsku=1&sku=2", "sku", v, sizeof v), 1);
    assert_string_equal(v, "2");
    assert_int_equal(ui_query_param("sku=a+b%3Cc%3e", "sku", v, sizeof v), 6);
    assert_string_equal(v, "a b<c>");
    assert_int_equal(ui_query_param("sku=", "sku", v, sizeof v), 0);
    assert_int_equal(ui_query_param("sku", "sku", v, sizeof v), 0);
    assert_int_equal(ui_query_param("", "sku", v, sizeof v), -1);
    assert_int_equal(ui_query_param("count=1", "sku", v, sizeof v), -1);
    /* bad escapes: cut short, not hex */
    assert_int_equal(ui_query_param("sku=a%4", "sku", v, sizeof v), -2);
    assert_int_equal(ui_query_param("sku=a%", "sku", v, sizeof v), -2);
    assert_int_equal(ui_query_param("sku=%zz", "sku", v, sizeof v), -2);
    /* does not fit: 16 bytes with the NUL */
    assert_int_equal(ui_query_param("sku=0123456789abcdef", "sku", v, sizeof v), -2);
    assert_int_equal(ui_query_param("sku=0123456789abcde", "sku", v, sizeof v), 15);
}

static void test_bearer(void **state)
{
    (void)state;
    struct str t;
    assert_int_equal(ui_bearer_token("Bearer s3cret", &t), 0);
    assert_int_equal(t.n, 6);
    assert_memory_equal(t.p, "s3cret", 6);
    assert_int_equal(ui_bearer_token("bearer \t tok", &t), 0);
    assert_memory_equal(t.p, "tok", 3);
    assert_int_equal(ui_bearer_token(NULL, &t), -1);
    assert_int_equal(ui_bearer_token("Basic dXNlcjpwYXNz", &t), -1);
    assert_int_equal(ui_bearer_token("Bearer", &t), -1);
    assert_int_equal(ui_bearer_token("Bearer   ", &t), -1);
    assert_int_equal(ui_bearer_token("Bearertok", &t), -1);
}

/* The line an endpoint runs, parsed back. */
static cJSON *line_of(const char *endpoint, const char *query)
{
    const struct ui_endpoint *ep = ui_endpoint_find(endpoint);
    assert_non_null(ep);
    struct buf line;
    buf_init(&line);
    const char *why = NULL;
    assert_int_equal(ui_endpoint_line(ep, query, &line, &why), 0);
    cJSON *j = cJSON_ParseWithLength(line.data, line.len);
    assert_non_null(j);
    buf_free(&line);
    return j;
}

static void test_endpoint_lines(void **state)
{
    (void)state;
    cJSON *j = line_of("stock", "sku=%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E");
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "stock.get");
    cJSON *sku = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "params"), "sku");
    assert_true(cJSON_IsString(sku));
    assert_string_equal(sku->valuestring, "<script>alert(\"x\")</script>");
    cJSON_Delete(j);

    j = line_of("reservation", "id=abc&other=1");
    cJSON *params = cJSON_GetObjectItem(j, "params");
    assert_string_equal(cJSON_GetObjectItem(params, "reservation_id")->valuestring, "abc");
    assert_int_equal(cJSON_GetArraySize(params), 1);
    cJSON_Delete(j);

    /* digits go as a number, anything else as a string (validation says no) */
    j = line_of("ledger", "count=25");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "params"), "count")));
    cJSON_Delete(j);
    j = line_of("low-stock", "count=-1");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "params"), "count")));
    cJSON_Delete(j);
    j = line_of("holds", "count=3");
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "ui.holds");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "params")), 0);
    cJSON_Delete(j);
    j = line_of("stock", ""); /* no sku: the method's validation answers */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "params")), 0);
    cJSON_Delete(j);

    assert_null(ui_endpoint_find("overview"));
    assert_null(ui_endpoint_find("stock.get"));
    struct buf line;
    buf_init(&line);
    const char *why = NULL;
    assert_int_equal(ui_endpoint_line(ui_endpoint_find("stock"), "sku=%G1", &line, &why), -1);
    assert_non_null(why);
    buf_free(&line);
}

static void test_statuses(void **state)
{
    (void)state;
    assert_int_equal(ui_http_status(E_NONE), 200);
    assert_int_equal(ui_http_status(E_INVALID_PARAMS), 400);
    assert_int_equal(ui_http_status(E_UNAUTHORIZED), 401);
    assert_int_equal(ui_http_status(E_NOT_FOUND), 404);
    assert_int_equal(ui_http_status(E_UNAVAILABLE), 503);
    assert_int_equal(ui_http_status(E_TIMEOUT), 504);
    assert_int_equal(ui_http_status(E_INTERNAL), 500);
    assert_string_equal(ui_http_reason(401), "Unauthorized");
    struct buf b;
    buf_init(&b);
    ui_error_json(&b, E_UNAUTHORIZED, "Wrong \"token\".");
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    assert_non_null(j);
    cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, 1006);
    assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring, "Wrong \"token\".");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "data"), "reason")->valuestring,
                        "unauthorized");
    cJSON_Delete(j);
    buf_free(&b);
}

static void test_quantile(void **state)
{
    (void)state;
    uint64_t c[METRICS_BUCKETS + 1] = {0};
    assert_true(ui_stats_quantile(c, 0.5) < 0);
    /* 100 in the bucket (0.001, 0.0025]: the median halfway through it */
    c[4] = 100;
    assert_float_equal(ui_stats_quantile(c, 0.5), 0.00175, 1e-9);
    assert_float_equal(ui_stats_quantile(c, 0.99), 0.001 + 0.0015 * 0.99, 1e-9);
    /* 10 in the first bucket: from 0 */
    memset(c, 0, sizeof c);
    c[0] = 10;
    assert_float_equal(ui_stats_quantile(c, 0.5), 0.00005, 1e-9);
    /* above the last bound: the last bound, as Prometheus says */
    memset(c, 0, sizeof c);
    c[METRICS_BUCKETS] = 5;
    assert_float_equal(ui_stats_quantile(c, 0.5), metrics_bucket_bound(METRICS_BUCKETS - 1), 1e-9);
    /* 90 fast, 10 slow: p50 fast, p99 slow */
    memset(c, 0, sizeof c);
    c[2] = 90;
    c[9] = 10;
    assert_true(ui_stats_quantile(c, 0.5) <= 0.0005);
    assert_true(ui_stats_quantile(c, 0.99) > 0.05 && ui_stats_quantile(c, 0.99) <= 0.1);
}

static cJSON *overview(const struct ui_stats *s, const struct metrics *m, double now_s)
{
    struct ui_overview_env env = {"9.9.9", now_s, true, "ready", "token", 1234};
    struct buf b;
    buf_init(&b);
    ui_stats_overview(s, m, &env, &b);
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    assert_non_null(j);
    buf_free(&b);
    return j;
}

static double num_at(cJSON *j, const char *a, const char *b)
{
    cJSON *x = cJSON_GetObjectItem(j, a);
    if (b != NULL)
        x = cJSON_GetObjectItem(x, b);
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

static void test_overview(void **state)
{
    (void)state;
    struct metrics *m = calloc(1, sizeof *m);
    struct ui_stats *s = malloc(sizeof *s);
    metrics_init(m);
    ui_stats_init(s);
    uint64_t t0 = 1000000000000ull, sec = 1000000000ull;
    ui_stats_sample(s, m, t0);
    cJSON *j = overview(s, m, m->start_time + 1);
    assert_float_equal(num_at(j, "window_s", NULL), 0, 0);
    assert_float_equal(num_at(j, "rates", "reserves"), 0, 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "latency"), "reserve"), "p99_ms")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "redis"), "cluster")));
    cJSON_Delete(j);

    /* 12 seconds of 50 held reserves, 5 out of stock and 10 stock.get a
     * second, each reserve in (0.5, 1] ms: the rates cover the last 10 s */
    for (int i = 1; i <= 12; i++) {
        m->requests[METHOD_RESERVE][E_NONE] += 50;
        m->requests[METHOD_RESERVE][E_OUT_OF_STOCK] += 5;
        m->requests[METHOD_STOCK_GET][E_NONE] += 10;
        m->latency_buckets[METHOD_RESERVE][3] += 55;
        m->latency_count[METHOD_RESERVE] += 55;
        m->latency_buckets[METHOD_STOCK_GET][1] += 10;
        m->latency_count[METHOD_STOCK_GET] += 10;
        m->sweeper_expired += 2;
        ui_stats_sample(s, m, t0 + (uint64_t)i * sec);
    }
    snprintf(m->redis_master, sizeof m->redis_master, "10.0.0.1:6379\"<b>");
    m->redis_up = true;
    m->sweeper_last_done = m->start_time + 10;
    j = overview(s, m, m->start_time + 12);
    assert_string_equal(cJSON_GetObjectItem(j, "version")->valuestring, "9.9.9");
    assert_float_equal(num_at(j, "window_s", NULL), 10, 1e-9);
    assert_float_equal(num_at(j, "rates", "reserves"), 55, 1e-9);
    assert_float_equal(num_at(j, "rates", "reserves_held"), 50, 1e-9);
    assert_float_equal(num_at(j, "rates", "requests"), 65, 1e-9);
    assert_float_equal(num_at(j, "rates", "errors"), 5, 1e-9);
    assert_float_equal(num_at(j, "uptime_s", NULL), 12, 1e-6);
    cJSON *errs = cJSON_GetObjectItem(j, "errors");
    assert_int_equal(cJSON_GetArraySize(errs), 1);
    cJSON *e0 = cJSON_GetArrayItem(errs, 0);
    assert_int_equal(cJSON_GetObjectItem(e0, "code")->valueint, 1001);
    assert_string_equal(cJSON_GetObjectItem(e0, "reason")->valuestring, "out_of_stock");
    assert_int_equal(cJSON_GetObjectItem(e0, "total")->valueint, 60);
    assert_float_equal(num_at(e0, "per_s", NULL), 5, 1e-9);
    cJSON *lat = cJSON_GetObjectItem(j, "latency");
    assert_float_equal(num_at(lat, "window_s", NULL), 12, 1e-9);
    cJSON *res = cJSON_GetObjectItem(lat, "reserve");
    assert_int_equal(cJSON_GetObjectItem(res, "count")->valueint, 12 * 55);
    assert_float_equal(num_at(res, "p50_ms", NULL), 0.75, 1e-3);
    assert_true(num_at(res, "p99_ms", NULL) > 0.99 && num_at(res, "p99_ms", NULL) <= 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(lat, "all"), "count")->valueint,
                     12 * 65);
    cJSON *methods = cJSON_GetObjectItem(j, "methods");
    assert_int_equal(cJSON_GetArraySize(methods), 2);
    cJSON *redis = cJSON_GetObjectItem(j, "redis");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(redis, "up")));
    assert_string_equal(cJSON_GetObjectItem(redis, "master")->valuestring, "10.0.0.1:6379\"<b>");
    assert_string_equal(cJSON_GetObjectItem(redis, "mode")->valuestring, "single");
    cJSON *sw = cJSON_GetObjectItem(j, "sweeper");
    assert_float_equal(num_at(sw, "expired_per_s", NULL), 2, 1e-9);
    assert_float_equal(num_at(sw, "last_done_age_s", NULL), 2, 1e-6);
    assert_int_equal(cJSON_GetObjectItem(j, "rss_bytes")->valueint, 1234);
    cJSON_Delete(j);

    /* a minute later the ring holds 61 samples and the latency window
     * stops at 60 s */
    for (int i = 13; i <= 80; i++)
        ui_stats_sample(s, m, t0 + (uint64_t)i * sec);
    j = overview(s, m, m->start_time + 80);
    assert_float_equal(num_at(cJSON_GetObjectItem(j, "latency"), "window_s", NULL), 60, 1e-9);
    assert_float_equal(num_at(j, "rates", "reserves"), 0, 0);
    cJSON_Delete(j);
    free(s);
    free(m);
}

static void test_sweeper_and_audit_series(void **state)
{
    (void)state;
    struct metrics *m = calloc(1, sizeof *m);
    metrics_init(m);
    struct buf b;
    buf_init(&b);
    metrics_render(m, &b, "1", -1);
    assert_non_null(strstr(buf_cstr(&b), "\nstockd_sweeper_runs_total{result=\"cut\"} 0\n"));
    assert_non_null(strstr(buf_cstr(&b), "\nstockd_sweeper_last_done_timestamp_seconds 0\n"));
    assert_non_null(strstr(buf_cstr(&b), "\nstockd_audit_differences{kind=\"ledger\"} 0\n"));
    buf_reset(&b);
    metrics_sweep(m, SWEEP_CUT);
    metrics_sweep(m, SWEEP_DONE);
    long long found[AUDIT_KINDS] = {3, 0, 1, 0};
    metrics_audit(m, found);
    metrics_render(m, &b, "1", -1);
    assert_non_null(strstr(buf_cstr(&b), "\nstockd_sweeper_runs_total{result=\"cut\"} 1\n"));
    assert_non_null(strstr(buf_cstr(&b), "\nstockd_sweeper_runs_total{result=\"done\"} 1\n"));
    assert_null(strstr(buf_cstr(&b), "\nstockd_sweeper_last_done_timestamp_seconds 0\n"));
    assert_true(m->sweeper_last_done >= m->start_time);
    assert_non_null(strstr(buf_cstr(&b), "\nstockd_audit_differences{kind=\"counts\"} 3\n"));
    assert_non_null(strstr(buf_cstr(&b), "\nstockd_audit_differences{kind=\"late\"} 1\n"));
    assert_non_null(strstr(buf_cstr(&b), "\nstockd_audit_runs_total 1\n"));
    buf_free(&b);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_param),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_endpoint_lines),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_overview),
        cmocka_unit_test(test_sweeper_and_audit_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
