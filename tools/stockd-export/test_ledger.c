/* Unit tests of stockd-export's pure part (ledger.c): stream ids, entries
 * as rows, and the gap arithmetic against what Redis 7.0 reports (the
 * cases were taken from a real redis-server: XADD, XTRIM, XREADGROUP,
 * XINFO). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ledger.h"

#define S(lit) ((struct str){(lit), sizeof(lit) - 1})
#define ID(a, b) ((struct stream_id){(a), (b)})

static void test_stream_ids(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool ok;
        uint64_t ms, seq;
    } cases[] = {
        {"0-0", true, 0, 0},
        {"1796176995332-17", true, 1796176995332u, 17},
        {"18446744073709551615-18446744073709551615", true, UINT64_MAX, UINT64_MAX},
        {"18446744073709551616-0", false, 0, 0},
        {"12", false, 0, 0},
        {"12-", false, 0, 0},
        {"-1", false, 0, 0},
        {"1-2-3", false, 0, 0},
        {"+1-2", false, 0, 0},
        {"1 -2", false, 0, 0},
        {"", false, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct stream_id id = {99, 99};
        bool ok = stream_id_parse(cases[i].text, strlen(cases[i].text), &id);
        assert_int_equal(ok, cases[i].ok);
        if (!ok)
            continue;
        assert_true(id.ms == cases[i].ms && id.seq == cases[i].seq);
        char back[STREAM_ID_MAX];
        assert_string_equal(stream_id_format(id, back), cases[i].text);
    }
    assert_true(stream_id_cmp(ID(1, 5), ID(2, 0)) < 0);
    assert_true(stream_id_cmp(ID(2, 1), ID(2, 0)) > 0);
    assert_int_equal(stream_id_cmp(ID(2, 1), ID(2, 1)), 0);
    struct stream_id p = stream_id_prev(ID(7, 3));
    assert_true(p.ms == 7 && p.seq == 2);
    p = stream_id_prev(ID(7, 0));
    assert_true(p.ms == 6 && p.seq == UINT64_MAX);
}

static void test_a_ledger_entry_as_a_row(void **state)
{
    (void)state;
    struct ledger_row row;
    const struct str whole[] = {S("type"),        S("reserve"), S("sku"),      S("MUG"),
                                S("location"),    S("wh-east"), S("quantity"), S("-3"),
                                S("reservation"), S("r1"),      S("reason"),   S("")};
    assert_true(ledger_row_read(&row, S("5-1"), whole, 12));
    assert_int_equal(row.problems, 0);
    assert_string_equal(row.id_text, "5-1");
    assert_int_equal(row.quantity, -3);
    assert_int_equal(row.value[LF_SKU].n, 3);
    assert_memory_equal(row.value[LF_LOCATION].p, "wh-east", 7);
    assert_non_null(row.value[LF_RESERVATION].p);
    assert_null(row.value[LF_REASON].p); /* '' is none */

    /* Each kind of damage is named, and the row is still written. */
    static const struct {
        struct str pairs[14];
        size_t n;
        unsigned problems;
        int null_field; /* -1: none expected NULL beyond reason */
    } odd[] = {
        {{S("type"), S("set"), S("sku"), S("A"), S("location"), S("L"), S("quantity"), S("1"),
          S("reservation"), S("")},
         10,
         ROW_MISSING_FIELD,
         LF_REASON},
        {{S("type"), S("set"), S("sku"), S("A"), S("location"), S("L"), S("quantity"),
          S("9223372036854775808"), S("reservation"), S(""), S("reason"), S("")},
         12,
         ROW_BAD_QUANTITY,
         LF_QUANTITY},
        {{S("type"), S("set"), S("sku"), S("A"), S("location"), S("L"), S("quantity"), S("1x"),
          S("reservation"), S(""), S("reason"), S("")},
         12,
         ROW_BAD_QUANTITY,
         LF_QUANTITY},
        {{S("type"), S("set"), S("sku"), S("A"), S("location"), S("L"), S("quantity"), S("1"),
          S("reservation"), S(""), S("reason"), S("bad \xff byte")},
         12,
         ROW_BAD_TEXT,
         LF_REASON},
        {{S("type"), S("set"), S("sku"), S("A\0B"), S("location"), S("L"), S("quantity"), S("1"),
          S("reservation"), S(""), S("reason"), S("")},
         12,
         ROW_BAD_TEXT,
         LF_SKU},
        {{S("type"), S("set"), S("sku"), S("A"), S("location"), S("L"), S("quantity"), S("1"),
          S("reservation"), S(""), S("reason"), S(""), S("colour"), S("red")},
         14,
         ROW_UNKNOWN_FIELD,
         -1},
        {{S("type"), S("set"), S("type"), S("adjust"), S("sku"), S("A"), S("location"), S("L"),
          S("quantity"), S("1"), S("reservation"), S(""), S("reason"), S("")},
         14,
         ROW_DUPLICATE_FIELD,
         -1},
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        assert_true(ledger_row_read(&row, S("9-9"), odd[i].pairs, odd[i].n));
        assert_int_equal(row.problems, odd[i].problems);
        if (odd[i].null_field >= 0)
            assert_null(row.value[odd[i].null_field].p);
        assert_non_null(row.value[LF_TYPE].p);
    }
    assert_memory_equal(row.value[LF_TYPE].p, "set", 3); /* the first of two kept */
    assert_true(ledger_row_read(&row, S("18446744073709551615-0"), whole, 12));
    assert_int_equal(row.problems, ROW_BIG_ID);
    assert_false(ledger_row_read(&row, S("not-an-id"), whole, 12));
}

/* XADD 1-1..10-1, group at 0, read 3 and ack, XTRIM MAXLEN 4 (7-1..10-1
 * left): XINFO says entries-added 10, length 4, lag 7; 4-1..6-1 are gone. */
static void test_a_gap_past_the_group(void **state)
{
    (void)state;
    struct stream_info s = {.length = 4,
                            .entries_added = 10,
                            .has_first = true,
                            .first = ID(7, 1),
                            .last_generated = ID(10, 1)};
    struct group_info g = {.last_delivered = ID(3, 1), .lag_known = true, .lag = 7};
    struct ledger_gap gap;
    bool countable;
    assert_true(ledger_gap_find(&s, &g, &gap, &countable));
    assert_true(countable);
    assert_int_equal(gap.missing, 3);
    assert_true(gap.after.ms == 3 && gap.after.seq == 1);
    assert_true(gap.before_known && gap.before.ms == 7 && gap.before.seq == 1);

    /* A read of 2 from there (7-1, 8-1): Redis would count 5 read; the
     * group really stands at the 8th entry ever added. */
    struct stream_id id;
    long long read;
    ledger_gap_repair(&s, ID(8, 1), 2, &id, &read);
    assert_true(id.ms == 8 && id.seq == 1);
    assert_int_equal(read, 8);
    /* With that correction Redis's lag is 2 (9-1, 10-1), all there. */
    g = (struct group_info){.last_delivered = ID(8, 1), .lag_known = true, .lag = 10 - 8};
    assert_false(ledger_gap_find(&s, &g, &gap, &countable));
}

static void test_no_gap_when_nothing_is_missing(void **state)
{
    (void)state;
    struct ledger_gap gap;
    bool countable;
    /* A group made at 0 on a trimmed stream: Redis's lag counts only what
     * is left (6 of 10). */
    struct stream_info s = {.length = 6,
                            .entries_added = 10,
                            .has_first = true,
                            .first = ID(5, 1),
                            .last_generated = ID(10, 1)};
    struct group_info g = {.last_delivered = ID(0, 0), .lag_known = true, .lag = 6};
    assert_false(ledger_gap_find(&s, &g, &gap, &countable));
    /* Trimmed up to, not past, the last delivered id. */
    g = (struct group_info){.last_delivered = ID(6, 1), .lag_known = true, .lag = 4};
    assert_false(ledger_gap_find(&s, &g, &gap, &countable));
    /* Caught up on an empty stream. */
    s = (struct stream_info){.length = 0, .entries_added = 10, .last_generated = ID(10, 1)};
    g = (struct group_info){.last_delivered = ID(10, 1), .lag_known = true, .lag = 0};
    assert_false(ledger_gap_find(&s, &g, &gap, &countable));
    assert_true(countable);
    /* Redis cannot count: nothing is claimed either way. */
    g.lag_known = false;
    assert_false(ledger_gap_find(&s, &g, &gap, &countable));
    assert_false(countable);
}

static void test_a_gap_that_emptied_the_stream(void **state)
{
    (void)state;
    struct stream_info s = {.length = 0, .entries_added = 10, .last_generated = ID(10, 1)};
    struct group_info g = {.last_delivered = ID(6, 1), .lag_known = true, .lag = 4};
    struct ledger_gap gap;
    bool countable;
    assert_true(ledger_gap_find(&s, &g, &gap, &countable));
    assert_int_equal(gap.missing, 4);
    assert_false(gap.before_known);
    struct stream_id id;
    long long read;
    ledger_gap_repair(&s, ID(0, 0), 0, &id, &read);
    assert_true(id.ms == 10 && id.seq == 1);
    assert_int_equal(read, 10);
}

static void test_time_text(void **state)
{
    (void)state;
    char t[48];
    ledger_time_text(1796176995332u, t, sizeof t);
    assert_string_equal(t, "2026-12-02 02:03:15.332+00");
    ledger_time_text(5, t, sizeof t);
    assert_string_equal(t, "1970-01-01 00:00:00.005+00");
    ledger_time_text(UINT64_MAX, t, sizeof t);
    assert_string_equal(t, "infinity");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_ids),
        cmocka_unit_test(test_a_ledger_entry_as_a_row),
        cmocka_unit_test(test_a_gap_past_the_group),
        cmocka_unit_test(test_no_gap_when_nothing_is_missing),
        cmocka_unit_test(test_a_gap_that_emptied_the_stream),
        cmocka_unit_test(test_time_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
