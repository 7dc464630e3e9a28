/* Unit tests of the Prometheus text lines (prom.h): heads, samples of each
 * kind of value, label escaping cut short without splitting an escape, and
 * the process's series with and without the resident memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
