/* Unit tests of result encoding (result.h) and Redis key names (keys.h).
 * Every encoder's output is parsed back with cJSON and compared field by
 * field, so the tests hold whatever the spacing or member order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "keys.h"
#include "result.h"

/* A struct str of a literal, as a value and as a static initializer. */
#define STR(s) ((struct str){(s), sizeof(s) - 1})
#define S(s) {(s), sizeof(s) - 1}

/* Parses the whole of out as exactly one JSON value; the caller deletes it. */
static cJSON *parse_all(const char *what, const struct buf *out)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(out->data, out->len, &end, 0);
    if (v == NULL)
        fail_msg("%s: not JSON: %.*s", what, (int)out->len, out->data);
    if (end != out->data + out->len)
        fail_msg("%s: bytes after the value: %.*s", what, (int)out->len, out->data);
    return v;
}

static void check_str(const char *what, const cJSON *obj, const char *key, const char *want,
                      size_t want_len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) != want_len ||
        memcmp(v->valuestring, want, want_len) != 0)
        fail_msg("%s: %s is not '%.*s'", what, key, (int)want_len, want);
}

static void check_num(const char *what, const cJSON *obj, const char *key, long long want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)want)
        fail_msg("%s: %s is %s, expected %lld", what, key,
                 cJSON_IsNumber(v) ? "another number" : "not a number", want);
}

/* Checks one row object: {sku, location, on_hand, reserved, available,
 * safety_stock, backorder_limit, low_stock_threshold, backordered} and
 * nothing more; the threshold is null when the row has none (-1). */
static void check_row(const char *what, const cJSON *obj, struct str sku,
                      const struct stock_row *row, long long available, long long backordered)
{
    if (!cJSON_IsObject(obj))
        fail_msg("%s: the row is not an object", what);
    check_str(what, obj, "sku", sku.p, sku.n);
    check_str(what, obj, "location", row->location.p, row->location.n);
    check_num(what, obj, "on_hand", row->on_hand);
    check_num(what, obj, "reserved", row->reserved);
    check_num(what, obj, "available", available);
    check_num(what, obj, "safety_stock", row->safety_stock);
    check_num(what, obj, "backorder_limit", row->backorder_limit);
    if (row->low_stock_threshold < 0) {
        const cJSON *low = cJSON_GetObjectItemCaseSensitive(obj, "low_stock_threshold");
        if (!cJSON_IsNull(low))
            fail_msg("%s: low_stock_threshold is not null", what);
    } else {
        check_num(what, obj, "low_stock_threshold", row->low_stock_threshold);
    }
    check_num(what, obj, "backordered", backordered);
    if (cJSON_GetArraySize(obj) != 9)
        fail_msg("%s: the row has %d members, expected 9", what, cJSON_GetArraySize(obj));
}

/* ---- stock rows ---- */

/* low_stock_threshold -1: none. */
static const struct row_case {
    const char *name;
    long long on_hand, reserved, safety_stock, backorder_limit, low_stock_threshold;
    long long available, backordered;
} row_cases[] = {
    {"all zero", 0, 0, 0, 0, -1, 0, 0},
    {"nothing reserved", 10, 0, 0, 0, -1, 10, 0},
    {"some reserved", 10, 3, 0, 0, -1, 7, 0},
    {"reserved and safety", 10, 3, 2, 0, -1, 5, 0},
    {"exactly used up", 5, 5, 0, 0, -1, 0, 0},
    {"safety uses the rest", 5, 3, 2, 0, -1, 0, 0},
    /* Safety stock that on_hand does not cover is promised to no one:
     * available stops at 0, as in v1, and nothing is backordered. */
    {"safety above what is left", 5, 3, 4, 0, -1, 0, 0},
    {"safety above on_hand", 3, 0, 10, 0, -1, 0, 0},
    {"safety above on_hand, with a limit", 3, 0, 10, 5, -1, 0, 0},
    /* Units reserved beyond on_hand are promised beyond stock, limit or
     * not (a limit lowered by hand in Redis). */
    {"reserved above on_hand", 2, 5, 0, 0, -1, -3, 3},
    {"largest stock", 1000000000000000LL, 0, 0, 0, -1, 1000000000000000LL, 0},
    {"largest stock, largest safety", 1000000000000000LL, 1, 1000000000000000LL, 0, -1, 0, 0},
    /* With a backorder limit, available goes below 0 by what is promised
     * beyond stock, and that much is backordered. */
    {"backorder limit, not used", 10, 3, 0, 5, -1, 7, 0},
    {"backorder limit, exactly used up", 5, 5, 0, 5, -1, 0, 0},
    {"backorders", 5, 8, 0, 5, -1, -3, 3},
    {"backorders up to the limit", 0, 4, 0, 4, -1, -4, 4},
    {"backorders into the safety stock", 10, 8, 4, 3, -1, 0, 0},
    {"backorders beyond the safety stock", 10, 12, 4, 3, -1, -2, 2},
    {"largest limit", 0, 1000000000LL, 0, 1000000000LL, -1, -1000000000LL, 1000000000LL},
    /* Owed units (backordered units sold): on_hand below 0 shows as is,
     * without a limit too. */
    {"owed", -3, 0, 0, 0, -1, -3, 3},
    {"owed, more on hold", -2, 1, 0, 5, -1, -3, 3},
    {"owed and safety", -1, 0, 2, 0, -1, -1, 1},
    /* The low-stock threshold is shown as set, whatever the counts. */
    {"threshold 0", 5, 0, 0, 0, 0, 5, 0},
    {"threshold above available", 5, 1, 0, 0, 25, 4, 0},
    {"largest threshold", 5, 0, 0, 2, 1000000000000000LL, 5, 0},
};

static void test_row(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof row_cases / sizeof row_cases[0]; i++) {
        const struct row_case *tc = &row_cases[i];
        struct stock_row row = {STR("wh-1"),      tc->on_hand,         tc->reserved,
                                tc->safety_stock, tc->backorder_limit, tc->low_stock_threshold};
        if (stock_row_available(&row) != tc->available)
            fail_msg("%s: available %lld, expected %lld", tc->name, stock_row_available(&row),
                     tc->available);
        if (stock_row_backordered(&row) != tc->backordered)
            fail_msg("%s: backordered %lld, expected %lld", tc->name, stock_row_backordered(&row),
                     tc->backordered);
        struct buf out;
        buf_init(&out);
        result_row(&out, STR("SKU-1"), &row);
        cJSON *v = parse_all(tc->name, &out);
        check_row(tc->name, v, STR("SKU-1"), &row, tc->available, tc->backordered);
        cJSON_Delete(v);
        buf_free(&out);
    }
}

/* Names with bytes that must be escaped survive the trip. */
static void test_row_escapes(void **state)
{
    (void)state;
    struct stock_row row = {STR("wh \"1\"\\\n"), 1, 0, 0, 0, -1};
    struct buf out;
    buf_init(&out);
    result_row(&out, STR("S\x01KU"), &row);
    cJSON *v = parse_all("escapes", &out);
    check_row("escapes", v, STR("S\x01KU"), &row, 1, 0);
    cJSON_Delete(v);
    buf_free(&out);
}

#define MAX_ROWS 4

/* Each row: location, on_hand, reserved, safety_stock, backorder_limit,
 * low_stock_threshold (-1: none). */
static const struct stock_case {
    const char *name;
    const char *sku;
    size_t n;
    struct {
        const char *location;
        long long on_hand, reserved, safety_stock, backorder_limit, low_stock_threshold;
    } rows[MAX_ROWS];
    long long on_hand, reserved, available, backordered; /* the totals */
} stock_cases[] = {
    {"unknown sku: no rows, zero totals", "NOPE", 0, {{NULL, 0, 0, 0, 0, -1}}, 0, 0, 0, 0},
    {"one row", "A", 1, {{"wh-1", 10, 3, 1, 0, -1}}, 10, 3, 6, 0},
    {"two rows", "A", 2, {{"wh-1", 10, 3, 0, 0, -1}, {"wh-2", 4, 1, 0, 0, 2}}, 14, 4, 10, 0},
    /* The total available adds up each row's available, each at least 0
     * without backorders, not on_hand - reserved - safety of the totals. */
    {"a row below its safety stock",
     "B",
     3,
     {{"a", 10, 2, 0, 0, -1}, {"b", 5, 5, 0, 0, -1}, {"c", 3, 0, 10, 0, -1}},
     18,
     7,
     8,
     0},
    {"every row short", "C", 2, {{"a", 1, 0, 5, 0, -1}, {"b", 0, 0, 0, 0, 0}}, 1, 0, 0, 0},
    {"large values",
     "D",
     3,
     {{"a", 1000000000000000LL, 0, 0, 0, -1},
      {"b", 1000000000000000LL, 1000000000LL, 0, 0, -1},
      {"c", 1000000000000000LL, 0, 1, 0, 1000000000000000LL}},
     3000000000000000LL,
     1000000000LL,
     2999998999999999LL,
     0},
    /* Backordered rows count below 0 in the total available, and their
     * backorders add up; a row below its safety stock without a limit
     * still counts 0. */
    {"backorders",
     "E",
     4,
     {{"a", 5, 8, 0, 5, -1}, {"b", 10, 2, 0, 0, 3}, {"c", -2, 0, 0, 0, -1}, {"d", 1, 0, 4, 0, -1}},
     14,
     10,
     3,
     5},
    {"backorders everywhere", "F", 2, {{"a", 0, 4, 0, 4, -1}, {"b", -1, 1, 0, 2, 0}}, -1, 5, -6, 6},
};

/* Totals of many large counts are exact, past 2^63 too (9,300 locations
 * of 1e15 each). */
static void test_stock_totals_do_not_overflow(void **state)
{
    (void)state;
    enum { N = 9300 };
    struct stock_row *rows = calloc(N, sizeof *rows);
    assert_non_null(rows);
    for (size_t k = 0; k < N; k++) {
        rows[k].location.p = "L";
        rows[k].location.n = 1;
        rows[k].on_hand = 1000000000000000LL;
    }
    struct buf out;
    buf_init(&out);
    result_stock(&out, (struct str){"S", 1}, rows, N);
    buf_appendc(&out, '\0');
    assert_non_null(strstr(out.data, "\"totals\":{\"on_hand\":9300000000000000000,\"reserved\":0,"
                                     "\"available\":9300000000000000000,\"backordered\":0}"));
    buf_free(&out);
    free(rows);
}

static void test_stock(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof stock_cases / sizeof stock_cases[0]; i++) {
        const struct stock_case *tc = &stock_cases[i];
        struct stock_row rows[MAX_ROWS];
        for (size_t k = 0; k < tc->n; k++) {
            rows[k].location.p = tc->rows[k].location;
            rows[k].location.n = strlen(tc->rows[k].location);
            rows[k].on_hand = tc->rows[k].on_hand;
            rows[k].reserved = tc->rows[k].reserved;
            rows[k].safety_stock = tc->rows[k].safety_stock;
            rows[k].backorder_limit = tc->rows[k].backorder_limit;
            rows[k].low_stock_threshold = tc->rows[k].low_stock_threshold;
        }
        struct str sku = {tc->sku, strlen(tc->sku)};
        struct buf out;
        buf_init(&out);
        result_stock(&out, sku, rows, tc->n);
        cJSON *v = parse_all(tc->name, &out);

        check_str(tc->name, v, "sku", sku.p, sku.n);
        const cJSON *locs = cJSON_GetObjectItemCaseSensitive(v, "locations");
        if (!cJSON_IsArray(locs) || (size_t)cJSON_GetArraySize(locs) != tc->n)
            fail_msg("%s: locations is not an array of %zu rows", tc->name, tc->n);
        /* The rows come out in the order given, each a full row. */
        for (size_t k = 0; k < tc->n; k++)
            check_row(tc->name, cJSON_GetArrayItem(locs, (int)k), sku, &rows[k],
                      stock_row_available(&rows[k]), stock_row_backordered(&rows[k]));

        const cJSON *totals = cJSON_GetObjectItemCaseSensitive(v, "totals");
        check_num(tc->name, totals, "on_hand", tc->on_hand);
        check_num(tc->name, totals, "reserved", tc->reserved);
        check_num(tc->name, totals, "available", tc->available);
        check_num(tc->name, totals, "backordered", tc->backordered);
        if (cJSON_GetArraySize(totals) != 4)
            fail_msg("%s: totals has %d members", tc->name, cJSON_GetArraySize(totals));
        if (cJSON_GetArraySize(v) != 3)
            fail_msg("%s: the result has %d members", tc->name, cJSON_GetArraySize(v));
        cJSON_Delete(v);
        buf_free(&out);
    }
}

/* ---- channels ---- */

static const struct channel_case {
    const char *channel;
    size_t n;
    const char *locations[4];
    const char *rules;    /* as stored: comma-joined, "" for the default */
    const char *rules_json; /* what the result must say */
} channel_cases[] = {
    {"web", 0, {NULL}, "", "[\"channel_order\"]"},
    {"web", 1, {"wh-east"}, "nearest", "[\"nearest\"]"},
    {"store/eu", 3, {"wh-east", "store-9", "a\"b\\c"}, "same_zone,nearest,priority",
     "[\"same_zone\",\"nearest\",\"priority\"]"},
};

static void test_channel(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof channel_cases / sizeof channel_cases[0]; i++) {
        const struct channel_case *tc = &channel_cases[i];
        struct str locs[4];
        for (size_t k = 0; k < tc->n; k++) {
            locs[k].p = tc->locations[k];
            locs[k].n = strlen(tc->locations[k]);
        }
        struct buf out;
        buf_init(&out);
        result_channel(&out, (struct str){tc->channel, strlen(tc->channel)}, locs, tc->n,
                       (struct str){tc->rules, strlen(tc->rules)});
        cJSON *v = parse_all(tc->channel, &out);
        check_str(tc->channel, v, "channel", tc->channel, strlen(tc->channel));
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(v, "locations");
        if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != tc->n)
            fail_msg("channel %s with %zu locations: wrong array", tc->channel, tc->n);
        for (size_t k = 0; k < tc->n; k++) {
            const cJSON *e = cJSON_GetArrayItem(arr, (int)k);
            if (!cJSON_IsString(e) || strcmp(e->valuestring, tc->locations[k]) != 0)
                fail_msg("channel %s: locations[%zu] differs", tc->channel, k);
        }
        char *rules = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, "rules"));
        if (rules == NULL || strcmp(rules, tc->rules_json) != 0)
            fail_msg("channel %s: rules %s, expected %s", tc->channel, rules ? rules : "(none)",
                     tc->rules_json);
        cJSON_free(rules);
        if (cJSON_GetArraySize(v) != 3)
            fail_msg("channel %s: %d members", tc->channel, cJSON_GetArraySize(v));
        cJSON_Delete(v);
        buf_free(&out);
    }
}

/* ---- reservations ---- */

/* Each allocation carries a backordered count, non-zero for the first, so
 * that a hold without HOLD_BACKORDER shows it must leave it out. */
static const struct allocation two_allocations[] = {
    {S("A"), S("wh-east"), 2, 1},
    {S("B"), S("store-9"), 1000000000, 0},
};

static const struct shortage two_shortages[] = {
    {S("A"), 5, 2},
    {S("C"), 1000000000, 0},
};

/* n_allocations and n_shortages say how many of two_allocations and
 * two_shortages each case holds; the pointers are set when the case runs,
 * since struct reservation borrows mutable arrays. */
static const struct reservation_case {
    const char *name;
    struct reservation r;
    bool order_id_null;
    bool has_reason;
    int replayed; /* -1: absent, 0: false, 1: true */
    int changed;  /* the same */
    int members;
} reservation_cases[] = {
    {"held, with order_id, replayed false",
     {.id = S("r-1"),
      .status = S("held"),
      .order_id = S("ord-1"),
      .reason = S(""),
      .created_at = 1700000000000LL,
      .expires_at = 1700000900000LL,
      .has_replayed = true,
      .n_allocations = 2},
     false,
     false,
     0,
     -1,
     7},
    {"replayed true",
     {.id = S("r-1"),
      .status = S("committed"),
      .order_id = S("ord-1"),
      .reason = S(""),
      .created_at = 1,
      .expires_at = 2,
      .has_replayed = true,
      .replayed = true,
      .n_allocations = 2},
     false,
     false,
     1,
     -1,
     7},
    {"no order_id is null",
     {.id = S("r-2"),
      .status = S("held"),
      .order_id = S(""),
      .reason = S(""),
      .created_at = 5,
      .expires_at = 6,
      .has_replayed = true,
      .n_allocations = 1},
     true,
     false,
     0,
     -1,
     7},
    {"reservation.get: no replayed member",
     {.id = S("r-3"),
      .status = S("released"),
      .order_id = S("o"),
      .reason = S("customer cancelled"),
      .created_at = 5,
      .expires_at = 6,
      .n_allocations = 2},
     false,
     true,
     -1,
     -1,
     7},
    {"expired with a reason and no order_id",
     {.id = S("r-4"),
      .status = S("expired"),
      .order_id = S(""),
      .reason = S("caf\xc3\xa9 \"x\""),
      .replayed = true},
     true,
     true,
     -1,
     -1,
     7},
    {"no allocations, nothing optional",
     {.id = S("r-5"),
      .status = S("held"),
      .order_id = S(""),
      .reason = S(""),
      .created_at = 10,
      .expires_at = 20},
     true,
     false,
     -1,
     -1,
     6},
    {"with explain",
     {.id = S("r-6"),
      .status = S("held"),
      .order_id = S("o"),
      .reason = S(""),
      .created_at = 10,
      .expires_at = 20,
      .has_replayed = true,
      .n_allocations = 1,
      .explain = S("[{\"location\":\"a\",\"distance_km\":1.5,\"priority\":0}]")},
     false,
     false,
     0,
     -1,
     8},
    /* Backorders: every allocation says how many of its units are
     * backordered, 0 included. */
    {"backorders",
     {.id = S("r-7"),
      .status = S("held"),
      .order_id = S("o"),
      .reason = S(""),
      .created_at = 1,
      .expires_at = 2,
      .has_replayed = true,
      .n_allocations = 2,
      .flags = HOLD_BACKORDER},
     false,
     false,
     0,
     -1,
     7},
    /* A partial hold lists the lines not filled, [] when none is short. */
    {"partial, two lines short",
     {.id = S("r-8"),
      .status = S("held"),
      .order_id = S("o"),
      .reason = S(""),
      .created_at = 1,
      .expires_at = 2,
      .has_replayed = true,
      .n_allocations = 1,
      .flags = HOLD_PARTIAL,
      .n_shortages = 2},
     false,
     false,
     0,
     -1,
     8},
    {"partial, filled",
     {.id = S("r-9"),
      .status = S("held"),
      .order_id = S(""),
      .reason = S(""),
      .created_at = 1,
      .expires_at = 2,
      .n_allocations = 2,
      .flags = HOLD_PARTIAL},
     true,
     false,
     -1,
     -1,
     7},
    {"backorders and partial, released",
     {.id = S("r-10"),
      .status = S("released"),
      .order_id = S("o"),
      .reason = S("r"),
      .created_at = 1,
      .expires_at = 2,
      .n_allocations = 2,
      .flags = HOLD_BACKORDER | HOLD_PARTIAL,
      .n_shortages = 1},
     false,
     true,
     -1,
     -1,
     8},
    /* Shortages a hold without HOLD_PARTIAL was given are not shown. */
    {"shortages without the flag",
     {.id = S("r-11"),
      .status = S("held"),
      .order_id = S("o"),
      .reason = S(""),
      .created_at = 1,
      .expires_at = 2,
      .n_allocations = 1,
      .n_shortages = 2},
     false,
     false,
     -1,
     -1,
     6},
    /* reservation.update and .transfer say whether they changed it. */
    {"changed",
     {.id = S("r-12"),
      .status = S("held"),
      .order_id = S("o"),
      .reason = S(""),
      .created_at = 1,
      .expires_at = 2,
      .n_allocations = 2,
      .flags = HOLD_PARTIAL,
      .has_changed = true,
      .changed = true},
     false,
     false,
     -1,
     1,
     8},
    {"not changed",
     {.id = S("r-13"),
      .status = S("held"),
      .order_id = S(""),
      .reason = S(""),
      .created_at = 1,
      .expires_at = 2,
      .n_allocations = 1,
      .flags = HOLD_BACKORDER,
      .has_changed = true},
     true,
     false,
     -1,
     0,
     7},
};

/* Checks a member that is true, false or absent (want 1, 0, -1). */
static void check_flag(const char *what, const cJSON *obj, const char *key, int want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (want < 0 && v != NULL)
        fail_msg("%s: %s present, expected absent", what, key);
    if (want == 0 && !cJSON_IsFalse(v))
        fail_msg("%s: %s is not false", what, key);
    if (want == 1 && !cJSON_IsTrue(v))
        fail_msg("%s: %s is not true", what, key);
}

static void test_reservation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reservation_cases / sizeof reservation_cases[0]; i++) {
        const struct reservation_case *tc = &reservation_cases[i];
        struct allocation storage[2];
        struct shortage short_storage[2];
        memcpy(storage, two_allocations, sizeof storage);
        memcpy(short_storage, two_shortages, sizeof short_storage);
        struct reservation copy = tc->r;
        copy.allocations = storage;
        copy.shortages = short_storage;
        const struct reservation *r = &copy;
        struct buf out;
        buf_init(&out);
        result_reservation(&out, r);
        cJSON *v = parse_all(tc->name, &out);

        check_str(tc->name, v, "reservation_id", r->id.p, r->id.n);
        check_str(tc->name, v, "status", r->status.p, r->status.n);
        const cJSON *order = cJSON_GetObjectItemCaseSensitive(v, "order_id");
        if (tc->order_id_null) {
            if (!cJSON_IsNull(order))
                fail_msg("%s: order_id is not null", tc->name);
        } else {
            check_str(tc->name, v, "order_id", r->order_id.p, r->order_id.n);
        }
        check_num(tc->name, v, "created_at", r->created_at);
        check_num(tc->name, v, "expires_at", r->expires_at);

        bool backorders = (r->flags & HOLD_BACKORDER) != 0;
        const cJSON *allocs = cJSON_GetObjectItemCaseSensitive(v, "allocations");
        if (!cJSON_IsArray(allocs) || (size_t)cJSON_GetArraySize(allocs) != r->n_allocations)
            fail_msg("%s: allocations is not an array of %zu", tc->name, r->n_allocations);
        for (size_t k = 0; k < r->n_allocations; k++) {
            const cJSON *a = cJSON_GetArrayItem(allocs, (int)k);
            const struct allocation *want = &r->allocations[k];
            check_str(tc->name, a, "sku", want->sku.p, want->sku.n);
            check_str(tc->name, a, "location", want->location.p, want->location.n);
            check_num(tc->name, a, "quantity", want->quantity);
            if (backorders)
                check_num(tc->name, a, "backordered", want->backordered);
            if (cJSON_GetArraySize(a) != (backorders ? 4 : 3))
                fail_msg("%s: allocation %zu has %d members", tc->name, k, cJSON_GetArraySize(a));
        }

        const cJSON *shortages = cJSON_GetObjectItemCaseSensitive(v, "shortages");
        if (!(r->flags & HOLD_PARTIAL)) {
            if (shortages != NULL)
                fail_msg("%s: shortages present, expected absent", tc->name);
        } else if (!cJSON_IsArray(shortages) ||
                   (size_t)cJSON_GetArraySize(shortages) != r->n_shortages) {
            fail_msg("%s: shortages is not an array of %zu", tc->name, r->n_shortages);
        } else {
            for (size_t k = 0; k < r->n_shortages; k++) {
                const cJSON *s = cJSON_GetArrayItem(shortages, (int)k);
                const struct shortage *want = &r->shortages[k];
                check_str(tc->name, s, "sku", want->sku.p, want->sku.n);
                check_num(tc->name, s, "requested", want->requested);
                check_num(tc->name, s, "allocated", want->allocated);
                if (cJSON_GetArraySize(s) != 3)
                    fail_msg("%s: shortage %zu has extra members", tc->name, k);
            }
        }

        if (tc->has_reason)
            check_str(tc->name, v, "reason", r->reason.p, r->reason.n);
        else if (cJSON_GetObjectItemCaseSensitive(v, "reason") != NULL)
            fail_msg("%s: reason present, expected absent", tc->name);

        check_flag(tc->name, v, "replayed", tc->replayed);
        check_flag(tc->name, v, "changed", tc->changed);

        const cJSON *explain = cJSON_GetObjectItemCaseSensitive(v, "explain");
        char *text = explain ? cJSON_PrintUnformatted(explain) : NULL;
        if ((r->explain.p == NULL) != (text == NULL) ||
            (text != NULL && (strlen(text) != r->explain.n ||
                              memcmp(text, r->explain.p, r->explain.n) != 0)))
            fail_msg("%s: explain %s, expected %.*s", tc->name, text ? text : "(absent)",
                     (int)r->explain.n, r->explain.p ? r->explain.p : "");
        cJSON_free(text);

        if (cJSON_GetArraySize(v) != tc->members)
            fail_msg("%s: %d members, expected %d", tc->name, cJSON_GetArraySize(v), tc->members);
        cJSON_Delete(v);
        buf_free(&out);
    }
}

/* ---- locations and explain ---- */

static const struct location_case {
    const char *name;
    struct location_rec rec;
    const char *json;
} location_cases[] = {
    {"everything", {S("wh-1"), S("52.52"), S("-13.405"), S("DE"), S("dc,eu"), -7},
     "{\"location\":\"wh-1\",\"lat\":52.52,\"lng\":-13.405,\"zone\":\"DE\",\"priority\":-7,"
     "\"tags\":[\"dc\",\"eu\"]}"},
    {"nothing but the name", {S("s"), S(""), S(""), S(""), S(""), 0},
     "{\"location\":\"s\",\"priority\":0,\"tags\":[]}"},
    {"one tag, exponent", {S("p"), S("1e-05"), S("180"), S(""), S("x"), 1000},
     "{\"location\":\"p\",\"lat\":1e-05,\"lng\":180,\"priority\":1000,\"tags\":[\"x\"]}"},
};

static void test_location(void **state)
{
    (void)state;
    size_t n = sizeof location_cases / sizeof location_cases[0];
    struct location_rec recs[sizeof location_cases / sizeof location_cases[0]];
    struct buf out, want;
    buf_init(&out);
    buf_init(&want);
    for (size_t i = 0; i < n; i++) {
        const struct location_case *tc = &location_cases[i];
        buf_reset(&out);
        result_location(&out, &tc->rec);
        cJSON *v = parse_all(tc->name, &out);
        cJSON_Delete(v);
        if (out.len != strlen(tc->json) || memcmp(out.data, tc->json, out.len) != 0)
            fail_msg("%s: %.*s, expected %s", tc->name, (int)out.len, out.data, tc->json);
        recs[i] = tc->rec;
    }
    buf_reset(&out);
    result_locations(&out, recs, n);
    buf_appends(&want, "{\"locations\":[");
    for (size_t i = 0; i < n; i++) {
        buf_appends(&want, i ? "," : "");
        buf_appends(&want, location_cases[i].json);
    }
    buf_appends(&want, "]}");
    if (out.len != want.len || memcmp(out.data, want.data, out.len) != 0)
        fail_msg("list: %.*s", (int)out.len, out.data);
    buf_reset(&out);
    result_locations(&out, NULL, 0);
    if (strcmp(buf_cstr(&out), "{\"locations\":[]}") != 0)
        fail_msg("empty list: %s", out.data);
    buf_free(&out);
    buf_free(&want);
}

static void test_explain_entries(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out);
    buf_appendc(&out, '[');
    result_explain_entry(&out, true, STR_LIT("near"), STR_LIT("12.3456"), STR_LIT("DE"), 5);
    result_explain_entry(&out, false, STR_LIT("nocoords"), STR_LIT(""), STR_LIT(""), -1000);
    buf_appendc(&out, ']');
    const char *want = "[{\"location\":\"near\",\"distance_km\":12.3456,\"zone\":\"DE\","
                       "\"priority\":5},{\"location\":\"nocoords\",\"priority\":-1000}]";
    cJSON *v = parse_all("explain", &out);
    cJSON_Delete(v);
    if (strcmp(buf_cstr(&out), want) != 0)
        fail_msg("explain: %s", out.data);
    buf_free(&out);
}

/* ---- pong ---- */

static const struct pong_case {
    bool up;
    const char *redis;
} pong_cases[] = {
    {true, "up"},
    {false, "down"},
};

static void test_pong(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pong_cases / sizeof pong_cases[0]; i++) {
        struct buf out;
        buf_init(&out);
        result_pong(&out, pong_cases[i].up);
        cJSON *v = parse_all(pong_cases[i].redis, &out);
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "pong")))
            fail_msg("pong is not true");
        check_str(pong_cases[i].redis, v, "redis", pong_cases[i].redis,
                  strlen(pong_cases[i].redis));
        assert_int_equal(cJSON_GetArraySize(v), 2);
        cJSON_Delete(v);
        buf_free(&out);
    }
}

/* ---- sorting rows ---- */

static const struct sort_case {
    const char *name;
    size_t n;
    const char *in[6];
    const char *out[6];
} sort_cases[] = {
    {"empty", 0, {NULL}, {NULL}},
    {"one", 1, {"x"}, {"x"}},
    {"already sorted", 3, {"a", "b", "c"}, {"a", "b", "c"}},
    {"reversed", 3, {"c", "b", "a"}, {"a", "b", "c"}},
    {"upper case before lower case", 4, {"b", "a", "B", "A"}, {"A", "B", "a", "b"}},
    {"a prefix sorts first", 3, {"aa", "a", "ab"}, {"a", "aa", "ab"}},
    {"digits and punctuation", 5, {"wh-2", "wh-10", "wh-1", "wh.1", "wh_1"},
     {"wh-1", "wh-10", "wh-2", "wh.1", "wh_1"}},
    {"bytes are unsigned", 3, {"\xc3\xa9", "z", "Z"}, {"Z", "z", "\xc3\xa9"}},
};

static void test_sort(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sort_cases / sizeof sort_cases[0]; i++) {
        const struct sort_case *tc = &sort_cases[i];
        struct stock_row rows[6];
        for (size_t k = 0; k < tc->n; k++) {
            rows[k].location.p = tc->in[k];
            rows[k].location.n = strlen(tc->in[k]);
            /* The other fields tag each row, to see it move as a whole. */
            rows[k].on_hand = (long long)k;
            rows[k].reserved = (long long)k * 10;
            rows[k].safety_stock = (long long)k * 100;
            rows[k].backorder_limit = (long long)k * 1000;
            rows[k].low_stock_threshold = (long long)k * 10000 - 1;
        }
        stock_rows_sort(rows, tc->n);
        for (size_t k = 0; k < tc->n; k++) {
            if (rows[k].location.n != strlen(tc->out[k]) ||
                memcmp(rows[k].location.p, tc->out[k], rows[k].location.n) != 0)
                fail_msg("%s: position %zu holds '%.*s', expected '%s'", tc->name, k,
                         (int)rows[k].location.n, rows[k].location.p, tc->out[k]);
            long long tag = rows[k].on_hand;
            if (strcmp(tc->in[tag], tc->out[k]) != 0 || rows[k].reserved != tag * 10 ||
                rows[k].safety_stock != tag * 100 || rows[k].backorder_limit != tag * 1000 ||
                rows[k].low_stock_threshold != tag * 10000 - 1)
                fail_msg("%s: row %zu was not moved whole", tc->name, k);
        }
    }
}

/* Locations given by pointer and length, not NUL-terminated: a shorter name
 * that is a prefix of a longer one sorts first. */
static void test_sort_lengths(void **state)
{
    (void)state;
    static const char text[] = "abcab";
    struct stock_row rows[3] = {
        {{text, 3}, 0, 0, 0, 0, -1},     /* "abc" */
        {{text, 2}, 1, 0, 0, 0, -1},     /* "ab" */
        {{text + 3, 2}, 2, 0, 0, 0, -1}, /* "ab" again, elsewhere */
    };
    stock_rows_sort(rows, 3);
    assert_int_equal(rows[0].location.n, 2);
    assert_int_equal(rows[1].location.n, 2);
    assert_int_equal(rows[2].location.n, 3);
    assert_int_equal(rows[2].on_hand, 0);
}

/* ---- keys ---- */

static const struct key_case {
    const char *ns;
    enum key_kind kind;
    const char *id; /* NULL for kinds without one */
    const char *want;
} key_cases[] = {
    {"inv", KEY_STOCK, "SKU-1", "{inv}:stock:SKU-1"},
    {"inv", KEY_CHANNEL, "web", "{inv}:channel:web"},
    {"inv", KEY_RES, "r-0123abcd", "{inv}:res:r-0123abcd"},
    {"inv", KEY_ORDER, "ord-1001", "{inv}:order:ord-1001"},
    {"inv", KEY_EXPIRY, NULL, "{inv}:expiry"},
    /* Not under "{inv}:stock:*", the pattern the audit scans for skus. */
    {"inv", KEY_STOCK_EVENTS, NULL, "{inv}:stock-events"},
    {"inv", KEY_STOCK_EVENTS_DEAD, NULL, "{inv}:stock-events:dead"},
    {"inv", KEY_STOCK_EVENTS_CURSOR, "0123456789abcdef",
     "{inv}:stock-events:cursor:webhook:0123456789abcdef"},
    {"shop-eu", KEY_STOCK, "a/b+c=d@e~f_g.h", "{shop-eu}:stock:a/b+c=d@e~f_g.h"},
    {"t", KEY_EXPIRY, NULL, "{t}:expiry"},
};

static void test_keys(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof key_cases / sizeof key_cases[0]; i++) {
        const struct key_case *tc = &key_cases[i];
        struct ident ns, id;
        assert_true(ident_check(tc->ns, strlen(tc->ns), &ns));
        if (tc->id != NULL)
            assert_true(ident_check(tc->id, strlen(tc->id), &id));
        struct buf out;
        buf_init(&out);
        /* Appends: what was in the buffer stays. */
        buf_appends(&out, "prefix|");
        keys_build(&out, &ns, tc->kind, tc->id ? &id : NULL);
        size_t want = strlen(tc->want);
        if (out.len != 7 + want || memcmp(out.data, "prefix|", 7) != 0 ||
            memcmp(out.data + 7, tc->want, want) != 0)
            fail_msg("key %s: built '%.*s'", tc->want, (int)out.len, out.data);
        buf_free(&out);
    }
}

/* Kinds without an identifier ignore the one they are given. */
static void test_keys_ignore_id(void **state)
{
    (void)state;
    struct ident ns, id;
    assert_true(ident_check("inv", 3, &ns));
    assert_true(ident_check("junk", 4, &id));
    struct buf out;
    buf_init(&out);
    keys_build(&out, &ns, KEY_EXPIRY, &id);
    assert_int_equal(out.len, strlen("{inv}:expiry"));
    assert_memory_equal(out.data, "{inv}:expiry", out.len);
    buf_free(&out);
}

/* The prefix length matches what keys_build writes before the id. */
static void test_keys_prefix_len(void **state)
{
    (void)state;
    struct ident ns, id;
    assert_true(ident_check("inv", 3, &ns));
    assert_true(ident_check("SKU-1", 5, &id));
    static const enum key_kind kinds[] = {KEY_STOCK, KEY_CHANNEL, KEY_RES, KEY_ORDER};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct buf b;
        buf_init(&b);
        keys_build(&b, &ns, kinds[i], &id);
        assert_int_equal(keys_prefix_len(&ns, kinds[i]) + id.s.n, b.len);
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_prefix_len),
        cmocka_unit_test(test_row),
        cmocka_unit_test(test_row_escapes),
        cmocka_unit_test(test_stock),
        cmocka_unit_test(test_stock_totals_do_not_overflow),
        cmocka_unit_test(test_channel),
        cmocka_unit_test(test_reservation),
        cmocka_unit_test(test_location),
        cmocka_unit_test(test_explain_entries),
        cmocka_unit_test(test_pong),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_sort_lengths),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_keys_ignore_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
