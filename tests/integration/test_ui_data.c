/* Integration: the status page's data (ui.ledger, ui.holds, ui.low_stock).
 * Their scripts on their own against a real redis-server, called with EVAL
 * and their embedded bodies by their C contracts (scripts_util.h), each
 * call checked to change nothing; the ledger read the page makes; through
 * stockd, that no client of the JSON-RPC port can run them, with or without
 * auth; and their answers through the status page's API. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scripts_util.h"

#include "stock.h"
#include "ui_data.h"

/* --- the scripts ----------------------------------------------------------- */

/* ui_holds counting the first skus of the due index and looking at the
 * first hold of the first `first` of them; the reply's `now` (element 1)
 * is checked against Redis's clock, then shown as 0. */
static redisReply *call_holds(const char *skus, const char *first)
{
    const char *keys[UI_HOLDS_K_FIXED] = {[UI_HOLDS_K_DUE] = DUE};
    const char *args[UI_HOLDS_A_FIXED] = {[UI_HOLDS_A_HOLDS] = NS ":holds:",
                                          [UI_HOLDS_A_RES] = NS ":res:",
                                          [UI_HOLDS_A_SKUS] = skus,
                                          [UI_HOLDS_A_FIRST] = first};
    long long before = now();
    redisReply *r = eval_ro(SCRIPT_UI_HOLDS, keys, UI_HOLDS_K_FIXED, args, UI_HOLDS_A_FIXED);
    long long after = now();
    assert_true(r->elements >= 2 && r->element[1]->type == REDIS_REPLY_INTEGER);
    if (r->element[1]->integer < before || r->element[1]->integer > after)
        fail_msg("now %lld is not in [%lld, %lld]", r->element[1]->integer, before, after);
    r->element[1]->integer = 0;
    return r;
}

/* ui_low_stock reading the newest `scan` stock-level events. */
static redisReply *call_low(const char *scan)
{
    const char *keys[UI_LOW_STOCK_K_FIXED] = {[UI_LOW_STOCK_K_STOCK_EVENTS] = STOCK_EVENTS};
    const char *args[UI_LOW_STOCK_A_FIXED] = {
        [UI_LOW_STOCK_A_STOCK] = NS ":stock:", [UI_LOW_STOCK_A_SCAN] = scan};
    return eval_ro(SCRIPT_UI_LOW_STOCK, keys, UI_LOW_STOCK_K_FIXED, args, UI_LOW_STOCK_A_FIXED);
}

/* An empty namespace: no holds, complete; no rows, nothing scanned. */
static void test_empty(void **state)
{
    (void)state;
    is(call_holds("1000", "100"), "%d 0 0 0 1", UI_HOLDS_ST_OK);
    is(call_low("1000"), "%d 0", UI_LOW_STOCK_ST_OK);
}

/* Holds are counted across skus (one per allocation); next is the
 * earliest deadline among the first hold of each of the first skus, with
 * its record's created_at; past the sku budget the count is incomplete. */
static void test_holds(void **state)
{
    (void)state;
    long long t = now() + 100000;
    put_hold("r1", "o-1", "held", t + 5000, "A L 2 B L 1");
    put_hold("r2", "", "held", t, "A M 3");
    put_hold("r3", "", "held", t + 1000, "C L 4");
    /* The due index by score: A (t), C (t + 1000), B (t + 5000). */
    is(call_holds("1000", "100"), "%d 0 3 4 1 'r2' 'A' 'M' 3 %lld %lld", UI_HOLDS_ST_OK, t,
       t - 60000);
    /* Two skus counted of three: A's two holds and C's one. */
    is(call_holds("2", "100"), "%d 0 3 3 0 'r2' 'A' 'M' 3 %lld %lld", UI_HOLDS_ST_OK, t, t - 60000);
    is(call_holds("3", "100"), "%d 0 3 4 1 'r2' 'A' 'M' 3 %lld %lld", UI_HOLDS_ST_OK, t, t - 60000);
    /* No sku looked at: no next. */
    is(call_holds("1000", "0"), "%d 0 3 4 1", UI_HOLDS_ST_OK);

    /* A sku scored early in the due index whose hold is due later: next
     * is still the earliest hold, unless only that sku is looked at. */
    run("ZADD " DUE " %lld D", t - 50000);
    run("ZADD " HOLDS("D") " %lld r4:1:W:1", t + 9000);
    run("HSET " RES("r4") " status held created_at %lld", t - 1);
    is(call_holds("1000", "100"), "%d 0 4 5 1 'r2' 'A' 'M' 3 %lld %lld", UI_HOLDS_ST_OK, t,
       t - 60000);
    is(call_holds("1000", "1"), "%d 0 4 5 1 'r4' 'D' 'W' 1 %lld %lld", UI_HOLDS_ST_OK, t + 9000,
       t - 1);

    /* A record that is gone has no created_at; a member that is not a
     * hold's is counted but never next. */
    run("DEL " RES("r4"));
    is(call_holds("1000", "1"), "%d 0 4 5 1 'r4' 'D' 'W' 1 %lld ''", UI_HOLDS_ST_OK, t + 9000);
    run("ZADD " HOLDS("D") " %lld not-a-member", t - 60000);
    is(call_holds("1000", "1"), "%d 0 4 6 1", UI_HOLDS_ST_OK);
    is(call_holds("1000", "100"), "%d 0 4 6 1 'r2' 'A' 'M' 3 %lld %lld", UI_HOLDS_ST_OK, t,
       t - 60000);
}

/* The rows: the pairs of the newest stock-level events whose available is
 * at or below their threshold, or at or below 0, with the counts of now;
 * each once, in the order of its newest entry (ui_data.c orders them and
 * keeps as many as the page asked for). */
static void test_low_stock(void **state)
{
    (void)state;
    /* A@L: threshold 3, available 2. */
    is(call_stock_set_full("A", "L", "2", "", "", "3"), "%d 2 0 0 0 '3'", STOCK_SET_ST_OK);
    /* B@L: no threshold, available 0 (out of stock after being in). */
    is(call_stock_set("B", "L", "5", ""), "%d 5 0 0 0 ''", STOCK_SET_ST_OK);
    is(call_stock_set("B", "L", "0", ""), "%d 0 0 0 0 ''", STOCK_SET_ST_OK);
    /* C@L: low, then restocked above its threshold: not listed. */
    is(call_stock_set_full("C", "L", "5", "", "", "3"), "%d 5 0 0 0 '3'", STOCK_SET_ST_OK);
    DONE(call_adjust("C", "L", "-4", "damaged"), "%d 1 0 0 0 '3'", STOCK_ADJUST_ST_OK);
    DONE(call_adjust("C", "L", "9", ""), "%d 10 0 0 0 '3'", STOCK_ADJUST_ST_OK);
    is(R("HGET " STOCK("C") " L:on_hand"), "'10'");
    /* D@M: in stock, no threshold: not listed. */
    is(call_stock_set("D", "M", "1", ""), "%d 1 0 0 0 ''", STOCK_SET_ST_OK);
    /* a@K and B@K: out of stock. */
    is(call_stock_set("a", "K", "1", ""), "%d 1 0 0 0 ''", STOCK_SET_ST_OK);
    is(call_stock_set("a", "K", "0", ""), "%d 0 0 0 0 ''", STOCK_SET_ST_OK);
    is(call_stock_set("B", "K", "2", ""), "%d 2 0 0 0 ''", STOCK_SET_ST_OK);
    is(call_stock_set("B", "K", "0", ""), "%d 0 0 0 0 ''", STOCK_SET_ST_OK);
    /* E@L: promised beyond stock (on_hand 1, reserved 3: available -2);
     * F@L: a safety stock that on_hand does not cover counts as 0. */
    put_stock("E", "L", 1, 3, 0);
    run("XADD " STOCK_EVENTS " * type out_of_stock sku E location L available -2 threshold 0 "
        "cause reserve reservation r9 prev %s",
        "");
    put_stock("F", "L", 2, 0, 5);
    run("XADD " STOCK_EVENTS " * type low_stock sku F location L available 0 threshold 0 "
        "cause set reservation %s prev %s",
        "", "");
    is(R("XLEN " STOCK_EVENTS), "12");

    is(call_low("1000"),
       "%d 12 'F' 'L' 0 '' 2 0 'E' 'L' -2 '' 1 3 'B' 'K' 0 '' 0 0 'a' 'K' 0 '' 0 0 "
       "'B' 'L' 0 '' 0 0 'A' 'L' 2 3 2 0",
       UI_LOW_STOCK_ST_OK);
    /* Only the newest entries are read. */
    is(call_low("2"), "%d 2 'F' 'L' 0 '' 2 0 'E' 'L' -2 '' 1 3", UI_LOW_STOCK_ST_OK);
    is(call_low("1"), "%d 1 'F' 'L' 0 '' 2 0", UI_LOW_STOCK_ST_OK);

    /* Counts of now: A restocked above its threshold leaves the list; a
     * pair whose stock is gone is left out; an entry without a pair, or
     * with its fields in another order, is read all the same. */
    is(call_stock_set("A", "L", "4", ""), "%d 4 0 0 0 '3'", STOCK_SET_ST_OK);
    run("HDEL " STOCK("F") " L:on_hand");
    run("XADD " STOCK_EVENTS " * type other note x");
    is(call_low("1000"),
       "%d 13 'E' 'L' -2 '' 1 3 'B' 'K' 0 '' 0 0 'a' 'K' 0 '' 0 0 'B' 'L' 0 '' 0 0",
       UI_LOW_STOCK_ST_OK);
    put_stock("G", "W", 0, 0, 0);
    run("XADD " STOCK_EVENTS " * location W type out_of_stock sku G");
    is(call_low("2"), "%d 2 'G' 'W' 0 '' 0 0", UI_LOW_STOCK_ST_OK);
}

/* The ledger as the page reads it: XREVRANGE of the stream, newest first,
 * at most count entries (ui_data.c sends exactly this command). */
static void test_ledger(void **state)
{
    (void)state;
    is(R("XLEN " EVENTS), "0");
    is(call_stock_set("A", "L", "5", ""), "%d 5 0 0 0 ''", STOCK_SET_ST_OK);
    DONE(call_adjust("A", "L", "-2", "a <b>broken</b> \"box\""), "%d 3 0 0 0 ''",
         STOCK_ADJUST_ST_OK);
    DONE(call_adjust("A", "L", "4", ""), "%d 7 0 0 0 ''", STOCK_ADJUST_ST_OK);
    redisReply *r = R("XREVRANGE " EVENTS " + - COUNT 2");
    assert_int_equal(r->elements, 2);
    char got[1024] = "";
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *fv = r->element[i]->element[1];
        for (size_t j = 1; j < fv->elements; j += 2)
            cat(got, sizeof got, fmt("%s'%s'", j > 1 ? " " : i ? " | " : "", fv->element[j]->str));
    }
    /* Newest first: the ids go down. */
    unsigned long long ms[2], seq[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(sscanf(r->element[i]->element[0]->str, "%llu-%llu", &ms[i], &seq[i]), 2);
    assert_true(ms[0] > ms[1] || (ms[0] == ms[1] && seq[0] > seq[1]));
    freeReplyObject(r);
    assert_string_equal(got, "'adjust' 'A' 'L' '4' '' '' | "
                             "'adjust' 'A' 'L' '-2' '' 'a <b>broken</b> \"box\"'");
    ledger_is(3, 3,
              "'set' 'A' 'L' '5' '' '' | 'adjust' 'A' 'L' '-2' '' "
              "'a <b>broken</b> \"box\"' | 'adjust' 'A' 'L' '4' '' ''");
}

/* --- not on the wire --------------------------------------------------------- */

static const char *const ui_calls[] = {
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ui.ledger\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ui.ledger\",\"params\":{\"count\":5}}",
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ui.holds\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ui.holds\",\"params\":{}}",
    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ui.low_stock\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ui.low_stock\",\"params\":{\"count\":999}}",
};

/* Each ui.* call on fd is answered code, like a method that does not
 * exist: with no data, and not as a params error. */
static void ui_calls_answer(int fd, int code)
{
    for (size_t i = 0; i < sizeof ui_calls / sizeof ui_calls[0]; i++) {
        cJSON *r = client_call(fd, ui_calls[i]);
        if (resp_error_code(r) != code || resp_result(r) != NULL)
            fail_msg("%s: answered %d, expected %d", ui_calls[i], resp_error_code(r), code);
        cJSON_Delete(r);
    }
}

/* A client of the JSON-RPC port never runs them: -32601 without auth
 * configured; with a token, 1006 before auth (as any unknown method) and
 * -32601 after it. The port still answers the methods it has. */
static void test_not_on_the_wire(void **state)
{
    (void)state;
    int open = harness_stockd(NULL);
    int fd = client_connect(H.stockd[open].port);
    ui_calls_answer(fd, -32601);
    cJSON *r = client_call(fd, "{\"id\":9,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);

    char path[512];
    harness_write_file("ui-token", "ui-data-token\n", path, sizeof path);
    const char *args[] = {"--auth-token-file", path, NULL};
    int locked = harness_stockd(&(struct stockd_opts){.args = args});
    fd = client_connect(H.stockd[locked].port);
    ui_calls_answer(fd, 1006);
    r = client_call(fd, "{\"id\":10,\"method\":\"auth\",\"params\":{\"token\":\"ui-data-token\"}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    ui_calls_answer(fd, -32601);
    r = client_call(fd, "{\"id\":11,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
}

/* --- through the status page's API --------------------------------------- */

/* GET path on stockd i's --http port with the token (NULL: none): the
 * status, and the body parsed (the caller deletes it). */
static int api_get(int i, const char *path, const char *token, cJSON **body)
{
    char req[512], *text = NULL;
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: stockd\r\n%s%s%sConnection: close\r\n\r\n",
             path, token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    int status = harness_http_raw(H.stockd[i].http_port, req, &text);
    *body = cJSON_Parse(text);
    if (*body == NULL)
        fail_msg("GET %s: %d, not JSON: %s", path, status, text);
    free(text);
    return status;
}

static const cJSON *member(const cJSON *obj, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (m == NULL)
        fail_msg("no member %s", name);
    return m;
}

/* The three answer through /ui/api/... with the token, as the JSON-RPC
 * answers that made the data say (a reason with HTML in it comes back as
 * the same text); without it, 401 and no data; a bad count, 400. */
static void test_over_http(void **state)
{
    (void)state;
    char path[512];
    harness_write_file("ui-http-token", "ui-http-token\n", path, sizeof path);
    const char *args[] = {"--auth-token-file", path, NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = client_connect(H.stockd[i].port);
    static const char *const setup_calls[] = {
        "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"ui-http-token\"}}",
        "{\"id\":2,\"method\":\"stock.set\",\"params\":{\"sku\":\"SKU-1\",\"location\":"
        "\"berlin\",\"on_hand\":10,\"low_stock_threshold\":4}}",
        "{\"id\":3,\"method\":\"channel.set\",\"params\":{\"channel\":\"default\","
        "\"locations\":[\"berlin\"]}}",
    };
    for (size_t k = 0; k < sizeof setup_calls / sizeof setup_calls[0]; k++) {
        cJSON *r = client_call(fd, setup_calls[k]);
        assert_int_equal(resp_error_code(r), 0);
        cJSON_Delete(r);
    }
    cJSON *held = client_call(fd, "{\"id\":4,\"method\":\"reserve\",\"params\":{\"items\":"
                                  "[{\"sku\":\"SKU-1\",\"quantity\":7}],\"ttl_ms\":600000}}");
    assert_int_equal(resp_error_code(held), 0);
    const cJSON *hold = resp_result(held);
    cJSON *r = client_call(fd, "{\"id\":5,\"method\":\"stock.adjust\",\"params\":{\"sku\":"
                               "\"SKU-1\",\"location\":\"berlin\",\"delta\":-1,\"reason\":"
                               "\"<b>dropped</b> \\\"box\\\" & <script>x()</script>\"}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);

    cJSON *body;
    assert_int_equal(api_get(i, "/ui/api/holds", "ui-http-token", &body), 200);
    const cJSON *res = member(body, "result");
    assert_int_equal(json_int(res, "skus"), 1);
    assert_int_equal(json_int(res, "holds"), 1);
    assert_true(cJSON_IsTrue(member(res, "complete")));
    const cJSON *next = member(res, "next");
    assert_string_equal(json_str(next, "reservation_id"), json_str(hold, "reservation_id"));
    assert_string_equal(json_str(next, "sku"), "SKU-1");
    assert_string_equal(json_str(next, "location"), "berlin");
    assert_int_equal(json_int(next, "quantity"), 7);
    assert_int_equal(json_int(next, "deadline"), json_int(hold, "expires_at"));
    assert_int_equal(json_int(next, "created_at"), json_int(hold, "created_at"));
    assert_true(json_int(res, "now") >= json_int(hold, "created_at"));
    cJSON_Delete(body);

    assert_int_equal(api_get(i, "/ui/api/ledger?count=2", "ui-http-token", &body), 200);
    const cJSON *entries = member(member(body, "result"), "entries");
    assert_int_equal(cJSON_GetArraySize(entries), 2);
    const cJSON *e = cJSON_GetArrayItem(entries, 0);
    assert_string_equal(json_str(e, "type"), "adjust");
    assert_int_equal(json_int(e, "quantity"), -1);
    assert_string_equal(json_str(e, "reason"), "<b>dropped</b> \"box\" & <script>x()</script>");
    e = cJSON_GetArrayItem(entries, 1);
    assert_string_equal(json_str(e, "type"), "reserve");
    assert_string_equal(json_str(e, "reservation"), json_str(hold, "reservation_id"));
    assert_int_equal(json_int(e, "quantity"), 7);
    assert_true(json_int(e, "at") <= json_int(cJSON_GetArrayItem(entries, 0), "at"));
    cJSON_Delete(body);

    /* Two more out of stock: the lowest first, then by sku. */
    static const char *const out_calls[] = {"SKU-2\",\"location\":\"berlin\",\"on_hand\":5",
                                            "SKU-2\",\"location\":\"berlin\",\"on_hand\":0",
                                            "SKU-0\",\"location\":\"berlin\",\"on_hand\":1",
                                            "SKU-0\",\"location\":\"berlin\",\"on_hand\":0"};
    for (size_t k = 0; k < 4; k++) {
        r = client_callf(fd, "{\"id\":6,\"method\":\"stock.set\",\"params\":{\"sku\":\"%s}}",
                         out_calls[k]);
        assert_int_equal(resp_error_code(r), 0);
        cJSON_Delete(r);
    }
    assert_int_equal(api_get(i, "/ui/api/low-stock", "ui-http-token", &body), 200);
    res = member(body, "result");
    /* SKU-1: back in stock, then low; SKU-2 and SKU-0: in, then out. */
    assert_int_equal(json_int(res, "scanned"), 6);
    const cJSON *rows = member(res, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 3);
    static const char *const order[] = {"SKU-0", "SKU-2", "SKU-1"};
    for (int k = 0; k < 3; k++) {
        const cJSON *row = cJSON_GetArrayItem(rows, k);
        struct row now_row = stock_row(fd, order[k], "berlin");
        assert_string_equal(json_str(row, "sku"), order[k]);
        assert_string_equal(json_str(row, "location"), "berlin");
        assert_int_equal(json_int(row, "available"), now_row.available);
        assert_int_equal(json_int(row, "on_hand"), now_row.on_hand);
        assert_int_equal(json_int(row, "reserved"), now_row.reserved);
    }
    const cJSON *low = cJSON_GetArrayItem(rows, 2);
    assert_int_equal(json_int(low, "available"), 2);
    assert_int_equal(json_int(low, "low_stock_threshold"), 4);
    assert_true(cJSON_IsNull(member(cJSON_GetArrayItem(rows, 0), "low_stock_threshold")));
    cJSON_Delete(body);
    assert_int_equal(api_get(i, "/ui/api/low-stock?count=1", "ui-http-token", &body), 200);
    rows = member(member(body, "result"), "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 1);
    assert_string_equal(json_str(cJSON_GetArrayItem(rows, 0), "sku"), "SKU-0");
    cJSON_Delete(body);

    /* No token, or a wrong one: 401 and no data. A bad count: 400. */
    static const char *const paths[] = {"/ui/api/holds", "/ui/api/ledger", "/ui/api/low-stock"};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(api_get(i, paths[k], NULL, &body), 401);
        assert_null(cJSON_GetObjectItemCaseSensitive(body, "result"));
        cJSON_Delete(body);
        assert_int_equal(api_get(i, paths[k], "ui-http-tokem", &body), 401);
        assert_null(cJSON_GetObjectItemCaseSensitive(body, "result"));
        cJSON_Delete(body);
    }
    assert_int_equal(api_get(i, "/ui/api/ledger?count=101", "ui-http-token", &body), 400);
    cJSON_Delete(body);
    assert_int_equal(api_get(i, "/ui/api/low-stock?count=0", "ui-http-token", &body), 400);
    cJSON_Delete(body);
    cJSON_Delete(held);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty, scripts_setup),
        cmocka_unit_test_setup(test_holds, scripts_setup),
        cmocka_unit_test_setup(test_low_stock, scripts_setup),
        cmocka_unit_test_setup(test_ledger, scripts_setup),
        cmocka_unit_test_setup(test_not_on_the_wire, scripts_setup),
        cmocka_unit_test_setup(test_over_http, scripts_setup),
    };
    return harness_run("ui_data", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
