/* The reservation family (see reservation.h): reservation.get and the
 * replay of a bound reserve (lua/reservation_get.lua), and commit,
 * release and extend, which are transitions (transition.c) whose results
 * this file turns into answers. */
#include "reservation.h"

#include "keys.h"
#include "request.h"
#include "transition.h"

/* The conflicts a reservation can be in, with what they tell a client. */
enum conflict { CONFLICT_EXPIRED, CONFLICT_RELEASED, CONFLICT_COMMITTED };

static const struct {
    const char *reason;
    const char *message;
} conflicts[] = {
    [CONFLICT_EXPIRED] = {"expired", "The reservation expired; its units went back to stock."},
    [CONFLICT_RELEASED] = {"released", "The reservation was released."},
    [CONFLICT_COMMITTED] = {"committed", "The reservation is committed."},
};

static void fail_conflict(struct request *req, enum conflict c)
{
    struct rpc_error err;
    rpc_error_set(&err, E_CONFLICT);
    err.reason = conflicts[c].reason;
    err.message = conflicts[c].message;
    request_fail(req, &err);
}

/* Answers the reservation whose body starts at element 1 of rd. */
static void answer_reservation(struct request *req, struct reply *rd, bool has_replayed,
                               bool replayed)
{
    struct request_scratch *sc = request_scratch(req);
    struct reservation r;
    reply_reservation(rd, 1, &r, &sc->res);
    if (rd->bad)
        return;
    r.has_replayed = has_replayed;
    r.replayed = replayed;
    result_reservation(request_result(req), &r);
    request_finish(req);
}

/* --- reservation.get and the replay: lua/reservation_get.lua ------------- */

/* {FOUND | REPLAYED, reservation...}, {NOT_FOUND} or {MISMATCH}. */
static void reservation_get_reply(struct request *req, struct reply *rd)
{
    switch (reply_status(rd)) {
    case RESERVATION_GET_ST_FOUND:
        answer_reservation(req, rd, false, false);
        return;
    case RESERVATION_GET_ST_REPLAYED:
        answer_reservation(req, rd, true, true);
        return;
    case RESERVATION_GET_ST_NOT_FOUND:
        reply_expect(rd, 1);
        if (rd->bad)
            return;
        if (REQUEST_CTX(req, struct replay_ctx)->gone != NULL)
            REQUEST_CTX(req, struct replay_ctx)->gone(req);
        else
            request_fail_with(req, E_NOT_FOUND);
        return;
    case RESERVATION_GET_ST_MISMATCH:
        reply_expect(rd, 1);
        if (!rd->bad)
            request_fail_with(req, E_IDEMPOTENCY);
        return;
    }
}

static void reservation_get_call(struct request *req, const struct ident *id, bool replay)
{
    struct args *a = request_args(req);
    ARG_KEY(a, RESERVATION_GET_K_RES, request_ns(req), KEY_RES, id);
    ARG_IDENT(a, RESERVATION_GET_K_FIXED + RESERVATION_GET_A_ID, id);
    ARGS_AT(a, RESERVATION_GET_K_FIXED + RESERVATION_GET_A_MODE);
    if (replay) {
        args_add(a, "replay", 6);
        for (unsigned i = 0; i < req->params.n_items; i++) {
            args_add_ident(a, &req->params.items[i].sku);
            args_add_int(a, req->params.items[i].quantity);
        }
    } else {
        args_add(a, "get", 3);
    }
    request_call(req, SCRIPT_RESERVATION_GET, RESERVATION_GET_K_FIXED, RESERVATION_GET_STATUSES,
                 reservation_get_reply);
}

void reservation_get(struct request *req)
{
    REQUEST_CTX(req, struct replay_ctx)->gone = NULL;
    reservation_get_call(req, &req->params.reservation_id, false);
}

void reservation_replay(struct request *req, const struct ident *id,
                        void (*gone)(struct request *req))
{
    REQUEST_CTX(req, struct replay_ctx)->gone = gone;
    reservation_get_call(req, id, true);
}

/* --- commit, release and extend: transitions ------------------------------------ */

static struct request *request_of(struct transition *t)
{
    return t->data;
}

static void transition_on_reply(struct request *req, struct reply *rd)
{
    /* A bad reply stays bad: the kernel answers it -32603. */
    transition_reply(REQUEST_CTX(req, struct transition), rd);
}

static void transition_send(struct transition *t, enum script_id script, int nkeys, int n_status)
{
    request_call(request_of(t), script, nkeys, n_status, transition_on_reply);
}

static void answer_result(struct request *req, const struct transition_result *res)
{
    result_reservation(request_result(req), &res->res);
    request_finish(req);
}

static void commit_done(struct transition *t, const struct transition_result *res)
{
    struct request *req = request_of(t);
    switch (res->status) {
    case COMMIT_ST_COMMITTED:
        answer_result(req, res);
        return;
    case COMMIT_ST_NOT_FOUND:
        request_fail_with(req, E_NOT_FOUND);
        return;
    case COMMIT_ST_EXPIRED:
        fail_conflict(req, CONFLICT_EXPIRED);
        return;
    case COMMIT_ST_RELEASED:
        fail_conflict(req, CONFLICT_RELEASED);
        return;
    }
    /* KEYS_MISSING never comes here (transition.c plans again, then gives
     * up with a bad reply); the kernel answers anything left. */
}

static void release_done(struct transition *t, const struct transition_result *res)
{
    struct request *req = request_of(t);
    struct metrics *m = request_metrics(req);
    switch (res->status) {
    case RELEASE_ST_RELEASED:
        m->compensations[RELEASED_FROM_HELD]++;
        answer_result(req, res);
        return;
    case RELEASE_ST_RESTOCKED:
        m->compensations[RELEASED_FROM_COMMITTED]++;
        answer_result(req, res);
        return;
    case RELEASE_ST_EXPIRED:
    case RELEASE_ST_UNCHANGED:
        answer_result(req, res);
        return;
    case RELEASE_ST_NOT_FOUND:
        request_fail_with(req, E_NOT_FOUND);
        return;
    }
}

static void extend_done(struct transition *t, const struct transition_result *res)
{
    struct request *req = request_of(t);
    switch (res->status) {
    case EXTEND_ST_EXTENDED:
        answer_result(req, res);
        return;
    case EXTEND_ST_NOT_FOUND:
        request_fail_with(req, E_NOT_FOUND);
        return;
    case EXTEND_ST_EXPIRED:
        fail_conflict(req, CONFLICT_EXPIRED);
        return;
    case EXTEND_ST_COMMITTED:
        fail_conflict(req, CONFLICT_COMMITTED);
        return;
    case EXTEND_ST_RELEASED:
        fail_conflict(req, CONFLICT_RELEASED);
        return;
    }
}

/* --- reservation.update and reservation.transfer --------------------------- */

/* Both answer the reservation with `changed`, or one of these (their
 * statuses differ in number, not in meaning). */
enum change_failure { NOT_FOUND, NOT_HELD, NOT_A_LINE, NO_LINE_LEFT, NOT_AT, SHORT };

static void answer_changed(struct request *req, const struct transition_result *res, bool changed)
{
    struct reservation r = res->res;
    r.has_changed = true;
    r.changed = changed;
    result_reservation(request_result(req), &r);
    request_finish(req);
}

/* The failure whose reply is rd: {status, data...}. */
static void fail_change(struct request *req, enum change_failure f, struct reply *rd)
{
    struct rpc_error err;
    switch (f) {
    case NOT_FOUND:
        reply_expect(rd, 1);
        rpc_error_set(&err, E_NOT_FOUND);
        break;
    case NOT_HELD:
        reply_expect(rd, 2);
        rpc_error_set(&err, E_CONFLICT);
        err.reason = "not_held";
        err.message = "The reservation is not held: only a held reservation can change.";
        err.status = reply_ident(rd, 1).s;
        break;
    case NOT_A_LINE:
        reply_expect(rd, 2);
        rpc_error_param(&err, req->method == METHOD_RESERVATION_TRANSFER ? "sku" : "items",
                        "The reservation has no line of that sku.");
        err.sku = reply_ident(rd, 1).s;
        break;
    case NO_LINE_LEFT:
        reply_expect(rd, 1);
        rpc_error_param(&err, "items", "At least one line must keep a quantity above 0.");
        break;
    case NOT_AT:
        reply_expect(rd, 2);
        rpc_error_set(&err, E_CONFLICT);
        err.reason = "not_at_location";
        err.message = "The line does not hold that many units at that location.";
        err.location = req->params.from.s;
        err.has_held = true;
        err.held = reply_int(rd, 1);
        break;
    case SHORT:
        reply_expect(rd, 4);
        rpc_error_set(&err, E_OUT_OF_STOCK);
        err.sku = reply_ident(rd, 1).s;
        err.has_quantities = true;
        err.requested = reply_int(rd, 2);
        err.available = reply_int(rd, 3);
        break;
    }
    if (!rd->bad)
        request_fail(req, &err);
}

static void update_done(struct transition *t, const struct transition_result *res)
{
    struct request *req = request_of(t);
    static const enum change_failure failures[UPDATE_STATUSES] = {
        [UPDATE_ST_NOT_FOUND] = NOT_FOUND,   [UPDATE_ST_NOT_HELD] = NOT_HELD,
        [UPDATE_ST_NOT_A_LINE] = NOT_A_LINE, [UPDATE_ST_NO_LINE_LEFT] = NO_LINE_LEFT,
        [UPDATE_ST_SHORT] = SHORT,
    };
    if (res->has_reservation)
        answer_changed(req, res, res->status == UPDATE_ST_UPDATED);
    else if (res->status != UPDATE_ST_KEYS_MISSING)
        fail_change(req, failures[res->status], res->rd);
}

static void transfer_done(struct transition *t, const struct transition_result *res)
{
    struct request *req = request_of(t);
    static const enum change_failure failures[TRANSFER_STATUSES] = {
        [TRANSFER_ST_NOT_FOUND] = NOT_FOUND,   [TRANSFER_ST_NOT_HELD] = NOT_HELD,
        [TRANSFER_ST_NOT_A_LINE] = NOT_A_LINE, [TRANSFER_ST_NOT_AT] = NOT_AT,
        [TRANSFER_ST_SHORT] = SHORT,
    };
    if (res->has_reservation)
        answer_changed(req, res, res->status == TRANSFER_ST_MOVED);
    else if (res->status != TRANSFER_ST_KEYS_MISSING)
        fail_change(req, failures[res->status], res->rd);
}

static void start_transition(struct request *req, enum transition_kind kind,
                             transition_done_fn done)
{
    const struct params *p = &req->params;
    const struct config *cfg = request_cfg(req);
    struct request_scratch *sc = request_scratch(req);
    struct transition *t = REQUEST_CTX(req, struct transition);
    *t = (struct transition){
        .kind = kind,
        .ns = request_ns(req),
        .ids = &p->reservation_id,
        .k = 1,
        .reason = (p->present & HAS_REASON) ? p->reason : STR_LIT(""),
        .ttl_ms = kind == TRANSITION_EXTEND ? p->ttl_ms : 0,
        .params = p,
        .retention_s = cfg->retention_s,
        .ledger_maxlen = cfg->ledger_maxlen,
        .args = request_args(req),
        .skus = &sc->idents,
        .skus_cap = &sc->idents_cap,
        .res_scratch = &sc->res,
        .send = transition_send,
        .done = done,
        .data = req,
    };
    transition_start(t);
}

void reservation_commit(struct request *req)
{
    start_transition(req, TRANSITION_COMMIT, commit_done);
}

void reservation_release(struct request *req)
{
    start_transition(req, TRANSITION_RELEASE, release_done);
}

void reservation_extend(struct request *req)
{
    start_transition(req, TRANSITION_EXTEND, extend_done);
}

void reservation_update(struct request *req)
{
    start_transition(req, TRANSITION_UPDATE, update_done);
}

void reservation_transfer(struct request *req)
{
    start_transition(req, TRANSITION_TRANSFER, transfer_done);
}
