/* Unit tests of newline framing (framer.h). Every table case is fed whole, one
 * byte at a time and split in two at every offset, and must deliver the same
 * lines with the same final status each way, because a socket may hand the
 * framer any split of the bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "framer.h"

/* The small limit most table cases use, so that oversized lines are short. */
#define SMALL_MAX 8

/* Collects delivered lines, each followed by "\n" (a delivered line never
 * holds a "\n", so the joined text says exactly which lines came out), and
 * checks the callback's side of the contract on every call. */
struct sink {
    const char *what;    /* the case, for failure messages */
    size_t max_line;
    unsigned stop_after; /* ask to stop on this call; 0: never */
    unsigned calls;
    struct buf lines;
};

static void sink_init(struct sink *s, const char *what, size_t max_line, unsigned stop_after)
{
    s->what = what;
    s->max_line = max_line;
    s->stop_after = stop_after;
    s->calls = 0;
    buf_init(&s->lines);
}

static int collect(void *ctx, const char *line, size_t len)
{
    struct sink *s = ctx;
    if (len > s->max_line)
        fail_msg("%s: delivered a line of %zu bytes, limit %zu", s->what, len, s->max_line);
    if (memchr(line, '\n', len) != NULL)
        fail_msg("%s: delivered a line holding a newline", s->what);
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len)
        fail_msg("%s: delivered a blank line of %zu bytes", s->what, len);
    buf_append(&s->lines, line, len);
    buf_appendc(&s->lines, '\n');
    s->calls++;
    return s->stop_after != 0 && s->calls == s->stop_after;
}

static const struct frame_case {
    const char *name;
    const char *input;
    size_t input_len; /* 0: strlen(input) */
    size_t max_line;  /* 0: SMALL_MAX */
    const char *lines; /* expected lines, each followed by "\n" */
    size_t lines_len;  /* 0: strlen(lines) */
    enum framer_status status;
    size_t pending; /* checked when status is FRAMER_OK */
} frame_cases[] = {
    {"empty input", "", 0, 0, "", 0, FRAMER_OK, 0},
    {"one line", "abc\n", 0, 0, "abc\n", 0, FRAMER_OK, 0},
    {"two lines", "abc\ndef\n", 0, 0, "abc\ndef\n", 0, FRAMER_OK, 0},
    {"CRLF is stripped", "abc\r\ndef\r\n", 0, 0, "abc\ndef\n", 0, FRAMER_OK, 0},
    {"mixed LF and CRLF", "a\nb\r\nc\n", 0, 0, "a\nb\nc\n", 0, FRAMER_OK, 0},
    {"only one CR is stripped", "ab\r\r\n", 0, 0, "ab\r\n", 0, FRAMER_OK, 0},
    {"a CR inside a line is kept", "a\rb\n", 0, 0, "a\rb\n", 0, FRAMER_OK, 0},
    {"empty lines are skipped", "\n\n\na\n\n", 0, 0, "a\n", 0, FRAMER_OK, 0},
    {"CRLF-only lines are skipped", "\r\n\r\nx\r\n", 0, 0, "x\n", 0, FRAMER_OK, 0},
    {"space and tab lines are skipped", "  \n\t\n \t \r\n\t\r\nz\n", 0, 0, "z\n", 0, FRAMER_OK, 0},
    {"a lone CR line is skipped", "\r\nq\n", 0, 0, "q\n", 0, FRAMER_OK, 0},
    {"spaces around text are kept", " a \n\tb\t\n", 0, 0, " a \n\tb\t\n", 0, FRAMER_OK, 0},
    {"other whitespace is not blank", "\v\n\f\n", 0, 0, "\v\n\f\n", 0, FRAMER_OK, 0},
    {"partial tail is kept", "abc\nde", 0, 0, "abc\n", 0, FRAMER_OK, 2},
    {"only a partial line", "abc", 0, 0, "", 0, FRAMER_OK, 3},
    {"partial blank tail is kept", "a\n  ", 0, 0, "a\n", 0, FRAMER_OK, 2},
    {"partial tail ending in CR", "a\nbc\r", 0, 0, "a\n", 0, FRAMER_OK, 3},
    {"NUL bytes pass through", "a\0b\n\0\n", 6, 0, "a\0b\n\0\n", 6, FRAMER_OK, 0},
    {"line of exactly max_line", "12345678\n", 0, 0, "12345678\n", 0, FRAMER_OK, 0},
    {"CR does not count against max_line", "12345678\r\n", 0, 0, "12345678\n", 0, FRAMER_OK, 0},
    {"max_line then more lines", "12345678\nab\n12345678\n", 0, 0, "12345678\nab\n12345678\n", 0,
     FRAMER_OK, 0},
    {"unfinished max_line plus CR is kept", "12345678\r", 0, 0, "", 0, FRAMER_OK, 9},
    {"max_line + 1 is too large", "123456789\n", 0, 0, "", 0, FRAMER_TOO_LARGE, 0},
    {"max_line + 1 with CRLF is too large", "123456789\r\n", 0, 0, "", 0, FRAMER_TOO_LARGE, 0},
    {"max_line + 2 unfinished is too large", "1234567890", 0, 0, "", 0, FRAMER_TOO_LARGE, 0},
    /* Regression: caught as soon as the unfinished line passes the limit,
     * unless its last byte is a CR that the LF will cut off. */
    {"max_line + 1 unfinished is too large", "123456789", 0, 0, "", 0, FRAMER_TOO_LARGE, 0},

    {"long unfinished line is too large", "12345678901234567890", 0, 0, "", 0, FRAMER_TOO_LARGE,
     0},
    {"lines before an oversized one are delivered", "ab\ncd\n123456789\nzz\n", 0, 0, "ab\ncd\n", 0,
     FRAMER_TOO_LARGE, 0},
    {"lines before an oversized tail are delivered", "ab\n  \ncd\n1234567890", 0, 0, "ab\ncd\n", 0,
     FRAMER_TOO_LARGE, 0},
    {"a long blank line is still too large", "          \nx\n", 0, 0, "", 0, FRAMER_TOO_LARGE, 0},
    {"max_line 1 accepts one byte", "a\nb\r\n", 0, 1, "a\nb\n", 0, FRAMER_OK, 0},
    {"max_line 1 rejects two bytes", "a\nbc\n", 0, 1, "a\n", 0, FRAMER_TOO_LARGE, 0},
    {"JSON-ish lines", "{\"id\":1}\n{\"id\":2}\n", 0, 16, "{\"id\":1}\n{\"id\":2}\n", 0, FRAMER_OK,
     0},
};

/* Feeds data to a fresh framer in pieces ending at the offsets in cuts (the
 * last cut is the length) and checks the outcome against the case. */
static void check_feed(const struct frame_case *tc, const size_t *cuts, size_t n_cuts,
                       const char *mode)
{
    char what[160];
    snprintf(what, sizeof what, "%s (%s)", tc->name, mode);
    size_t max_line = tc->max_line ? tc->max_line : SMALL_MAX;
    size_t want_len = tc->lines_len ? tc->lines_len : strlen(tc->lines);

    struct framer fr;
    framer_init(&fr, max_line);
    struct sink s;
    sink_init(&s, what, max_line, 0);

    enum framer_status st = FRAMER_OK;
    size_t start = 0;
    for (size_t k = 0; k < n_cuts && st == FRAMER_OK; k++) {
        size_t consumed = (size_t)-1;
        st = framer_feed(&fr, tc->input + start, cuts[k] - start, collect, &s, &consumed);
        if (st == FRAMER_OK && consumed != cuts[k] - start)
            fail_msg("%s: consumed %zu of %zu bytes with FRAMER_OK", what, consumed,
                     cuts[k] - start);
        start = cuts[k];
    }

    if (st != tc->status)
        fail_msg("%s: status %d, expected %d", what, st, tc->status);
    if (s.lines.len != want_len || (want_len > 0 && memcmp(s.lines.data, tc->lines, want_len)))
        fail_msg("%s: delivered '%.*s', expected '%.*s'", what, (int)s.lines.len,
                 s.lines.data ? s.lines.data : "", (int)want_len, tc->lines);
    if (st == FRAMER_OK && framer_pending(&fr) != tc->pending)
        fail_msg("%s: %zu bytes pending, expected %zu", what, framer_pending(&fr), tc->pending);

    buf_free(&s.lines);
    framer_free(&fr);
}

/* Runs one case whole, byte by byte, and split in two at every offset. */
static void check_all_ways(const struct frame_case *tc)
{
    size_t len = tc->input_len ? tc->input_len : strlen(tc->input);

    size_t whole[1] = {len};
    check_feed(tc, whole, 1, "whole");

    size_t *bytewise = xcalloc(len + 1, sizeof *bytewise);
    for (size_t i = 0; i < len; i++)
        bytewise[i] = i + 1;
    check_feed(tc, bytewise, len, "one byte at a time");
    free(bytewise);

    for (size_t k = 0; k <= len; k++) {
        size_t two[2] = {k, len};
        char mode[48];
        snprintf(mode, sizeof mode, "split at %zu", k);
        check_feed(tc, two, 2, mode);
    }
}

static void test_frame_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof frame_cases / sizeof frame_cases[0]; i++)
        check_all_ways(&frame_cases[i]);
}

/* The callback asks to stop: FRAMER_STOPPED, and consumed counts the bytes up
 * to and including the stopping line's "\n"; the rest fed later goes on. */
static const struct stop_case {
    const char *name;
    const char *prefix; /* fed first, without a newline, so it becomes the tail */
    const char *input;
    unsigned stop_after;
    const char *lines_before; /* delivered by the stopping call */
    size_t consumed;
    const char *lines_after; /* delivered when the rest is fed */
    size_t pending_after;
} stop_cases[] = {
    {"stop on the first line", "", "a\nb\nc\n", 1, "a\n", 2, "b\nc\n", 0},
    {"stop on the second line", "", "a\nb\nc\n", 2, "a\nb\n", 4, "c\n", 0},
    {"stop on the last line", "", "a\nb\n", 2, "a\nb\n", 4, "", 0},
    {"stop after CRLF counts the CR", "", "a\r\nb\r\n", 1, "a\n", 3, "b\n", 0},
    {"blank lines do not count as calls", "", "\n  \na\n\t\nb\nc", 2, "a\nb\n", 10, "", 1},
    {"stop keeps a later partial line unread", "", "a\nbc", 1, "a\n", 2, "", 2},
    {"stop on a line completed from the tail", "xy", "z\nw\n", 1, "xyz\n", 2, "w\n", 0},
    {"stop on a later line after the tail", "xy", "z\nw\nv\n", 2, "xyz\nw\n", 4, "v\n", 0},
};

static void test_stop(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof stop_cases / sizeof stop_cases[0]; i++) {
        const struct stop_case *tc = &stop_cases[i];
        struct framer fr;
        framer_init(&fr, SMALL_MAX);
        struct sink s;
        sink_init(&s, tc->name, SMALL_MAX, tc->stop_after);

        size_t consumed = (size_t)-1;
        enum framer_status st =
            framer_feed(&fr, tc->prefix, strlen(tc->prefix), collect, &s, &consumed);
        if (st != FRAMER_OK || consumed != strlen(tc->prefix))
            fail_msg("%s: feeding the prefix gave status %d", tc->name, st);

        size_t len = strlen(tc->input);
        st = framer_feed(&fr, tc->input, len, collect, &s, &consumed);
        if (st != FRAMER_STOPPED)
            fail_msg("%s: status %d, expected FRAMER_STOPPED", tc->name, st);
        if (consumed != tc->consumed)
            fail_msg("%s: consumed %zu, expected %zu", tc->name, consumed, tc->consumed);
        if (strlen(tc->lines_before) != s.lines.len ||
            memcmp(s.lines.data, tc->lines_before, s.lines.len) != 0)
            fail_msg("%s: delivered '%.*s' before stopping", tc->name, (int)s.lines.len,
                     s.lines.data);

        /* Feed the rest without stopping: the remaining lines come out. */
        buf_reset(&s.lines);
        s.stop_after = 0;
        st = framer_feed(&fr, tc->input + consumed, len - consumed, collect, &s, &consumed);
        if (st != FRAMER_OK)
            fail_msg("%s: the rest gave status %d", tc->name, st);
        if (strlen(tc->lines_after) != s.lines.len ||
            (s.lines.len > 0 && memcmp(s.lines.data, tc->lines_after, s.lines.len) != 0))
            fail_msg("%s: the rest delivered '%.*s', expected '%s'", tc->name, (int)s.lines.len,
                     s.lines.data ? s.lines.data : "", tc->lines_after);
        if (framer_pending(&fr) != tc->pending_after)
            fail_msg("%s: %zu pending at the end", tc->name, framer_pending(&fr));

        buf_free(&s.lines);
        framer_free(&fr);
    }
}

/* Stopping while fed one byte at a time: the stopping call is the one that
 * brings the "\n", and it consumed exactly that byte. */
static void test_stop_bytewise(void **state)
{
    (void)state;
    const char *input = "ab\r\ncd\nef\n";
    struct framer fr;
    framer_init(&fr, SMALL_MAX);
    struct sink s;
    sink_init(&s, "stop bytewise", SMALL_MAX, 2);
    size_t i = 0;
    enum framer_status st = FRAMER_OK;
    size_t consumed = 0;
    for (; input[i] != '\0'; i++) {
        st = framer_feed(&fr, input + i, 1, collect, &s, &consumed);
        if (st != FRAMER_OK)
            break;
    }
    assert_int_equal(st, FRAMER_STOPPED);
    assert_int_equal(i, 6); /* the "\n" after "cd" */
    assert_int_equal(consumed, 1);
    assert_int_equal(s.lines.len, 6);
    assert_memory_equal(s.lines.data, "ab\ncd\n", 6);
    assert_int_equal(framer_pending(&fr), 0);
    buf_free(&s.lines);
    framer_free(&fr);
}

/* consumed may be NULL, whatever the outcome. */
static void test_consumed_may_be_null(void **state)
{
    (void)state;
    struct framer fr;
    framer_init(&fr, SMALL_MAX);
    struct sink s;
    sink_init(&s, "consumed NULL", SMALL_MAX, 2);
    assert_int_equal(framer_feed(&fr, "a\nb", 3, collect, &s, NULL), FRAMER_OK);
    assert_int_equal(framer_feed(&fr, "\nc\n", 3, collect, &s, NULL), FRAMER_STOPPED);
    assert_int_equal(s.calls, 2);
    assert_int_equal(framer_feed(&fr, "123456789\n", 10, collect, &s, NULL), FRAMER_TOO_LARGE);
    assert_int_equal(s.calls, 2);
    buf_free(&s.lines);
    framer_free(&fr);
}

static void test_init_state(void **state)
{
    (void)state;
    struct framer fr;
    framer_init(&fr, 65536);
    assert_int_equal(fr.max_line, 65536);
    assert_int_equal(framer_pending(&fr), 0);
    framer_free(&fr);
    assert_int_equal(framer_pending(&fr), 0);
}

/* Sizes around the default max_request_bytes, fed whole and in uneven
 * chunks; a big tail must be delivered intact and then released. */
static const struct big_case {
    size_t line_len;
    size_t chunk;
    enum framer_status status;
} big_cases[] = {
    {65535, 65537, FRAMER_OK},        {65536, 65537, FRAMER_OK},
    {65536, 1000, FRAMER_OK},         {65536, 1, FRAMER_OK},
    {65537, 65538, FRAMER_TOO_LARGE}, {65537, 1000, FRAMER_TOO_LARGE},
    {65537, 1, FRAMER_TOO_LARGE},     {200000, 4096, FRAMER_TOO_LARGE},
};

static void test_big_lines(void **state)
{
    (void)state;
    const size_t max = 65536;
    for (size_t i = 0; i < sizeof big_cases / sizeof big_cases[0]; i++) {
        const struct big_case *tc = &big_cases[i];
        char what[64];
        snprintf(what, sizeof what, "line of %zu in chunks of %zu", tc->line_len, tc->chunk);
        /* "ok\n", the big line, "\n", "after\n". */
        size_t len = 3 + tc->line_len + 1 + 6;
        char *data = xmalloc(len);
        memcpy(data, "ok\n", 3);
        for (size_t k = 0; k < tc->line_len; k++)
            data[3 + k] = (char)('a' + k % 26);
        memcpy(data + 3 + tc->line_len, "\nafter\n", 7);

        struct framer fr;
        framer_init(&fr, max);
        struct sink s;
        sink_init(&s, what, max, 0);
        enum framer_status st = FRAMER_OK;
        for (size_t pos = 0; pos < len && st == FRAMER_OK; pos += tc->chunk) {
            size_t n = len - pos < tc->chunk ? len - pos : tc->chunk;
            st = framer_feed(&fr, data + pos, n, collect, &s, NULL);
        }
        if (st != tc->status)
            fail_msg("%s: status %d, expected %d", what, st, tc->status);
        if (tc->status == FRAMER_OK) {
            if (s.calls != 3 || s.lines.len != len)
                fail_msg("%s: %u lines, %zu bytes", what, s.calls, s.lines.len);
            if (memcmp(s.lines.data, data, len) != 0)
                fail_msg("%s: the lines differ from the input", what);
            assert_int_equal(framer_pending(&fr), 0);
        } else {
            /* The line before the oversized one was delivered, nothing after. */
            if (s.calls != 1 || s.lines.len != 3 || memcmp(s.lines.data, "ok\n", 3) != 0)
                fail_msg("%s: %u lines before the oversized one", what, s.calls);
        }
        buf_free(&s.lines);
        framer_free(&fr);
        free(data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_table),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_stop_bytewise),
        cmocka_unit_test(test_consumed_may_be_null),
        cmocka_unit_test(test_init_state),
        cmocka_unit_test(test_big_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
