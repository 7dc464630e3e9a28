/* The status page's data methods (see ui_data.h): ui.ledger is one plain
 * XREVRANGE of the ledger, ui.holds and ui.low_stock one read-only script
 * call each. Per method, in order: the call's builder, then the reply
 * reader, which checks the whole reply before it writes the result (and,
 * for ui.low_stock, orders the rows: see lua/ui_low_stock.lua). */
#include "ui_data.h"

#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"
#include "keys.h"
#include "request.h"

static void key(struct buf *out, const char *k)
{
    buf_appends(out, k);
}

static void str(struct buf *out, struct str s)
{
    json_write_string(out, s.p, s.n);
}

/* Element i: an integer, or "" for none (false). Anything else marks the
 * reply bad. */
static bool opt_int(struct reply *rd, size_t i, long long *v)
{
    *v = 0;
    if (i < reply_count(rd) && rd->r->element[i]->type == REDIS_REPLY_STRING &&
        rd->r->element[i]->len == 0)
        return false;
    *v = reply_int(rd, i);
    return true;
}

/* A whole number of at most 18 digits (no sign): the ms of a stream id, a
 * ledger quantity after its sign. */
static bool digits_value(const char *p, size_t n, long long *v)
{
    if (n == 0 || n > 18)
        return false;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return true;
}

/* --- ui.ledger: XREVRANGE {ns}:events + - COUNT n ------------------------ */

/* The ledger fields, in the order common.lua's ledger() writes them. */
enum ledger_field { LF_TYPE, LF_SKU, LF_LOCATION, LF_QUANTITY, LF_RESERVATION, LF_REASON, LF_N };
static const char *const ledger_names[LF_N] = {"type",     "sku",         "location",
                                               "quantity", "reservation", "reason"};

/* One ledger entry, read from an element of the reply (borrowed). */
struct ledger_entry {
    struct str id, field[LF_N]; /* a field the entry lacks is "" */
    long long at, quantity;
};

/* Reads [id, [field, value, ...]]. Returns false, with why, when the entry
 * is not one the ledger holds: its shape is the reply's (rd->bad), its
 * values the data's. */
static bool ledger_read(struct reply *rd, const redisReply *e, struct ledger_entry *out,
                        const char **why)
{
    *why = NULL;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY ||
        e->element[1]->elements % 2 != 0) {
        rd->bad = true;
        return false;
    }
    const redisReply *id = e->element[0], *fv = e->element[1];
    out->id = (struct str){id->str, id->len};
    const char *dash = memchr(id->str, '-', id->len);
    size_t ms_n = dash != NULL ? (size_t)(dash - id->str) : 0;
    size_t seq_n = dash != NULL ? id->len - ms_n - 1 : 0;
    if (dash == NULL || !digits_value(id->str, ms_n, &out->at) || seq_n == 0 || seq_n > 20 ||
        strspn(dash + 1, "0123456789") != seq_n) {
        rd->bad = true; /* Redis's own ids are <ms>-<seq> */
        return false;
    }
    for (int f = 0; f < LF_N; f++)
        out->field[f] = STR_LIT("");
    for (size_t i = 0; i < fv->elements; i += 2) {
        const redisReply *k = fv->element[i], *v = fv->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            rd->bad = true;
            return false;
        }
        for (int f = 0; f < LF_N; f++)
            if (k->len == strlen(ledger_names[f]) && memcmp(k->str, ledger_names[f], k->len) == 0)
                out->field[f] = (struct str){v->str, v->len};
    }
    /* set and adjust record a signed change. */
    struct str q = out->field[LF_QUANTITY];
    bool minus = q.n > 0 && q.p[0] == '-';
    if (!digits_value(q.p + minus, q.n - minus, &out->quantity)) {
        *why = "a ledger entry's quantity is not a whole number";
        return false;
    }
    if (minus)
        out->quantity = -out->quantity;
    return true;
}

static void ledger_write(struct buf *out, const struct ledger_entry *e)
{
    key(out, "{\"id\":");
    str(out, e->id);
    key(out, ",\"at\":");
    buf_append_int(out, e->at);
    key(out, ",\"type\":");
    str(out, e->field[LF_TYPE]);
    key(out, ",\"sku\":");
    str(out, e->field[LF_SKU]);
    key(out, ",\"location\":");
    str(out, e->field[LF_LOCATION]);
    key(out, ",\"quantity\":");
    buf_append_int(out, e->quantity);
    key(out, ",\"reservation\":");
    str(out, e->field[LF_RESERVATION]);
    key(out, ",\"reason\":");
    str(out, e->field[LF_REASON]);
    buf_appendc(out, '}');
}

static long long ledger_count(const struct request *req)
{
    return (req->params.present & HAS_COUNT) ? req->params.count : UI_LEDGER_DEFAULT;
}

/* [[id, [field, value, ...]], ...], newest first: every entry is read and
 * checked, then written. */
static void ledger_reply(struct request *req, struct reply *rd)
{
    const redisReply *r = rd->r;
    if (r->type != REDIS_REPLY_ARRAY || r->elements > (size_t)ledger_count(req)) {
        rd->bad = true;
        return;
    }
    struct ledger_entry e;
    const char *why;
    for (size_t i = 0; i < r->elements; i++) {
        if (!ledger_read(rd, r->element[i], &e, &why)) {
            if (!rd->bad)
                request_fail_broken(req, (struct str){why, strlen(why)});
            return;
        }
    }
    struct buf *out = request_result(req);
    key(out, "{\"entries\":[");
    for (size_t i = 0; i < r->elements; i++) {
        ledger_read(rd, r->element[i], &e, &why);
        if (i > 0)
            buf_appendc(out, ',');
        ledger_write(out, &e);
    }
    key(out, "]}");
    request_finish(req);
}

void ui_ledger(struct request *req)
{
    struct args *a = request_args(req);
    args_add(a, "XREVRANGE", 9);
    args_add_key(a, request_ns(req), KEY_EVENTS, NULL);
    args_add(a, "+", 1);
    args_add(a, "-", 1);
    args_add(a, "COUNT", 5);
    args_add_int(a, ledger_count(req));
    request_command(req, ledger_reply);
}

/* --- ui.holds: lua/ui_holds.lua ------------------------------------------ */

/* {OK, now, skus, holds, complete} or, with a first hold, {OK, now, skus,
 * holds, complete, reservation_id, sku, location, quantity, deadline,
 * created_at ('' when unknown)}. */
static void holds_reply(struct request *req, struct reply *rd)
{
    size_t count = reply_count(rd);
    if (count != 5 && count != 11)
        rd->bad = true;
    long long now = reply_int(rd, 1), skus = reply_int(rd, 2), holds = reply_int(rd, 3);
    long long complete = reply_int(rd, 4);
    if (complete != 0 && complete != 1)
        rd->bad = true;
    struct str rid = STR_LIT(""), sku = STR_LIT(""), loc = STR_LIT("");
    long long quantity = 0, deadline = 0, created = 0;
    bool has_created = false;
    if (count == 11) {
        rid = reply_str(rd, 5);
        sku = reply_str(rd, 6);
        loc = reply_str(rd, 7);
        quantity = reply_int(rd, 8);
        deadline = reply_int(rd, 9);
        has_created = opt_int(rd, 10, &created);
    }
    if (rd->bad)
        return;
    struct buf *out = request_result(req);
    key(out, "{\"now\":");
    buf_append_int(out, now);
    key(out, ",\"skus\":");
    buf_append_int(out, skus);
    key(out, ",\"holds\":");
    buf_append_int(out, holds);
    key(out, complete ? ",\"complete\":true" : ",\"complete\":false");
    key(out, ",\"next\":");
    if (count == 11) {
        key(out, "{\"reservation_id\":");
        str(out, rid);
        key(out, ",\"sku\":");
        str(out, sku);
        key(out, ",\"location\":");
        str(out, loc);
        key(out, ",\"quantity\":");
        buf_append_int(out, quantity);
        key(out, ",\"deadline\":");
        buf_append_int(out, deadline);
        key(out, ",\"created_at\":");
        if (has_created)
            buf_append_int(out, created);
        else
            key(out, "null");
        buf_appendc(out, '}');
    } else {
        key(out, "null");
    }
    buf_appendc(out, '}');
    request_finish(req);
}

void ui_holds(struct request *req)
{
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    ARG_KEY(a, UI_HOLDS_K_DUE, ns, KEY_DUE, NULL);
    ARGS_AT(a, UI_HOLDS_K_FIXED + UI_HOLDS_A_HOLDS);
    args_add_prefix(a, ns, KEY_HOLDS);
    ARGS_AT(a, UI_HOLDS_K_FIXED + UI_HOLDS_A_RES);
    args_add_prefix(a, ns, KEY_RES);
    ARG_INT(a, UI_HOLDS_K_FIXED + UI_HOLDS_A_SKUS, UI_HOLDS_SKUS);
    ARG_INT(a, UI_HOLDS_K_FIXED + UI_HOLDS_A_FIRST, UI_HOLDS_FIRST);
    request_call(req, SCRIPT_UI_HOLDS, UI_HOLDS_K_FIXED, UI_HOLDS_STATUSES, holds_reply);
}

/* --- ui.low_stock: lua/ui_low_stock.lua ---------------------------------- */

static long long low_stock_count(const struct request *req)
{
    return (req->params.present & HAS_COUNT) ? req->params.count : UI_LOW_STOCK_DEFAULT;
}

/* A row of the reply (its strings borrowed from it). */
struct low_row {
    struct str sku, location;
    long long available, threshold, on_hand, reserved;
    bool has_threshold;
};

/* Lowest available first, then by sku and location, bytewise. */
static int low_row_cmp(const void *pa, const void *pb)
{
    const struct low_row *a = pa, *b = pb;
    if (a->available != b->available)
        return a->available < b->available ? -1 : 1;
    int c = str_cmp(a->sku, b->sku);
    return c != 0 ? c : str_cmp(a->location, b->location);
}

static void low_row_write(struct buf *out, const struct low_row *row)
{
    key(out, "{\"sku\":");
    str(out, row->sku);
    key(out, ",\"location\":");
    str(out, row->location);
    key(out, ",\"available\":");
    buf_append_int(out, row->available);
    key(out, ",\"low_stock_threshold\":");
    if (row->has_threshold)
        buf_append_int(out, row->threshold);
    else
        key(out, "null");
    key(out, ",\"on_hand\":");
    buf_append_int(out, row->on_hand);
    key(out, ",\"reserved\":");
    buf_append_int(out, row->reserved);
    buf_appendc(out, '}');
}

/* {OK, scanned, (sku, location, available, threshold ('' for none),
 * on_hand, reserved) per row}, unordered, at most one row per entry
 * scanned: sorted here, and cut to the count asked for. */
static void low_stock_reply(struct request *req, struct reply *rd)
{
    size_t count = reply_count(rd);
    long long scanned = reply_int(rd, 1);
    size_t n = count >= 2 ? (count - 2) / 6 : 0;
    if (count < 2 || (count - 2) % 6 != 0 || scanned < 0 || n > (size_t)scanned ||
        n > UI_LOW_STOCK_SCAN)
        rd->bad = true;
    if (rd->bad)
        return;
    struct low_row rows[UI_LOW_STOCK_SCAN]; /* n <= UI_LOW_STOCK_SCAN: 18 KB */
    for (size_t i = 0; i < n && !rd->bad; i++) {
        size_t at = 2 + 6 * i;
        struct low_row *row = &rows[i];
        row->sku = reply_str(rd, at);
        row->location = reply_str(rd, at + 1);
        row->available = reply_int(rd, at + 2);
        row->has_threshold = opt_int(rd, at + 3, &row->threshold);
        row->on_hand = reply_int(rd, at + 4);
        row->reserved = reply_int(rd, at + 5);
    }
    if (!rd->bad) {
        qsort(rows, n, sizeof *rows, low_row_cmp);
        size_t shown = n < (size_t)low_stock_count(req) ? n : (size_t)low_stock_count(req);
        struct buf *out = request_result(req);
        key(out, "{\"rows\":[");
        for (size_t i = 0; i < shown; i++) {
            if (i > 0)
                buf_appendc(out, ',');
            low_row_write(out, &rows[i]);
        }
        key(out, "],\"scanned\":");
        buf_append_int(out, scanned);
        buf_appendc(out, '}');
        request_finish(req);
    }
}

void ui_low_stock(struct request *req)
{
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    ARG_KEY(a, UI_LOW_STOCK_K_STOCK_EVENTS, ns, KEY_STOCK_EVENTS, NULL);
    ARGS_AT(a, UI_LOW_STOCK_K_FIXED + UI_LOW_STOCK_A_STOCK);
    args_add_prefix(a, ns, KEY_STOCK);
    ARG_INT(a, UI_LOW_STOCK_K_FIXED + UI_LOW_STOCK_A_SCAN, UI_LOW_STOCK_SCAN);
    request_call(req, SCRIPT_UI_LOW_STOCK, UI_LOW_STOCK_K_FIXED, UI_LOW_STOCK_STATUSES,
                 low_stock_reply);
}
