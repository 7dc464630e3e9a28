/* JSON encoding of result structs (see result.h). */
#include "result.h"

#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"

long long stock_row_available(const struct stock_row *row)
{
    long long a = row->on_hand - row->reserved - row->safety_stock;
    long long beyond = row->on_hand - row->reserved; /* < 0: promised beyond stock */
    if (a >= 0)
        return a;
    return beyond < 0 ? beyond : 0;
}

long long stock_row_backordered(const struct stock_row *row)
{
    long long a = stock_row_available(row);
    return a < 0 ? -a : 0;
}

static void key(struct buf *out, const char *k)
{
    buf_appends(out, k);
}

static void str(struct buf *out, struct str s)
{
    json_write_string(out, s.p, s.n);
}

static void row_body(struct buf *out, const struct stock_row *row)
{
    key(out, "\"location\":");
    str(out, row->location);
    key(out, ",\"on_hand\":");
    buf_append_int(out, row->on_hand);
    key(out, ",\"reserved\":");
    buf_append_int(out, row->reserved);
    key(out, ",\"available\":");
    buf_append_int(out, stock_row_available(row));
    key(out, ",\"safety_stock\":");
    buf_append_int(out, row->safety_stock);
    key(out, ",\"backorder_limit\":");
    buf_append_int(out, row->backorder_limit);
    key(out, ",\"low_stock_threshold\":");
    if (row->low_stock_threshold >= 0)
        buf_append_int(out, row->low_stock_threshold);
    else
        key(out, "null");
    key(out, ",\"backordered\":");
    buf_append_int(out, stock_row_backordered(row));
}

void result_row(struct buf *out, struct str sku, const struct stock_row *row)
{
    key(out, "{\"sku\":");
    str(out, sku);
    buf_appendc(out, ',');
    row_body(out, row);
    buf_appendc(out, '}');
}

/* A total of many counts: each is below 2^63, their sum may not be. */
static void append_total(struct buf *out, __int128 v)
{
    char digits[48];
    size_t k = sizeof digits;
    bool negative = v < 0;
    unsigned __int128 u = negative ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[--k] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    if (negative)
        digits[--k] = '-';
    buf_append(out, digits + k, sizeof digits - k);
}

void result_stock(struct buf *out, struct str sku, const struct stock_row *rows, size_t n)
{
    __int128 on_hand = 0, reserved = 0, available = 0, backordered = 0;
    key(out, "{\"sku\":");
    str(out, sku);
    key(out, ",\"locations\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_appendc(out, ',');
        result_row(out, sku, &rows[i]);
        on_hand += rows[i].on_hand;
        reserved += rows[i].reserved;
        available += stock_row_available(&rows[i]);
        backordered += stock_row_backordered(&rows[i]);
    }
    key(out, "],\"totals\":{\"on_hand\":");
    append_total(out, on_hand);
    key(out, ",\"reserved\":");
    append_total(out, reserved);
    key(out, ",\"available\":");
    append_total(out, available);
    key(out, ",\"backordered\":");
    append_total(out, backordered);
    key(out, "}}");
}

/* The comma-joined identifiers of s as a JSON array of strings. */
static void str_list(struct buf *out, struct str s)
{
    buf_appendc(out, '[');
    size_t at = 0;
    struct str field;
    for (bool first = true; str_split(s, ',', &at, &field); first = false) {
        if (!first)
            buf_appendc(out, ',');
        str(out, field);
    }
    buf_appendc(out, ']');
}

void result_channel(struct buf *out, struct str channel, const struct str *locations, size_t n,
                    struct str rules)
{
    key(out, "{\"channel\":");
    str(out, channel);
    key(out, ",\"locations\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_appendc(out, ',');
        str(out, locations[i]);
    }
    key(out, "],\"rules\":");
    str_list(out, rules.n > 0 ? rules : STR_LIT("channel_order"));
    buf_appendc(out, '}');
}

void result_location(struct buf *out, const struct location_rec *rec)
{
    key(out, "{\"location\":");
    str(out, rec->location);
    if (rec->lat.n > 0) {
        key(out, ",\"lat\":");
        buf_append(out, rec->lat.p, rec->lat.n);
        key(out, ",\"lng\":");
        buf_append(out, rec->lng.p, rec->lng.n);
    }
    if (rec->zone.n > 0) {
        key(out, ",\"zone\":");
        str(out, rec->zone);
    }
    key(out, ",\"priority\":");
    buf_append_int(out, rec->priority);
    key(out, ",\"tags\":");
    str_list(out, rec->tags);
    buf_appendc(out, '}');
}

void result_locations(struct buf *out, const struct location_rec *recs, size_t n)
{
    key(out, "{\"locations\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_appendc(out, ',');
        result_location(out, &recs[i]);
    }
    key(out, "]}");
}

void result_explain_entry(struct buf *list, bool first, struct str location, struct str distance,
                          struct str zone, long long priority)
{
    key(list, first ? "{\"location\":" : ",{\"location\":");
    str(list, location);
    if (distance.n > 0) {
        key(list, ",\"distance_km\":");
        buf_append(list, distance.p, distance.n);
    }
    if (zone.n > 0) {
        key(list, ",\"zone\":");
        str(list, zone);
    }
    key(list, ",\"priority\":");
    buf_append_int(list, priority);
    buf_appendc(list, '}');
}

void result_reservation(struct buf *out, const struct reservation *r)
{
    key(out, "{\"reservation_id\":");
    str(out, r->id);
    key(out, ",\"status\":");
    str(out, r->status);
    key(out, ",\"order_id\":");
    if (r->order_id.n > 0)
        str(out, r->order_id);
    else
        key(out, "null");
    key(out, ",\"created_at\":");
    buf_append_int(out, r->created_at);
    key(out, ",\"expires_at\":");
    buf_append_int(out, r->expires_at);
    key(out, ",\"allocations\":[");
    for (size_t i = 0; i < r->n_allocations; i++) {
        const struct allocation *a = &r->allocations[i];
        key(out, i > 0 ? ",{\"sku\":" : "{\"sku\":");
        str(out, a->sku);
        key(out, ",\"location\":");
        str(out, a->location);
        key(out, ",\"quantity\":");
        buf_append_int(out, a->quantity);
        if (r->flags & HOLD_BACKORDER) {
            key(out, ",\"backordered\":");
            buf_append_int(out, a->backordered);
        }
        buf_appendc(out, '}');
    }
    buf_appendc(out, ']');
    if (r->flags & HOLD_PARTIAL) {
        key(out, ",\"shortages\":[");
        for (size_t i = 0; i < r->n_shortages; i++) {
            const struct shortage *s = &r->shortages[i];
            key(out, i > 0 ? ",{\"sku\":" : "{\"sku\":");
            str(out, s->sku);
            key(out, ",\"requested\":");
            buf_append_int(out, s->requested);
            key(out, ",\"allocated\":");
            buf_append_int(out, s->allocated);
            buf_appendc(out, '}');
        }
        buf_appendc(out, ']');
    }
    if (r->reason.n > 0) {
        key(out, ",\"reason\":");
        str(out, r->reason);
    }
    if (r->has_replayed)
        key(out, r->replayed ? ",\"replayed\":true" : ",\"replayed\":false");
    if (r->has_changed)
        key(out, r->changed ? ",\"changed\":true" : ",\"changed\":false");
    if (r->explain.p != NULL) {
        key(out, ",\"explain\":");
        buf_append(out, r->explain.p, r->explain.n);
    }
    buf_appendc(out, '}');
}

void result_pong(struct buf *out, bool redis_up)
{
    key(out, redis_up ? "{\"pong\":true,\"redis\":\"up\"}" : "{\"pong\":true,\"redis\":\"down\"}");
}

void result_audit_difference(struct buf *list, struct str sku, struct str location,
                             long long reserved, long long expected)
{
    key(list, list->len > 0 ? ",{\"sku\":" : "{\"sku\":");
    str(list, sku);
    key(list, ",\"location\":");
    str(list, location);
    key(list, ",\"reserved\":");
    buf_append_int(list, reserved);
    key(list, ",\"expected\":");
    buf_append_int(list, expected);
    buf_appendc(list, '}');
}

void result_audit_stale(struct buf *list, struct str reservation_id, struct str status)
{
    key(list, list->len > 0 ? ",{\"reservation_id\":" : "{\"reservation_id\":");
    str(list, reservation_id);
    key(list, ",\"status\":");
    str(list, status);
    buf_appendc(list, '}');
}

void result_audit_late(struct buf *list, struct str sku, long long due, long long earliest)
{
    key(list, list->len > 0 ? ",{\"sku\":" : "{\"sku\":");
    str(list, sku);
    key(list, ",\"due\":");
    if (due < 0)
        key(list, "null");
    else
        buf_append_int(list, due);
    key(list, ",\"earliest\":");
    buf_append_int(list, earliest);
    buf_appendc(list, '}');
}

static int row_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct stock_row *)a)->location, ((const struct stock_row *)b)->location);
}

void stock_rows_sort(struct stock_row *rows, size_t n)
{
    if (n < 2)
        return; /* rows may be NULL when n == 0, which qsort must not see */
    qsort(rows, n, sizeof *rows, row_cmp);
}
