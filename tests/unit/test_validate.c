/* Unit tests of the method table and params validation (validate.h): method
 * lookup, identifier rules byte by byte, and params_validate for every method,
 * every field and every kind of bad value, including where the accepted
 * values land in struct params. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "validate.h"

/* Long literals: 16, 128 and 256 bytes of 'a', and 256 bytes of "é". */
#define A16 "aaaaaaaaaaaaaaaa"
#define A128 A16 A16 A16 A16 A16 A16 A16 A16
#define A256 A128 A128
#define E16 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define E256 E16 E16 E16 E16 E16 E16 E16 E16 E16 E16 E16 E16 E16 E16 E16 E16

#define DEFAULT_TTL 900000LL

static const struct limits default_limits = {100, DEFAULT_TTL};

/* One params_validate call with its storage. The item and location arrays
 * are heap blocks of exactly the promised size, so that valgrind sees any
 * write past them. */
struct run {
    cJSON *json;
    struct params p;
    struct rpc_error err;
    int rc;
};

static void run_validate(struct run *r, enum method_id m, const char *json,
                         const struct limits *lim, const char *what)
{
    memset(r, 0, sizeof *r);
    if (json != NULL) {
        r->json = cJSON_Parse(json);
        if (r->json == NULL)
            fail_msg("%s: the test's params are not JSON: %s", what, json);
    }
    r->p.locations = xcalloc(MAX_LOCATIONS, sizeof *r->p.locations);
    r->p.items = xcalloc(lim->max_items, sizeof *r->p.items);
    r->rc = params_validate(m, r->json, lim, &r->p, &r->err);
}

/* Same, with an already built cJSON tree, which the run then owns. */
static void run_validate_tree(struct run *r, enum method_id m, cJSON *json,
                              const struct limits *lim)
{
    memset(r, 0, sizeof *r);
    r->json = json;
    r->p.locations = xcalloc(MAX_LOCATIONS, sizeof *r->p.locations);
    r->p.items = xcalloc(lim->max_items, sizeof *r->p.items);
    r->rc = params_validate(m, r->json, lim, &r->p, &r->err);
}

static void run_free(struct run *r)
{
    cJSON_Delete(r->json);
    free(r->p.locations);
    free(r->p.items);
}

static void expect_ok(const struct run *r, const char *what)
{
    if (r->rc != 0)
        fail_msg("%s: rejected (field '%s': %s)", what, r->err.field,
                 r->err.message ? r->err.message : "");
}

static void expect_field(const struct run *r, const char *field, const char *what)
{
    if (r->rc != -E_INVALID_PARAMS)
        fail_msg("%s: rc %d, expected -E_INVALID_PARAMS naming '%s'", what, r->rc, field);
    if (r->err.id != E_INVALID_PARAMS)
        fail_msg("%s: err.id %d", what, r->err.id);
    if (!r->err.has_field || strcmp(r->err.field, field) != 0)
        fail_msg("%s: field '%s', expected '%s'", what, r->err.field, field);
    if (r->err.message == NULL || r->err.message[0] == '\0')
        fail_msg("%s: no message says what is wrong", what);
}

static bool ident_is(const struct ident *id, const char *want)
{
    if (want == NULL)
        return id->s.p == NULL && id->s.n == 0;
    return id->s.p != NULL && id->s.n == strlen(want) && memcmp(id->s.p, want, id->s.n) == 0;
}

/* ---- methods ---- */

static const struct method_case {
    const char *name;
    int id;
} method_cases[] = {
    {"ping", METHOD_PING},
    {"auth", METHOD_AUTH},
    {"stock.set", METHOD_STOCK_SET},
    {"stock.adjust", METHOD_STOCK_ADJUST},
    {"stock.get", METHOD_STOCK_GET},
    {"channel.set", METHOD_CHANNEL_SET},
    {"channel.get", METHOD_CHANNEL_GET},
    {"reserve", METHOD_RESERVE},
    {"reservation.get", METHOD_RESERVATION_GET},
    {"commit", METHOD_COMMIT},
    {"release", METHOD_RELEASE},
    {"extend", METHOD_EXTEND},
    {"reservation.update", METHOD_RESERVATION_UPDATE},
    {"reservation.transfer", METHOD_RESERVATION_TRANSFER},
    {"stock.audit", METHOD_STOCK_AUDIT},
    {"location.set", METHOD_LOCATION_SET},
    {"location.get", METHOD_LOCATION_GET},
    {"location.list", METHOD_LOCATION_LIST},
    {"ui.ledger", METHOD_UI_LEDGER},
    {"ui.holds", METHOD_UI_HOLDS},
    {"ui.low_stock", METHOD_UI_LOW_STOCK},
    {"ui.low-stock", -1},
    {"ui.lowstock", -1},
    {"ui", -1},
    {"location", -1},
    {"locations.list", -1},
    {"Commit", -1},
    {"stock.audits", -1},
    {"", -1},
    {"Ping", -1},
    {"PING", -1},
    {"Stock.Set", -1},
    {"stock.SET", -1},
    {"RESERVE", -1},
    {" ping", -1},
    {"ping ", -1},
    {"stock", -1},
    {"stock.", -1},
    {"stock_set", -1},
    {"stock.sett", -1},
    {"reservation", -1},
    {"reservation.get.x", -1},
    {"reservation.Update", -1},
    {"reservation.updates", -1},
    {"reservation.transfer ", -1},
    {"update", -1},
    {"transfer", -1},
    {"reservation_update", -1},
    {"no.such", -1},
};

static void test_method_lookup(void **state)
{
    (void)state;
    int found = 0;
    for (size_t i = 0; i < sizeof method_cases / sizeof method_cases[0]; i++) {
        const struct method_case *tc = &method_cases[i];
        int got = method_lookup(tc->name);
        if (got != tc->id)
            fail_msg("method_lookup('%s') = %d, expected %d", tc->name, got, tc->id);
        if (tc->id >= 0) {
            found++;
            if (strcmp(method_name((enum method_id)tc->id), tc->name) != 0)
                fail_msg("method_name(%d) is '%s', expected '%s'", tc->id,
                         method_name((enum method_id)tc->id), tc->name);
        }
    }
    /* Every method of the table is covered above. */
    assert_int_equal(found, METHOD_COUNT);
    assert_string_equal(method_name(METHOD_COUNT), "unknown");
}

static const struct strategy_case {
    enum strategy s;
    const char *name;
} strategy_cases[] = {
    {STRATEGY_AUTO, "auto"},
    {STRATEGY_SINGLE, "single"},
    {STRATEGY_PER_LINE, "per_line"},
    {STRATEGY_SPLIT, "split"},
};

static void test_strategy_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof strategy_cases / sizeof strategy_cases[0]; i++)
        assert_string_equal(strategy_name(strategy_cases[i].s), strategy_cases[i].name);
}

/* ---- identifiers ---- */

/* A string literal and its length, NUL bytes inside included. */
#define LIT(s) s, sizeof(s) - 1

static const struct ident_case {
    const char *s;
    size_t n;
    bool ok;
} ident_cases[] = {
    {LIT("a"), true},
    {LIT("Z"), true},
    {LIT("0"), true},
    {LIT("SKU-1"), true},
    {LIT(A128), true},
    {LIT("."), true},
    {LIT("_"), true},
    {LIT("~"), true},
    {LIT("@"), true},
    {LIT("/"), true},
    {LIT("+"), true},
    {LIT("="), true},
    {LIT("-"), true},
    {LIT("A-z.0_9~@/+=-"), true},
    {LIT("ord-2024/05@web+eu=1~x_y"), true},
    {LIT(""), false},
    {LIT(A128 "a"), false},
    {LIT(" "), false},
    {LIT("a b"), false},
    {LIT(" a"), false},
    {LIT("a "), false},
    {LIT("a:b"), false},
    {LIT(":"), false},
    {LIT("{a}"), false},
    {LIT("a{"), false},
    {LIT("a}"), false},
    {LIT("a\"b"), false},
    {LIT("a\\b"), false},
    {LIT("a\tb"), false},
    {LIT("a\nb"), false},
    {LIT("a\rb"), false},
    {LIT("a\x7f"), false},
    {LIT("\x80"), false},
    {LIT("\xff"), false},
    {LIT("caf\xc3\xa9"), false},
    {LIT("a\0b"), false},
    {LIT("\0"), false},
    {LIT("a*"), false},
    {LIT("#a"), false},
    {LIT("a,b"), false},
    {LIT("a;b"), false},
    {LIT("a'b"), false},
    {LIT("a%b"), false},
    {LIT("a?b"), false},
    {LIT("a!b"), false},
    {LIT("a$b"), false},
    {LIT("a&b"), false},
    {LIT("a(b)"), false},
    {LIT("a[b]"), false},
    {LIT("a<b>"), false},
    {LIT("a^b"), false},
    {LIT("a`b"), false},
    {LIT("a|b"), false},
};

static void test_ident_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ident_cases / sizeof ident_cases[0]; i++) {
        const struct ident_case *tc = &ident_cases[i];
        struct ident out = {{NULL, 0}};
        bool ok = ident_check(tc->s, tc->n, &out);
        if (ok != tc->ok)
            fail_msg("ident_check('%.*s', %zu) = %d, expected %d", (int)tc->n, tc->s, tc->n, ok,
                     tc->ok);
        if (ok && (out.s.p != tc->s || out.s.n != tc->n))
            fail_msg("ident_check('%.*s') filled the wrong ident", (int)tc->n, tc->s);
    }
    /* A NULL pointer is no identifier either. */
    struct ident out;
    assert_false(ident_check(NULL, 0, &out));
    assert_false(ident_check(NULL, 1, &out));
}

/* Every byte value on its own, against the rule written out independently. */
static void test_ident_every_byte(void **state)
{
    (void)state;
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789._~@/+=-";
    for (int c = 0; c < 256; c++) {
        char s[3] = {'a', (char)c, 'b'};
        bool want = c != 0 && strchr(allowed, c) != NULL;
        struct ident out;
        if (ident_check(s + 1, 1, &out) != want)
            fail_msg("byte 0x%02x alone: expected %s", c, want ? "accepted" : "rejected");
        if (ident_check(s, 3, &out) != want)
            fail_msg("byte 0x%02x inside: expected %s", c, want ? "accepted" : "rejected");
    }
}

/* ---- params: accepted, with where every value lands ---- */

struct want_item {
    const char *sku;
    long long quantity;
};

static const struct accept_case {
    const char *name;
    enum method_id method;
    const char *params; /* NULL: no params */
    unsigned present;
    const char *sku, *location, *channel, *order_id, *reservation_id, *reason;
    long long on_hand, safety_stock, delta;
    long long ttl_ms; /* 0: the default from the limits */
    enum strategy strategy;
    unsigned n_locations;
    const char *locations[4];
    unsigned n_items;
    struct want_item items[4];
    long long backorder_limit, low_stock_threshold; /* stock.set */
    bool allow_backorder, allow_partial;            /* reserve */
    const char *from, *to;                          /* reservation.transfer */
    long long quantity;
} accept_cases[] = {
    {.name = "ping without params", .method = METHOD_PING},
    {.name = "ping with empty params", .method = METHOD_PING, .params = "{}"},
    {.name = "stock.set",
     .method = METHOD_STOCK_SET,
     .params = "{\"sku\":\"SKU-1\",\"location\":\"wh-1\",\"on_hand\":5}",
     .sku = "SKU-1",
     .location = "wh-1",
     .on_hand = 5},
    {.name = "stock.set with safety_stock",
     .method = METHOD_STOCK_SET,
     .params = "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":10,\"safety_stock\":2}",
     .present = HAS_SAFETY_STOCK,
     .sku = "S",
     .location = "L",
     .on_hand = 10,
     .safety_stock = 2},
    {.name = "stock.set on_hand 0",
     .method = METHOD_STOCK_SET,
     .params = "{\"on_hand\":0,\"location\":\"L\",\"sku\":\"S\"}",
     .sku = "S",
     .location = "L"},
    {.name = "stock.set at the maximum",
     .method = METHOD_STOCK_SET,
     .params = "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":1000000000000000,"
               "\"safety_stock\":1e15}",
     .present = HAS_SAFETY_STOCK,
     .sku = "S",
     .location = "L",
     .on_hand = 1000000000000000LL,
     .safety_stock = 1000000000000000LL},
    {.name = "stock.adjust with reason",
     .method = METHOD_STOCK_ADJUST,
     .params = "{\"sku\":\"S\",\"location\":\"L\",\"delta\":-3,\"reason\":\"damaged in transit\"}",
     .present = HAS_REASON,
     .sku = "S",
     .location = "L",
     .delta = -3,
     .reason = "damaged in transit"},
    {.name = "stock.adjust at the maximum",
     .method = METHOD_STOCK_ADJUST,
     .params = "{\"sku\":\"S\",\"location\":\"L\",\"delta\":1000000000000000}",
     .sku = "S",
     .location = "L",
     .delta = 1000000000000000LL},
    {.name = "stock.adjust at the minimum",
     .method = METHOD_STOCK_ADJUST,
     .params = "{\"sku\":\"S\",\"location\":\"L\",\"delta\":-1e15}",
     .sku = "S",
     .location = "L",
     .delta = -1000000000000000LL},
    {.name = "stock.adjust with a UTF-8 reason",
     .method = METHOD_STOCK_ADJUST,
     .params = "{\"sku\":\"S\",\"location\":\"L\",\"delta\":1,"
               "\"reason\":\"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \\u00e9\"}",
     .present = HAS_REASON,
     .sku = "S",
     .location = "L",
     .delta = 1,
     .reason = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \xc3\xa9"},
    {.name = "stock.get",
     .method = METHOD_STOCK_GET,
     .params = "{\"sku\":\"SKU-9\"}",
     .sku = "SKU-9"},
    {.name = "stock.get with locations in request order",
     .method = METHOD_STOCK_GET,
     .params = "{\"sku\":\"S\",\"locations\":[\"wh-2\",\"wh-1\",\"a\"]}",
     .present = HAS_LOCATIONS,
     .sku = "S",
     .n_locations = 3,
     .locations = {"wh-2", "wh-1", "a"}},
    {.name = "channel.set",
     .method = METHOD_CHANNEL_SET,
     .params = "{\"channel\":\"web\",\"locations\":[\"wh-east\",\"store-9\"]}",
     .channel = "web",
     .n_locations = 2,
     .locations = {"wh-east", "store-9"}},
    {.name = "channel.set locations differing in case",
     .method = METHOD_CHANNEL_SET,
     .params = "{\"channel\":\"web\",\"locations\":[\"A\",\"a\"]}",
     .channel = "web",
     .n_locations = 2,
     .locations = {"A", "a"}},
    {.name = "channel.get",
     .method = METHOD_CHANNEL_GET,
     .params = "{\"channel\":\"web\"}",
     .channel = "web"},
    {.name = "reserve, minimal",
     .method = METHOD_RESERVE,
     .params = "{\"items\":[{\"sku\":\"A\",\"quantity\":2}]}",
     .n_items = 1,
     .items = {{"A", 2}}},
    {.name = "reserve, every field",
     .method = METHOD_RESERVE,
     .params = "{\"order_id\":\"ord-1001\",\"items\":[{\"sku\":\"A\",\"quantity\":2},"
               "{\"sku\":\"B\",\"quantity\":1}],\"channel\":\"web\","
               "\"locations\":[\"wh-east\",\"store-9\"],\"strategy\":\"split\",\"ttl_ms\":1000}",
     .present = HAS_ORDER_ID | HAS_CHANNEL | HAS_LOCATIONS | HAS_STRATEGY | HAS_TTL,
     .order_id = "ord-1001",
     .channel = "web",
     .ttl_ms = 1000,
     .strategy = STRATEGY_SPLIT,
     .n_locations = 2,
     .locations = {"wh-east", "store-9"},
     .n_items = 2,
     .items = {{"A", 2}, {"B", 1}}},
    {.name = "reserve, strategy auto given",
     .method = METHOD_RESERVE,
     .params = "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"strategy\":\"auto\"}",
     .present = HAS_STRATEGY,
     .strategy = STRATEGY_AUTO,
     .n_items = 1,
     .items = {{"A", 1}}},
    {.name = "reserve, strategy single",
     .method = METHOD_RESERVE,
     .params = "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"strategy\":\"single\"}",
     .present = HAS_STRATEGY,
     .strategy = STRATEGY_SINGLE,
     .n_items = 1,
     .items = {{"A", 1}}},
    {.name = "reserve, strategy per_line",
     .method = METHOD_RESERVE,
     .params = "{\"strategy\":\"per_line\",\"items\":[{\"sku\":\"A\",\"quantity\":1}]}",
     .present = HAS_STRATEGY,
     .strategy = STRATEGY_PER_LINE,
     .n_items = 1,
     .items = {{"A", 1}}},
    {.name = "reserve, quantity bounds and the longest ttl",
     .method = METHOD_RESERVE,
     .params = "{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"B\",\"quantity\":1000000000},"
               "{\"sku\":\"C\",\"quantity\":1e9}],\"ttl_ms\":86400000}",
     .present = HAS_TTL,
     .ttl_ms = 86400000,
     .n_items = 3,
     .items = {{"A", 1}, {"B", 1000000000}, {"C", 1000000000}}},
    {.name = "reserve, skus differing in case are distinct",
     .method = METHOD_RESERVE,
     .params = "{\"items\":[{\"sku\":\"a\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":2}]}",
     .n_items = 2,
     .items = {{"a", 1}, {"A", 2}}},
    {.name = "reserve, item members in any order",
     .method = METHOD_RESERVE,
     .params = "{\"items\":[{\"quantity\":3,\"sku\":\"X\"}]}",
     .n_items = 1,
     .items = {{"X", 3}}},
    {.name = "reserve, a sku that is a prefix of another",
     .method = METHOD_RESERVE,
     .params = "{\"items\":[{\"sku\":\"AB\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":1}]}",
     .n_items = 2,
     .items = {{"AB", 1}, {"A", 1}}},
    {.name = "reservation.get",
     .method = METHOD_RESERVATION_GET,
     .params = "{\"reservation_id\":\"r-0123456789abcdef\"}",
     .reservation_id = "r-0123456789abcdef"},
    {.name = "stock.set with a backorder limit and a low-stock threshold",
     .method = METHOD_STOCK_SET,
     .params = "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":0,\"backorder_limit\":7,"
               "\"low_stock_threshold\":3}",
     .present = HAS_BACKORDER_LIMIT | HAS_LOW_STOCK,
     .sku = "S",
     .location = "L",
     .backorder_limit = 7,
     .low_stock_threshold = 3},
    {.name = "stock.set clearing the low-stock threshold",
     .method = METHOD_STOCK_SET,
     .params = "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":4,\"low_stock_threshold\":null,"
               "\"backorder_limit\":0}",
     .present = HAS_BACKORDER_LIMIT | HAS_LOW_STOCK | CLEAR_LOW_STOCK,
     .sku = "S",
     .location = "L",
     .on_hand = 4},
    {.name = "reserve allowing backorders and partial holds",
     .method = METHOD_RESERVE,
     .params = "{\"items\":[{\"sku\":\"A\",\"quantity\":2}],\"allow_backorder\":true,"
               "\"allow_partial\":true}",
     .present = HAS_ALLOW_BACKORDER | HAS_ALLOW_PARTIAL,
     .n_items = 1,
     .items = {{"A", 2}},
     .allow_backorder = true,
     .allow_partial = true},
    {.name = "reserve with both flags false",
     .method = METHOD_RESERVE,
     .params = "{\"allow_partial\":false,\"items\":[{\"sku\":\"A\",\"quantity\":2}],"
               "\"allow_backorder\":false}",
     .present = HAS_ALLOW_BACKORDER | HAS_ALLOW_PARTIAL,
     .n_items = 1,
     .items = {{"A", 2}}},
    {.name = "reserve with allow_partial alone",
     .method = METHOD_RESERVE,
     .params = "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"allow_partial\":true}",
     .present = HAS_ALLOW_PARTIAL,
     .n_items = 1,
     .items = {{"A", 1}},
     .allow_partial = true},
    {.name = "reservation.update, a line dropped and one set",
     .method = METHOD_RESERVATION_UPDATE,
     .params = "{\"reservation_id\":\"r-1\",\"items\":[{\"sku\":\"A\",\"quantity\":0},"
               "{\"sku\":\"B\",\"quantity\":1000000000}]}",
     .reservation_id = "r-1",
     .n_items = 2,
     .items = {{"A", 0}, {"B", 1000000000}}},
    {.name = "reservation.update, items first",
     .method = METHOD_RESERVATION_UPDATE,
     .params = "{\"items\":[{\"quantity\":3,\"sku\":\"A\"}],\"reservation_id\":\"r-1\"}",
     .reservation_id = "r-1",
     .n_items = 1,
     .items = {{"A", 3}}},
    {.name = "reservation.transfer of all units",
     .method = METHOD_RESERVATION_TRANSFER,
     .params = "{\"reservation_id\":\"r-1\",\"sku\":\"A\",\"from\":\"wh-1\",\"to\":\"wh-2\"}",
     .reservation_id = "r-1",
     .sku = "A",
     .from = "wh-1",
     .to = "wh-2"},
    {.name = "reservation.transfer of a quantity, locations differing in case",
     .method = METHOD_RESERVATION_TRANSFER,
     .params = "{\"to\":\"WH\",\"quantity\":5,\"from\":\"wh\",\"sku\":\"A\","
               "\"reservation_id\":\"r-1\"}",
     .present = HAS_QUANTITY,
     .reservation_id = "r-1",
     .sku = "A",
     .from = "wh",
     .to = "WH",
     .quantity = 5},
    {.name = "reservation.transfer to a location whose name starts with from's",
     .method = METHOD_RESERVATION_TRANSFER,
     .params = "{\"reservation_id\":\"r-1\",\"sku\":\"A\",\"from\":\"wh\",\"to\":\"wh-1\","
               "\"quantity\":1000000000}",
     .present = HAS_QUANTITY,
     .reservation_id = "r-1",
     .sku = "A",
     .from = "wh",
     .to = "wh-1",
     .quantity = 1000000000},
};

static void test_accept(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof accept_cases / sizeof accept_cases[0]; i++) {
        const struct accept_case *tc = &accept_cases[i];
        struct run r;
        run_validate(&r, tc->method, tc->params, &default_limits, tc->name);
        expect_ok(&r, tc->name);
        const struct params *p = &r.p;
        if (p->present != tc->present)
            fail_msg("%s: present 0x%x, expected 0x%x", tc->name, p->present, tc->present);
        if (!ident_is(&p->sku, tc->sku))
            fail_msg("%s: sku '%.*s'", tc->name, (int)p->sku.s.n, p->sku.s.p);
        if (!ident_is(&p->location, tc->location))
            fail_msg("%s: location '%.*s'", tc->name, (int)p->location.s.n, p->location.s.p);
        if (!ident_is(&p->channel, tc->channel))
            fail_msg("%s: channel '%.*s'", tc->name, (int)p->channel.s.n, p->channel.s.p);
        if (!ident_is(&p->order_id, tc->order_id))
            fail_msg("%s: order_id '%.*s'", tc->name, (int)p->order_id.s.n, p->order_id.s.p);
        if (!ident_is(&p->reservation_id, tc->reservation_id))
            fail_msg("%s: reservation_id '%.*s'", tc->name, (int)p->reservation_id.s.n,
                     p->reservation_id.s.p);
        struct ident reason = {p->reason};
        if (!ident_is(&reason, tc->reason))
            fail_msg("%s: reason '%.*s'", tc->name, (int)p->reason.n, p->reason.p);
        if (p->on_hand != tc->on_hand || p->safety_stock != tc->safety_stock ||
            p->delta != tc->delta)
            fail_msg("%s: on_hand %lld safety_stock %lld delta %lld", tc->name, p->on_hand,
                     p->safety_stock, p->delta);
        long long ttl = tc->ttl_ms ? tc->ttl_ms : DEFAULT_TTL;
        if (p->ttl_ms != ttl)
            fail_msg("%s: ttl_ms %lld, expected %lld", tc->name, p->ttl_ms, ttl);
        if (p->strategy != tc->strategy)
            fail_msg("%s: strategy %d, expected %d", tc->name, p->strategy, tc->strategy);
        if (p->n_locations != tc->n_locations)
            fail_msg("%s: %u locations, expected %u", tc->name, p->n_locations, tc->n_locations);
        for (unsigned k = 0; k < tc->n_locations; k++)
            if (!ident_is(&p->locations[k], tc->locations[k]))
                fail_msg("%s: locations[%u] is '%.*s'", tc->name, k, (int)p->locations[k].s.n,
                         p->locations[k].s.p);
        if (p->n_items != tc->n_items)
            fail_msg("%s: %u items, expected %u", tc->name, p->n_items, tc->n_items);
        for (unsigned k = 0; k < tc->n_items; k++)
            if (!ident_is(&p->items[k].sku, tc->items[k].sku) ||
                p->items[k].quantity != tc->items[k].quantity)
                fail_msg("%s: items[%u] is %.*s x %lld", tc->name, k, (int)p->items[k].sku.s.n,
                         p->items[k].sku.s.p, p->items[k].quantity);
        if (p->backorder_limit != tc->backorder_limit ||
            p->low_stock_threshold != tc->low_stock_threshold)
            fail_msg("%s: backorder_limit %lld low_stock_threshold %lld", tc->name,
                     p->backorder_limit, p->low_stock_threshold);
        if (p->allow_backorder != tc->allow_backorder || p->allow_partial != tc->allow_partial)
            fail_msg("%s: allow_backorder %d allow_partial %d", tc->name, p->allow_backorder,
                     p->allow_partial);
        if (!ident_is(&p->from, tc->from) || !ident_is(&p->to, tc->to))
            fail_msg("%s: from '%.*s' to '%.*s'", tc->name, (int)p->from.s.n, p->from.s.p,
                     (int)p->to.s.n, p->to.s.p);
        if (p->quantity != tc->quantity)
            fail_msg("%s: quantity %lld", tc->name, p->quantity);
        run_free(&r);
    }
}

/* ---- params: rejected, explicit cases ---- */

static const struct reject_case {
    const char *name;
    enum method_id method;
    const char *params;
    const char *field;
} reject_cases[] = {
    {"ping with a field", METHOD_PING, "{\"x\":1}", "x"},
    {"ping with a sku", METHOD_PING, "{\"sku\":\"A\"}", "sku"},
    {"stock.set without params", METHOD_STOCK_SET, NULL, "sku"},
    {"stock.set with empty params", METHOD_STOCK_SET, "{}", "sku"},
    {"stock.set without location", METHOD_STOCK_SET, "{\"sku\":\"A\",\"on_hand\":1}", "location"},
    {"stock.set without on_hand", METHOD_STOCK_SET, "{\"sku\":\"A\",\"location\":\"L\"}",
     "on_hand"},
    {"stock.set with delta", METHOD_STOCK_SET,
     "{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1,\"delta\":1}", "delta"},
    {"field names are case-sensitive", METHOD_STOCK_SET,
     "{\"SKU\":\"A\",\"location\":\"L\",\"on_hand\":1}", "SKU"},
    {"errors follow member order", METHOD_STOCK_SET, "{\"location\":5,\"sku\":5,\"on_hand\":1}",
     "location"},
    {"a bad field is reported before a missing one", METHOD_STOCK_SET, "{\"on_hand\":-1}",
     "on_hand"},
    {"stock.adjust without params", METHOD_STOCK_ADJUST, NULL, "sku"},
    {"stock.adjust without delta", METHOD_STOCK_ADJUST, "{\"sku\":\"A\",\"location\":\"L\"}",
     "delta"},
    {"stock.adjust with on_hand", METHOD_STOCK_ADJUST,
     "{\"sku\":\"A\",\"location\":\"L\",\"delta\":1,\"on_hand\":1}", "on_hand"},
    {"stock.get without params", METHOD_STOCK_GET, NULL, "sku"},
    {"stock.get with location (singular)", METHOD_STOCK_GET, "{\"sku\":\"A\",\"location\":\"L\"}",
     "location"},
    {"channel.set without params", METHOD_CHANNEL_SET, NULL, "channel"},
    {"channel.set without locations", METHOD_CHANNEL_SET, "{\"channel\":\"web\"}", "locations"},
    {"channel.get without params", METHOD_CHANNEL_GET, NULL, "channel"},
    {"channel.get with locations", METHOD_CHANNEL_GET,
     "{\"channel\":\"web\",\"locations\":[\"a\"]}", "locations"},
    {"reserve without params", METHOD_RESERVE, NULL, "items"},
    {"reserve without items", METHOD_RESERVE, "{\"order_id\":\"o-1\"}", "items"},
    {"reserve with a top-level sku", METHOD_RESERVE,
     "{\"sku\":\"A\",\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", "sku"},
    {"reserve with reason", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"reason\":\"x\"}", "reason"},
    {"reservation.get without params", METHOD_RESERVATION_GET, NULL, "reservation_id"},
    {"reservation.get with reason", METHOD_RESERVATION_GET,
     "{\"reservation_id\":\"r\",\"reason\":\"x\"}", "reason"},

    /* Items, element by element. */
    {"item a number", METHOD_RESERVE, "{\"items\":[1]}", "items[0]"},
    {"item an array", METHOD_RESERVE, "{\"items\":[[]]}", "items[0]"},
    {"item null", METHOD_RESERVE, "{\"items\":[null]}", "items[0]"},
    {"item a string", METHOD_RESERVE, "{\"items\":[\"A\"]}", "items[0]"},
    {"second item not an object", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1},\"x\"]}", "items[1]"},
    {"unknown member in an item", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"foo\":2}]}", "items[0].foo"},
    {"item member names are case-sensitive", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"Sku\":\"B\",\"quantity\":1}]}", "items[1].Sku"},
    {"empty item", METHOD_RESERVE, "{\"items\":[{}]}", "items[0].sku"},
    {"item without sku", METHOD_RESERVE, "{\"items\":[{\"quantity\":1}]}", "items[0].sku"},
    {"item sku a number", METHOD_RESERVE, "{\"items\":[{\"sku\":5,\"quantity\":1}]}",
     "items[0].sku"},
    {"item sku empty", METHOD_RESERVE, "{\"items\":[{\"sku\":\"\",\"quantity\":1}]}",
     "items[0].sku"},
    {"item sku too long", METHOD_RESERVE, "{\"items\":[{\"sku\":\"" A128 "a\",\"quantity\":1}]}",
     "items[0].sku"},
    {"bad sku in the second item", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"a:b\",\"quantity\":1}]}",
     "items[1].sku"},
    {"item sku with a brace", METHOD_RESERVE, "{\"items\":[{\"sku\":\"{x}\",\"quantity\":1}]}",
     "items[0].sku"},
    {"item without quantity", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\"}]}", "items[0].quantity"},
    {"quantity 0", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":0}]}",
     "items[0].quantity"},
    {"quantity -1", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":-1}]}",
     "items[0].quantity"},
    {"quantity 1.5", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":1.5}]}",
     "items[0].quantity"},
    {"quantity 0.5", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":0.5}]}",
     "items[0].quantity"},
    {"quantity 1e9 + 1", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":1000000001}]}",
     "items[0].quantity"},
    {"quantity 2^53 + 1", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":9007199254740993}]}", "items[0].quantity"},
    {"quantity a string", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":\"1\"}]}",
     "items[0].quantity"},
    {"quantity null", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":null}]}",
     "items[0].quantity"},
    {"quantity true", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":true}]}",
     "items[0].quantity"},
    {"quantity an array", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":[1]}]}",
     "items[0].quantity"},
    {"quantity an object", METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":{}}]}",
     "items[0].quantity"},
    {"bad quantity in the second item", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"B\",\"quantity\":0}]}",
     "items[1].quantity"},
    {"duplicate sku", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":2}]}", "items"},
    {"duplicate sku further apart", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"B\",\"quantity\":1},"
     "{\"sku\":\"A\",\"quantity\":1}]}",
     "items"},
    {"a bad quantity is named before the duplicate sku", METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":0}]}",
     "items[1].quantity"},

    /* stock.set's and reserve's new fields on the wrong method. */
    {"stock.adjust with backorder_limit", METHOD_STOCK_ADJUST,
     "{\"sku\":\"A\",\"location\":\"L\",\"delta\":1,\"backorder_limit\":1}", "backorder_limit"},
    {"stock.adjust with low_stock_threshold", METHOD_STOCK_ADJUST,
     "{\"sku\":\"A\",\"location\":\"L\",\"delta\":1,\"low_stock_threshold\":null}",
     "low_stock_threshold"},
    {"stock.set with allow_backorder", METHOD_STOCK_SET,
     "{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1,\"allow_backorder\":true}",
     "allow_backorder"},
    {"reservation.update with allow_partial", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
     "\"allow_partial\":true}",
     "allow_partial"},

    /* reservation.update: its items follow reserve's, with quantity 0. */
    {"update without params", METHOD_RESERVATION_UPDATE, NULL, "reservation_id"},
    {"update without items", METHOD_RESERVATION_UPDATE, "{\"reservation_id\":\"r\"}", "items"},
    {"update without reservation_id", METHOD_RESERVATION_UPDATE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", "reservation_id"},
    {"update with empty items", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[]}", "items"},
    {"update with items an object", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":{\"sku\":\"A\",\"quantity\":1}}", "items"},
    {"update item not an object", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":1},7]}", "items[1]"},
    {"update item without sku", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"quantity\":0}]}", "items[0].sku"},
    {"update item with a bad sku", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"a b\",\"quantity\":0}]}", "items[0].sku"},
    {"update item without quantity", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\"}]}", "items[0].quantity"},
    {"update quantity -1", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":-1}]}", "items[0].quantity"},
    {"update quantity -0.5", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":-0.5}]}",
     "items[0].quantity"},
    {"update quantity 0.5", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":0.5}]}",
     "items[0].quantity"},
    {"update quantity 1e9 + 1", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":1000000001}]}",
     "items[0].quantity"},
    {"update quantity null", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":null}]}",
     "items[0].quantity"},
    {"update quantity a string", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":\"0\"}]}",
     "items[0].quantity"},
    {"update unknown member in an item", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":0,\"location\":\"L\"}]}",
     "items[0].location"},
    {"update repeating a sku", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":0},"
     "{\"sku\":\"A\",\"quantity\":0}]}",
     "items"},
    {"update with a top-level sku", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"sku\":\"A\",\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", "sku"},
    {"update with ttl_ms", METHOD_RESERVATION_UPDATE,
     "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"ttl_ms\":1000}",
     "ttl_ms"},

    /* reservation.transfer */
    {"transfer without params", METHOD_RESERVATION_TRANSFER, NULL, "reservation_id"},
    {"transfer without sku", METHOD_RESERVATION_TRANSFER,
     "{\"reservation_id\":\"r\",\"from\":\"a\",\"to\":\"b\"}", "sku"},
    {"transfer without from", METHOD_RESERVATION_TRANSFER,
     "{\"reservation_id\":\"r\",\"sku\":\"A\",\"to\":\"b\"}", "from"},
    {"transfer without to", METHOD_RESERVATION_TRANSFER,
     "{\"reservation_id\":\"r\",\"sku\":\"A\",\"from\":\"a\"}", "to"},
    {"transfer to where it is", METHOD_RESERVATION_TRANSFER,
     "{\"reservation_id\":\"r\",\"sku\":\"A\",\"from\":\"wh-1\",\"to\":\"wh-1\"}", "to"},
    {"transfer to where it is, to first", METHOD_RESERVATION_TRANSFER,
     "{\"to\":\"wh-1\",\"quantity\":2,\"from\":\"wh-1\",\"sku\":\"A\",\"reservation_id\":\"r\"}",
     "to"},
    {"transfer: a bad value is named before from == to", METHOD_RESERVATION_TRANSFER,
     "{\"reservation_id\":\"r\",\"sku\":\"A\",\"from\":\"a\",\"to\":\"a\",\"quantity\":0}",
     "quantity"},
    {"transfer: a missing field is named before from == to", METHOD_RESERVATION_TRANSFER,
     "{\"reservation_id\":\"r\",\"from\":\"a\",\"to\":\"a\"}", "sku"},
    {"transfer with items", METHOD_RESERVATION_TRANSFER,
     "{\"reservation_id\":\"r\",\"sku\":\"A\",\"from\":\"a\",\"to\":\"b\","
     "\"items\":[{\"sku\":\"A\",\"quantity\":1}]}",
     "items"},
    {"transfer with location", METHOD_RESERVATION_TRANSFER,
     "{\"reservation_id\":\"r\",\"sku\":\"A\",\"from\":\"a\",\"to\":\"b\",\"location\":\"c\"}",
     "location"},
};

static void test_reject(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reject_cases / sizeof reject_cases[0]; i++) {
        const struct reject_case *tc = &reject_cases[i];
        struct run r;
        run_validate(&r, tc->method, tc->params, &default_limits, tc->name);
        expect_field(&r, tc->field, tc->name);
        run_free(&r);
    }
}

/* ---- params: every field of every method against every bad value ---- */

static const char *const bad_ident[] = {
    "5", "true", "false", "null", "[]", "{}", "[\"a\"]", "1.5", "\"\"", "\" \"", "\"a b\"",
    "\"a:b\"", "\"{a}\"", "\"a}\"", "\"a\\\"b\"", "\"a\\\\b\"", "\"a\\tb\"", "\"a\\nb\"",
    "\"caf\\u00e9\"", "\"a*\"", "\"#a\"", "\"a,b\"", "\"\\u007f\"", "\"" A128 "a\"", NULL};

static const char *const bad_stock[] = {
    "\"5\"", "true", "false", "null", "[]", "[1]", "{}", "1.5", "0.5", "-1", "-0.5",
    "1000000000000001", "1e16", "9007199254740993", "-9007199254740993", "1e300", NULL};

static const char *const bad_delta[] = {
    "0", "-0", "0.0", "\"1\"", "true", "false", "null", "[]", "{}", "1.5", "-1.5", "0.1",
    "1000000000000001", "-1000000000000001", "9007199254740993", "-9007199254740993", "1e300",
    NULL};

static const char *const bad_ttl[] = {"0",    "-1000",  "999",  "86400001", "1000.5",
                                      "\"1000\"", "true", "null", "[]",       "{}",
                                      "9007199254740993", NULL};

static const char *const bad_reason[] = {
    "5", "true", "null", "[]", "{}", "\"\"",
    /* 257 bytes, in ASCII and in two-byte characters. */
    "\"" A256 "a\"", "\"" E256 "a\"",
    /* Control characters, escaped and raw. */
    "\"\\t\"", "\"a\\nb\"", "\"\\r\"", "\"\\u0001\"", "\"\\u001f\"", "\"\\u007f\"", "\"a\x7f\"",
    /* Malformed UTF-8. */
    "\"\xc3\x28\"",          /* lead byte, then not a continuation */
    "\"\xc0\xaf\"",          /* overlong '/' */
    "\"\xc1\xbf\"",          /* overlong */
    "\"\xe0\x80\x80\"",      /* overlong three bytes */
    "\"\xf0\x80\x80\x80\"",  /* overlong four bytes */
    "\"\xed\xa0\x80\"",      /* surrogate U+D800 */
    "\"\xed\xbf\xbf\"",      /* surrogate U+DFFF */
    "\"\xf4\x90\x80\x80\"",  /* beyond U+10FFFF */
    "\"\xf5\x80\x80\x80\"",  /* invalid lead byte */
    "\"\xff\"",              /* never valid */
    "\"\x80\"",              /* lone continuation */
    "\"\xe2\x82\"",          /* truncated */
    "\"ok \xc3\"",           /* truncated at the end */
    "\"\xf0\x9f\x98\"",      /* truncated four bytes */
    NULL};

static const char *const bad_strategy[] = {"\"Auto\"", "\"AUTO\"", "\"\"",    "\"best\"",
                                           "\"single \"", "\"per-line\"", "1",    "null",
                                           "true",     "[]",       "[\"auto\"]", "{}", NULL};

static const char *const bad_items[] = {
    "[]", "{}", "\"A\"", "null", "1", "true",
    "[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":2}]", NULL};

static const char *const bad_locations[] = {
    "[]", "\"a\"", "null", "{}", "1", "true", "[\"a\",\"a\"]", "[\"a\",\"b\",\"a\"]", "[\"a\",1]",
    "[null]", "[[\"a\"]]", "[{}]", "[\"a:b\"]", "[\"\"]", "[\"" A128 "a\"]", NULL};

static const char *const bad_lat[] = {"91", "-90.0001", "90.000001", "\"52.5\"", "null", "true",
                                      "[]", "{}", "1e999", "-1e999", NULL};
static const char *const bad_lng[] = {"180.0001", "-181", "\"13\"", "null", "false", "[1]",
                                      "1e999", NULL};
static const char *const bad_priority[] = {"1001", "-1001", "1.5", "\"1\"", "null", "1e999",
                                           "[]", NULL};
static const char *const bad_tags[] = {
    "\"a\"", "null", "{}", "[1]", "[\"a\",\"a\"]", "[\"a:b\"]", "[\"\"]", "[null]",
    "[\"t1\",\"t2\",\"t3\",\"t4\",\"t5\",\"t6\",\"t7\",\"t8\",\"t9\",\"t10\",\"t11\",\"t12\",\"t13\","
    "\"t14\",\"t15\",\"t16\",\"t17\"]",
    NULL};
static const char *const bad_rules[] = {
    "[]", "\"nearest\"", "null", "{}", "[1]", "[\"fastest\"]", "[\"Nearest\"]",
    "[\"nearest\",\"nearest\"]", "[\"nearest \"]", "[null]",
    "[\"nearest\",\"priority\",\"same_zone\",\"channel_order\",\"nearest\",\"priority\"]", NULL};
static const char *const bad_max_distance[] = {"0", "-1", "-0.5", "-0", "\"5\"", "null", "true",
                                               "1e999", "-1e999", "[]", NULL};
static const char *const bad_explain[] = {"1", "0", "\"true\"", "null", "[]", "{}", NULL};
static const char *const bad_destination[] = {"1", "\"52,13\"", "null", "[]", "true", NULL};
/* backorder_limit: 0..1e9. */
static const char *const bad_backorder_limit[] = {
    "-1",    "1000000001", "1e10",  "1.5", "0.5", "-0.5", "\"1\"",
    "null",  "true",       "false", "[]",  "[1]", "{}",   "9007199254740993",
    "1e300", NULL};
/* low_stock_threshold: 0..1e15, or null (which clears it). */
static const char *const bad_low_stock[] = {
    "-1", "1000000000000001",  "1e16",  "1.5", "\"5\"", "\"null\"", "true", "false", "[]", "[null]",
    "{}", "-9007199254740993", "1e300", NULL};
/* transfer's quantity: 1..1e9. */
static const char *const bad_quantity[] = {
    "0",    "-0", "-1", "1000000001",       "1.5",   "0.5", "\"1\"", "null",
    "true", "[]", "{}", "9007199254740993", "1e300", NULL};
/* The status page's list lengths. */
static const char *const bad_ledger_count[] = {"0",  "-1",   "101", "1.5",  "\"5\"", "null",
                                               "[]", "true", "1e3", "-0.5", NULL};
static const char *const bad_low_stock_count[] = {"0",  "-1",   "201",  "2.5",   "\"50\"",
                                                  "{}", "null", "1e15", "false", NULL};
/* reservation.update's items: as reserve's (quantity 0 is allowed). */
static const char *const bad_update_items[] = {
    "[]",
    "{}",
    "\"A\"",
    "null",
    "1",
    "true",
    "[{\"sku\":\"A\",\"quantity\":0},{\"sku\":\"A\",\"quantity\":0}]",
    NULL};

/* Valid params holding every field of each method. */
#define BASE_STOCK_SET                                                                             \
    "{\"sku\":\"SKU-1\",\"location\":\"wh-1\",\"on_hand\":5,\"safety_stock\":1,"                   \
    "\"backorder_limit\":4,\"low_stock_threshold\":2}"
#define BASE_STOCK_ADJUST                                                                          \
    "{\"sku\":\"SKU-1\",\"location\":\"wh-1\",\"delta\":-2,\"reason\":\"damaged\"}"
#define BASE_STOCK_GET "{\"sku\":\"SKU-1\",\"locations\":[\"wh-1\",\"wh-2\"]}"
#define BASE_CHANNEL_SET                                                                           \
    "{\"channel\":\"web\",\"locations\":[\"wh-1\",\"wh-2\"],\"rules\":[\"same_zone\",\"nearest\"]}"
#define BASE_LOCATION_SET                                                                          \
    "{\"location\":\"wh-1\",\"lat\":52.52,\"lng\":-13.4,\"zone\":\"DE\",\"priority\":-5,"          \
    "\"tags\":[\"dc\"]}"
#define BASE_LOCATION_GET "{\"location\":\"wh-1\"}"
#define BASE_CHANNEL_GET "{\"channel\":\"web\"}"
#define BASE_RESERVE                                                                               \
    "{\"order_id\":\"ord-1\",\"items\":[{\"sku\":\"A\",\"quantity\":2}],\"channel\":\"web\","      \
    "\"locations\":[\"wh-1\"],\"strategy\":\"auto\",\"ttl_ms\":60000,"                             \
    "\"destination\":{\"lat\":1,\"lng\":2,\"zone\":\"DE\"},\"max_distance_km\":50.5,\"explain\":"  \
    "true,"                                                                                        \
    "\"allow_backorder\":true,\"allow_partial\":false}"
#define BASE_RESERVATION_GET "{\"reservation_id\":\"r-1\"}"
#define BASE_AUTH "{\"token\":\"s3cret token\"}"
#define BASE_COMMIT "{\"reservation_id\":\"r-1\"}"
#define BASE_RELEASE "{\"reservation_id\":\"r-1\",\"reason\":\"payment failed\"}"
#define BASE_EXTEND "{\"reservation_id\":\"r-1\",\"ttl_ms\":60000}"
#define BASE_STOCK_AUDIT "{\"sku\":\"SKU-1\"}"
#define BASE_RESERVATION_UPDATE                                                                    \
    "{\"reservation_id\":\"r-1\",\"items\":[{\"sku\":\"A\",\"quantity\":0},"                       \
    "{\"sku\":\"B\",\"quantity\":3}]}"
#define BASE_RESERVATION_TRANSFER                                                                  \
    "{\"reservation_id\":\"r-1\",\"sku\":\"A\",\"from\":\"wh-1\",\"to\":\"wh-2\",\"quantity\":2}"
#define BASE_UI_COUNT "{\"count\":5}"

static const struct bad_field_case {
    enum method_id method;
    const char *base;
    const char *field;
    const char *const *bad;
} bad_field_cases[] = {
    {METHOD_STOCK_SET, BASE_STOCK_SET, "sku", bad_ident},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "location", bad_ident},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "on_hand", bad_stock},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "safety_stock", bad_stock},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "sku", bad_ident},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "location", bad_ident},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "delta", bad_delta},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "reason", bad_reason},
    {METHOD_STOCK_GET, BASE_STOCK_GET, "sku", bad_ident},
    {METHOD_STOCK_GET, BASE_STOCK_GET, "locations", bad_locations},
    {METHOD_CHANNEL_SET, BASE_CHANNEL_SET, "channel", bad_ident},
    {METHOD_CHANNEL_SET, BASE_CHANNEL_SET, "locations", bad_locations},
    {METHOD_CHANNEL_GET, BASE_CHANNEL_GET, "channel", bad_ident},
    {METHOD_RESERVE, BASE_RESERVE, "order_id", bad_ident},
    {METHOD_RESERVE, BASE_RESERVE, "items", bad_items},
    {METHOD_RESERVE, BASE_RESERVE, "channel", bad_ident},
    {METHOD_RESERVE, BASE_RESERVE, "locations", bad_locations},
    {METHOD_RESERVE, BASE_RESERVE, "strategy", bad_strategy},
    {METHOD_RESERVE, BASE_RESERVE, "ttl_ms", bad_ttl},
    {METHOD_RESERVATION_GET, BASE_RESERVATION_GET, "reservation_id", bad_ident},
    {METHOD_CHANNEL_SET, BASE_CHANNEL_SET, "rules", bad_rules},
    {METHOD_LOCATION_SET, BASE_LOCATION_SET, "location", bad_ident},
    {METHOD_LOCATION_SET, BASE_LOCATION_SET, "lat", bad_lat},
    {METHOD_LOCATION_SET, BASE_LOCATION_SET, "lng", bad_lng},
    {METHOD_LOCATION_SET, BASE_LOCATION_SET, "zone", bad_ident},
    {METHOD_LOCATION_SET, BASE_LOCATION_SET, "priority", bad_priority},
    {METHOD_LOCATION_SET, BASE_LOCATION_SET, "tags", bad_tags},
    {METHOD_LOCATION_GET, BASE_LOCATION_GET, "location", bad_ident},
    {METHOD_RESERVE, BASE_RESERVE, "destination", bad_destination},
    {METHOD_RESERVE, BASE_RESERVE, "max_distance_km", bad_max_distance},
    {METHOD_RESERVE, BASE_RESERVE, "explain", bad_explain},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "backorder_limit", bad_backorder_limit},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "low_stock_threshold", bad_low_stock},
    {METHOD_RESERVE, BASE_RESERVE, "allow_backorder", bad_explain},
    {METHOD_RESERVE, BASE_RESERVE, "allow_partial", bad_explain},
    {METHOD_RESERVATION_UPDATE, BASE_RESERVATION_UPDATE, "reservation_id", bad_ident},
    {METHOD_RESERVATION_UPDATE, BASE_RESERVATION_UPDATE, "items", bad_update_items},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "reservation_id", bad_ident},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "sku", bad_ident},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "from", bad_ident},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "to", bad_ident},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "quantity", bad_quantity},
    {METHOD_UI_LEDGER, BASE_UI_COUNT, "count", bad_ledger_count},
    {METHOD_UI_LOW_STOCK, BASE_UI_COUNT, "count", bad_low_stock_count},
};

/* Parses base and puts value (JSON text) under field. */
static cJSON *with_value(const char *base, const char *field, const char *value)
{
    cJSON *root = cJSON_Parse(base);
    cJSON *v = cJSON_Parse(value);
    if (root == NULL || v == NULL)
        fail_msg("test JSON does not parse: %s / %s", base, value);
    if (cJSON_GetObjectItemCaseSensitive(root, field) != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(root, field, v);
    else
        cJSON_AddItemToObject(root, field, v);
    return root;
}

static void test_bad_values(void **state)
{
    (void)state;
    unsigned runs = 0;
    for (size_t i = 0; i < sizeof bad_field_cases / sizeof bad_field_cases[0]; i++) {
        const struct bad_field_case *tc = &bad_field_cases[i];
        for (const char *const *bad = tc->bad; *bad != NULL; bad++) {
            char what[400];
            snprintf(what, sizeof what, "%s: %s = %s", method_name(tc->method), tc->field, *bad);
            struct run r;
            run_validate_tree(&r, tc->method, with_value(tc->base, tc->field, *bad),
                              &default_limits);
            expect_field(&r, tc->field, what);
            run_free(&r);
            runs++;
        }
    }
    /* Guards against a table that silently lost its rows. */
    assert_true(runs > 200);
}

/* Values at the edges that must be accepted, and where they land. */
enum slot {
    S_SKU,
    S_LOCATION,
    S_CHANNEL,
    S_ORDER_ID,
    S_RESERVATION_ID,
    S_REASON,
    S_ON_HAND,
    S_SAFETY,
    S_DELTA,
    S_TTL,
    S_STRATEGY,
    S_BACKORDER_LIMIT,
    S_LOW_STOCK, /* the threshold, -1 when cleared (null) */
    S_ALLOW_BACKORDER,
    S_ALLOW_PARTIAL,
    S_FROM,
    S_TO,
    S_QUANTITY,
    S_COUNT,
    S_ITEM_QUANTITY /* the first item's */
};

static const struct good_case {
    enum method_id method;
    const char *base;
    const char *field;
    const char *value;
    enum slot slot;
    const char *text;  /* the bytes expected, for string slots */
    long long number; /* the value expected, for number and strategy slots */
} good_cases[] = {
    {METHOD_STOCK_SET, BASE_STOCK_SET, "sku", "\"a\"", S_SKU, "a", 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "sku", "\"" A128 "\"", S_SKU, A128, 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "sku", "\"A-z.0_9~@/+=-\"", S_SKU, "A-z.0_9~@/+=-", 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "location", "\"" A128 "\"", S_LOCATION, A128, 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "location", "\"w\"", S_LOCATION, "w", 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "on_hand", "0", S_ON_HAND, NULL, 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "on_hand", "1", S_ON_HAND, NULL, 1},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "on_hand", "1000000000000000", S_ON_HAND, NULL,
     1000000000000000LL},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "on_hand", "1e15", S_ON_HAND, NULL, 1000000000000000LL},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "on_hand", "999999999999999", S_ON_HAND, NULL,
     999999999999999LL},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "safety_stock", "0", S_SAFETY, NULL, 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "safety_stock", "1000000000000000", S_SAFETY, NULL,
     1000000000000000LL},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "delta", "1", S_DELTA, NULL, 1},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "delta", "-1", S_DELTA, NULL, -1},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "delta", "1000000000000000", S_DELTA, NULL,
     1000000000000000LL},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "delta", "-1000000000000000", S_DELTA, NULL,
     -1000000000000000LL},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "reason", "\"x\"", S_REASON, "x", 0},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "reason", "\"" A256 "\"", S_REASON, A256, 0},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "reason", "\"" E256 "\"", S_REASON, E256, 0},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "reason", "\"a \\\"quoted\\\" note: {x}\"", S_REASON,
     "a \"quoted\" note: {x}", 0},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "reason", "\"\xef\xbf\xbd \xf4\x8f\xbf\xbf\"",
     S_REASON, "\xef\xbf\xbd \xf4\x8f\xbf\xbf", 0},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, "reason", "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\"", S_REASON,
     "\xc2\x80\xdf\xbf\xe0\xa0\x80", 0},
    {METHOD_CHANNEL_GET, BASE_CHANNEL_GET, "channel", "\"" A128 "\"", S_CHANNEL, A128, 0},
    {METHOD_RESERVE, BASE_RESERVE, "order_id", "\"ord/2024@web+1=x~y_z.-\"", S_ORDER_ID,
     "ord/2024@web+1=x~y_z.-", 0},
    {METHOD_RESERVE, BASE_RESERVE, "channel", "\"default\"", S_CHANNEL, "default", 0},
    {METHOD_RESERVE, BASE_RESERVE, "ttl_ms", "1000", S_TTL, NULL, 1000},
    {METHOD_RESERVE, BASE_RESERVE, "ttl_ms", "86400000", S_TTL, NULL, 86400000},
    {METHOD_RESERVE, BASE_RESERVE, "strategy", "\"auto\"", S_STRATEGY, NULL, STRATEGY_AUTO},
    {METHOD_RESERVE, BASE_RESERVE, "strategy", "\"single\"", S_STRATEGY, NULL, STRATEGY_SINGLE},
    {METHOD_RESERVE, BASE_RESERVE, "strategy", "\"per_line\"", S_STRATEGY, NULL, STRATEGY_PER_LINE},
    {METHOD_RESERVE, BASE_RESERVE, "strategy", "\"split\"", S_STRATEGY, NULL, STRATEGY_SPLIT},
    {METHOD_RESERVATION_GET, BASE_RESERVATION_GET, "reservation_id", "\"" A128 "\"",
     S_RESERVATION_ID, A128, 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "backorder_limit", "0", S_BACKORDER_LIMIT, NULL, 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "backorder_limit", "1", S_BACKORDER_LIMIT, NULL, 1},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "backorder_limit", "1000000000", S_BACKORDER_LIMIT, NULL,
     1000000000},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "backorder_limit", "1e9", S_BACKORDER_LIMIT, NULL,
     1000000000},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "low_stock_threshold", "0", S_LOW_STOCK, NULL, 0},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "low_stock_threshold", "1000000000000000", S_LOW_STOCK, NULL,
     1000000000000000LL},
    {METHOD_STOCK_SET, BASE_STOCK_SET, "low_stock_threshold", "null", S_LOW_STOCK, NULL, -1},
    {METHOD_RESERVE, BASE_RESERVE, "allow_backorder", "true", S_ALLOW_BACKORDER, NULL, 1},
    {METHOD_RESERVE, BASE_RESERVE, "allow_backorder", "false", S_ALLOW_BACKORDER, NULL, 0},
    {METHOD_RESERVE, BASE_RESERVE, "allow_partial", "true", S_ALLOW_PARTIAL, NULL, 1},
    {METHOD_RESERVE, BASE_RESERVE, "allow_partial", "false", S_ALLOW_PARTIAL, NULL, 0},
    {METHOD_RESERVATION_UPDATE, BASE_RESERVATION_UPDATE, "reservation_id", "\"" A128 "\"",
     S_RESERVATION_ID, A128, 0},
    {METHOD_RESERVATION_UPDATE, BASE_RESERVATION_UPDATE, "items",
     "[{\"sku\":\"A\",\"quantity\":0}]", S_ITEM_QUANTITY, NULL, 0},
    {METHOD_RESERVATION_UPDATE, BASE_RESERVATION_UPDATE, "items",
     "[{\"sku\":\"A\",\"quantity\":1e9}]", S_ITEM_QUANTITY, NULL, 1000000000},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "sku", "\"" A128 "\"", S_SKU, A128, 0},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "from", "\"" A128 "\"", S_FROM, A128,
     0},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "from", "\"A-z.0_9~@/+=-\"", S_FROM,
     "A-z.0_9~@/+=-", 0},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "to", "\"" A128 "\"", S_TO, A128, 0},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "to", "\"WH-1\"", S_TO, "WH-1", 0},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "quantity", "1", S_QUANTITY, NULL, 1},
    {METHOD_RESERVATION_TRANSFER, BASE_RESERVATION_TRANSFER, "quantity", "1000000000", S_QUANTITY,
     NULL, 1000000000},
    {METHOD_UI_LEDGER, BASE_UI_COUNT, "count", "1", S_COUNT, NULL, 1},
    {METHOD_UI_LEDGER, BASE_UI_COUNT, "count", "100", S_COUNT, NULL, 100},
    {METHOD_UI_LEDGER, BASE_UI_COUNT, "count", "2e1", S_COUNT, NULL, 20},
    {METHOD_UI_LOW_STOCK, BASE_UI_COUNT, "count", "1", S_COUNT, NULL, 1},
    {METHOD_UI_LOW_STOCK, BASE_UI_COUNT, "count", "200", S_COUNT, NULL, 200},
};

static void test_good_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++) {
        const struct good_case *tc = &good_cases[i];
        char what[400];
        snprintf(what, sizeof what, "%s: %s = %s", method_name(tc->method), tc->field, tc->value);
        struct run r;
        run_validate_tree(&r, tc->method, with_value(tc->base, tc->field, tc->value),
                          &default_limits);
        expect_ok(&r, what);
        const struct params *p = &r.p;
        struct ident reason = {p->reason};
        const struct ident *id = NULL;
        long long number = 0;
        switch (tc->slot) {
        case S_SKU:
            id = &p->sku;
            break;
        case S_LOCATION:
            id = &p->location;
            break;
        case S_CHANNEL:
            id = &p->channel;
            break;
        case S_ORDER_ID:
            id = &p->order_id;
            break;
        case S_RESERVATION_ID:
            id = &p->reservation_id;
            break;
        case S_REASON:
            id = &reason;
            break;
        case S_ON_HAND:
            number = p->on_hand;
            break;
        case S_SAFETY:
            number = p->safety_stock;
            break;
        case S_DELTA:
            number = p->delta;
            break;
        case S_TTL:
            number = p->ttl_ms;
            break;
        case S_STRATEGY:
            number = p->strategy;
            break;
        case S_BACKORDER_LIMIT:
            number = p->backorder_limit;
            break;
        case S_LOW_STOCK:
            number = (p->present & CLEAR_LOW_STOCK) ? -1 : p->low_stock_threshold;
            break;
        case S_ALLOW_BACKORDER:
            number = p->allow_backorder;
            break;
        case S_ALLOW_PARTIAL:
            number = p->allow_partial;
            break;
        case S_FROM:
            id = &p->from;
            break;
        case S_TO:
            id = &p->to;
            break;
        case S_QUANTITY:
            number = p->quantity;
            break;
        case S_COUNT:
            number = p->count;
            break;
        case S_ITEM_QUANTITY:
            number = p->n_items == 1 && ident_is(&p->items[0].sku, "A") ? p->items[0].quantity : -2;
            break;
        }
        if (id != NULL && !ident_is(id, tc->text))
            fail_msg("%s: landed as '%.*s'", what, (int)id->s.n, id->s.p ? id->s.p : "");
        if (id == NULL && number != tc->number)
            fail_msg("%s: landed as %lld, expected %lld", what, number, tc->number);
        run_free(&r);
    }
}

/* ---- params: required and optional fields, unknown fields ---- */

static const struct method_base {
    enum method_id method;
    const char *full;         /* every field present */
    const char *required[4];  /* in the method's table order */
    unsigned present;         /* bits set by full */
} method_bases[] = {
    {METHOD_PING, "{}", {NULL}, 0},
    {METHOD_AUTH, BASE_AUTH, {"token"}, 0},
    {METHOD_STOCK_SET,
     BASE_STOCK_SET,
     {"sku", "location", "on_hand"},
     HAS_SAFETY_STOCK | HAS_BACKORDER_LIMIT | HAS_LOW_STOCK},
    {METHOD_STOCK_ADJUST, BASE_STOCK_ADJUST, {"sku", "location", "delta"}, HAS_REASON},
    {METHOD_STOCK_GET, BASE_STOCK_GET, {"sku"}, HAS_LOCATIONS},
    {METHOD_CHANNEL_SET, BASE_CHANNEL_SET, {"channel", "locations"}, HAS_RULES},
    {METHOD_CHANNEL_GET, BASE_CHANNEL_GET, {"channel"}, 0},
    {METHOD_RESERVE,
     BASE_RESERVE,
     {"items"},
     HAS_ORDER_ID | HAS_CHANNEL | HAS_LOCATIONS | HAS_STRATEGY | HAS_TTL | HAS_DESTINATION |
         HAS_DEST_ZONE | HAS_MAX_DISTANCE | HAS_EXPLAIN | HAS_ALLOW_BACKORDER | HAS_ALLOW_PARTIAL},
    {METHOD_RESERVATION_GET, BASE_RESERVATION_GET, {"reservation_id"}, 0},
    {METHOD_COMMIT, BASE_COMMIT, {"reservation_id"}, 0},
    {METHOD_RELEASE, BASE_RELEASE, {"reservation_id"}, HAS_REASON},
    {METHOD_EXTEND, BASE_EXTEND, {"reservation_id", "ttl_ms"}, 0},
    {METHOD_RESERVATION_UPDATE, BASE_RESERVATION_UPDATE, {"reservation_id", "items"}, 0},
    {METHOD_RESERVATION_TRANSFER,
     BASE_RESERVATION_TRANSFER,
     {"reservation_id", "sku", "from", "to"},
     HAS_QUANTITY},
    {METHOD_STOCK_AUDIT, BASE_STOCK_AUDIT, {NULL}, HAS_SKU},
    {METHOD_LOCATION_SET,
     BASE_LOCATION_SET,
     {"location"},
     HAS_COORDS | HAS_ZONE | HAS_PRIORITY | HAS_TAGS},
    {METHOD_LOCATION_GET, BASE_LOCATION_GET, {"location"}, 0},
    {METHOD_LOCATION_LIST, "{}", {NULL}, 0},
    {METHOD_UI_LEDGER, BASE_UI_COUNT, {NULL}, HAS_COUNT},
    {METHOD_UI_HOLDS, "{}", {NULL}, 0},
    {METHOD_UI_LOW_STOCK, BASE_UI_COUNT, {NULL}, HAS_COUNT},
};

/* Optional fields that only go with another: without this one, the
 * error names that field. */
static const char *paired_error(enum method_id m, const char *field)
{
    if (m == METHOD_LOCATION_SET && strcmp(field, "lat") == 0)
        return "lat";
    if (m == METHOD_LOCATION_SET && strcmp(field, "lng") == 0)
        return "lng";
    if (m == METHOD_RESERVE && strcmp(field, "destination") == 0)
        return "max_distance_km";
    return NULL;
}

/* The presence bit of an optional field, by name. */
static unsigned flag_of(const char *field)
{
    static const struct {
        const char *name;
        unsigned flag;
    } flags[] = {
        {"safety_stock", HAS_SAFETY_STOCK},
        {"ttl_ms", HAS_TTL},
        {"order_id", HAS_ORDER_ID},
        {"channel", HAS_CHANNEL},
        {"locations", HAS_LOCATIONS},
        {"reason", HAS_REASON},
        {"strategy", HAS_STRATEGY},
        {"sku", HAS_SKU},
        {"zone", HAS_ZONE},
        {"priority", HAS_PRIORITY},
        {"tags", HAS_TAGS},
        {"rules", HAS_RULES},
        {"max_distance_km", HAS_MAX_DISTANCE},
        {"explain", HAS_EXPLAIN},
        {"backorder_limit", HAS_BACKORDER_LIMIT},
        {"low_stock_threshold", HAS_LOW_STOCK},
        {"allow_backorder", HAS_ALLOW_BACKORDER},
        {"allow_partial", HAS_ALLOW_PARTIAL},
        {"quantity", HAS_QUANTITY},
        {"count", HAS_COUNT},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp(flags[i].name, field) == 0)
            return flags[i].flag;
    return 0;
}

static bool is_required(const struct method_base *mb, const char *field)
{
    for (size_t k = 0; k < 4 && mb->required[k] != NULL; k++)
        if (strcmp(mb->required[k], field) == 0)
            return true;
    return false;
}

static void test_fields_of_every_method(void **state)
{
    (void)state;
    assert_int_equal(sizeof method_bases / sizeof method_bases[0], METHOD_COUNT);
    for (size_t i = 0; i < sizeof method_bases / sizeof method_bases[0]; i++) {
        const struct method_base *mb = &method_bases[i];
        const char *mname = method_name(mb->method);
        struct run r;

        /* The full params are valid and set the expected presence bits. */
        run_validate(&r, mb->method, mb->full, &default_limits, mname);
        expect_ok(&r, mname);
        if (r.p.present != mb->present)
            fail_msg("%s: present 0x%x, expected 0x%x", mname, r.p.present, mb->present);
        run_free(&r);

        /* No params at all: the first required field is named. */
        run_validate(&r, mb->method, NULL, &default_limits, mname);
        if (mb->required[0] == NULL)
            expect_ok(&r, mname);
        else
            expect_field(&r, mb->required[0], mname);
        run_free(&r);

        /* Without each field in turn: a required one is named, an optional
         * one just clears its bit. */
        cJSON *full = cJSON_Parse(mb->full);
        for (const cJSON *m = full->child; m != NULL; m = m->next) {
            char what[200];
            snprintf(what, sizeof what, "%s without %s", mname, m->string);
            cJSON *less = cJSON_Parse(mb->full);
            cJSON_DeleteItemFromObjectCaseSensitive(less, m->string);
            run_validate_tree(&r, mb->method, less, &default_limits);
            if (is_required(mb, m->string)) {
                expect_field(&r, m->string, what);
            } else if (paired_error(mb->method, m->string) != NULL) {
                expect_field(&r, paired_error(mb->method, m->string), what);
            } else {
                expect_ok(&r, what);
                unsigned bit = flag_of(m->string);
                if (bit == 0 || r.p.present != (mb->present & ~bit))
                    fail_msg("%s: present 0x%x", what, r.p.present);
            }
            run_free(&r);
        }
        cJSON_Delete(full);

        /* An unknown field is named, whatever else is there. */
        static const char *const unknown[] = {"zzz", "Sku", "id", "params", ""};
        for (size_t k = 0; k < sizeof unknown / sizeof unknown[0]; k++) {
            char what[200];
            snprintf(what, sizeof what, "%s with unknown field '%s'", mname, unknown[k]);
            cJSON *more = cJSON_Parse(mb->full);
            cJSON_AddNumberToObject(more, unknown[k], 1);
            run_validate_tree(&r, mb->method, more, &default_limits);
            expect_field(&r, unknown[k], what);
            run_free(&r);
        }
    }
}

/* ---- params: list lengths and the limits ---- */

/* {<head>"items":[{"sku":"S0","quantity":1},...]} with n items. */
static char *items_json(unsigned n, const char *head)
{
    struct buf b;
    buf_init(&b);
    buf_appendc(&b, '{');
    buf_appends(&b, head);
    buf_appends(&b, "\"items\":[");
    for (unsigned i = 0; i < n; i++) {
        buf_appends(&b, i ? ",{\"sku\":\"S" : "{\"sku\":\"S");
        buf_append_int(&b, i);
        buf_appends(&b, "\",\"quantity\":");
        buf_append_int(&b, i + 1);
        buf_appendc(&b, '}');
    }
    buf_appends(&b, "]}");
    return (char *)buf_cstr(&b);
}

/* {"sku":"A","locations":["L0",...]} with n locations. */
static char *locations_json(unsigned n, const char *first_key)
{
    struct buf b;
    buf_init(&b);
    buf_appends(&b, first_key);
    buf_appends(&b, "\"locations\":[");
    for (unsigned i = 0; i < n; i++) {
        buf_appends(&b, i ? ",\"L" : "\"L");
        buf_append_int(&b, i);
        buf_appendc(&b, '"');
    }
    buf_appends(&b, "]}");
    return (char *)buf_cstr(&b);
}

static const struct items_case {
    unsigned max_items;
    unsigned n;
    bool ok;
} items_cases[] = {
    {100, 1, true}, {100, 99, true}, {100, 100, true}, {100, 101, false}, {100, 500, false},
    {2, 2, true},   {2, 3, false},   {1, 1, true},     {1, 2, false},     {1000, 1000, true},
};

/* reserve's and reservation.update's items alike. */
static void test_items_limit(void **state)
{
    (void)state;
    for (size_t i = 0; i < 2 * sizeof items_cases / sizeof items_cases[0]; i++) {
        const struct items_case *tc = &items_cases[i / 2];
        bool update = i % 2 == 1;
        char what[80];
        snprintf(what, sizeof what, "%s: %u items with max_items %u",
                 update ? "reservation.update" : "reserve", tc->n, tc->max_items);
        struct limits lim = {tc->max_items, DEFAULT_TTL};
        char *json = items_json(tc->n, update ? "\"reservation_id\":\"r-1\"," : "");
        struct run r;
        run_validate(&r, update ? METHOD_RESERVATION_UPDATE : METHOD_RESERVE, json, &lim, what);
        if (tc->ok) {
            expect_ok(&r, what);
            assert_int_equal(r.p.n_items, tc->n);
            for (unsigned k = 0; k < tc->n; k++) {
                char sku[16];
                snprintf(sku, sizeof sku, "S%u", k);
                if (!ident_is(&r.p.items[k].sku, sku) || r.p.items[k].quantity != k + 1)
                    fail_msg("%s: items[%u] wrong", what, k);
            }
        } else {
            expect_field(&r, "items", what);
        }
        run_free(&r);
        free(json);
    }
}

static const struct locations_case {
    enum method_id method;
    const char *first; /* the params up to "locations" */
    unsigned n;
    bool ok;
} locations_cases[] = {
    {METHOD_STOCK_GET, "{\"sku\":\"A\",", 1, true},
    {METHOD_STOCK_GET, "{\"sku\":\"A\",", 64, true},
    {METHOD_STOCK_GET, "{\"sku\":\"A\",", 65, false},
    {METHOD_STOCK_GET, "{\"sku\":\"A\",", 1000, false},
    {METHOD_CHANNEL_SET, "{\"channel\":\"web\",", 64, true},
    {METHOD_CHANNEL_SET, "{\"channel\":\"web\",", 65, false},
    {METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],", 64, true},
    {METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],", 65, false},
};

static void test_locations_limit(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof locations_cases / sizeof locations_cases[0]; i++) {
        const struct locations_case *tc = &locations_cases[i];
        char what[80];
        snprintf(what, sizeof what, "%s with %u locations", method_name(tc->method), tc->n);
        char *json = locations_json(tc->n, tc->first);
        struct run r;
        run_validate(&r, tc->method, json, &default_limits, what);
        if (tc->ok) {
            expect_ok(&r, what);
            assert_int_equal(r.p.n_locations, tc->n);
            for (unsigned k = 0; k < tc->n; k++) {
                char loc[16];
                snprintf(loc, sizeof loc, "L%u", k);
                if (!ident_is(&r.p.locations[k], loc))
                    fail_msg("%s: locations[%u] wrong", what, k);
            }
        } else {
            expect_field(&r, "locations", what);
        }
        run_free(&r);
        free(json);
    }
}

/* The default ttl comes from the limits, and an explicit ttl_ms wins. */
static const struct ttl_case {
    long long default_ttl;
    const char *params;
    long long want;
    unsigned present;
} ttl_cases[] = {
    {900000, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", 900000, 0},
    {5000, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", 5000, 0},
    {86400000, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", 86400000, 0},
    {5000, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"ttl_ms\":2000}", 2000, HAS_TTL},
};

static void test_default_ttl(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ttl_cases / sizeof ttl_cases[0]; i++) {
        const struct ttl_case *tc = &ttl_cases[i];
        struct limits lim = {100, tc->default_ttl};
        struct run r;
        run_validate(&r, METHOD_RESERVE, tc->params, &lim, tc->params);
        expect_ok(&r, tc->params);
        if (r.p.ttl_ms != tc->want || r.p.present != tc->present)
            fail_msg("default %lld, %s: ttl_ms %lld present 0x%x", tc->default_ttl, tc->params,
                     r.p.ttl_ms, r.p.present);
        run_free(&r);
    }
}

/* The struct is reused between requests: a second call must not keep the
 * first one's presence bits, counts or strategy. */
static void test_reuse_resets(void **state)
{
    (void)state;
    struct limits lim = default_limits;
    struct params p;
    memset(&p, 0, sizeof p);
    p.locations = xcalloc(MAX_LOCATIONS, sizeof *p.locations);
    p.items = xcalloc(lim.max_items, sizeof *p.items);
    struct rpc_error err;

    cJSON *first = cJSON_Parse(BASE_RESERVE);
    cJSON_ReplaceItemInObjectCaseSensitive(first, "strategy", cJSON_CreateString("split"));
    assert_int_equal(params_validate(METHOD_RESERVE, first, &lim, &p, &err), 0);
    assert_int_equal(p.strategy, STRATEGY_SPLIT);
    assert_int_not_equal(p.present, 0);

    cJSON *second = cJSON_Parse("{\"items\":[{\"sku\":\"B\",\"quantity\":3}]}");
    assert_int_equal(params_validate(METHOD_RESERVE, second, &lim, &p, &err), 0);
    assert_int_equal(p.present, 0);
    assert_int_equal(p.strategy, STRATEGY_AUTO);
    assert_int_equal(p.ttl_ms, DEFAULT_TTL);
    assert_int_equal(p.n_locations, 0);
    assert_int_equal(p.n_items, 1);
    assert_true(ident_is(&p.items[0].sku, "B"));

    cJSON *third = cJSON_Parse("{\"sku\":\"A\"}");
    assert_int_equal(params_validate(METHOD_STOCK_GET, third, &lim, &p, &err), 0);
    assert_int_equal(p.n_items, 0);
    assert_int_equal(p.n_locations, 0);

    /* BASE_RESERVE allows backorders: a reserve after it does not. */
    assert_int_equal(params_validate(METHOD_RESERVE, first, &lim, &p, &err), 0);
    assert_true(p.allow_backorder);
    cJSON *fourth = cJSON_Parse("{\"items\":[{\"sku\":\"B\",\"quantity\":3}],"
                                "\"allow_partial\":true}");
    assert_int_equal(params_validate(METHOD_RESERVE, fourth, &lim, &p, &err), 0);
    assert_false(p.allow_backorder);
    assert_true(p.allow_partial);
    assert_int_equal(params_validate(METHOD_RESERVE, second, &lim, &p, &err), 0);
    assert_false(p.allow_backorder);
    assert_false(p.allow_partial);

    /* A threshold cleared, then set: the second does not clear it. */
    cJSON *clear = cJSON_Parse("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1,"
                               "\"low_stock_threshold\":null}");
    cJSON *set = cJSON_Parse("{\"sku\":\"A\",\"location\":\"L\",\"on_hand\":1,"
                             "\"low_stock_threshold\":5}");
    assert_int_equal(params_validate(METHOD_STOCK_SET, clear, &lim, &p, &err), 0);
    assert_int_equal(p.present, HAS_LOW_STOCK | CLEAR_LOW_STOCK);
    assert_int_equal(params_validate(METHOD_STOCK_SET, set, &lim, &p, &err), 0);
    assert_int_equal(p.present, HAS_LOW_STOCK);
    assert_int_equal(p.low_stock_threshold, 5);

    /* A transfer with a quantity, then one without. */
    cJSON *some = cJSON_Parse(BASE_RESERVATION_TRANSFER);
    cJSON *all = cJSON_Parse("{\"reservation_id\":\"r\",\"sku\":\"A\",\"from\":\"x\","
                             "\"to\":\"y\"}");
    assert_int_equal(params_validate(METHOD_RESERVATION_TRANSFER, some, &lim, &p, &err), 0);
    assert_int_equal(p.present, HAS_QUANTITY);
    assert_int_equal(params_validate(METHOD_RESERVATION_TRANSFER, all, &lim, &p, &err), 0);
    assert_int_equal(p.present, 0);
    assert_true(ident_is(&p.from, "x") && ident_is(&p.to, "y"));

    cJSON_Delete(first);
    cJSON_Delete(second);
    cJSON_Delete(third);
    cJSON_Delete(fourth);
    cJSON_Delete(clear);
    cJSON_Delete(set);
    cJSON_Delete(some);
    cJSON_Delete(all);
    free(p.locations);
    free(p.items);
}

/* reserve asks for a unit at least; reservation.update may ask for 0 (the
 * line is dropped): each says its own range. */
static void test_item_quantity_rules(void **state)
{
    (void)state;
    struct run r;
    run_validate(&r, METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":0}]}",
                 &default_limits, "reserve 0");
    expect_field(&r, "items[0].quantity", "reserve 0");
    assert_non_null(strstr(r.err.message, "from 1 to 1000000000"));
    run_free(&r);
    run_validate(&r, METHOD_RESERVATION_UPDATE,
                 "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":1},"
                 "{\"sku\":\"B\",\"quantity\":-1}]}",
                 &default_limits, "update -1");
    expect_field(&r, "items[1].quantity", "update -1");
    assert_non_null(strstr(r.err.message, "from 0 to 1000000000"));
    run_free(&r);
    /* Every line 0 is valid here: the script refuses to drop them all. */
    run_validate(&r, METHOD_RESERVATION_UPDATE,
                 "{\"reservation_id\":\"r\",\"items\":[{\"sku\":\"A\",\"quantity\":0},"
                 "{\"sku\":\"B\",\"quantity\":0}]}",
                 &default_limits, "update all 0");
    expect_ok(&r, "update all 0");
    assert_int_equal(r.p.n_items, 2);
    assert_int_equal(r.p.items[0].quantity, 0);
    assert_int_equal(r.p.items[1].quantity, 0);
    run_free(&r);
    /* from == to is named as to, with a message that says so. */
    run_validate(&r, METHOD_RESERVATION_TRANSFER,
                 "{\"reservation_id\":\"r\",\"sku\":\"A\",\"from\":\"L\",\"to\":\"L\"}",
                 &default_limits, "transfer L to L");
    expect_field(&r, "to", "transfer L to L");
    assert_non_null(strstr(r.err.message, "from"));
    run_free(&r);
}

/* Regression (found by fuzz_validate): an unknown field with the empty
 * name is named as "", and the error response carries "field":"". */
/* ---- comma-joined lists ---- */

static void test_str_split(void **state)
{
    (void)state;
    static const struct {
        const char *list;
        const char *fields; /* the fields found, each followed by '|' */
    } cases[] = {
        {"", ""}, {"a", "a|"}, {"a,bc", "a|bc|"}, {"a,", "a||"}, {",a", "|a|"}, {",", "||"},
        {"nearest,priority,same_zone", "nearest|priority|same_zone|"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[64] = "";
        size_t at = 0;
        struct str field;
        struct str list = {cases[i].list, strlen(cases[i].list)};
        while (str_split(list, ',', &at, &field))
            snprintf(got + strlen(got), sizeof got - strlen(got), "%.*s|", (int)field.n, field.p);
        if (strcmp(got, cases[i].fields) != 0)
            fail_msg("'%s': fields %s, expected %s", cases[i].list, got, cases[i].fields);
    }
    assert_int_equal(rule_lookup(STR_LIT("nearest")), RULE_NEAREST);
    assert_int_equal(rule_lookup(STR_LIT("channel_order")), RULE_CHANNEL_ORDER);
    assert_int_equal(rule_lookup(STR_LIT("nearest ")), -1);
    assert_int_equal(rule_lookup(STR_LIT("")), -1);
}

/* ---- params: locations and routing ---- */

static void validate_text(struct run *r, enum method_id m, const char *params)
{
    cJSON *json = cJSON_Parse(params);
    if (json == NULL)
        fail_msg("test JSON does not parse: %s", params);
    run_validate_tree(r, m, json, &default_limits);
}

static const struct routing_error_case {
    enum method_id method;
    const char *params;
    const char *field;
} routing_error_cases[] = {
    {METHOD_LOCATION_SET, "{\"location\":\"w\",\"lat\":1}", "lng"},
    {METHOD_LOCATION_SET, "{\"location\":\"w\",\"lng\":1}", "lat"},
    {METHOD_LOCATION_SET, "{\"location\":\"w\",\"lat\":1,\"lng\":1e999}", "lng"},
    {METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"max_distance_km\":5}",
     "max_distance_km"},
    {METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"destination\":{}}",
     "destination.lat"},
    {METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"destination\":{\"lat\":1}}",
     "destination.lng"},
    {METHOD_RESERVE, "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"destination\":{\"lng\":1}}",
     "destination.lat"},
    {METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"destination\":{\"lat\":91,\"lng\":1}}",
     "destination.lat"},
    {METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"destination\":{\"lat\":\"1\",\"lng\":1}}",
     "destination.lat"},
    {METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"destination\":{\"lat\":1,\"lng\":-180.5}}",
     "destination.lng"},
    {METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"destination\":{\"lat\":1,\"lng\":1e999}}",
     "destination.lng"},
    {METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
     "\"destination\":{\"lat\":1,\"lng\":1,\"zone\":\"a b\"}}",
     "destination.zone"},
    {METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
     "\"destination\":{\"lat\":1,\"lng\":1,\"zone\":7}}",
     "destination.zone"},
    {METHOD_RESERVE,
     "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
     "\"destination\":{\"lat\":1,\"lng\":1,\"alt\":3}}",
     "destination.alt"},
};

static void test_routing_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof routing_error_cases / sizeof routing_error_cases[0]; i++) {
        const struct routing_error_case *tc = &routing_error_cases[i];
        struct run r;
        validate_text(&r, tc->method, tc->params);
        expect_field(&r, tc->field, tc->params);
        run_free(&r);
    }
}

static void test_routing_values(void **state)
{
    (void)state;
    struct run r;
    validate_text(&r, METHOD_LOCATION_SET,
                  "{\"location\":\"w\",\"lat\":-90,\"lng\":180,\"priority\":1000,\"tags\":["
                  "\"t1\",\"t2\",\"t3\",\"t4\",\"t5\",\"t6\",\"t7\",\"t8\",\"t9\",\"t10\",\"t11\","
                  "\"t12\",\"t13\",\"t14\",\"t15\",\"t16\"]}");
    expect_ok(&r, "location.set at the edges");
    assert_true(r.p.coords.lat == -90.0 && r.p.coords.lng == 180.0);
    assert_int_equal(r.p.priority, 1000);
    assert_int_equal(r.p.n_tags, 16);
    assert_true(ident_is(&r.p.tags[15], "t16"));
    assert_int_equal(r.p.present, HAS_COORDS | HAS_PRIORITY | HAS_TAGS);
    run_free(&r);

    validate_text(&r, METHOD_LOCATION_SET, "{\"location\":\"w\",\"priority\":-1000,\"tags\":[]}");
    expect_ok(&r, "location.set without coordinates");
    assert_int_equal(r.p.priority, -1000);
    assert_int_equal(r.p.n_tags, 0);
    assert_int_equal(r.p.present, HAS_PRIORITY | HAS_TAGS);
    run_free(&r);

    validate_text(&r, METHOD_LOCATION_SET, "{\"location\":\"w\"}");
    expect_ok(&r, "location.set with nothing but the name");
    assert_int_equal(r.p.priority, 0);
    assert_int_equal(r.p.present, 0);
    run_free(&r);

    validate_text(&r, METHOD_CHANNEL_SET,
                  "{\"channel\":\"c\",\"locations\":[\"a\"],"
                  "\"rules\":[\"priority\",\"channel_order\",\"same_zone\",\"nearest\"]}");
    expect_ok(&r, "all four rules");
    assert_int_equal(r.p.n_rules, 4);
    assert_int_equal(r.p.rules[0], RULE_PRIORITY);
    assert_int_equal(r.p.rules[1], RULE_CHANNEL_ORDER);
    assert_int_equal(r.p.rules[2], RULE_SAME_ZONE);
    assert_int_equal(r.p.rules[3], RULE_NEAREST);
    assert_string_equal(rule_name(RULE_SAME_ZONE), "same_zone");
    run_free(&r);

    validate_text(&r, METHOD_RESERVE,
                  "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
                  "\"destination\":{\"lat\":90,\"lng\":-180},\"max_distance_km\":0.001,"
                  "\"explain\":false}");
    expect_ok(&r, "reserve at the edges");
    assert_true(r.p.destination.at.lat == 90.0 && r.p.destination.at.lng == -180.0);
    assert_true(r.p.max_distance_km == 0.001);
    assert_false(r.p.explain);
    assert_int_equal(r.p.present, HAS_DESTINATION | HAS_MAX_DISTANCE | HAS_EXPLAIN);
    run_free(&r);

    validate_text(&r, METHOD_RESERVE,
                  "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],"
                  "\"destination\":{\"lat\":1.5,\"lng\":2,\"zone\":\"EU/DE\"},"
                  "\"max_distance_km\":1e300,\"explain\":true}");
    expect_ok(&r, "reserve with a zone");
    assert_true(ident_is(&r.p.destination.zone, "EU/DE"));
    assert_true(r.p.explain);
    assert_int_equal(r.p.present,
                     HAS_DESTINATION | HAS_DEST_ZONE | HAS_MAX_DISTANCE | HAS_EXPLAIN);
    run_free(&r);
}

static void test_empty_field_name_is_named(void **state)
{
    (void)state;
    struct run r;
    run_validate(&r, METHOD_STOCK_SET, "{\"sku\":\"N\",\"\":1}", &default_limits, "empty key");
    expect_field(&r, "", "empty key");
    struct buf out;
    buf_init(&out);
    struct rpc_id id = {RPC_ID_INT, 5, NULL};
    rpc_write_error(&out, &id, &r.err);
    assert_non_null(strstr(buf_cstr(&out), "\"field\":\"\""));
    buf_free(&out);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_method_lookup),
        cmocka_unit_test(test_strategy_name),
        cmocka_unit_test(test_ident_table),
        cmocka_unit_test(test_ident_every_byte),
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_fields_of_every_method),
        cmocka_unit_test(test_items_limit),
        cmocka_unit_test(test_item_quantity_rules),
        cmocka_unit_test(test_locations_limit),
        cmocka_unit_test(test_default_ttl),
        cmocka_unit_test(test_reuse_resets),
        cmocka_unit_test(test_empty_field_name_is_named),
        cmocka_unit_test(test_routing_errors),
        cmocka_unit_test(test_str_split),
        cmocka_unit_test(test_routing_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
