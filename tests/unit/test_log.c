/* Unit tests of logging (log.c): the level filter, the JSON format with
 * escaping, and the summaries of repeated events, so that a fault that hits
 * every request writes a handful of lines, not one per request. stderr is
 * captured in a temporary file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static FILE *capture;
static int saved_stderr;

static void start_capture(void)
{
    fflush(stderr);
    saved_stderr = dup(2);
    capture = tmpfile();
    assert_non_null(capture);
    dup2(fileno(capture), 2);
}

/* Ends the capture; returns what was written (static buffer). */
static const char *end_capture(void)
{
    static char text[8192];
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(capture);
    size_t n = fread(text, 1, sizeof text - 1, capture);
    text[n] = '\0';
    fclose(capture);
    return text;
}

static int lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static void test_level_and_format(void **state)
{
    (void)state;
    start_capture();
    log_setup(LOG_WARN, LOG_TEXT);
    log_info("hidden");
    log_warn("shown %d", 1);
    log_setup(LOG_INFO, LOG_JSON);
    log_error("a \"quoted\"\nline");
    const char *text = end_capture();
    assert_null(strstr(text, "hidden"));
    assert_non_null(strstr(text, " warn shown 1\n"));
    assert_non_null(strstr(text, "\"level\":\"error\",\"msg\":\"a \\\"quoted\\\"\\nline\"}\n"));
    assert_int_equal(lines(text), 2);
    log_setup(LOG_INFO, LOG_TEXT);
}

static void test_repeats_are_summarised(void **state)
{
    (void)state;
    struct log_repeat r = {0};
    start_capture();
    for (int i = 0; i < 1000; i++)
        log_repeat(&r, LOG_WARN, "redis refused call %d", i);
    /* The window has not ended: nothing more to say yet. */
    log_flush_repeats();
    const char *mid = end_capture();
    assert_int_equal(lines(mid), 1);
    assert_non_null(strstr(mid, "redis refused call 0\n"));

    start_capture();
    log_repeat_done(&r);
    /* Done twice, or with nothing pending: silent. */
    log_repeat_done(&r);
    const char *end = end_capture();
    assert_int_equal(lines(end), 1);
    assert_non_null(strstr(end, "999 more like this"));
    assert_non_null(strstr(end, "the latest: redis refused call 999"));
}

static void test_kinds_are_separate(void **state)
{
    (void)state;
    struct log_repeat a = {0}, b = {0};
    start_capture();
    log_repeat(&a, LOG_WARN, "kind a");
    log_repeat(&b, LOG_ERROR, "kind b");
    log_repeat(&a, LOG_WARN, "kind a again");
    log_repeat_done(&a);
    log_repeat_done(&b);
    const char *text = end_capture();
    /* Each kind's first at once, and only a's summary. */
    assert_int_equal(lines(text), 3);
    assert_non_null(strstr(text, "warn kind a\n"));
    assert_non_null(strstr(text, "error kind b\n"));
    assert_non_null(strstr(text, "1 more like this in the last"));
}

static void test_below_the_level_nothing(void **state)
{
    (void)state;
    struct log_repeat r = {0};
    start_capture();
    log_setup(LOG_ERROR, LOG_TEXT);
    for (int i = 0; i < 10; i++)
        log_repeat(&r, LOG_WARN, "quiet");
    log_repeat_done(&r);
    const char *text = end_capture();
    assert_string_equal(text, "");
    log_setup(LOG_INFO, LOG_TEXT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_and_format),
        cmocka_unit_test(test_repeats_are_summarised),
        cmocka_unit_test(test_kinds_are_separate),
        cmocka_unit_test(test_below_the_level_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
