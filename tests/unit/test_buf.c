/* Unit tests of the growable byte buffer and the allocation wrappers
 * (buf.h): every append flavour, integer formatting at the extremes, and the
 * storage rules of reset, free and buf_cstr. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

/* Fails naming the table case, so that a failure inside a loop says which
 * row broke. */
#define CHECK(what, cond)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("%s: check failed: %s", (what), #cond);                                       \
    } while (0)

static const struct int_case {
    long long value;
    const char *text;
} int_cases[] = {
    {0, "0"},
    {1, "1"},
    {-1, "-1"},
    {9, "9"},
    {10, "10"},
    {-10, "-10"},
    {123456789, "123456789"},
    {1000000000000000LL, "1000000000000000"},
    {-1000000000000000LL, "-1000000000000000"},
    {9007199254740992LL, "9007199254740992"},
    {LLONG_MAX, "9223372036854775807"},
    {LLONG_MIN, "-9223372036854775808"},
    {LLONG_MIN + 1, "-9223372036854775807"},
};

static void test_append_int(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof int_cases / sizeof int_cases[0]; i++) {
        const struct int_case *tc = &int_cases[i];
        struct buf b;
        buf_init(&b);
        /* A prefix shows that the number is appended, not written over. */
        buf_appends(&b, "x=");
        buf_append_int(&b, tc->value);
        const char *s = buf_cstr(&b);
        if (strncmp(s, "x=", 2) != 0 || strcmp(s + 2, tc->text) != 0)
            fail_msg("buf_append_int(%lld) wrote '%s', expected 'x=%s'", tc->value, s, tc->text);
        CHECK(tc->text, b.len == 2 + strlen(tc->text));
        buf_free(&b);
    }
}

/* One step of a sequence of appends: which function, and its argument. */
enum op { OP_APPEND, OP_APPENDS, OP_APPENDC, OP_INT, OP_RESET };

static const struct append_case {
    const char *name;
    struct {
        enum op op;
        const char *s;
        size_t n;
        long long v;
    } steps[6];
    size_t n_steps;
    const char *expect;
    size_t expect_len;
} append_cases[] = {
    {"appends then appendc", {{OP_APPENDS, "abc", 0, 0}, {OP_APPENDC, "d", 0, 0}}, 2, "abcd", 4},
    {"append takes only n bytes", {{OP_APPEND, "abcdef", 3, 0}}, 1, "abc", 3},
    {"append of zero bytes is a no-op", {{OP_APPEND, "abc", 0, 0}}, 1, "", 0},
    {"append keeps NUL bytes", {{OP_APPEND, "a\0b", 3, 0}}, 1, "a\0b", 3},
    {"appendc of NUL", {{OP_APPENDC, "\0", 0, 0}, {OP_APPENDS, "z", 0, 0}}, 2, "\0z", 2},
    {"mixed with a number",
     {{OP_APPENDS, "n=", 0, 0}, {OP_INT, NULL, 0, -42}, {OP_APPENDC, ";", 0, 0}},
     3,
     "n=-42;",
     6},
    {"reset forgets the contents",
     {{OP_APPENDS, "old", 0, 0}, {OP_RESET, NULL, 0, 0}, {OP_APPENDS, "new", 0, 0}},
     3,
     "new",
     3},
    {"appends of the empty string", {{OP_APPENDS, "", 0, 0}}, 1, "", 0},
};

static void test_append_sequences(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof append_cases / sizeof append_cases[0]; i++) {
        const struct append_case *tc = &append_cases[i];
        struct buf b;
        buf_init(&b);
        for (size_t k = 0; k < tc->n_steps; k++) {
            switch (tc->steps[k].op) {
            case OP_APPEND:
                buf_append(&b, tc->steps[k].s, tc->steps[k].n);
                break;
            case OP_APPENDS:
                buf_appends(&b, tc->steps[k].s);
                break;
            case OP_APPENDC:
                buf_appendc(&b, tc->steps[k].s[0]);
                break;
            case OP_INT:
                buf_append_int(&b, tc->steps[k].v);
                break;
            case OP_RESET:
                buf_reset(&b);
                break;
            }
        }
        CHECK(tc->name, b.len == tc->expect_len);
        CHECK(tc->name, b.len <= b.cap);
        if (tc->expect_len > 0)
            CHECK(tc->name, memcmp(b.data, tc->expect, tc->expect_len) == 0);
        buf_free(&b);
    }
}

static void test_init_and_free(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);

    buf_appends(&b, "something");
    assert_non_null(b.data);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);

    /* The buffer is reusable after buf_free, and freeing twice is harmless. */
    buf_appends(&b, "again");
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "again", 5);
    buf_free(&b);
    buf_free(&b);
    assert_null(b.data);
}

static void test_reset_keeps_storage(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    buf_appends(&b, "0123456789");
    char *data = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    buf_free(&b);
}

static void test_cstr(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    /* An empty, never-used buffer still yields a valid empty string. */
    const char *s = buf_cstr(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(b.len, 0);

    buf_appends(&b, "abc");
    s = buf_cstr(&b);
    assert_string_equal(s, "abc");
    /* The terminator is not counted, so later appends overwrite it. */
    assert_int_equal(b.len, 3);
    buf_appendc(&b, 'd');
    assert_string_equal(buf_cstr(&b), "abcd");
    buf_free(&b);
}

static const size_t reserve_sizes[] = {0, 1, 63, 64, 65, 1000, 4096, 100000};

static void test_reserve(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reserve_sizes / sizeof reserve_sizes[0]; i++) {
        struct buf b;
        buf_init(&b);
        buf_appends(&b, "prefix");
        buf_reserve(&b, reserve_sizes[i]);
        if (b.cap - b.len < reserve_sizes[i])
            fail_msg("buf_reserve(%zu) left only %zu bytes free", reserve_sizes[i], b.cap - b.len);
        /* Reserving must keep what was there. */
        assert_int_equal(b.len, 6);
        assert_memory_equal(b.data, "prefix", 6);
        /* All the reserved room is writable (valgrind would see otherwise). */
        if (reserve_sizes[i] > 0)
            memset(b.data + b.len, 'x', reserve_sizes[i]);
        buf_free(&b);
    }
}

static void test_growth_keeps_contents(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    /* Many small appends force repeated growth; every byte must survive. */
    for (int i = 0; i < 20000; i++)
        buf_appendc(&b, (char)('a' + i % 26));
    assert_int_equal(b.len, 20000);
    for (int i = 0; i < 20000; i++)
        if (b.data[i] != (char)('a' + i % 26))
            fail_msg("byte %d is '%c' after growth", i, b.data[i]);
    buf_free(&b);
}

static void test_alloc_wrappers(void **state)
{
    (void)state;
    /* Zero-byte requests still return a pointer that free accepts. */
    void *p = xmalloc(0);
    assert_non_null(p);
    free(p);

    unsigned char *z = xcalloc(100, 4);
    assert_non_null(z);
    for (size_t i = 0; i < 400; i++)
        assert_int_equal(z[i], 0);
    free(z);

    z = xcalloc(0, 0);
    assert_non_null(z);
    free(z);

    char *r = xrealloc(NULL, 8);
    assert_non_null(r);
    memcpy(r, "1234567", 8);
    r = xrealloc(r, 4096);
    assert_string_equal(r, "1234567");
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_int),
        cmocka_unit_test(test_append_sequences),
        cmocka_unit_test(test_init_and_free),
        cmocka_unit_test(test_reset_keeps_storage),
        cmocka_unit_test(test_cstr),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_growth_keeps_contents),
        cmocka_unit_test(test_alloc_wrappers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
