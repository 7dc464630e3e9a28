/* The reserve family (see reserve.h): one call of lua/reserve.lua, which
 * either holds the stock (giving back due holds on its own skus first when
 * it runs short), or says the order_id is bound already (then the bound
 * reservation is replayed, reservation.c), or answers out of stock. */
#include "reserve.h"

#include <string.h>

#include "keys.h"
#include "request.h"
#include "reservation.h"
#include "route.h"

/* A reserve's own state, in req->ctx. */
struct reserve_ctx {
    struct replay_ctx replay;    /* first: reservation_replay's */
    char id[REQUEST_ID_LEN + 1]; /* the new reservation's id */
    /* The reservation the order binding named; from the replay on, when its
     * record was gone, the binding the script takes as absent. */
    char bound[IDENT_MAX + 1];
    size_t bound_len;
    bool rebound; /* the binding was taken as absent once */
};

static void reserve_reply(struct request *req, struct reply *rd);

/* The order's route for the script (route.h): "" when it has no
 * destination, no max_distance_km and does not ask to explain. */
static void route_add(struct request *req, struct args *a)
{
    const struct params *p = &req->params;
    if (!(p->present & (HAS_DESTINATION | HAS_MAX_DISTANCE)) && !p->explain) {
        args_add(a, "", 0);
        return;
    }
    struct route r = {
        .has_dest = (p->present & HAS_DESTINATION) != 0,
        .lat = p->destination.at.lat,
        .lng = p->destination.at.lng,
        .zone = (p->present & HAS_DEST_ZONE) ? p->destination.zone.s : STR_LIT(""),
        .has_max = (p->present & HAS_MAX_DISTANCE) != 0,
        .max_km = p->max_distance_km,
        .explain = p->explain,
    };
    struct buf *packed = &request_scratch(req)->json;
    buf_reset(packed);
    route_pack(packed, &r);
    args_add(a, packed->data, packed->len);
}

static void reserve_call(struct request *req)
{
    struct reserve_ctx *ctx = REQUEST_CTX(req, struct reserve_ctx);
    const struct params *p = &req->params;
    const struct ident *ns = request_ns(req);
    struct ident rid, channel;
    ident_check(ctx->id, REQUEST_ID_LEN, &rid);
    const struct ident *order = (p->present & HAS_ORDER_ID) ? &p->order_id : NULL;
    if (p->present & HAS_CHANNEL)
        channel = p->channel;
    else
        ident_check("default", 7, &channel);

    /* One order's call; the store coalesces it with the others of this loop
     * iteration (reserve.h). */
    struct args *a = request_args(req);
    ARG_KEY(a, RESERVE_K_DUE, ns, KEY_DUE, NULL);
    ARG_KEY(a, RESERVE_K_EVENTS, ns, KEY_EVENTS, NULL);
    ARG_KEY(a, RESERVE_K_LOCATIONS, ns, KEY_LOCATIONS, NULL);
    ARG_KEY(a, RESERVE_K_STOCK_EVENTS, ns, KEY_STOCK_EVENTS, NULL);
    int kb = RESERVE_K_FIXED;
    ARG_KEY(a, kb + RESERVE_EK_RES, ns, KEY_RES, &rid);
    /* No order_id: no binding, and the key is one of its own, unused. */
    ARG_KEY(a, kb + RESERVE_EK_ORDER, ns, order ? KEY_ORDER : KEY_RES, order ? order : &rid);
    ARG_KEY(a, kb + RESERVE_EK_CHANNEL, ns, KEY_CHANNEL, &channel);
    ARG_KEY(a, kb + RESERVE_EK_RULES, ns, KEY_RULES, &channel);
    for (unsigned i = 0; i < p->n_items; i++)
        args_add_key(a, ns, KEY_STOCK, &p->items[i].sku);
    for (unsigned i = 0; i < p->n_items; i++)
        args_add_key(a, ns, KEY_HOLDS, &p->items[i].sku);
    int nkeys = a->n;

    ARG_INT(a, nkeys + RESERVE_A_MAXLEN, request_cfg(req)->ledger_maxlen);
    int ab = nkeys + RESERVE_A_FIXED;
    ARG_IDENT(a, ab + RESERVE_EA_ID, &rid);
    ARG_STR(a, ab + RESERVE_EA_ORDER_ID, order ? order->s : STR_LIT(""));
    ARG_INT(a, ab + RESERVE_EA_TTL, p->ttl_ms);
    const char *strategy = strategy_name(p->strategy);
    ARG_BYTES(a, ab + RESERVE_EA_STRATEGY, strategy, strlen(strategy));
    ARG_BYTES(a, ab + RESERVE_EA_STALE, ctx->bound, ctx->rebound ? ctx->bound_len : 0);
    ARGS_AT(a, ab + RESERVE_EA_ROUTE);
    route_add(req, a);
    ARG_INT(a, ab + RESERVE_EA_FLAGS,
            (p->allow_backorder ? HOLD_BACKORDER : 0) | (p->allow_partial ? HOLD_PARTIAL : 0));
    ARG_IDENT(a, ab + RESERVE_EA_CHANNEL, &channel);
    ARG_INT(a, ab + RESERVE_EA_N, p->n_items);
    for (unsigned i = 0; i < p->n_items; i++) {
        args_add_ident(a, &p->items[i].sku);
        args_add_int(a, p->items[i].quantity);
    }
    args_add_int(a, p->n_locations);
    for (unsigned i = 0; i < p->n_locations; i++)
        args_add_ident(a, &p->locations[i]);
    request_call_batched(req, SCRIPT_RESERVE, nkeys, RESERVE_K_FIXED, RESERVE_A_FIXED,
                         RESERVE_STATUSES, reserve_reply);
}

void reserve_order(struct request *req)
{
    struct reserve_ctx *ctx = REQUEST_CTX(req, struct reserve_ctx);
    request_random_id(req, ctx->id);
    reserve_call(req);
}

/* The order binding named a reservation whose record has reached the end of
 * its retention since: the binding is as good as gone. Reserve again,
 * taking that binding as absent (once: a second one is a new binding). */
static void binding_gone(struct request *req)
{
    struct reserve_ctx *ctx = REQUEST_CTX(req, struct reserve_ctx);
    if (ctx->rebound) {
        request_fail_with(req, E_NOT_FOUND);
        return;
    }
    ctx->rebound = true;
    reserve_call(req);
}

/* The explain list: x groups of (location, distance_km, zone, priority)
 * from element at, as a JSON array in the scratch buffer; NULL p when the
 * order did not ask to explain. Returns the element after the groups. */
static size_t read_explain(struct request *req, struct reply *rd, size_t at, struct str *out)
{
    long long x = reply_int(rd, at);
    size_t count = reply_count(rd);
    *out = (struct str){NULL, 0};
    if (x < 0 || (size_t)x > (count - at - 1) / 4) {
        rd->bad = true;
        return count;
    }
    if (!req->params.explain) {
        if (x != 0)
            rd->bad = true;
        return at + 1;
    }
    struct buf *json = &request_scratch(req)->json;
    buf_reset(json);
    buf_appendc(json, '[');
    for (size_t i = 0, e = at + 1; i < (size_t)x; i++, e += 4)
        result_explain_entry(json, i == 0, reply_ident(rd, e).s, reply_number(rd, e + 1),
                             reply_opt_ident(rd, e + 2), reply_int(rd, e + 3));
    buf_appendc(json, ']');
    *out = (struct str){json->data, json->len};
    return at + 1 + 4 * (size_t)x;
}

/* {HELD, x, explain..., reservation...}, {BOUND, id},
 * {SHORT, sku, requested, available, x, explain...}, {NO_CHANNEL} or
 * {BROKEN, why}. */
static void reserve_reply(struct request *req, struct reply *rd)
{
    struct reserve_ctx *ctx = REQUEST_CTX(req, struct reserve_ctx);
    struct request_scratch *sc = request_scratch(req);
    struct reservation r;
    struct rpc_error err;
    struct ident bound;
    struct str why, explain;
    size_t at;
    switch (reply_status(rd)) {
    case RESERVE_ST_HELD:
        at = read_explain(req, rd, 1, &explain);
        reply_reservation(rd, at, &r, &sc->res);
        if (rd->bad)
            return;
        r.explain = explain;
        r.has_replayed = true;
        request_note_hold(req, r.expires_at - r.created_at); /* the sweeper's hint */
        result_reservation(request_result(req), &r);
        request_finish(req);
        return;
    case RESERVE_ST_BOUND:
        reply_expect(rd, 2);
        bound = reply_ident(rd, 1);
        if (rd->bad)
            return;
        memcpy(ctx->bound, bound.s.p, bound.s.n);
        ctx->bound_len = bound.s.n;
        ident_check(ctx->bound, ctx->bound_len, &bound); /* now our own copy */
        reservation_replay(req, &bound, binding_gone);
        return;
    case RESERVE_ST_SHORT:
        rpc_error_set(&err, E_OUT_OF_STOCK);
        reply_expect(rd, read_explain(req, rd, 4, &err.explain));
        err.sku = reply_ident(rd, 1).s;
        err.has_quantities = true;
        err.requested = reply_int(rd, 2);
        err.available = reply_int(rd, 3);
        if (rd->bad)
            return;
        request_metrics(req)->out_of_stock++;
        request_fail(req, &err);
        return;
    case RESERVE_ST_NO_CHANNEL:
        reply_expect(rd, 1);
        if (!rd->bad)
            request_fail_with(req, E_UNKNOWN_CHANNEL);
        return;
    case RESERVE_ST_BROKEN:
        reply_expect(rd, 2);
        why = reply_str(rd, 1);
        if (!rd->bad)
            request_fail_broken(req, why);
        return;
    }
}
