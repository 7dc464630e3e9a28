/* Unit tests of the status page's data methods (ui_data.c) through the
 * fake-store seam: what each one sends, position by position, and how each
 * reply reader answers the replies its contract allows (the result, every
 * string JSON-escaped) and those it does not (-32603, never a guess). And
 * that a connection that is not the status page's never runs them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "fake_store.h"
#include "request.h"
#include "ui_data.h"

static struct session page = {.authenticated = true, .internal = true};
static struct session client = {.authenticated = true};

static void reply_text(const char *text)
{
    redisReply *r = fake_parse(text);
    fake_reply(r);
    fake_reply_free(r);
}

#define CMD (-1)
#define LEDGER "{\"id\":1,\"method\":\"ui.ledger\"}"
#define LEDGER_2 "{\"id\":1,\"method\":\"ui.ledger\",\"params\":{\"count\":2}}"
#define HOLDS "{\"id\":1,\"method\":\"ui.holds\"}"
#define LOW "{\"id\":1,\"method\":\"ui.low_stock\"}"
#define LOW_1 "{\"id\":1,\"method\":\"ui.low_stock\",\"params\":{\"count\":1}}"

/* A ledger entry as XREVRANGE returns it. */
#define ENTRY(id, type, qty, reason)                                                               \
    "['" id "' ['type' '" type "' 'sku' 'A' 'location' 'L' 'quantity' '" qty "' "                  \
    "'reservation' 'r1' 'reason' '" reason "']]"

static const struct ui_case {
    const char *name;
    const char *request;
    int call;           /* the call expected */
    const char *reply;  /* its canned reply */
    int code;           /* of the answer: 0 for a result */
    const char *result; /* the whole result, or NULL */
} cases[] = {
    /* ui.ledger: [[id, [field, value, ...]], ...] */
    {"ledger empty", LEDGER, CMD, "[]", 0, "{\"entries\":[]}"},
    {"ledger two", LEDGER, CMD,
     "[" ENTRY("1700000000123-4", "adjust", "-3",
               "a <b>\"quoted\"</b> note") " " ENTRY("1700000000001-0", "reserve", "2", "") "]",
     0,
     "{\"entries\":[{\"id\":\"1700000000123-4\",\"at\":1700000000123,\"type\":\"adjust\","
     "\"sku\":\"A\",\"location\":\"L\",\"quantity\":-3,\"reservation\":\"r1\",\"reason\":"
     "\"a <b>\\\"quoted\\\"</b> note\"},{\"id\":\"1700000000001-0\",\"at\":1700000000001,"
     "\"type\":\"reserve\",\"sku\":\"A\",\"location\":\"L\",\"quantity\":2,\"reservation\":"
     "\"r1\",\"reason\":\"\"}]}"},
    {"ledger missing fields", LEDGER, CMD, "[['5-1' ['type' 'set' 'quantity' '0' 'extra' 'x']]]", 0,
     "{\"entries\":[{\"id\":\"5-1\",\"at\":5,\"type\":\"set\",\"sku\":\"\",\"location\":\"\","
     "\"quantity\":0,\"reservation\":\"\",\"reason\":\"\"}]}"},
    {"ledger more than asked", LEDGER_2, CMD,
     "[" ENTRY("3-0", "set", "1", "") " " ENTRY("2-0", "set", "1", "") " " ENTRY("1-0", "set", "1",
                                                                                 "") "]",
     -32603, NULL},
    {"ledger quantity not a number", LEDGER, CMD, "[" ENTRY("3-0", "set", "x", "") "]", -32603,
     NULL},
    {"ledger quantity empty", LEDGER, CMD, "[['3-0' ['type' 'set']]]", -32603, NULL},
    {"ledger id not an id", LEDGER, CMD, "[" ENTRY("3", "set", "1", "") "]", -32603, NULL},
    {"ledger id with letters", LEDGER, CMD, "[" ENTRY("3-x", "set", "1", "") "]", -32603, NULL},
    {"ledger odd fields", LEDGER, CMD, "[['3-0' ['type']]]", -32603, NULL},
    {"ledger entry not a pair", LEDGER, CMD, "[['3-0']]", -32603, NULL},
    {"ledger field a number", LEDGER, CMD, "[['3-0' ['type' 1]]]", -32603, NULL},
    {"ledger not an array", LEDGER, CMD, "+OK", -32603, NULL},
    {"ledger nil", LEDGER, CMD, "nil", -32603, NULL},
    {"ledger error", LEDGER, CMD, "!WRONGTYPE Operation against a key", -32603, NULL},

    /* ui.holds: {OK, now, skus, holds, complete[, rid, sku, loc, q, deadline, created]} */
    {"holds none", HOLDS, SCRIPT_UI_HOLDS, "[0 1000 0 0 1]", 0,
     "{\"now\":1000,\"skus\":0,\"holds\":0,\"complete\":true,\"next\":null}"},
    {"holds next", HOLDS, SCRIPT_UI_HOLDS, "[0 1000 3 7 0 'r-1' 'A' 'L' 2 900 400]", 0,
     "{\"now\":1000,\"skus\":3,\"holds\":7,\"complete\":false,\"next\":{\"reservation_id\":"
     "\"r-1\",\"sku\":\"A\",\"location\":\"L\",\"quantity\":2,\"deadline\":900,"
     "\"created_at\":400}}"},
    {"holds next without a record", HOLDS, SCRIPT_UI_HOLDS,
     "[0 1000 1 1 1 'r\"1' 'A' 'L' 2 900 '']", 0,
     "{\"now\":1000,\"skus\":1,\"holds\":1,\"complete\":true,\"next\":{\"reservation_id\":"
     "\"r\\\"1\",\"sku\":\"A\",\"location\":\"L\",\"quantity\":2,\"deadline\":900,"
     "\"created_at\":null}}"},
    {"holds short", HOLDS, SCRIPT_UI_HOLDS, "[0 1000 0 0]", -32603, NULL},
    {"holds half a next", HOLDS, SCRIPT_UI_HOLDS, "[0 1000 1 1 1 'r-1' 'A' 'L' 2 900]", -32603,
     NULL},
    {"holds complete 2", HOLDS, SCRIPT_UI_HOLDS, "[0 1000 0 0 2]", -32603, NULL},
    {"holds count as text", HOLDS, SCRIPT_UI_HOLDS, "[0 1000 '0' 0 1]", -32603, NULL},
    {"holds created as text", HOLDS, SCRIPT_UI_HOLDS, "[0 1000 1 1 1 'r-1' 'A' 'L' 2 900 '4']",
     -32603, NULL},
    {"holds quantity as text", HOLDS, SCRIPT_UI_HOLDS, "[0 1000 1 1 1 'r-1' 'A' 'L' '2' 900 4]",
     -32603, NULL},
    {"holds unknown status", HOLDS, SCRIPT_UI_HOLDS, "[1 1000 0 0 1]", -32603, NULL},

    /* ui.low_stock: {OK, scanned, (sku, loc, available, threshold|'', on_hand, reserved)...},
     * unordered: sorted by available, sku, location (bytewise), cut to count. */
    {"low stock none", LOW, SCRIPT_UI_LOW_STOCK, "[0 0]", 0, "{\"rows\":[],\"scanned\":0}"},
    {"low stock rows", LOW, SCRIPT_UI_LOW_STOCK,
     "[0 12 'A' 'M' 1 4 1 0 'B' 'L' -2 '' 3 5 'a' 'K' 0 '' 0 0 'B' 'K' 0 '' 2 2 'B' 'J' 0 '' 0 0]",
     0,
     "{\"rows\":[{\"sku\":\"B\",\"location\":\"L\",\"available\":-2,"
     "\"low_stock_threshold\":null,\"on_hand\":3,\"reserved\":5},"
     "{\"sku\":\"B\",\"location\":\"J\",\"available\":0,\"low_stock_threshold\":null,"
     "\"on_hand\":0,\"reserved\":0},"
     "{\"sku\":\"B\",\"location\":\"K\",\"available\":0,\"low_stock_threshold\":null,"
     "\"on_hand\":2,\"reserved\":2},"
     "{\"sku\":\"a\",\"location\":\"K\",\"available\":0,\"low_stock_threshold\":null,"
     "\"on_hand\":0,\"reserved\":0},"
     "{\"sku\":\"A\",\"location\":\"M\",\"available\":1,\"low_stock_threshold\":4,"
     "\"on_hand\":1,\"reserved\":0}],\"scanned\":12}"},
    {"low stock cut to count", LOW_1, SCRIPT_UI_LOW_STOCK,
     "[0 12 'A' 'M' 1 4 1 0 'B' 'L' -2 '' 3 5]", 0,
     "{\"rows\":[{\"sku\":\"B\",\"location\":\"L\",\"available\":-2,"
     "\"low_stock_threshold\":null,\"on_hand\":3,\"reserved\":5}],\"scanned\":12}"},
    {"low stock escaped", LOW, SCRIPT_UI_LOW_STOCK, "[0 1 '<b>\"x\"</b>' 'L\\' 0 '' 0 0]", 0,
     "{\"rows\":[{\"sku\":\"<b>\\\"x\\\"</b>\",\"location\":\"L\\\\\",\"available\":0,"
     "\"low_stock_threshold\":null,\"on_hand\":0,\"reserved\":0}],\"scanned\":1}"},
    {"low stock more rows than scanned", LOW, SCRIPT_UI_LOW_STOCK,
     "[0 1 'A' 'M' 1 4 1 0 'B' 'L' -2 '' 3 5]", -32603, NULL},
    {"low stock half a row", LOW, SCRIPT_UI_LOW_STOCK, "[0 12 'B' 'L' -2 '' 3]", -32603, NULL},
    {"low stock threshold as text", LOW, SCRIPT_UI_LOW_STOCK, "[0 12 'B' 'L' -2 '3' 3 5]", -32603,
     NULL},
    {"low stock sku a number", LOW, SCRIPT_UI_LOW_STOCK, "[0 12 7 'L' -2 '' 3 5]", -32603, NULL},
    {"low stock scanned as text", LOW, SCRIPT_UI_LOW_STOCK, "[0 '1']", -32603, NULL},
    {"low stock no scanned", LOW, SCRIPT_UI_LOW_STOCK, "[0]", -32603, NULL},
};

static void run_case(const struct ui_case *tc)
{
    fake_kernel_setup();
    fake_start(&page, tc->request);
    if (kernel.answers != 0)
        fail_msg("%s: answered before its call: %s", tc->name, kernel.answer);
    if (!fake.pending || fake.last.script != tc->call)
        fail_msg("%s: called %d, expected %d", tc->name, fake.pending ? fake.last.script : -2,
                 tc->call);
    reply_text(tc->reply);
    if (kernel.answers != 1 || fake.pending)
        fail_msg("%s: %d answers", tc->name, kernel.answers);
    int code;
    cJSON *resp = fake_answer(tc->name, &code);
    if (code != tc->code)
        fail_msg("%s: answered %d, expected %d: %s", tc->name, code, tc->code, kernel.answer);
    if (tc->result != NULL) {
        char *got = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(resp, "result"));
        if (strcmp(got, tc->result) != 0)
            fail_msg("%s\nwant: %s\n got: %s", tc->name, tc->result, got);
        free(got);
    }
    cJSON_Delete(resp);
    assert_int_equal(kernel.metrics.inflight, 0);
    fake_kernel_teardown();
}

static void test_replies(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* The ledger is one XREVRANGE of the namespace's stream, newest first. */
static void test_ledger_command(void **state)
{
    (void)state;
    static const struct {
        const char *request, *count;
    } runs[] = {{LEDGER, "20"},
                {LEDGER_2, "2"},
                {"{\"id\":1,\"method\":\"ui.ledger\",\"params\":{\"count\":100}}", "100"}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        fake_kernel_setup();
        fake_start(&page, runs[i].request);
        assert_int_equal(fake.last.script, CMD);
        assert_int_equal(fake.last.args.n, 6);
        static const char *const want[] = {"XREVRANGE", "{inv}:events", "+", "-", "COUNT"};
        for (int k = 0; k < 5; k++)
            assert_string_equal(fake_arg(k), want[k]);
        assert_string_equal(fake_arg(5), runs[i].count);
        reply_text("[]");
        assert_int_equal(kernel.answers, 1);
        fake_kernel_teardown();
    }
}

/* The scripts' KEYS and ARGV by their contracts' positions. */
static void test_script_arguments(void **state)
{
    (void)state;
    fake_kernel_setup();
    fake_start(&page, HOLDS);
    assert_int_equal(fake.last.script, SCRIPT_UI_HOLDS);
    assert_int_equal(fake.last.nkeys, UI_HOLDS_K_FIXED);
    assert_int_equal(fake.last.args.n, UI_HOLDS_K_FIXED + UI_HOLDS_A_FIXED);
    assert_string_equal(fake_arg(UI_HOLDS_K_DUE), "{inv}:due");
    int a = UI_HOLDS_K_FIXED;
    assert_string_equal(fake_arg(a + UI_HOLDS_A_HOLDS), "{inv}:holds:");
    assert_string_equal(fake_arg(a + UI_HOLDS_A_RES), "{inv}:res:");
    assert_string_equal(fake_arg(a + UI_HOLDS_A_SKUS), "1000");
    assert_string_equal(fake_arg(a + UI_HOLDS_A_FIRST), "100");
    reply_text("[0 1 0 0 1]");
    fake_kernel_teardown();

    static const struct {
        const char *request, *count;
    } runs[] = {{LOW, "50"},
                {LOW_1, "1"},
                {"{\"id\":1,\"method\":\"ui.low_stock\",\"params\":{\"count\":200}}", "200"}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        fake_kernel_setup();
        fake_start(&page, runs[i].request);
        assert_int_equal(fake.last.script, SCRIPT_UI_LOW_STOCK);
        assert_int_equal(fake.last.nkeys, UI_LOW_STOCK_K_FIXED);
        assert_int_equal(fake.last.args.n, UI_LOW_STOCK_K_FIXED + UI_LOW_STOCK_A_FIXED);
        assert_string_equal(fake_arg(UI_LOW_STOCK_K_STOCK_EVENTS), "{inv}:stock-events");
        a = UI_LOW_STOCK_K_FIXED;
        assert_string_equal(fake_arg(a + UI_LOW_STOCK_A_STOCK), "{inv}:stock:");
        char scan[16];
        snprintf(scan, sizeof scan, "%d", UI_LOW_STOCK_SCAN);
        assert_string_equal(fake_arg(a + UI_LOW_STOCK_A_SCAN), scan);
        /* The count is applied to the rows of the reply. */
        char rows[16384] = "[0 250";
        for (int k = 0; k < 250; k++)
            snprintf(rows + strlen(rows), sizeof rows - strlen(rows), " 'S' '%d' 0 '' 0 0",
                     1000 + k);
        strcat(rows, "]");
        reply_text(rows);
        assert_int_equal(kernel.answers, 1);
        cJSON *resp = cJSON_Parse(kernel.answer);
        const cJSON *got = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(resp, "result"), "rows");
        assert_int_equal(cJSON_GetArraySize(got), atoi(runs[i].count));
        cJSON_Delete(resp);
        fake_kernel_teardown();
    }
}

/* A connection that is not the status page's: -32601 for each, like a
 * method that does not exist, and nothing is sent; bad params are -32602
 * before anything is sent too. */
static void test_not_on_the_wire(void **state)
{
    (void)state;
    static const char *const lines[] = {LEDGER, LEDGER_2, HOLDS, LOW, LOW_1};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        fake_kernel_setup();
        fake_start(&client, lines[i]);
        assert_int_equal(kernel.answers, 1);
        assert_int_equal(fake.calls, 0);
        if (strstr(kernel.answer, "\"code\":-32601") == NULL)
            fail_msg("%s: %s", lines[i], kernel.answer);
        fake_kernel_teardown();
    }
    static const char *const bad[] = {
        "{\"id\":1,\"method\":\"ui.ledger\",\"params\":{\"count\":101}}",
        "{\"id\":1,\"method\":\"ui.ledger\",\"params\":{\"count\":0}}",
        "{\"id\":1,\"method\":\"ui.holds\",\"params\":{\"count\":1}}",
        "{\"id\":1,\"method\":\"ui.low_stock\",\"params\":{\"count\":201}}",
        "{\"id\":1,\"method\":\"ui.low_stock\",\"params\":{\"sku\":\"A\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fake_kernel_setup();
        fake_start(&page, bad[i]);
        assert_int_equal(kernel.answers, 1);
        assert_int_equal(fake.calls, 0);
        if (strstr(kernel.answer, "\"code\":-32602") == NULL)
            fail_msg("%s: %s", bad[i], kernel.answer);
        fake_kernel_teardown();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_ledger_command),
        cmocka_unit_test(test_script_arguments),
        cmocka_unit_test(test_not_on_the_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
