/* Integration: a catalogue of malformed and hostile requests, each with the
 * code it must get (and the field it must name). Afterwards the server is
 * alive and Redis holds exactly what it held before (DEBUG DIGEST of the
 * whole dataset): bad input changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define L(s) s, sizeof(s) - 1

struct bad {
    const char *what;
    const char *line; /* without the newline; may hold NUL bytes */
    size_t len;
    int code;
    const char *field; /* data.field, or NULL */
};

#define SET(p) "{\"id\":1,\"method\":\"stock.set\",\"params\":" p "}"
#define ADJ(p) "{\"id\":1,\"method\":\"stock.adjust\",\"params\":" p "}"
#define GET(p) "{\"id\":1,\"method\":\"stock.get\",\"params\":" p "}"
#define RES(p) "{\"id\":1,\"method\":\"reserve\",\"params\":" p "}"
#define ITEM(q) "{\"items\":[{\"sku\":\"A\",\"quantity\":" q "}]}"
#define ID129 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi"
#define TEXT257 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct bad catalogue[] = {
    /* Not JSON. */
    {"lone brace", L("{"), -32700, NULL},
    {"closing brace", L("}"), -32700, NULL},
    {"trailing comma", L("{\"id\":1,\"method\":\"ping\",}"), -32700, NULL},
    {"single quotes", L("{'id':1,'method':'ping'}"), -32700, NULL},
    {"missing comma", L("{\"id\":1 \"method\":\"ping\"}"), -32700, NULL},
    {"extra brace", L("{\"id\":1,\"method\":\"ping\"}}"), -32700, NULL},
    {"trailing bytes", L("{\"id\":1,\"method\":\"ping\"} x"), -32700, NULL},
    {"two objects", L("{\"id\":1,\"method\":\"ping\"}{\"id\":2}"), -32700, NULL},
    {"bare word", L("nul"), -32700, NULL},
    {"leading zero", L("{\"id\":01,\"method\":\"ping\"}"), -32700, NULL},
    {"bare point", L("{\"id\":.5,\"method\":\"ping\"}"), -32700, NULL},
    {"exponent without digits", L("{\"id\":1e,\"method\":\"ping\"}"), -32700, NULL},
    {"raw control byte in a string", L("{\"id\":1,\"method\":\"pi\x01ng\"}"), -32700, NULL},
    {"raw control byte between tokens", L("{\x02\"id\":1,\"method\":\"ping\"}"), -32700, NULL},
    {"NUL byte in a string", L("{\"id\":1,\"method\":\"pi\0ng\"}"), -32700, NULL},
    {"NUL byte after the object", L("{\"id\":1,\"method\":\"ping\"}\0"), -32700, NULL},
    {"invalid UTF-8", L("{\"id\":1,\"method\":\"\xff\xfe\"}"), -32700, NULL},
    {"overlong UTF-8", L("{\"id\":1,\"method\":\"\xc0\xaf\"}"), -32700, NULL},
    {"UTF-8 surrogate", L("{\"id\":1,\"method\":\"\xed\xa0\x80\"}"), -32700, NULL},
    {"truncated UTF-8", L("{\"id\":1,\"method\":\"\xe2\x82\"}"), -32700, NULL},
    /* Not a request object. */
    {"batch", L("[{\"id\":1,\"method\":\"ping\"}]"), -32600, NULL},
    {"empty batch", L("[]"), -32600, NULL},
    {"number", L("42"), -32600, NULL},
    {"string", L("\"ping\""), -32600, NULL},
    {"null", L("null"), -32600, NULL},
    {"true", L("true"), -32600, NULL},
    {"no method", L("{\"id\":1}"), -32600, NULL},
    {"method is a number", L("{\"id\":1,\"method\":7}"), -32600, NULL},
    {"method is null", L("{\"id\":1,\"method\":null}"), -32600, NULL},
    {"jsonrpc 1.0", L("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}"), -32600, NULL},
    {"jsonrpc as a number", L("{\"jsonrpc\":2,\"id\":1,\"method\":\"ping\"}"), -32600, NULL},
    {"params is an array", L("{\"id\":1,\"method\":\"ping\",\"params\":[]}"), -32600, NULL},
    {"params is a string", L("{\"id\":1,\"method\":\"ping\",\"params\":\"x\"}"), -32600, NULL},
    {"id is a float", L("{\"id\":1.5,\"method\":\"ping\"}"), -32600, NULL},
    {"id is true", L("{\"id\":true,\"method\":\"ping\"}"), -32600, NULL},
    {"id is an object", L("{\"id\":{},\"method\":\"ping\"}"), -32600, NULL},
    {"id is null", L("{\"id\":null,\"method\":\"ping\"}"), -32600, NULL},
    {"id is 2^53+1", L("{\"id\":9007199254740993,\"method\":\"ping\"}"), -32600, NULL},
    {"duplicate key", L("{\"id\":1,\"method\":\"ping\",\"method\":\"ping\"}"), -32600, NULL},
    {"duplicate key in params", L(SET("{\"sku\":\"A\",\"sku\":\"B\",\"location\":\"L\",\"on_hand\":1}")), -32600, NULL},
    {"unknown member", L("{\"id\":1,\"method\":\"ping\",\"x\":1}"), -32600, NULL},
    {"escaped NUL in a string", L("{\"id\":1,\"method\":\"ping\\u0000\"}"), -32600, NULL},
    {"nesting too deep", L(RES("{\"items\":[[[[[[[[[1]]]]]]]]]}")), -32600, NULL},
    /* No such method. */
    {"unknown method", L("{\"id\":1,\"method\":\"nope\"}"), -32601, NULL},
    {"method in capitals", L("{\"id\":1,\"method\":\"PING\"}"), -32601, NULL},
    {"method with a space", L("{\"id\":1,\"method\":\"stock.get \"}"), -32601, NULL},
    {"empty method", L("{\"id\":1,\"method\":\"\"}"), -32601, NULL},
    /* Bad params: identifiers. */
    {"sku missing", L(SET("{\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku is a number", L(SET("{\"sku\":5,\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku is empty", L(SET("{\"sku\":\"\",\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku of 129 bytes", L(SET("{\"sku\":\"" ID129 "\",\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku with a colon", L(SET("{\"sku\":\"A:B\",\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku with braces", L(SET("{\"sku\":\"{inv}\",\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku with a space", L(SET("{\"sku\":\"A B\",\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku with a control byte", L(SET("{\"sku\":\"A\\u0007\",\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku with a star", L(SET("{\"sku\":\"A*\",\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku with a non-ASCII letter", L(SET("{\"sku\":\"\xc3\xa9t\xc3\xa9\",\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"sku with a newline escape", L(SET("{\"sku\":\"A\\nB\",\"location\":\"L\",\"on_hand\":1}")), -32602, "sku"},
    {"location with a colon", L(SET("{\"sku\":\"A\",\"location\":\"L:on_hand\",\"on_hand\":1}")), -32602, "location"},
    {"keys are case-sensitive", L(SET("{\"SKU\":\"A\",\"location\":\"L\",\"on_hand\":1}")), -32602, "SKU"},
    {"unknown params field", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1,\"onhand\":2}")), -32602, "onhand"},
    {"empty params field name", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1,\"\":2}")), -32602, ""},
    /* Bad params: numbers. */
    {"on_hand negative", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":-1}")), -32602, "on_hand"},
    {"on_hand not whole", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1.5}")), -32602, "on_hand"},
    {"on_hand a string", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":\"5\"}")), -32602, "on_hand"},
    {"on_hand a boolean", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":true}")), -32602, "on_hand"},
    {"on_hand null", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":null}")), -32602, "on_hand"},
    {"on_hand above 1e15", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1000000000000001}")), -32602, "on_hand"},
    {"on_hand 2^53+1", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":9007199254740993}")), -32602, "on_hand"},
    {"on_hand 1e400", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1e400}")), -32602, "on_hand"},
    {"safety_stock negative", L(SET("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1,\"safety_stock\":-2}")), -32602, "safety_stock"},
    {"delta zero", L(ADJ("{\"sku\":\"A\",\"location\":\"L\",\"delta\":0}")), -32602, "delta"},
    {"delta minus zero", L(ADJ("{\"sku\":\"A\",\"location\":\"L\",\"delta\":-0}")), -32602, "delta"},
    {"delta not whole", L(ADJ("{\"sku\":\"A\",\"location\":\"L\",\"delta\":0.5}")), -32602, "delta"},
    {"delta too large", L(ADJ("{\"sku\":\"A\",\"location\":\"L\",\"delta\":1e16}")), -32602, "delta"},
    {"reason too long", L(ADJ("{\"sku\":\"A\",\"location\":\"L\",\"delta\":1,\"reason\":\"" TEXT257 "\"}")), -32602, "reason"},
    {"reason with a control byte", L(ADJ("{\"sku\":\"A\",\"location\":\"L\",\"delta\":1,\"reason\":\"a\\u0007\"}")), -32602, "reason"},
    {"reason empty", L(ADJ("{\"sku\":\"A\",\"location\":\"L\",\"delta\":1,\"reason\":\"\"}")), -32602, "reason"},
    /* Bad params: lists. */
    {"locations not a list", L(GET("{\"sku\":\"A\",\"locations\":\"L\"}")), -32602, "locations"},
    {"locations empty", L(GET("{\"sku\":\"A\",\"locations\":[]}")), -32602, "locations"},
    {"locations repeated", L(GET("{\"sku\":\"A\",\"locations\":[\"L\",\"L\"]}")), -32602, "locations"},
    {"locations with a number", L(GET("{\"sku\":\"A\",\"locations\":[\"L\",5]}")), -32602, "locations"},
    {"channel with a space", L("{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"a b\",\"locations\":[\"L\"]}}"), -32602, "channel"},
    {"channel without locations", L("{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":\"web\"}}"), -32602, "locations"},
    /* Bad params: reserve. */
    {"items missing", L(RES("{}")), -32602, "items"},
    {"items an object", L(RES("{\"items\":{}}")), -32602, "items"},
    {"items empty", L(RES("{\"items\":[]}")), -32602, "items"},
    {"item not an object", L(RES("{\"items\":[1]}")), -32602, "items[0]"},
    {"item without quantity", L(RES("{\"items\":[{\"sku\":\"A\"}]}")), -32602, "items[0].quantity"},
    {"item unknown member", L(RES("{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"qty\":1}]}")), -32602, "items[0].qty"},
    {"quantity zero", L(RES(ITEM("0"))), -32602, "items[0].quantity"},
    {"quantity minus zero", L(RES(ITEM("-0"))), -32602, "items[0].quantity"},
    {"quantity negative", L(RES(ITEM("-3"))), -32602, "items[0].quantity"},
    {"quantity above 1e9", L(RES(ITEM("1000000001"))), -32602, "items[0].quantity"},
    {"quantity a string", L(RES(ITEM("\"1\""))), -32602, "items[0].quantity"},
    {"quantity not whole", L(RES(ITEM("1.25"))), -32602, "items[0].quantity"},
    {"sku twice", L(RES("{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":1}]}")), -32602, "items"},
    {"second item's sku bad", L(RES("{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"B}\",\"quantity\":1}]}")), -32602, "items[1].sku"},
    {"strategy unknown", L(RES("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"strategy\":\"best\"}")), -32602, "strategy"},
    {"strategy a number", L(RES("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"strategy\":1}")), -32602, "strategy"},
    {"ttl too short", L(RES("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"ttl_ms\":999}")), -32602, "ttl_ms"},
    {"ttl too long", L(RES("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"ttl_ms\":86400001}")), -32602, "ttl_ms"},
    {"order_id empty", L(RES("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"order_id\":\"\"}")), -32602, "order_id"},
    {"order_id with a colon", L(RES("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"order_id\":\"o:1\"}")), -32602, "order_id"},
    /* Bad params: the lifecycle and auth. */
    {"reservation_id missing", L("{\"id\":1,\"method\":\"commit\",\"params\":{}}"), -32602, "reservation_id"},
    {"reservation_id a number", L("{\"id\":1,\"method\":\"release\",\"params\":{\"reservation_id\":7}}"), -32602, "reservation_id"},
    {"reservation_id with braces", L("{\"id\":1,\"method\":\"commit\",\"params\":{\"reservation_id\":\"{x}\"}}"), -32602, "reservation_id"},
    {"extend without ttl", L("{\"id\":1,\"method\":\"extend\",\"params\":{\"reservation_id\":\"r1\"}}"), -32602, "ttl_ms"},
    {"auth with an empty token", L("{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"\"}}"), -32602, "token"},
    {"auth with a number", L("{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":1}}"), -32602, "token"},
};

static long long digest_and_check(char out[64])
{
    redisReply *r = harness_redis(&H, "DEBUG DIGEST");
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    snprintf(out, 64, "%s", r->str);
    freeReplyObject(r);
    r = harness_redis(&H, "DBSIZE");
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static void test_catalogue_changes_nothing(void **state)
{
    (void)state;
    size_t n = sizeof catalogue / sizeof catalogue[0];
    assert_true(n >= 60);
    int fd = harness_client(0);
    /* Something to protect: stock, a channel, a hold, ledger entries. */
    cJSON_Delete(client_call(fd, "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"A\","
                                 "\"location\":\"L\",\"on_hand\":9}}"));
    cJSON_Delete(client_call(fd, "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":"
                                 "\"default\",\"locations\":[\"L\"]}}"));
    cJSON_Delete(client_call(fd, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{"
                                 "\"sku\":\"A\",\"quantity\":2}]}}"));
    char before[64], after[64];
    long long keys_before = digest_and_check(before);

    for (size_t i = 0; i < n; i++) {
        const struct bad *b = &catalogue[i];
        client_send(fd, b->line, b->len);
        client_sends(fd, "\n");
        char *line = client_readline(fd, 5000);
        if (line == NULL)
            fail_msg("%s: no answer", b->what);
        cJSON *r = cJSON_Parse(line);
        if (r == NULL)
            fail_msg("%s: answer is not JSON: %s", b->what, line);
        int code = resp_error_code(r);
        if (code != b->code)
            fail_msg("%s: code %d, want %d (%s)", b->what, code, b->code, line);
        const cJSON *data =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "error"), "data");
        const cJSON *field = cJSON_GetObjectItemCaseSensitive(data, "field");
        if (b->field != NULL && !(cJSON_IsString(field) && strcmp(field->valuestring, b->field) == 0))
            fail_msg("%s: field %s, want %s", b->what,
                     cJSON_IsString(field) ? field->valuestring : "(none)", b->field);
        cJSON_Delete(r);
        free(line);
    }

    /* A 1 MB line closes its connection, and nothing else. The client may
     * still be sending when it is refused: stockd reads on, discarding,
     * until the client has ended, so nothing it sends fails and the
     * refusal is not lost to a reset. */
    int big = client_connect(H.stockd[0].port);
    size_t mb = 1 << 20;
    char *huge = malloc(mb);
    memset(huge, 'x', mb);
    huge[0] = '{';
    client_send(big, huge, mb);
    char *line = client_readline(big, 5000);
    assert_non_null(line);
    assert_non_null(strstr(line, "request_too_large"));
    free(line);
    huge[0] = 'x';
    for (int i = 0; i < 4; i++) /* refused already; the line goes on */
        for (size_t off = 0; off < mb;) {
            ssize_t w = send(big, huge + off, mb - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                fail_msg("sending after the refusal failed: %s", strerror(errno));
            off += (size_t)w;
        }
    free(huge);
    shutdown(big, SHUT_WR);
    assert_true(client_wait_closed(big, 5000));
    close(big);

    /* Alive, and Redis holds exactly what it held. */
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"ping\"}");
    assert_string_equal(json_str(resp_result(r), "redis"), "up");
    cJSON_Delete(r);
    long long keys_after = digest_and_check(after);
    assert_int_equal(keys_after, keys_before);
    assert_string_equal(after, before);
    printf("catalogue: %zu hostile requests, dataset digest unchanged (%s)\n", n, after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_catalogue_changes_nothing, harness_flush_setup),
    };
    static const char *const redis_args[] = {"--enable-debug-command", "local", NULL};
    harness_redis_args = redis_args;
    return harness_run("catalogue", tests, sizeof tests / sizeof tests[0], 1, NULL);
}
