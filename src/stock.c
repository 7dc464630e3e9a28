/* The stock and channel family (see stock.h): each method is one script
 * call. Per script, in order: the KEYS/ARGV builder, then the reply reader,
 * both following the contract in stock.h. */
#include "stock.h"

#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "request.h"

/* --- stock.set: lua/stock_set.lua --------------------------------------- */

static void stock_set_reply(struct request *req, struct reply *rd);

void stock_set(struct request *req)
{
    const struct params *p = &req->params;
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    ARG_KEY(a, STOCK_SET_K_STOCK, ns, KEY_STOCK, &p->sku);
    ARG_KEY(a, STOCK_SET_K_EVENTS, ns, KEY_EVENTS, NULL);
    ARG_KEY(a, STOCK_SET_K_STOCK_EVENTS, ns, KEY_STOCK_EVENTS, NULL);
    ARG_IDENT(a, STOCK_SET_K_FIXED + STOCK_SET_A_LOCATION, &p->location);
    ARG_INT(a, STOCK_SET_K_FIXED + STOCK_SET_A_ON_HAND, p->on_hand);
    ARGS_AT(a, STOCK_SET_K_FIXED + STOCK_SET_A_SAFETY);
    if (p->present & HAS_SAFETY_STOCK)
        args_add_int(a, p->safety_stock);
    else
        args_add(a, "", 0); /* keep the current one */
    ARG_IDENT(a, STOCK_SET_K_FIXED + STOCK_SET_A_SKU, &p->sku);
    ARG_INT(a, STOCK_SET_K_FIXED + STOCK_SET_A_MAXLEN, request_cfg(req)->ledger_maxlen);
    ARGS_AT(a, STOCK_SET_K_FIXED + STOCK_SET_A_BACKORDER);
    if (p->present & HAS_BACKORDER_LIMIT)
        args_add_int(a, p->backorder_limit);
    else
        args_add(a, "", 0);
    ARGS_AT(a, STOCK_SET_K_FIXED + STOCK_SET_A_LOW_STOCK);
    if (p->present & CLEAR_LOW_STOCK)
        args_add(a, "none", 4);
    else if (p->present & HAS_LOW_STOCK)
        args_add_int(a, p->low_stock_threshold);
    else
        args_add(a, "", 0);
    request_call(req, SCRIPT_STOCK_SET, STOCK_SET_K_FIXED, STOCK_SET_STATUSES, stock_set_reply);
}

/* A row's counts from element at on: on_hand, reserved, safety_stock,
 * backorder_limit, low_stock_threshold ("" for none). */
static void read_row(struct reply *rd, size_t at, struct stock_row *row)
{
    row->on_hand = reply_int(rd, at);
    row->reserved = reply_int(rd, at + 1);
    row->safety_stock = reply_int(rd, at + 2);
    row->backorder_limit = reply_int(rd, at + 3);
    row->low_stock_threshold =
        reply_str(rd, at + 4).n == 0 ? -1 : reply_int_text(rd, at + 4, 0, STOCK_MAX);
}

/* stock.set and stock.adjust share their success reply: {OK, row}. */
static void write_row(struct request *req, struct reply *rd)
{
    const struct params *p = &req->params;
    reply_expect(rd, 6);
    struct stock_row row = {.location = p->location.s};
    read_row(rd, 1, &row);
    if (rd->bad)
        return;
    result_row(request_result(req), p->sku.s, &row);
    request_finish(req);
}

/* {OK, ...row} or {BELOW_RESERVED, reserved}. */
static void stock_set_reply(struct request *req, struct reply *rd)
{
    if (reply_status(rd) == STOCK_SET_ST_OK) {
        write_row(req, rd);
        return;
    }
    reply_expect(rd, 2);
    struct rpc_error err;
    rpc_error_set(&err, E_CONFLICT);
    err.reason = "below_reserved";
    err.message = "on_hand cannot be set below the units reserved there.";
    err.has_reserved = true;
    err.reserved = reply_int(rd, 1);
    if (!rd->bad)
        request_fail(req, &err);
}

/* --- stock.adjust: lua/stock_adjust.lua --------------------------------- */

static void stock_adjust_reply(struct request *req, struct reply *rd);

void stock_adjust(struct request *req)
{
    const struct params *p = &req->params;
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    ARG_KEY(a, STOCK_ADJUST_K_STOCK, ns, KEY_STOCK, &p->sku);
    ARG_KEY(a, STOCK_ADJUST_K_EVENTS, ns, KEY_EVENTS, NULL);
    ARG_KEY(a, STOCK_ADJUST_K_STOCK_EVENTS, ns, KEY_STOCK_EVENTS, NULL);
    ARG_IDENT(a, STOCK_ADJUST_K_FIXED + STOCK_ADJUST_A_LOCATION, &p->location);
    ARG_INT(a, STOCK_ADJUST_K_FIXED + STOCK_ADJUST_A_DELTA, p->delta);
    ARG_INT(a, STOCK_ADJUST_K_FIXED + STOCK_ADJUST_A_MAX, STOCK_MAX);
    ARG_IDENT(a, STOCK_ADJUST_K_FIXED + STOCK_ADJUST_A_SKU, &p->sku);
    ARG_INT(a, STOCK_ADJUST_K_FIXED + STOCK_ADJUST_A_MAXLEN, request_cfg(req)->ledger_maxlen);
    ARG_STR(a, STOCK_ADJUST_K_FIXED + STOCK_ADJUST_A_REASON,
            (p->present & HAS_REASON) ? p->reason : STR_LIT(""));
    request_call(req, SCRIPT_STOCK_ADJUST, STOCK_ADJUST_K_FIXED, STOCK_ADJUST_STATUSES,
                 stock_adjust_reply);
}

/* {OK, ...row}, {SHORT, requested, available} or {TOO_LARGE}. */
static void stock_adjust_reply(struct request *req, struct reply *rd)
{
    const struct params *p = &req->params;
    struct rpc_error err;
    switch (reply_status(rd)) {
    case STOCK_ADJUST_ST_OK:
        write_row(req, rd);
        return;
    case STOCK_ADJUST_ST_SHORT:
        reply_expect(rd, 3);
        rpc_error_set(&err, E_OUT_OF_STOCK);
        err.message = "The adjustment would take on_hand below the units reserved there.";
        err.sku = p->sku.s;
        err.location = p->location.s;
        err.has_quantities = true;
        err.requested = reply_int(rd, 1);
        err.available = reply_int(rd, 2);
        if (!rd->bad)
            request_fail(req, &err);
        return;
    case STOCK_ADJUST_ST_TOO_LARGE:
        reply_expect(rd, 1);
        rpc_error_param(&err, "delta", "on_hand would exceed 1000000000000000.");
        if (!rd->bad)
            request_fail(req, &err);
        return;
    }
}

/* --- stock.get: lua/stock_get.lua --------------------------------------- */

/* {OK, location, row..., ...}: one group of six per location,
 * unordered. */
static void stock_get_reply(struct request *req, struct reply *rd)
{
    struct request_scratch *sc = request_scratch(req);
    size_t count = reply_count(rd);
    if ((count - 1) % 6 != 0)
        rd->bad = true;
    size_t n = (count - 1) / 6;
    sc->rows = xgrow(sc->rows, &sc->rows_cap, n, sizeof *sc->rows);
    for (size_t i = 0; i < n; i++) {
        struct stock_row *row = &sc->rows[i];
        row->location = reply_str(rd, 1 + 6 * i);
        read_row(rd, 2 + 6 * i, row);
    }
    if (rd->bad)
        return;
    stock_rows_sort(sc->rows, n);
    result_stock(request_result(req), req->params.sku.s, sc->rows, n);
    request_finish(req);
}

void stock_get(struct request *req)
{
    const struct params *p = &req->params;
    struct args *a = request_args(req);
    ARG_KEY(a, STOCK_GET_K_STOCK, request_ns(req), KEY_STOCK, &p->sku);
    for (unsigned i = 0; i < p->n_locations; i++)
        args_add_ident(a, &p->locations[i]);
    request_call(req, SCRIPT_STOCK_GET, STOCK_GET_K_FIXED, STOCK_GET_STATUSES, stock_get_reply);
}

/* --- channel.set and channel.get: lua/channel_set.lua, channel_get.lua --- */

/* Adds the rules of p comma-joined, or "" when it has none (the default). */
static void rules_add(struct args *a, const struct params *p)
{
    char text[MAX_RULES * 16];
    size_t n = 0;
    for (unsigned i = 0; i < p->n_rules; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", i ? "," : "",
                              rule_name(p->rules[i]));
    args_add(a, text, n);
}

/* Rules as stored: "" or rule names, comma-joined. */
static bool rules_valid(struct str rules)
{
    size_t at = 0;
    struct str rule;
    while (str_split(rules, ',', &at, &rule))
        if (rule_lookup(rule) < 0)
            return false;
    return true;
}

/* {OK, rules, location, ...} (channel.get also {UNKNOWN}; both scripts
 * number OK the same, checked below). */
static void channel_reply(struct request *req, struct reply *rd)
{
    _Static_assert((int)CHANNEL_SET_ST_OK == (int)CHANNEL_GET_ST_OK, "one reader for both");
    if (reply_status(rd) != CHANNEL_GET_ST_OK) {
        reply_expect(rd, 1);
        if (!rd->bad)
            request_fail_with(req, E_UNKNOWN_CHANNEL);
        return;
    }
    struct request_scratch *sc = request_scratch(req);
    size_t n = reply_count(rd) > 2 ? reply_count(rd) - 2 : 0;
    struct str rules = reply_str(rd, 1);
    sc->strs = xgrow(sc->strs, &sc->strs_cap, n, sizeof *sc->strs);
    for (size_t i = 0; i < n; i++)
        sc->strs[i] = reply_str(rd, 2 + i);
    if (n == 0 || !rules_valid(rules))
        rd->bad = true;
    if (rd->bad)
        return;
    result_channel(request_result(req), req->params.channel.s, sc->strs, n, rules);
    request_finish(req);
}

void channel_set(struct request *req)
{
    const struct params *p = &req->params;
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    ARG_KEY(a, CHANNEL_SET_K_CHANNEL, ns, KEY_CHANNEL, &p->channel);
    ARG_KEY(a, CHANNEL_SET_K_RULES, ns, KEY_RULES, &p->channel);
    ARGS_AT(a, CHANNEL_SET_K_FIXED + CHANNEL_SET_A_RULES);
    rules_add(a, p);
    for (unsigned i = 0; i < p->n_locations; i++)
        args_add_ident(a, &p->locations[i]);
    request_call(req, SCRIPT_CHANNEL_SET, CHANNEL_SET_K_FIXED, CHANNEL_SET_STATUSES, channel_reply);
}

void channel_get(struct request *req)
{
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    ARG_KEY(a, CHANNEL_GET_K_CHANNEL, ns, KEY_CHANNEL, &req->params.channel);
    ARG_KEY(a, CHANNEL_GET_K_RULES, ns, KEY_RULES, &req->params.channel);
    request_call(req, SCRIPT_CHANNEL_GET, CHANNEL_GET_K_FIXED, CHANNEL_GET_STATUSES, channel_reply);
}
