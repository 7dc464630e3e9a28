/* Unit tests of the Prometheus text lines (prom.h): heads, samples of each
 * kind of value, label escaping cut short without splitting an escape, and
 * the process's series with and without the resident memory; and stockd's
 * series of the Redis master and of --durability (metrics.c), with the
 * lines /readyz gets from them. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "metrics.h"
#include "prom.h"

static void assert_text(struct buf *b, const char *want)
{
    assert_string_equal(buf_cstr(b), want);
    buf_reset(b);
}

static void test_lines(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    prom_head(&b, "x_total", "counter", "Things counted.");
    assert_text(&b, "# HELP x_total Things counted.\n# TYPE x_total counter\n");
    prom_sample(&b, "x", "", "NaN");
    assert_text(&b, "x NaN\n");
    prom_sample_u(&b, "x_total", "{kind=\"a\"}", UINT64_MAX);
    assert_text(&b, "x_total{kind=\"a\"} 18446744073709551615\n");
    prom_sample_d(&b, "x_seconds", "", 0.25);
    assert_text(&b, "x_seconds 0.25\n");
    prom_sample_ms(&b, "x_seconds", "{a=\"b\"}", 1500);
    assert_text(&b, "x_seconds{a=\"b\"} 1.500\n");
    buf_free(&b);
}

static const struct value_case {
    long long ms;
    const char *want;
} ms_cases[] = {
    {0, "0.000"},
    {1, "0.001"},
    {999, "0.999"},
    {1000, "1.000"},
    {1796181223861, "1796181223.861"},
    {-1, "-0.001"},
    {-1500, "-1.500"},
    {-9223372036854775807LL - 1, "-9223372036854775.808"},
};

static void test_values(void **state)
{
    (void)state;
    char text[PROM_VALUE_MAX];
    for (size_t i = 0; i < sizeof ms_cases / sizeof ms_cases[0]; i++)
        assert_string_equal(prom_value_ms(text, ms_cases[i].ms), ms_cases[i].want);
    /* Nine significant digits: a Unix time in seconds loses its fraction. */
    assert_string_equal(prom_value_d(text, 1796181223.861), "1.79618122e+09");
    assert_string_equal(prom_value_d(text, 0.0001), "0.0001");
}

static const struct escape_case {
    const char *in;
    size_t n;
    const char *want;
} escape_cases[] = {
    {"plain", 64, "plain"},
    {"a\"b", 64, "a\\\"b"},
    {"a\\b", 64, "a\\\\b"},
    {"a\nb", 64, "a\\nb"},
    {"", 1, ""},
    {"abc", 3, "ab"},
    {"a\"", 3, "a"}, /* the escape would not fit whole */
    {"a\"", 4, "a\\\""},
};

static void test_escape(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof escape_cases / sizeof escape_cases[0]; i++) {
        char out[64];
        memset(out, 'X', sizeof out);
        const struct escape_case *tc = &escape_cases[i];
        assert_ptr_equal(prom_escape(tc->in, out, tc->n), out);
        if (strcmp(out, tc->want) != 0)
            fail_msg("case %zu: '%s', expected '%s'", i, out, tc->want);
    }
}

static void test_process(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    prom_process(&b, "p_build_info", "1.2\"3", "12.500", 4096);
    assert_text(&b, "# HELP p_build_info The running build (always 1).\n"
                    "# TYPE p_build_info gauge\n"
                    "p_build_info{version=\"1.2\\\"3\"} 1\n"
                    "# HELP process_start_time_seconds Start time of the process (Unix seconds).\n"
                    "# TYPE process_start_time_seconds gauge\n"
                    "process_start_time_seconds 12.500\n"
                    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                    "# TYPE process_resident_memory_bytes gauge\n"
                    "process_resident_memory_bytes 4096\n");
    prom_process(&b, "p_build_info", "1", "0", -1);
    assert_null(strstr(buf_cstr(&b), "resident"));
    buf_free(&b);
}

/* --- stockd's own series (metrics.c) that read the link and the store -- */

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p != NULL; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static void test_redis_master_and_replication(void **state)
{
    (void)state;
    struct metrics *m = calloc(1, sizeof *m);
    metrics_init(m);
    struct buf b;
    buf_init(&b);
    /* Not connected: the series is declared, with no sample. */
    snprintf(m->redis_master, sizeof m->redis_master, "10.0.0.7:6379");
    metrics_render(m, &b, "1", -1);
    assert_true(has_line(buf_cstr(&b), "# TYPE stockd_redis_master_info gauge"));
    assert_null(strstr(buf_cstr(&b), "stockd_redis_master_info{"));
    assert_true(has_line(buf_cstr(&b), "stockd_redis_replication_required 0"));
    buf_reset(&b);
    /* Connected through Sentinel, a label value that needs escaping. */
    m->redis_up = true;
    m->redis_sentinel = true;
    m->redis_failovers = 3;
    snprintf(m->redis_master, sizeof m->redis_master, "a\"b:1");
    m->replication_required = 2;
    m->replication_waits = 5;
    m->replication_wait_seconds = 0.25;
    m->replication_failures = 1;
    metrics_render(m, &b, "1", -1);
    const char *t = buf_cstr(&b);
    assert_true(has_line(t, "stockd_redis_master_info{address=\"a\\\"b:1\",mode=\"sentinel\"} 1"));
    assert_true(has_line(t, "stockd_redis_failovers_total 3"));
    assert_true(has_line(t, "stockd_redis_replication_required 2"));
    assert_true(has_line(t, "stockd_redis_replication_waits_total 5"));
    assert_true(has_line(t, "stockd_redis_replication_wait_seconds_total 0.25"));
    assert_true(has_line(t, "stockd_redis_replication_failures_total 1"));
    buf_reset(&b);

    /* /readyz: the master, the durability, and a warning only while the
     * latest WAIT, recent, fell short. */
    snprintf(m->redis_master, sizeof m->redis_master, "10.0.0.7:6379");
    metrics_redis_lines(m, &b);
    assert_string_equal(buf_cstr(&b), "redis: master 10.0.0.7:6379 (sentinel), failovers seen 3\n"
                                      "durability: replica:2\n");
    buf_reset(&b);
    m->replication_last_at_ns = metrics_now_ns();
    m->replication_last_acked = 1;
    assert_true(metrics_replication_short(m));
    metrics_redis_lines(m, &b);
    assert_non_null(strstr(buf_cstr(&b), "\nwarning: the latest WAIT confirmed 1 of 2 replicas"));
    buf_reset(&b);
    m->replication_last_acked = -1;
    metrics_redis_lines(m, &b);
    assert_non_null(strstr(buf_cstr(&b), "\nwarning: the latest WAIT for 2 replicas broke"));
    buf_reset(&b);
    m->replication_last_acked = 2;
    assert_false(metrics_replication_short(m));
    m->replication_last_acked = 0;
    m->replication_last_at_ns = metrics_now_ns() - METRICS_REPLICATION_RECENT_NS - 1;
    assert_false(metrics_replication_short(m));
    m->redis_sentinel = false;
    m->redis_failovers = 0;
    m->redis_master[0] = '\0';
    m->replication_required = 0;
    metrics_redis_lines(m, &b);
    assert_string_equal(buf_cstr(&b), "redis: master none (direct), failovers seen 0\n"
                                      "durability: none\n");
    buf_reset(&b);

    /* A cluster: its masters and slots; a warning while a master is down
     * or slots have none. */
    m->redis_cluster = true;
    m->cluster_masters = 3;
    m->cluster_masters_up = 3;
    m->cluster_slots = 16384;
    m->cluster_map_refreshes = 4;
    metrics_redis_lines(m, &b);
    assert_string_equal(buf_cstr(&b),
                        "redis: cluster, 3 masters (3 up), 16384/16384 slots, map refreshes 4\n"
                        "durability: none\n");
    buf_reset(&b);
    m->cluster_masters_up = 2;
    metrics_redis_lines(m, &b);
    assert_non_null(strstr(buf_cstr(&b), "\nwarning: 1 of 3 masters not up, 0 slots without a "
                                         "master: calls for their slots are answered 2001"));
    buf_reset(&b);
    m->cluster_masters_up = 3;
    m->cluster_slots = 16000;
    metrics_redis_lines(m, &b);
    assert_non_null(strstr(buf_cstr(&b), "\nwarning: 0 of 3 masters not up, 384 slots without"));
    buf_reset(&b);
    metrics_render(m, &b, "1", -1);
    assert_true(has_line(buf_cstr(&b), "stockd_redis_cluster_masters_up 3"));
    buf_free(&b);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_process),
        cmocka_unit_test(test_redis_master_and_replication),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
