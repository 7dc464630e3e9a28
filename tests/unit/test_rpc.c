/* Unit tests of the JSON-RPC layer (rpc.h): request decoding with its accept
 * and reject tables, the error table against PROTOCOL.md, and the response
 * writers, whose output is parsed back with cJSON and compared field by
 * field. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "rpc.h"

/* Copies a line into a block of exactly len bytes, with no terminator, as
 * the framer hands lines over in place: valgrind then flags any read past
 * the end. */
static char *exact_copy(const char *line, size_t len)
{
    char *p = xmalloc(len);
    if (len > 0)
        memcpy(p, line, len);
    return p;
}

static const char *kind_name(enum rpc_id_kind k)
{
    static const char *const names[] = {"NONE", "NULL", "INT", "STRING"};
    return (unsigned)k < 4 ? names[k] : "?";
}

/* Checks a decoded id against the expected kind and value. */
static void check_id(const char *what, const struct rpc_id *got, enum rpc_id_kind kind,
                     long long num, const char *str)
{
    if (got->kind != kind)
        fail_msg("%s: id kind %s, expected %s", what, kind_name(got->kind), kind_name(kind));
    if (kind == RPC_ID_INT && got->num != num)
        fail_msg("%s: id %lld, expected %lld", what, got->num, num);
    if (kind == RPC_ID_STRING && (got->str == NULL || strcmp(got->str, str) != 0))
        fail_msg("%s: id '%s', expected '%s'", what, got->str ? got->str : "(null)", str);
}

/* Checks that out holds exactly one response line ending in one "\n", and
 * returns it parsed (the caller deletes it). */
static cJSON *parse_line(const char *what, const struct buf *out)
{
    if (out->len == 0 || out->data[out->len - 1] != '\n')
        fail_msg("%s: the response does not end with a newline", what);
    if (memchr(out->data, '\n', out->len - 1) != NULL)
        fail_msg("%s: the response holds more than one newline", what);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(out->data, out->len - 1, &end, 0);
    if (!cJSON_IsObject(root))
        fail_msg("%s: the response is not a JSON object: %.*s", what, (int)out->len, out->data);
    if (end != out->data + out->len - 1)
        fail_msg("%s: bytes after the response object: %.*s", what, (int)out->len, out->data);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0)
        fail_msg("%s: jsonrpc is not \"2.0\"", what);
    return root;
}

/* Checks the "id" member of a parsed response against the id written. */
static void check_id_json(const char *what, const cJSON *root, const struct rpc_id *id)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (v == NULL)
        fail_msg("%s: the response has no id", what);
    switch (id->kind) {
    case RPC_ID_INT:
        if (!cJSON_IsNumber(v) || v->valuedouble != (double)id->num)
            fail_msg("%s: id is not %lld", what, id->num);
        break;
    case RPC_ID_STRING:
        if (!cJSON_IsString(v) || strcmp(v->valuestring, id->str) != 0)
            fail_msg("%s: id is not the string '%s'", what, id->str);
        break;
    case RPC_ID_NULL:
    case RPC_ID_NONE:
        if (!cJSON_IsNull(v))
            fail_msg("%s: id is not null", what);
        break;
    }
}

/* ---- the error table ---- */

static const struct code_case {
    enum error_id id;
    int code;
    const char *reason;
} code_cases[] = {
    {E_PARSE, -32700, "parse_error"},
    {E_INVALID_REQUEST, -32600, "invalid_request"},
    {E_TOO_LARGE, -32600, "request_too_large"},
    {E_METHOD_NOT_FOUND, -32601, "method_not_found"},
    {E_INVALID_PARAMS, -32602, "invalid_params"},
    {E_INTERNAL, -32603, "internal"},
    {E_OUT_OF_STOCK, 1001, "out_of_stock"},
    {E_NOT_FOUND, 1002, "not_found"},
    {E_CONFLICT, 1003, "conflict"},
    {E_IDEMPOTENCY, 1004, "idempotency_conflict"},
    {E_UNKNOWN_CHANNEL, 1005, "unknown_channel"},
    {E_UNAUTHORIZED, 1006, "unauthorized"},
    {E_UNAVAILABLE, 2001, "unavailable"},
    {E_TIMEOUT, 2002, "timeout"},
    {E_REPLICATION, 2002, "replication"},
    {E_OVERLOADED, 2003, "overloaded"},
    {E_STORAGE_FULL, 2004, "storage_full"},
};

static void test_error_table(void **state)
{
    (void)state;
    size_t n = sizeof code_cases / sizeof code_cases[0];
    /* Every declared error is in this table, and no more. */
    assert_int_equal(E_COUNT - 1, n);
    for (size_t i = 0; i < n; i++) {
        const struct code_case *tc = &code_cases[i];
        if (error_code(tc->id) != tc->code)
            fail_msg("%s: code %d, expected %d", tc->reason, error_code(tc->id), tc->code);
        if (strcmp(error_reason(tc->id), tc->reason) != 0)
            fail_msg("%s: reason '%s'", tc->reason, error_reason(tc->id));
        /* PROTOCOL.md: message is a short English sentence. */
        const char *m = error_message(tc->id);
        size_t mlen = strlen(m);
        if (mlen < 2 || m[mlen - 1] != '.' || strchr(m, '\n') != NULL)
            fail_msg("%s: message '%s' is not a one-line sentence", tc->reason, m);

        /* The written error carries exactly the table's values. */
        struct rpc_error err;
        assert_int_equal(rpc_error_set(&err, tc->id), -(int)tc->id);
        struct rpc_id id = {RPC_ID_INT, (long long)i + 1, NULL};
        struct buf out;
        buf_init(&out);
        rpc_write_error(&out, &id, &err);
        cJSON *root = parse_line(tc->reason, &out);
        check_id_json(tc->reason, root, &id);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(data, "reason");
        if (!cJSON_IsNumber(code) || code->valueint != tc->code)
            fail_msg("%s: written code differs", tc->reason);
        if (!cJSON_IsString(msg) || strcmp(msg->valuestring, m) != 0)
            fail_msg("%s: written message differs", tc->reason);
        if (!cJSON_IsString(reason) || strcmp(reason->valuestring, tc->reason) != 0)
            fail_msg("%s: written reason differs", tc->reason);
        if (cJSON_GetArraySize(data) != 1)
            fail_msg("%s: data holds more than the reason", tc->reason);
        if (cJSON_GetObjectItemCaseSensitive(root, "result") != NULL)
            fail_msg("%s: an error response holds a result", tc->reason);
        cJSON_Delete(root);
        buf_free(&out);
    }
    /* A code may serve two reasons (2002), but no reason two errors: the
     * metrics label each count by code and reason, and clients tell the
     * errors of one code apart by the reason. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(code_cases[i].reason, code_cases[j].reason) == 0)
                fail_msg("two errors share the reason '%s'", code_cases[i].reason);
    assert_string_equal(error_message(E_REPLICATION),
                        "Fewer replicas than required confirmed the write in time; the outcome is "
                        "unknown: retry with the same order_id.");
}

static void test_error_set_and_param(void **state)
{
    (void)state;
    struct rpc_error err;
    /* rpc_error_set clears whatever was there before. */
    memset(&err, 0x5a, sizeof err);
    assert_int_equal(rpc_error_set(&err, E_CONFLICT), -E_CONFLICT);
    assert_int_equal(err.id, E_CONFLICT);
    assert_null(err.message);
    assert_null(err.reason);
    assert_null(err.sku.p);
    assert_null(err.location.p);
    assert_string_equal(err.field, "");
    assert_false(err.has_field);
    assert_false(err.has_quantities);
    assert_false(err.has_reserved);

    assert_int_equal(rpc_error_param(&err, "items[3].quantity", "Too many."), -E_INVALID_PARAMS);
    assert_int_equal(err.id, E_INVALID_PARAMS);
    assert_string_equal(err.field, "items[3].quantity");
    assert_true(err.has_field);
    assert_string_equal(err.message, "Too many.");

    /* A field name longer than the buffer is cut, never overflowed. */
    char longname[200];
    memset(longname, 'f', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    rpc_error_param(&err, longname, "x");
    assert_int_equal(strlen(err.field), sizeof err.field - 1);
    assert_memory_equal(err.field, longname, sizeof err.field - 1);

    /* Cut at a character boundary, never inside one: "é" is 2 bytes, so
     * 40 of them (80 bytes) are cut to 31 (62 bytes), valid UTF-8. */
    char accents[81];
    for (int k = 0; k < 40; k++)
        memcpy(accents + 2 * k, "\xc3\xa9", 2);
    accents[80] = '\0';
    rpc_error_param(&err, accents, "x");
    assert_int_equal(strlen(err.field), 62);
    assert_true(utf8_valid((const unsigned char *)err.field, strlen(err.field)));
}

/* ---- decoding: requests that are accepted ---- */

static const struct accept_case {
    const char *name;
    const char *line;
    enum rpc_id_kind id_kind;
    long long id_num;
    const char *id_str;
    const char *method;
    const char *params; /* NULL: no params; else params printed unformatted */
} accept_cases[] = {
    {"full envelope, integer id", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", RPC_ID_INT,
     1, NULL, "ping", NULL},
    {"string id", "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"ping\"}", RPC_ID_STRING, 0,
     "abc", "ping", NULL},
    {"notification", "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}", RPC_ID_NONE, 0, NULL, "ping",
     NULL},
    {"notification without jsonrpc", "{\"method\":\"ping\"}", RPC_ID_NONE, 0, NULL, "ping", NULL},
    {"jsonrpc omitted", "{\"id\":2,\"method\":\"ping\"}", RPC_ID_INT, 2, NULL, "ping", NULL},
    {"negative id", "{\"id\":-7,\"method\":\"ping\"}", RPC_ID_INT, -7, NULL, "ping", NULL},
    {"zero id", "{\"id\":0,\"method\":\"ping\"}", RPC_ID_INT, 0, NULL, "ping", NULL},
    {"id 2^53 - 1", "{\"id\":9007199254740991,\"method\":\"ping\"}", RPC_ID_INT,
     9007199254740991LL, NULL, "ping", NULL},
    {"id -(2^53 - 1)", "{\"id\":-9007199254740991,\"method\":\"ping\"}", RPC_ID_INT,
     -9007199254740991LL, NULL, "ping", NULL},
    {"empty string id", "{\"id\":\"\",\"method\":\"ping\"}", RPC_ID_STRING, 0, "", "ping", NULL},
    {"string id with escapes", "{\"id\":\"a\\\"b\\\\c\\n\",\"method\":\"ping\"}", RPC_ID_STRING, 0,
     "a\"b\\c\n", "ping", NULL},
    {"string id with a unicode escape", "{\"id\":\"\\u00e9\",\"method\":\"ping\"}", RPC_ID_STRING,
     0, "\xc3\xa9", "ping", NULL},
    {"string id of digits stays a string", "{\"id\":\"42\",\"method\":\"ping\"}", RPC_ID_STRING, 0,
     "42", "ping", NULL},
    {"brackets inside a string are not nesting",
     "{\"id\":\"[[[[[[[[[[{{{{{{{{{{\",\"method\":\"ping\"}", RPC_ID_STRING, 0,
     "[[[[[[[[[[{{{{{{{{{{", "ping", NULL},
    {"escaped quote then brackets", "{\"id\":\"\\\"[[[[[[[[[[\",\"method\":\"ping\"}",
     RPC_ID_STRING, 0, "\"[[[[[[[[[[", "ping", NULL},
    {"string ending in an escaped backslash", "{\"id\":\"\\\\\",\"method\":\"ping\"}",
     RPC_ID_STRING, 0, "\\", "ping", NULL},
    {"params object", "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}", RPC_ID_INT,
     1, NULL, "stock.get", "{\"sku\":\"A\"}"},
    {"params null is no params", "{\"id\":1,\"method\":\"ping\",\"params\":null}", RPC_ID_INT, 1,
     NULL, "ping", NULL},
    {"empty params", "{\"id\":1,\"method\":\"ping\",\"params\":{}}", RPC_ID_INT, 1, NULL, "ping",
     "{}"},
    {"members in any order", "{\"method\":\"ping\",\"params\":{},\"id\":3,\"jsonrpc\":\"2.0\"}",
     RPC_ID_INT, 3, NULL, "ping", "{}"},
    {"spaces and tabs around", " \t{\"id\":1,\"method\":\"ping\"} \t", RPC_ID_INT, 1, NULL, "ping",
     NULL},
    {"spaces inside", "{ \"id\" : 1 , \"method\" : \"ping\" }", RPC_ID_INT, 1, NULL, "ping", NULL},
    {"unknown method is the next layer's business", "{\"id\":1,\"method\":\"no.such\"}",
     RPC_ID_INT, 1, NULL, "no.such", NULL},
    {"escaped method name", "{\"id\":1,\"method\":\"p\\u0069ng\"}", RPC_ID_INT, 1, NULL, "ping",
     NULL},
    {"keys differing in case are distinct",
     "{\"id\":1,\"method\":\"m\",\"params\":{\"a\":1,\"A\":2}}", RPC_ID_INT, 1, NULL, "m",
     "{\"a\":1,\"A\":2}"},
    {"same key in sibling objects",
     "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"A\",\"quantity\":1},"
     "{\"sku\":\"B\",\"quantity\":2}]}}",
     RPC_ID_INT, 1, NULL, "reserve",
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"B\",\"quantity\":2}]}"},
    {"same key at two levels", "{\"id\":1,\"method\":\"m\",\"params\":{\"id\":{\"id\":1}}}",
     RPC_ID_INT, 1, NULL, "m", "{\"id\":{\"id\":1}}"},
};

static void test_decode_accept(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof accept_cases / sizeof accept_cases[0]; i++) {
        const struct accept_case *tc = &accept_cases[i];
        size_t len = strlen(tc->line);
        char *line = exact_copy(tc->line, len);
        struct rpc_request req;
        struct rpc_error err;
        int rc = rpc_decode(line, len, &req, &err);
        if (rc != 0)
            fail_msg("%s: rejected with %d (%s)", tc->name, rc, err.message ? err.message : "");
        check_id(tc->name, &req.id, tc->id_kind, tc->id_num, tc->id_str);
        if (req.method == NULL || strcmp(req.method, tc->method) != 0)
            fail_msg("%s: method '%s'", tc->name, req.method ? req.method : "(null)");
        if (tc->params == NULL) {
            if (req.params != NULL)
                fail_msg("%s: params set, expected none", tc->name);
        } else {
            if (!cJSON_IsObject(req.params))
                fail_msg("%s: params is not an object", tc->name);
            char *text = cJSON_PrintUnformatted(req.params);
            if (strcmp(text, tc->params) != 0)
                fail_msg("%s: params %s, expected %s", tc->name, text, tc->params);
            cJSON_free(text);
        }
        assert_non_null(req.root);
        rpc_request_free(&req);
        assert_null(req.root);
        /* Freeing twice is harmless. */
        rpc_request_free(&req);
        free(line);
    }
}

/* ---- decoding: requests that are rejected ---- */

/* A string literal and its length, NUL bytes inside included. */
#define LIT(s) s, sizeof(s) - 1

static const struct reject_case {
    const char *name;
    const char *line;
    size_t len; /* 0: strlen(line) */
    int rc;
    bool check_id; /* false: the id after this error is not pinned down here */
    enum rpc_id_kind id_kind;
    long long id_num;
    const char *id_str;
} reject_cases[] = {
    /* Not JSON at all: nobody can be named, so the answer goes to id null. */
    {"not JSON", "not json", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"empty line", "", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"only spaces", "   ", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"lone brace", "{", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"cut after a colon", "{\"id\":1,\"method\":", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"unterminated object", "{\"id\":1,\"method\":\"ping\"", 0, -E_PARSE, true, RPC_ID_NULL, 0,
     NULL},
    {"trailing comma", "{\"id\":1,\"method\":\"ping\",}", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"single quotes", "{'id':1,'method':'ping'}", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"bare word", "{\"id\":1,\"method\":ping}", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"trailing garbage", "{\"id\":1,\"method\":\"ping\"}x", 0, -E_PARSE, true, RPC_ID_NULL, 0,
     NULL},
    {"two objects on a line", "{\"id\":1,\"method\":\"ping\"}{\"id\":2,\"method\":\"ping\"}", 0,
     -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"trailing number", "{\"id\":1,\"method\":\"ping\"} 1", 0, -E_PARSE, true, RPC_ID_NULL, 0,
     NULL},
    {"trailing vertical tab", "{\"id\":1,\"method\":\"ping\"}\v", 0, -E_PARSE, true, RPC_ID_NULL,
     0, NULL},
    {"raw control byte in a string", "{\"id\":1,\"method\":\"pi\x01ng\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"raw tab in a string", "{\"id\":1,\"method\":\"pi\tng\"}", 0, -E_PARSE, true, RPC_ID_NULL, 0,
     NULL},
    {"raw newline in a string", "{\"id\":1,\"method\":\"pi\nng\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"raw 0x1f in a key", "{\"id\":1,\"method\":\"ping\",\"params\":{\"a\x1f\":1}}", 0, -E_PARSE,
     true, RPC_ID_NULL, 0, NULL},
    {"raw NUL between members", LIT("{\"id\":1,\0\"method\":\"ping\"}"), -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"raw NUL after the object", LIT("{\"id\":1,\"method\":\"ping\"}\0"), -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"raw NUL inside a string", LIT("{\"id\":1,\"method\":\"pi\0ng\"}"), -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"lone surrogate escape", "{\"id\":\"\\ud800\",\"method\":\"ping\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"unknown escape", "{\"id\":1,\"method\":\"\\q\"}", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"backslash at the end", "{\"id\":1,\"method\":\"ping\\", 0, -E_PARSE, true, RPC_ID_NULL, 0,
     NULL},

    /* JSON, but not a request object. */
    {"batch", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", 0, -E_INVALID_REQUEST, true,
     RPC_ID_NULL, 0, NULL},
    {"empty batch", "[]", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0, NULL},
    {"number root", "1", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0, NULL},
    {"string root", "\"ping\"", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0, NULL},
    {"null root", "null", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0, NULL},
    {"true root", "true", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0, NULL},
    {"duplicate id", "{\"id\":1,\"id\":2,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true,
     RPC_ID_NULL, 0, NULL},
    {"duplicate method", "{\"id\":1,\"method\":\"a\",\"method\":\"b\"}", 0, -E_INVALID_REQUEST,
     false, RPC_ID_NULL, 0, NULL},
    {"duplicate key in params",
     "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"a\",\"sku\":\"b\"}}", 0,
     -E_INVALID_REQUEST, false, RPC_ID_NULL, 0, NULL},
    {"duplicate key in an item",
     "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"a\",\"quantity\":1,"
     "\"sku\":\"b\"}]}}",
     0, -E_INVALID_REQUEST, false, RPC_ID_NULL, 0, NULL},
    {"unknown envelope member", "{\"id\":1,\"method\":\"ping\",\"foo\":1}", 0, -E_INVALID_REQUEST,
     false, RPC_ID_NULL, 0, NULL},
    {"envelope keys are case-sensitive", "{\"id\":1,\"Method\":\"ping\"}", 0, -E_INVALID_REQUEST,
     false, RPC_ID_NULL, 0, NULL},

    /* An id of the wrong type cannot be echoed: id null. */
    {"float id", "{\"id\":1.5,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0,
     NULL},
    {"negative float id", "{\"id\":-0.5,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true,
     RPC_ID_NULL, 0, NULL},
    {"true id", "{\"id\":true,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0,
     NULL},
    {"false id", "{\"id\":false,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0,
     NULL},
    {"object id", "{\"id\":{},\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0,
     NULL},
    {"array id", "{\"id\":[1],\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0,
     NULL},
    {"null id", "{\"id\":null,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0,
     NULL},
    {"huge id", "{\"id\":1e300,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0,
     NULL},
    /* An id is echoed as sent: a number written with a fraction or an
     * exponent is not an integer id, even when its value is whole. */
    {"id 1.0", "{\"id\":1.0,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0,
     NULL},
    {"id 1e2", "{\"id\":1e2,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true, RPC_ID_NULL, 0,
     NULL},
    {"id 1E+0 after spaces", "{\"method\":\"ping\", \"id\" :  1E+0}", 0, -E_INVALID_REQUEST, true,
     RPC_ID_NULL, 0, NULL},
    {"id beyond 2^53", "{\"id\":9007199254740994,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_NULL, 0, NULL},
    {"id below -2^53", "{\"id\":-9007199254740994,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_NULL, 0, NULL},

    /* Regressions: leniencies of cJSON that the protocol does not allow. */
    {"id 2^53 (2^53 + 1 parses to it)", "{\"id\":9007199254740993,\"method\":\"ping\"}", 0,
     -E_INVALID_REQUEST, true, RPC_ID_NULL, 0, NULL},
    {"control byte between tokens", "{\x01\"id\":1,\"method\":\"ping\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"control byte before the object", "\x01{\"id\":1,\"method\":\"ping\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"form feed before a value", "{\"id\":1,\"method\":\x0c\"ping\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"leading zero", "{\"id\":01,\"method\":\"ping\"}", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"bare decimal point", "{\"id\":1.,\"method\":\"ping\"}", 0, -E_PARSE, true, RPC_ID_NULL, 0,
     NULL},
    {"no digit before the point", "{\"id\":.5,\"method\":\"ping\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"exponent without digits", "{\"id\":1e,\"method\":\"ping\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"minus alone", "{\"id\":-,\"method\":\"ping\"}", 0, -E_PARSE, true, RPC_ID_NULL, 0, NULL},
    {"invalid UTF-8 in a string", "{\"id\":\"\xff\",\"method\":\"ping\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"overlong UTF-8", "{\"id\":\"\xc0\xaf\",\"method\":\"ping\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"UTF-8 surrogate", "{\"id\":\"\xed\xa0\x80\",\"method\":\"ping\"}", 0, -E_PARSE, true,
     RPC_ID_NULL, 0, NULL},
    {"unknown member after the id", "{\"id\":7,\"method\":\"ping\",\"x\":1}", 0,
     -E_INVALID_REQUEST, true, RPC_ID_INT, 7, NULL},
    {"unknown member in a notification", "{\"method\":\"ping\",\"x\":1}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_NONE, 0, NULL},
    {"duplicate key in params", "{\"id\":\"q\",\"method\":\"ping\",\"params\":{\"a\":1,\"a\":2}}",
     0, -E_INVALID_REQUEST, true, RPC_ID_STRING, 0, "q"},
    {"duplicate id", "{\"id\":1,\"id\":2,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST, true,
     RPC_ID_NULL, 0, NULL},

    /* The id was read before the problem: the answer goes to that id. */
    {"jsonrpc 1.0", "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_INT, 1, NULL},
    {"jsonrpc as a number", "{\"jsonrpc\":2.0,\"id\":\"s\",\"method\":\"ping\"}", 0,
     -E_INVALID_REQUEST, true, RPC_ID_STRING, 0, "s"},
    {"jsonrpc null", "{\"jsonrpc\":null,\"id\":4,\"method\":\"ping\"}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_INT, 4, NULL},
    {"jsonrpc with a space", "{\"jsonrpc\":\"2.0 \",\"id\":4,\"method\":\"ping\"}", 0,
     -E_INVALID_REQUEST, true, RPC_ID_INT, 4, NULL},
    {"method missing", "{\"jsonrpc\":\"2.0\",\"id\":3}", 0, -E_INVALID_REQUEST, true, RPC_ID_INT,
     3, NULL},
    {"method a number", "{\"id\":3,\"method\":5}", 0, -E_INVALID_REQUEST, true, RPC_ID_INT, 3,
     NULL},
    {"method null", "{\"id\":\"x\",\"method\":null}", 0, -E_INVALID_REQUEST, true, RPC_ID_STRING, 0,
     "x"},
    {"method an object", "{\"id\":3,\"method\":{}}", 0, -E_INVALID_REQUEST, true, RPC_ID_INT, 3,
     NULL},
    {"method an array", "{\"id\":3,\"method\":[\"ping\"]}", 0, -E_INVALID_REQUEST, true,
     RPC_ID_INT, 3, NULL},
    {"params an array", "{\"id\":5,\"method\":\"ping\",\"params\":[]}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_INT, 5, NULL},
    {"params a string", "{\"id\":5,\"method\":\"ping\",\"params\":\"x\"}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_INT, 5, NULL},
    {"params a number", "{\"id\":5,\"method\":\"ping\",\"params\":1}", 0, -E_INVALID_REQUEST, true,
     RPC_ID_INT, 5, NULL},
    {"params true", "{\"id\":\"p\",\"method\":\"ping\",\"params\":true}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_STRING, 0, "p"},

    /* A notification gets no answer, even when it is invalid. */
    {"invalid notification: method a number", "{\"method\":5}", 0, -E_INVALID_REQUEST, true,
     RPC_ID_NONE, 0, NULL},
    {"invalid notification: params an array", "{\"method\":\"ping\",\"params\":[1]}", 0,
     -E_INVALID_REQUEST, true, RPC_ID_NONE, 0, NULL},
    {"invalid notification: jsonrpc 1.0", "{\"jsonrpc\":\"1.0\",\"method\":\"ping\"}", 0,
     -E_INVALID_REQUEST, true, RPC_ID_NONE, 0, NULL},

    /* \u0000 would be silently cut short by cJSON. */
    {"\\u0000 in the method", "{\"id\":1,\"method\":\"a\\u0000b\"}", 0, -E_INVALID_REQUEST, true,
     RPC_ID_NULL, 0, NULL},
    {"\\u0000 at the end of a string", "{\"id\":1,\"method\":\"\\u0000\"}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_NULL, 0, NULL},
    {"\\u0000 in a key", "{\"id\":1,\"method\":\"ping\",\"params\":{\"a\\u0000\":1}}", 0,
     -E_INVALID_REQUEST, true, RPC_ID_NULL, 0, NULL},
    {"\\u0000 in a string id", "{\"id\":\"x\\u0000\",\"method\":\"ping\"}", 0, -E_INVALID_REQUEST,
     true, RPC_ID_NULL, 0, NULL},
};

static void test_decode_reject(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reject_cases / sizeof reject_cases[0]; i++) {
        const struct reject_case *tc = &reject_cases[i];
        size_t len = tc->len ? tc->len : strlen(tc->line);
        char *line = exact_copy(tc->line, len);
        struct rpc_request req;
        struct rpc_error err;
        int rc = rpc_decode(line, len, &req, &err);
        if (rc != tc->rc)
            fail_msg("%s: rc %d, expected %d", tc->name, rc, tc->rc);
        /* err names the same error the return value does. */
        if ((int)err.id != -rc)
            fail_msg("%s: err.id %d for rc %d", tc->name, err.id, rc);
        if (tc->check_id)
            check_id(tc->name, &req.id, tc->id_kind, tc->id_num, tc->id_str);
        if (req.id.kind == RPC_ID_NONE && tc->id_kind != RPC_ID_NONE)
            fail_msg("%s: a request with an id was taken for a notification", tc->name);

        /* The error written for it is a valid response line with the right
         * code, addressed to req->id. */
        struct buf out;
        buf_init(&out);
        rpc_write_error(&out, &req.id, &err);
        cJSON *root = parse_line(tc->name, &out);
        check_id_json(tc->name, root, &req.id);
        const cJSON *code =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "error"), "code");
        if (!cJSON_IsNumber(code) || code->valueint != error_code(err.id))
            fail_msg("%s: written code differs from the error table", tc->name);
        cJSON_Delete(root);
        buf_free(&out);

        rpc_request_free(&req);
        free(line);
    }
}

/* Nesting: the root object counts as depth 1; RPC_MAX_DEPTH is accepted, one
 * more is not, and very deep input is refused before cJSON recurses. */
static const struct depth_case {
    int depth;
    bool objects; /* nest objects {"a":...} instead of arrays */
    int rc;
} depth_cases[] = {
    {2, false, 0},
    {RPC_MAX_DEPTH, false, 0},
    {RPC_MAX_DEPTH, true, 0},
    {RPC_MAX_DEPTH + 1, false, -E_INVALID_REQUEST},
    {RPC_MAX_DEPTH + 1, true, -E_INVALID_REQUEST},
    {100, false, -E_INVALID_REQUEST},
    {100000, false, -E_INVALID_REQUEST},
    {100000, true, -E_INVALID_REQUEST},
};

static void test_decode_depth(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof depth_cases / sizeof depth_cases[0]; i++) {
        const struct depth_case *tc = &depth_cases[i];
        /* {"id":1,"method":"m","params":{"a":<depth - 2 levels>1<closers>}} */
        struct buf b;
        buf_init(&b);
        buf_appends(&b, "{\"id\":1,\"method\":\"m\",\"params\":{\"a\":");
        for (int d = 0; d < tc->depth - 2; d++)
            buf_appends(&b, tc->objects ? "{\"a\":" : "[");
        buf_appendc(&b, '1');
        for (int d = 0; d < tc->depth - 2; d++)
            buf_appendc(&b, tc->objects ? '}' : ']');
        buf_appends(&b, "}}");

        struct rpc_request req;
        struct rpc_error err;
        int rc = rpc_decode(b.data, b.len, &req, &err);
        if (rc != tc->rc)
            fail_msg("depth %d (%s): rc %d, expected %d", tc->depth,
                     tc->objects ? "objects" : "arrays", rc, tc->rc);
        rpc_request_free(&req);
        buf_free(&b);
    }
}

/* ---- writing responses ---- */

static const struct id_case {
    const char *name;
    struct rpc_id id;
    const char *raw; /* the id's exact text in the output, when fixed */
} id_cases[] = {
    {"int 0", {RPC_ID_INT, 0, NULL}, "0"},
    {"int 1", {RPC_ID_INT, 1, NULL}, "1"},
    {"int -1", {RPC_ID_INT, -1, NULL}, "-1"},
    {"int 2^53 - 1", {RPC_ID_INT, 9007199254740991LL, NULL}, "9007199254740991"},
    {"int -(2^53 - 1)", {RPC_ID_INT, -9007199254740991LL, NULL}, "-9007199254740991"},
    {"plain string", {RPC_ID_STRING, 0, "abc"}, "\"abc\""},
    {"empty string", {RPC_ID_STRING, 0, ""}, "\"\""},
    {"string with quotes", {RPC_ID_STRING, 0, "say \"hi\""}, NULL},
    {"string with backslashes", {RPC_ID_STRING, 0, "a\\b\\\\"}, NULL},
    {"string with control chars", {RPC_ID_STRING, 0, "\x01\x02\x1f\b\f"}, NULL},
    {"string with newlines and tabs", {RPC_ID_STRING, 0, "l1\nl2\r\n\tx"}, NULL},
    {"string with UTF-8", {RPC_ID_STRING, 0, "caf\xc3\xa9 \xe2\x9c\x93"}, NULL},
    {"string that looks like JSON", {RPC_ID_STRING, 0, "\",\"result\":1}"}, NULL},
    {"null", {RPC_ID_NULL, 0, NULL}, "null"},
    {"none is written as null", {RPC_ID_NONE, 0, NULL}, "null"},
};

static void test_write_result(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof id_cases / sizeof id_cases[0]; i++) {
        const struct id_case *tc = &id_cases[i];
        struct buf out;
        buf_init(&out);
        rpc_write_result_begin(&out, &tc->id);
        static const char prefix[] = "{\"jsonrpc\":\"2.0\",\"id\":";
        if (out.len < sizeof prefix - 1 || memcmp(out.data, prefix, sizeof prefix - 1) != 0)
            fail_msg("%s: result does not start with %s", tc->name, prefix);
        if (tc->raw != NULL) {
            size_t rn = strlen(tc->raw);
            if (out.len < sizeof prefix - 1 + rn ||
                memcmp(out.data + sizeof prefix - 1, tc->raw, rn) != 0)
                fail_msg("%s: id is not written as %s", tc->name, tc->raw);
        }
        buf_appends(&out, "{\"x\":[1,\"two\"]}");
        rpc_write_result_end(&out);

        cJSON *root = parse_line(tc->name, &out);
        check_id_json(tc->name, root, &tc->id);
        const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
        char *text = cJSON_PrintUnformatted(result);
        if (text == NULL || strcmp(text, "{\"x\":[1,\"two\"]}") != 0)
            fail_msg("%s: result is %s", tc->name, text ? text : "(none)");
        cJSON_free(text);
        if (cJSON_GetArraySize(root) != 3)
            fail_msg("%s: the response has other members than jsonrpc, id, result", tc->name);
        cJSON_Delete(root);
        buf_free(&out);
    }
}

static const char sku_storage[] = "SKU-1 and what follows";
static const char loc_storage[] = "wh-1\"\\\x01tail";

static const struct write_error_case {
    const char *name;
    struct rpc_id id;
    struct rpc_error err;
    int code;
    const char *message;
    const char *reason;
    const char *field;    /* NULL: absent */
    const char *sku;      /* NULL: absent */
    const char *location; /* NULL: absent */
    bool quantities;
    long long requested, available;
    bool has_reserved;
    long long reserved;
    int n_data; /* members in data */
} write_error_cases[] = {
    {"parse error to id null", {RPC_ID_NULL, 0, NULL}, {.id = E_PARSE}, -32700,
     "The request is not valid JSON.", "parse_error", NULL, NULL, NULL, false, 0, 0, false, 0, 1},
    {"too large to id null", {RPC_ID_NULL, 0, NULL}, {.id = E_TOO_LARGE}, -32600,
     "The request line is longer than allowed.", "request_too_large", NULL, NULL, NULL, false, 0,
     0, false, 0, 1},
    {"invalid request with its own message", {RPC_ID_INT, 9, NULL},
     {.id = E_INVALID_REQUEST, .message = "Batches are not supported."}, -32600,
     "Batches are not supported.", "invalid_request", NULL, NULL, NULL, false, 0, 0, false, 0, 1},
    {"invalid params names the field", {RPC_ID_INT, 7, NULL},
     {.id = E_INVALID_PARAMS, .message = "bad sku", .has_field = true, .field = "items[0].sku"}, -32602, "bad sku",
     "invalid_params", "items[0].sku", NULL, NULL, false, 0, 0, false, 0, 2},
    {"out of stock with sku and quantities", {RPC_ID_STRING, 0, "o\"1"},
     {.id = E_OUT_OF_STOCK,
      .sku = {sku_storage, 5},
      .has_quantities = true,
      .requested = 5,
      .available = 2},
     1001, "Not enough stock available.", "out_of_stock", NULL, "SKU-1", NULL, true, 5, 2, false,
     0, 4},
    {"zero available is still written", {RPC_ID_INT, 1, NULL},
     {.id = E_OUT_OF_STOCK, .sku = {"A", 1}, .has_quantities = true, .requested = 1},
     1001, "Not enough stock available.", "out_of_stock", NULL, "A", NULL, true, 1, 0, false, 0,
     4},
    {"conflict with a reason, location and reserved", {RPC_ID_INT, 2, NULL},
     {.id = E_CONFLICT,
      .reason = "below_reserved",
      .location = {loc_storage, 7},
      .has_reserved = true,
      .reserved = 3},
     1003, "The operation conflicts with the current state.", "below_reserved", NULL, NULL,
     "wh-1\"\\\x01", false, 0, 0, true, 3, 3},
    {"reserved 0 is still written", {RPC_ID_INT, 2, NULL},
     {.id = E_CONFLICT, .reason = "expired", .has_reserved = true}, 1003,
     "The operation conflicts with the current state.", "expired", NULL, NULL, NULL, false, 0, 0,
     true, 0, 2},
    {"message with characters to escape", {RPC_ID_INT, 3, NULL},
     {.id = E_INTERNAL, .message = "a \"quoted\"\nline\\"}, -32603, "a \"quoted\"\nline\\",
     "internal", NULL, NULL, NULL, false, 0, 0, false, 0, 1},
    {"every data member at once", {RPC_ID_STRING, 0, "all"},
     {.id = E_OUT_OF_STOCK,
      .has_field = true,
      .field = "items",
      .sku = {"S", 1},
      .location = {"L", 1},
      .has_quantities = true,
      .requested = 1000000000,
      .available = -1,
      .has_reserved = true,
      .reserved = 1000000000000000LL},
     1001, "Not enough stock available.", "out_of_stock", "items", "S", "L", true, 1000000000, -1,
     true, 1000000000000000LL, 7},
    {"E_NONE falls back to internal", {RPC_ID_INT, 4, NULL}, {.id = E_NONE}, -32603,
     "Internal error.", "internal", NULL, NULL, NULL, false, 0, 0, false, 0, 1},
    {"an out-of-range id falls back to internal", {RPC_ID_INT, 4, NULL}, {.id = E_COUNT}, -32603,
     "Internal error.", "internal", NULL, NULL, NULL, false, 0, 0, false, 0, 1},
};

static void check_member_string(const char *what, const cJSON *obj, const char *key,
                                const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (want == NULL) {
        if (v != NULL)
            fail_msg("%s: %s is present, expected absent", what, key);
        return;
    }
    if (!cJSON_IsString(v) || strcmp(v->valuestring, want) != 0)
        fail_msg("%s: %s is '%s', expected '%s'", what, key,
                 cJSON_IsString(v) ? v->valuestring : "(not a string)", want);
}

static void check_member_number(const char *what, const cJSON *obj, const char *key, bool present,
                                long long want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!present) {
        if (v != NULL)
            fail_msg("%s: %s is present, expected absent", what, key);
        return;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)want)
        fail_msg("%s: %s is not %lld", what, key, want);
}

static void test_write_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof write_error_cases / sizeof write_error_cases[0]; i++) {
        const struct write_error_case *tc = &write_error_cases[i];
        struct buf out;
        buf_init(&out);
        /* Something already in the buffer must be left alone. */
        buf_appends(&out, "previous\n");
        rpc_write_error(&out, &tc->id, &tc->err);
        assert_memory_equal(out.data, "previous\n", 9);
        struct buf line = {out.data + 9, out.len - 9, out.len - 9};
        cJSON *root = parse_line(tc->name, &line);
        check_id_json(tc->name, root, &tc->id);
        if (cJSON_GetArraySize(root) != 3)
            fail_msg("%s: the response has other members than jsonrpc, id, error", tc->name);

        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        check_member_number(tc->name, e, "code", true, tc->code);
        check_member_string(tc->name, e, "message", tc->message);
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
        if (!cJSON_IsObject(data))
            fail_msg("%s: data is not an object", tc->name);
        check_member_string(tc->name, data, "reason", tc->reason);
        check_member_string(tc->name, data, "field", tc->field);
        check_member_string(tc->name, data, "sku", tc->sku);
        check_member_string(tc->name, data, "location", tc->location);
        check_member_number(tc->name, data, "requested", tc->quantities, tc->requested);
        check_member_number(tc->name, data, "available", tc->quantities, tc->available);
        check_member_number(tc->name, data, "reserved", tc->has_reserved, tc->reserved);
        if (cJSON_GetArraySize(data) != tc->n_data)
            fail_msg("%s: data holds %d members, expected %d", tc->name, cJSON_GetArraySize(data),
                     tc->n_data);
        cJSON_Delete(root);
        buf_free(&out);
    }
}

/* ---- json_write_string ---- */

/* Exact output for the cases where JSON has one obvious spelling. */
static const struct raw_case {
    const char *in;
    size_t n;
    const char *out;
} raw_cases[] = {
    {"", 0, "\"\""},
    {"abc", 3, "\"abc\""},
    {"abcdef", 3, "\"abc\""},
    {"\"", 1, "\"\\\"\""},
    {"\\", 1, "\"\\\\\""},
    {"\n", 1, "\"\\n\""},
    {"\r", 1, "\"\\r\""},
    {"\t", 1, "\"\\t\""},
    {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
    {"\0", 1, "\"\\u0000\""},
    {"x\0y", 3, "\"x\\u0000y\""},
};

static void test_json_write_string_raw(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof raw_cases / sizeof raw_cases[0]; i++) {
        const struct raw_case *tc = &raw_cases[i];
        struct buf out;
        buf_init(&out);
        buf_appendc(&out, '[');
        json_write_string(&out, tc->in, tc->n);
        size_t want = strlen(tc->out);
        if (out.len != 1 + want || memcmp(out.data + 1, tc->out, want) != 0)
            fail_msg("case %zu: wrote %.*s, expected %s", i, (int)out.len - 1, out.data + 1,
                     tc->out);
        assert_int_equal(out.data[0], '[');
        buf_free(&out);
    }
}

/* Whatever the bytes, the output parses back to the same bytes and holds
 * no raw control byte. */
static const struct round_case {
    const char *name;
    const char *in;
} round_cases[] = {
    {"empty", ""},
    {"plain", "hello world"},
    {"quotes and backslashes", "\"\\\"\\\\\""},
    {"every C0 control", "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11"
                         "\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"},
    {"DEL and slash", "\x7f/"},
    {"UTF-8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"escapes next to text", "a\nb\tc\"d\\e\x01" "f"},
    {"a fake escape", "\\u0041"},
};

static void check_round_trip(const char *what, const char *in, size_t n)
{
    struct buf out;
    buf_init(&out);
    json_write_string(&out, in, n);
    for (size_t k = 0; k < out.len; k++)
        if ((unsigned char)out.data[k] < 0x20)
            fail_msg("%s: raw control byte 0x%02x in the output", what, (unsigned char)out.data[k]);
    if (out.len < 2 || out.data[0] != '"' || out.data[out.len - 1] != '"')
        fail_msg("%s: the output is not quoted", what);
    cJSON *v = cJSON_ParseWithLength(out.data, out.len);
    if (!cJSON_IsString(v))
        fail_msg("%s: the output is not a JSON string: %.*s", what, (int)out.len, out.data);
    if (strlen(v->valuestring) != n || memcmp(v->valuestring, in, n) != 0)
        fail_msg("%s: parsed back to different bytes", what);
    cJSON_Delete(v);
    buf_free(&out);
}

static void test_json_write_string_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof round_cases / sizeof round_cases[0]; i++)
        check_round_trip(round_cases[i].name, round_cases[i].in, strlen(round_cases[i].in));

    /* Every non-NUL byte value, in one string. */
    char all[255];
    for (int c = 1; c <= 255; c++)
        all[c - 1] = (char)c;
    check_round_trip("bytes 1..255", all, sizeof all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_error_set_and_param),
        cmocka_unit_test(test_decode_accept),
        cmocka_unit_test(test_decode_reject),
        cmocka_unit_test(test_decode_depth),
        cmocka_unit_test(test_write_result),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_json_write_string_raw),
        cmocka_unit_test(test_json_write_string_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
