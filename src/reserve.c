/* The reserve family (see reserve.h): one call of lua/reserve.lua, which
 * either holds the stock, or says the order_id is bound already (then the
 * bound reservation is replayed, reservation.c), or that holds are due and a
 * sweep may free what is missing (then the reserve waits for a sweep and
 * asks once more). */
#include "reserve.h"

#include <string.h>

#include "keys.h"
#include "request.h"
#include "reservation.h"
#include "sweeper.h"

/* A reserve's own state, in req->ctx. */
struct reserve_ctx {
    char id[REQUEST_ID_LEN + 1]; /* the new reservation's id */
    bool swept;                  /* this is the retry after a sweep */
    struct sweep_waiter waiter;
};

static void reserve_reply(struct request *req, struct reply *rd);

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

    struct args *a = request_args(req);
    ARG_KEY(a, RESERVE_K_EXPIRY, ns, KEY_EXPIRY, NULL);
    ARG_KEY(a, RESERVE_K_RES, ns, KEY_RES, &rid);
    /* No order_id: no binding, and the key is one of its own, unused. */
    ARG_KEY(a, RESERVE_K_ORDER, ns, order ? KEY_ORDER : KEY_RES, order ? order : &rid);
    ARG_KEY(a, RESERVE_K_CHANNEL, ns, KEY_CHANNEL, &channel);
    ARG_KEY(a, RESERVE_K_EVENTS, ns, KEY_EVENTS, NULL);
    for (unsigned i = 0; i < p->n_items; i++)
        args_add_key(a, ns, KEY_STOCK, &p->items[i].sku);
    int nkeys = a->n;

    ARG_IDENT(a, nkeys + RESERVE_A_ID, &rid);
    ARG_STR(a, nkeys + RESERVE_A_ORDER_ID, order ? order->s : STR_LIT(""));
    ARG_INT(a, nkeys + RESERVE_A_TTL, p->ttl_ms);
    const char *strategy = strategy_name(p->strategy);
    ARG_BYTES(a, nkeys + RESERVE_A_STRATEGY, strategy, strlen(strategy));
    ARG_INT(a, nkeys + RESERVE_A_MAXLEN, request_cfg(req)->ledger_maxlen);
    /* The first attempt may ask for a sweep; the retry after it may not. */
    ARG_BYTES(a, nkeys + RESERVE_A_MAY_SWEEP, ctx->swept ? "0" : "1", 1);
    ARG_INT(a, nkeys + RESERVE_A_N, p->n_items);
    for (unsigned i = 0; i < p->n_items; i++) {
        args_add_ident(a, &p->items[i].sku);
        args_add_int(a, p->items[i].quantity);
    }
    args_add_int(a, p->n_locations);
    for (unsigned i = 0; i < p->n_locations; i++)
        args_add_ident(a, &p->locations[i]);
    request_call(req, SCRIPT_RESERVE, nkeys, RESERVE_STATUSES, reserve_reply);
}

void reserve_order(struct request *req)
{
    struct reserve_ctx *ctx = REQUEST_CTX(req, struct reserve_ctx);
    request_random_id(req, ctx->id);
    reserve_call(req);
}

static struct request *request_of_waiter(struct sweep_waiter *w)
{
    struct reserve_ctx *ctx = container_of(w, struct reserve_ctx, waiter);
    return container_of(ctx, struct request, ctx);
}

static void after_sweep(struct sweep_waiter *w)
{
    request_wake(request_of_waiter(w), reserve_call);
}

/* {HELD, reservation...}, {BOUND, id}, {SWEEP}, {SHORT, sku, requested,
 * available} or {NO_CHANNEL}. */
static void reserve_reply(struct request *req, struct reply *rd)
{
    struct reserve_ctx *ctx = REQUEST_CTX(req, struct reserve_ctx);
    struct request_scratch *sc = request_scratch(req);
    struct reservation r;
    struct rpc_error err;
    struct ident bound;
    switch (reply_status(rd)) {
    case RESERVE_ST_HELD:
        reply_reservation(rd, 1, &r, &sc->allocs, &sc->allocs_cap);
        if (rd->bad)
            return;
        r.has_replayed = true;
        result_reservation(request_result(req), &r);
        request_finish(req);
        return;
    case RESERVE_ST_BOUND:
        reply_expect(rd, 2);
        bound = reply_ident(rd, 1);
        if (!rd->bad)
            reservation_replay(req, &bound);
        return;
    case RESERVE_ST_SWEEP:
        reply_expect(rd, 1);
        if (rd->bad || ctx->swept)
            return; /* a retry may not ask again: the kernel answers -32603 */
        ctx->swept = true;
        ctx->waiter.fn = after_sweep;
        request_park(req);
        sweeper_kick(request_sweeper(req), &ctx->waiter);
        return;
    case RESERVE_ST_SHORT:
        reply_expect(rd, 4);
        rpc_error_set(&err, E_OUT_OF_STOCK);
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
    }
}
