/* Requests from line to response (see service.h). Each method is one row of
 * the handler table: how to call its script, and how to read the reply. */
#include "service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "keys.h"
#include "log.h"
#include "result.h"

struct service {
    struct store *store;
    struct sweeper *sweeper;
    struct metrics *metrics;
    const struct config *cfg;
    struct limits limits;
    unsigned long long auth_failures;
    struct args args;         /* reused for every call: hiredis copies them */
    struct request *spare;    /* free list of requests */
    unsigned long inflight;
    unsigned char rnd[4096];  /* random bytes, refilled in bulk */
    size_t rnd_pos;
    struct stock_row *rows;   /* scratch for decoding replies */
    size_t rows_cap;
    struct allocation *allocs;
    size_t allocs_cap;
    struct str *strs;
    size_t strs_cap;
};

/* --- completing requests ----------------------------------------------- */

static void finish(struct request *req)
{
    if (req->rpc.id.kind == RPC_ID_NONE)
        buf_reset(&req->out); /* a notification is executed, never answered */
    req->done = true;
    req->svc->inflight--;
    if (req->session != NULL)
        req->session->inflight--;
    struct metrics *m = req->svc->metrics;
    m->inflight--;
    metrics_request(m, req->method_known ? (int)req->method : METHOD_COUNT, req->error,
                    req->started_ns);
    if (req->error == E_OUT_OF_STOCK && req->method_known && req->method == METHOD_RESERVE)
        m->out_of_stock++;
    req->on_done(req);
}

static void fail(struct request *req, const struct rpc_error *err)
{
    req->error = err->id;
    rpc_write_error(&req->out, &req->rpc.id, err);
    finish(req);
}

static void fail_with(struct request *req, enum error_id e)
{
    struct rpc_error err;
    rpc_error_set(&err, e);
    fail(req, &err);
}

void service_fail(struct request *req, const struct rpc_error *err)
{
    req->svc->inflight++;
    req->svc->metrics->inflight++;
    req->started_ns = metrics_now_ns();
    req->method_known = false;
    req->session = NULL; /* not counted against the connection */
    fail(req, err);
}

/* --- reading script replies -------------------------------------------- */

/* Scripts reply with flat arrays whose first element is a status code. A
 * reply of another shape is a bug; bad makes it an internal error. */
struct rd {
    const redisReply *r;
    bool bad;
};

static long long rd_int(struct rd *rd, size_t i)
{
    if (i >= rd->r->elements || rd->r->element[i]->type != REDIS_REPLY_INTEGER) {
        rd->bad = true;
        return 0;
    }
    return rd->r->element[i]->integer;
}

static struct str rd_str(struct rd *rd, size_t i)
{
    if (i >= rd->r->elements || rd->r->element[i]->type != REDIS_REPLY_STRING) {
        rd->bad = true;
        return (struct str){"", 0};
    }
    return (struct str){rd->r->element[i]->str, rd->r->element[i]->len};
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    *cap = n;
    return xrealloc(p, n * size);
}

static void begin_result(struct request *req)
{
    rpc_write_result_begin(&req->out, &req->rpc.id);
}

static void end_result(struct request *req)
{
    rpc_write_result_end(&req->out);
    finish(req);
}

/* --- per-method calls and replies -------------------------------------- */

static int call(struct request *req, enum script_id id, int nkeys);
static void on_store_reply(void *data, const redisReply *r, int err);
static void replay_reservation(struct request *req, struct str bound);

static const struct ident *ns(const struct request *req)
{
    return &req->svc->cfg->ns;
}

static struct str as_str(const struct ident *id)
{
    return (struct str){id->p, id->n};
}

static int stock_set_call(struct request *req)
{
    struct args *a = &req->svc->args;
    const struct params *p = &req->params;
    args_add_key(a, ns(req), KEY_STOCK, &p->sku);
    args_add_key(a, ns(req), KEY_EVENTS, NULL);
    args_add_ident(a, &p->location);
    args_add_int(a, p->on_hand);
    if (p->present & HAS_SAFETY_STOCK)
        args_add_int(a, p->safety_stock);
    else
        args_add(a, "", 0);
    args_add_ident(a, &p->sku);
    args_add_int(a, req->svc->cfg->ledger_maxlen);
    return call(req, SCRIPT_STOCK_SET, 2);
}

static int stock_adjust_call(struct request *req)
{
    struct args *a = &req->svc->args;
    const struct params *p = &req->params;
    args_add_key(a, ns(req), KEY_STOCK, &p->sku);
    args_add_key(a, ns(req), KEY_EVENTS, NULL);
    args_add_ident(a, &p->location);
    args_add_int(a, p->delta);
    args_add_int(a, STOCK_MAX);
    args_add_ident(a, &p->sku);
    args_add_int(a, req->svc->cfg->ledger_maxlen);
    args_add(a, p->reason.p, (p->present & HAS_REASON) ? p->reason.n : 0);
    return call(req, SCRIPT_STOCK_ADJUST, 2);
}

/* The reply of stock.set and stock.adjust: {0, on_hand, reserved, safety}. */
static void row_reply(struct request *req, struct rd *rd, long long code)
{
    const struct params *p = &req->params;
    struct rpc_error err;
    if (code == 1003) {
        rpc_error_set(&err, E_CONFLICT);
        err.reason = "below_reserved";
        err.message = "on_hand cannot be set below the units reserved there.";
        err.has_reserved = true;
        err.reserved = rd_int(rd, 2);
        if (!rd->bad)
            fail(req, &err);
        return;
    }
    if (code == 1001) {
        rpc_error_set(&err, E_OUT_OF_STOCK);
        err.message = "The adjustment would take on_hand below the units reserved there.";
        err.sku = p->sku.p;
        err.sku_len = p->sku.n;
        err.location = p->location.p;
        err.location_len = p->location.n;
        err.has_quantities = true;
        err.requested = rd_int(rd, 1);
        err.available = rd_int(rd, 2);
        if (!rd->bad)
            fail(req, &err);
        return;
    }
    if (code == -32602) {
        rpc_error_param(&err, "delta", "on_hand would exceed 1000000000000000.");
        fail(req, &err);
        return;
    }
    struct stock_row row = {as_str(&p->location), rd_int(rd, 1), rd_int(rd, 2), rd_int(rd, 3)};
    if (rd->bad || code != 0)
        return;
    begin_result(req);
    result_row(&req->out, as_str(&p->sku), &row);
    end_result(req);
}

static int stock_get_call(struct request *req)
{
    struct args *a = &req->svc->args;
    const struct params *p = &req->params;
    args_add_key(a, ns(req), KEY_STOCK, &p->sku);
    for (unsigned i = 0; i < p->n_locations; i++)
        args_add_ident(a, &p->locations[i]);
    return call(req, SCRIPT_STOCK_GET, 1);
}

static void stock_get_reply(struct request *req, struct rd *rd, long long code)
{
    struct service *svc = req->svc;
    size_t n = (rd->r->elements - 1) / 4;
    svc->rows = grow(svc->rows, &svc->rows_cap, n, sizeof *svc->rows);
    for (size_t i = 0; i < n; i++) {
        struct stock_row *row = &svc->rows[i];
        row->location = rd_str(rd, 1 + 4 * i);
        row->on_hand = rd_int(rd, 2 + 4 * i);
        row->reserved = rd_int(rd, 3 + 4 * i);
        row->safety_stock = rd_int(rd, 4 + 4 * i);
    }
    if (rd->bad || code != 0)
        return;
    stock_rows_sort(svc->rows, n);
    begin_result(req);
    result_stock(&req->out, as_str(&req->params.sku), svc->rows, n);
    end_result(req);
}

static int channel_set_call(struct request *req)
{
    struct args *a = &req->svc->args;
    const struct params *p = &req->params;
    args_add_key(a, ns(req), KEY_CHANNEL, &p->channel);
    for (unsigned i = 0; i < p->n_locations; i++)
        args_add_ident(a, &p->locations[i]);
    return call(req, SCRIPT_CHANNEL_SET, 1);
}

static int channel_get_call(struct request *req)
{
    args_add_key(&req->svc->args, ns(req), KEY_CHANNEL, &req->params.channel);
    return call(req, SCRIPT_CHANNEL_GET, 1);
}

static void channel_reply(struct request *req, struct rd *rd, long long code)
{
    struct service *svc = req->svc;
    if (code == 1005) {
        fail_with(req, E_UNKNOWN_CHANNEL);
        return;
    }
    size_t n = rd->r->elements - 1;
    svc->strs = grow(svc->strs, &svc->strs_cap, n, sizeof *svc->strs);
    for (size_t i = 0; i < n; i++)
        svc->strs[i] = rd_str(rd, 1 + i);
    if (rd->bad || code != 0)
        return;
    begin_result(req);
    result_channel(&req->out, as_str(&req->params.channel), svc->strs, n);
    end_result(req);
}

/* 128 random bits as 22 characters of a base64 alphabet whose two symbols
 * are '.' and '_' (all allowed in identifiers, and never '-', so an id can
 * not be mistaken for an option on a command line): unguessable, and
 * shorter than hex in the key, the expiry index and the ledger. Random
 * bytes come from getrandom in bulk. */
#define RESERVATION_ID_LEN 22

static void new_reservation_id(struct service *svc, char out[RESERVATION_ID_LEN + 1])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
    if (svc->rnd_pos + 16 > sizeof svc->rnd) {
        size_t got = 0;
        while (got < sizeof svc->rnd) {
            ssize_t n = getrandom(svc->rnd + got, sizeof svc->rnd - got, 0);
            if (n < 0 && errno != EINTR) {
                log_error("getrandom failed: %s", strerror(errno));
                abort();
            }
            if (n > 0)
                got += (size_t)n;
        }
        svc->rnd_pos = 0;
    }
    const unsigned char *r = svc->rnd + svc->rnd_pos;
    unsigned acc = 0;
    int bits = 0, n = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | r[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = b64[(acc >> bits) & 63];
        }
    }
    out[n++] = b64[(acc << (6 - bits)) & 63]; /* the last 2 bits */
    out[n] = '\0';
    /* Used bytes are wiped so no id can be read back from memory later. */
    memset(svc->rnd + svc->rnd_pos, 0, 16);
    svc->rnd_pos += 16;
}

static int reserve_call(struct request *req)
{
    struct service *svc = req->svc;
    struct args *a = &svc->args;
    const struct params *p = &req->params;
    struct ident default_channel;
    ident_check("default", 7, &default_channel);

    new_reservation_id(svc, req->new_id);
    struct ident rid;
    ident_check(req->new_id, RESERVATION_ID_LEN, &rid);

    args_add_key(a, ns(req), KEY_EXPIRY, NULL);
    args_add_key(a, ns(req), KEY_RES, &rid);
    if (p->present & HAS_ORDER_ID)
        args_add_key(a, ns(req), KEY_ORDER, &p->order_id);
    else
        args_add_key(a, ns(req), KEY_EXPIRY, NULL); /* unused placeholder */
    args_add_key(a, ns(req), KEY_CHANNEL,
                 (p->present & HAS_CHANNEL) ? &p->channel : &default_channel);
    args_add_key(a, ns(req), KEY_EVENTS, NULL);
    for (unsigned i = 0; i < p->n_items; i++)
        args_add_key(a, ns(req), KEY_STOCK, &p->items[i].sku);
    int nkeys = a->n;

    args_add_ident(a, &rid);
    if (p->present & HAS_ORDER_ID)
        args_add_ident(a, &p->order_id);
    else
        args_add(a, "", 0);
    args_add_int(a, p->ttl_ms);
    args_add(a, strategy_name(p->strategy), strlen(strategy_name(p->strategy)));
    args_add_int(a, svc->cfg->ledger_maxlen);
    /* The first attempt may ask for a sweep; the retry after it may not. */
    args_add(a, req->stage == 0 ? "1" : "0", 1);
    args_add_int(a, p->n_items);
    for (unsigned i = 0; i < p->n_items; i++) {
        args_add_ident(a, &p->items[i].sku);
        args_add_int(a, p->items[i].quantity);
    }
    args_add_int(a, p->n_locations);
    for (unsigned i = 0; i < p->n_locations; i++)
        args_add_ident(a, &p->locations[i]);
    return call(req, SCRIPT_RESERVE, nkeys);
}

static int reservation_get_call(struct request *req)
{
    struct args *a = &req->svc->args;
    args_add_key(a, ns(req), KEY_RES, &req->params.reservation_id);
    args_add_ident(a, &req->params.reservation_id);
    args_add(a, "get", 3);
    return call(req, SCRIPT_RESERVATION_GET, 1);
}

/* Conflict reasons a script may give, with what they tell a client. */
static const struct {
    const char *reason;
    const char *message;
} conflicts[] = {
    {"expired", "The reservation expired; its units went back to stock."},
    {"released", "The reservation was released."},
    {"committed", "The reservation is committed."},
    {"not_held", "The reservation is not held."},
};

static void fail_conflict(struct request *req, struct str reason)
{
    struct rpc_error err;
    rpc_error_set(&err, E_CONFLICT);
    size_t n = sizeof conflicts / sizeof conflicts[0];
    size_t i = n - 1; /* not_held unless the script named another reason */
    for (size_t k = 0; k < n; k++)
        if (strlen(conflicts[k].reason) == reason.n && memcmp(conflicts[k].reason, reason.p, reason.n) == 0)
            i = k;
    err.reason = conflicts[i].reason;
    err.message = conflicts[i].message;
    fail(req, &err);
}

static void reserve_after_sweep(struct sweep_waiter *w);

/* {0, id, status, order_id, created_at, expires_at, reason, replayed,
 *  sku, location, quantity, ...}: the reply of reserve, reservation.get,
 * commit, release and extend. */
static void reservation_reply(struct request *req, struct rd *rd, long long code)
{
    struct service *svc = req->svc;
    struct rpc_error err;
    switch (code) {
    case 0:
        break;
    case 1: /* reserve: the order_id is bound already */
        replay_reservation(req, rd_str(rd, 1));
        return;
    case 2: /* reserve: short, but holds are due: sweep, then ask once more */
        req->stage = 1;
        req->waiter.fn = reserve_after_sweep;
        sweeper_kick(svc->sweeper, &req->waiter);
        return;
    case 1001:
        rpc_error_set(&err, E_OUT_OF_STOCK);
        struct str sku = rd_str(rd, 1);
        err.sku = sku.p;
        err.sku_len = sku.n;
        err.has_quantities = true;
        err.requested = rd_int(rd, 2);
        err.available = rd_int(rd, 3);
        if (!rd->bad)
            fail(req, &err);
        return;
    case 1002:
        fail_with(req, E_NOT_FOUND);
        return;
    case 1003: {
        struct str reason = rd_str(rd, 1);
        if (!rd->bad)
            fail_conflict(req, reason);
        return;
    }
    case 1004:
        fail_with(req, E_IDEMPOTENCY);
        return;
    case 1005:
        fail_with(req, E_UNKNOWN_CHANNEL);
        return;
    default:
        rd->bad = true;
        return;
    }
    struct reservation r;
    memset(&r, 0, sizeof r);
    r.id = rd_str(rd, 1);
    r.status = rd_str(rd, 2);
    r.order_id = rd_str(rd, 3);
    r.created_at = rd_int(rd, 4);
    r.expires_at = rd_int(rd, 5);
    r.reason = rd_str(rd, 6);
    r.has_replayed = req->method == METHOD_RESERVE;
    r.replayed = rd_int(rd, 7) != 0;
    if (req->method == METHOD_RELEASE) {
        /* release puts the state it released from where reserve says
         * replayed: 1 held, 2 committed, 0 nothing given back. */
        long long from = rd_int(rd, 7);
        if (from == 1)
            svc->metrics->compensations[RELEASED_FROM_HELD]++;
        else if (from == 2)
            svc->metrics->compensations[RELEASED_FROM_COMMITTED]++;
        r.replayed = false;
    }
    size_t n = rd->r->elements > 8 ? (rd->r->elements - 8) / 3 : 0;
    svc->allocs = grow(svc->allocs, &svc->allocs_cap, n, sizeof *svc->allocs);
    for (size_t i = 0; i < n; i++) {
        svc->allocs[i].sku = rd_str(rd, 8 + 3 * i);
        svc->allocs[i].location = rd_str(rd, 9 + 3 * i);
        svc->allocs[i].quantity = rd_int(rd, 10 + 3 * i);
    }
    r.allocations = svc->allocs;
    r.n_allocations = n;
    if (rd->bad)
        return;
    begin_result(req);
    result_reservation(&req->out, &r);
    end_result(req);
}

static void reserve_after_sweep(struct sweep_waiter *w)
{
    struct request *req = (struct request *)(void *)((char *)w - offsetof(struct request, waiter));
    args_reset(&req->svc->args);
    int rc = reserve_call(req);
    if (rc != 0)
        fail_with(req, (enum error_id)-rc);
}

/* commit and release: the first call reads which keys the transition will
 * touch (the order binding and the skus held); the second makes it. */
static int transition_call(struct request *req)
{
    struct args *a = &req->svc->args;
    req->stage = 0;
    args_add_key(a, ns(req), KEY_RES, &req->params.reservation_id);
    return call(req, SCRIPT_RESERVATION_PLAN, 1);
}

static void transition_reply(struct request *req, struct rd *rd, long long code)
{
    if (req->stage == 1) {
        reservation_reply(req, rd, code);
        return;
    }
    /* The plan: {0, order_id, n, sku...}; n = -1 when there is no such id. */
    const struct params *p = &req->params;
    struct str order_id = rd_str(rd, 1);
    long long n = rd_int(rd, 2);
    if (rd->bad)
        return;
    if (n < 0) {
        fail_with(req, E_NOT_FOUND);
        return;
    }
    struct args *a = &req->svc->args;
    args_reset(a);
    args_add_key(a, ns(req), KEY_RES, &p->reservation_id);
    args_add_key(a, ns(req), KEY_EXPIRY, NULL);
    args_add_key(a, ns(req), KEY_EVENTS, NULL);
    struct ident id;
    if (order_id.n > 0 && ident_check(order_id.p, order_id.n, &id))
        args_add_key(a, ns(req), KEY_ORDER, &id);
    else
        args_add_key(a, ns(req), KEY_RES, &p->reservation_id); /* no binding */
    for (long long j = 0; j < n; j++) {
        struct str sku = rd_str(rd, 3 + (size_t)j);
        if (rd->bad || !ident_check(sku.p, sku.n, &id)) {
            rd->bad = true;
            return;
        }
        args_add_key(a, ns(req), KEY_STOCK, &id);
    }
    int nkeys = a->n;
    args_add_ident(a, &p->reservation_id);
    args_add_int(a, req->svc->cfg->retention_s);
    args_add_int(a, req->svc->cfg->ledger_maxlen);
    args_add(a, p->reason.p, (p->present & HAS_REASON) ? p->reason.n : 0);
    args_add_int(a, n);
    for (long long j = 0; j < n; j++) {
        struct str sku = rd_str(rd, 3 + (size_t)j);
        args_add(a, sku.p, sku.n);
    }
    req->stage = 1;
    int rc = call(req, req->method == METHOD_COMMIT ? SCRIPT_COMMIT : SCRIPT_RELEASE, nkeys);
    if (rc != 0)
        fail_with(req, (enum error_id)-rc);
}

static int extend_call(struct request *req)
{
    struct args *a = &req->svc->args;
    args_add_key(a, ns(req), KEY_RES, &req->params.reservation_id);
    args_add_key(a, ns(req), KEY_EXPIRY, NULL);
    args_add_ident(a, &req->params.reservation_id);
    args_add_int(a, req->params.ttl_ms);
    return call(req, SCRIPT_EXTEND, 2);
}

/* A reserve whose order_id is bound already answers with that reservation
 * as it is now, if the items match. The bound reservation's key was not
 * known when the reserve script ran, so reading it is a second call. */
static void replay_reservation(struct request *req, struct str bound)
{
    struct service *svc = req->svc;
    struct ident id;
    if (bound.n >= sizeof req->bound_id || !ident_check(bound.p, bound.n, &id)) {
        log_error("reserve: order binding holds an invalid reservation id");
        fail_with(req, E_INTERNAL);
        return;
    }
    memcpy(req->bound_id, bound.p, bound.n);
    req->bound_id[bound.n] = '\0';
    ident_check(req->bound_id, bound.n, &id); /* the request's own copy */

    struct args *a = &svc->args;
    args_reset(a);
    args_add_key(a, ns(req), KEY_RES, &id);
    args_add_ident(a, &id);
    args_add(a, "replay", 6);
    for (unsigned i = 0; i < req->params.n_items; i++) {
        args_add_ident(a, &req->params.items[i].sku);
        args_add_int(a, req->params.items[i].quantity);
    }
    int rc = call(req, SCRIPT_RESERVATION_GET, 1);
    if (rc != 0)
        fail_with(req, (enum error_id)-rc);
}

/* --- stock.audit ------------------------------------------------------ */

/* stock.audit walks the skus a page at a time (SCAN), or takes the one it
 * was given; for each page it lists the live holds (ZRANGE of the expiry
 * index) and has the audit script compare, atomically, the reserved
 * counts with the holds. If the index moved between the listing and the
 * script, the page is done again. */
#define AUDIT_PAGE 500
#define AUDIT_TRIES 5

enum { AUDIT_SCAN, AUDIT_IDS, AUDIT_CHECK };

struct audit_state {
    struct args skus; /* the page being checked */
    struct args ids;  /* the live holds of the snapshot */
    char cursor[24];  /* SCAN cursor; "0" after the last page */
    bool last_page;
    long long skus_checked, holds;
    struct buf differences, stale; /* result list bodies */
};

static int audit_step(struct request *req);

static void audit_state_free(struct audit_state *st)
{
    if (st == NULL)
        return;
    args_free(&st->skus);
    args_free(&st->ids);
    buf_free(&st->differences);
    buf_free(&st->stale);
    free(st);
}

static int audit_call(struct request *req)
{
    struct audit_state *st = req->audit;
    if (st == NULL) {
        st = req->audit = xcalloc(1, sizeof *st);
        args_init(&st->skus);
        args_init(&st->ids);
    }
    args_reset(&st->skus);
    args_reset(&st->ids);
    buf_reset(&st->differences);
    buf_reset(&st->stale);
    st->skus_checked = st->holds = 0;
    req->tries = 0;
    if (req->params.present & HAS_SKU) {
        args_add_ident(&st->skus, &req->params.sku);
        st->last_page = true;
        req->stage = AUDIT_IDS;
    } else {
        strcpy(st->cursor, "0");
        st->last_page = false;
        req->stage = AUDIT_SCAN;
    }
    return audit_step(req);
}

/* Each step is its own call with its own deadline: an audit of many pages
 * may take longer than one request timeout, and each call is bounded. */
static int audit_step(struct request *req)
{
    struct service *svc = req->svc;
    struct audit_state *st = req->audit;
    struct args *a = &svc->args;
    args_reset(a);
    req->deadline = store_now(svc->store) + (uint64_t)svc->cfg->request_timeout_ms;
    if (req->stage == AUDIT_SCAN) {
        args_add(a, "SCAN", 4);
        args_add(a, st->cursor, strlen(st->cursor));
        args_add(a, "MATCH", 5);
        struct buf pattern;
        buf_init(&pattern);
        keys_pattern(&pattern, ns(req), KEY_STOCK);
        args_add(a, pattern.data, pattern.len);
        buf_free(&pattern);
        args_add(a, "COUNT", 5);
        args_add_int(a, AUDIT_PAGE);
        return store_command(svc->store, a, req->deadline, on_store_reply, req);
    }
    if (req->stage == AUDIT_IDS) {
        args_add(a, "ZRANGE", 6);
        args_add_key(a, ns(req), KEY_EXPIRY, NULL);
        args_add(a, "0", 1);
        args_add(a, "-1", 2);
        return store_command(svc->store, a, req->deadline, on_store_reply, req);
    }
    struct ident id;
    args_add_key(a, ns(req), KEY_EXPIRY, NULL);
    for (int i = 0; i < st->ids.n; i++) {
        ident_check(st->ids.bytes.data + st->ids.v[i].off, st->ids.v[i].len, &id);
        args_add_key(a, ns(req), KEY_RES, &id);
    }
    for (int j = 0; j < st->skus.n; j++) {
        ident_check(st->skus.bytes.data + st->skus.v[j].off, st->skus.v[j].len, &id);
        args_add_key(a, ns(req), KEY_STOCK, &id);
    }
    int nkeys = a->n;
    args_add_int(a, st->ids.n);
    for (int i = 0; i < st->ids.n; i++)
        args_add(a, st->ids.bytes.data + st->ids.v[i].off, st->ids.v[i].len);
    args_add_int(a, st->skus.n);
    for (int j = 0; j < st->skus.n; j++)
        args_add(a, st->skus.bytes.data + st->skus.v[j].off, st->skus.v[j].len);
    return call(req, SCRIPT_AUDIT, nkeys);
}

static void audit_finish(struct request *req)
{
    struct audit_state *st = req->audit;
    begin_result(req);
    result_audit(&req->out, st->skus_checked, st->holds, &st->differences, &st->stale);
    end_result(req);
}

/* The reply of each step; plain command replies (SCAN, ZRANGE) do not
 * start with a status code, so this reads the raw reply. */
static void audit_reply(struct request *req, const redisReply *r)
{
    struct audit_state *st = req->audit;
    struct ident id;
    if (req->stage == AUDIT_SCAN) {
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY ||
            r->element[0]->len >= sizeof st->cursor)
            goto bad;
        memcpy(st->cursor, r->element[0]->str, r->element[0]->len + 1);
        st->last_page = strcmp(st->cursor, "0") == 0;
        /* Keys are {ns}:stock:<sku>; anything else under the pattern is
         * not stockd's and is skipped. */
        size_t prefix = keys_prefix_len(ns(req), KEY_STOCK);
        args_reset(&st->skus);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const redisReply *k = keys->element[i];
            if (k->type == REDIS_REPLY_STRING && k->len > prefix &&
                ident_check(k->str + prefix, k->len - prefix, &id))
                args_add_ident(&st->skus, &id);
        }
        req->stage = st->skus.n > 0 ? AUDIT_IDS : AUDIT_SCAN;
        if (st->skus.n == 0 && st->last_page) {
            audit_finish(req);
            return;
        }
    } else if (req->stage == AUDIT_IDS) {
        if (r->type != REDIS_REPLY_ARRAY)
            goto bad;
        args_reset(&st->ids);
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_STRING || !ident_check(e->str, e->len, &id))
                goto bad;
            args_add_ident(&st->ids, &id);
        }
        req->stage = AUDIT_CHECK;
    } else {
        struct rd rd = {r, false};
        long long code = r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? rd_int(&rd, 0) : -1;
        if (code == 2) {
            /* The index moved under the snapshot: list it again. */
            if (++req->tries >= AUDIT_TRIES) {
                fail_with(req, E_OVERLOADED);
                return;
            }
            req->stage = AUDIT_IDS;
        } else if (code == 0) {
            st->holds = rd_int(&rd, 1);
            st->skus_checked += rd_int(&rd, 2);
            long long d = rd_int(&rd, 3);
            size_t at = 4;
            for (long long i = 0; i < d && !rd.bad; i++, at += 4)
                result_audit_difference(&st->differences, rd_str(&rd, at), rd_str(&rd, at + 1),
                                        rd_int(&rd, at + 2), rd_int(&rd, at + 3));
            long long n_stale = rd_int(&rd, at++);
            /* Every page sees the same index: report its stale entries once. */
            bool first_page = st->skus_checked == rd_int(&rd, 2);
            for (long long i = 0; i < n_stale && !rd.bad; i++, at += 2)
                if (first_page)
                    result_audit_stale(&st->stale, rd_str(&rd, at), rd_str(&rd, at + 1));
            if (rd.bad)
                goto bad;
            if (st->last_page) {
                audit_finish(req);
                return;
            }
            req->stage = AUDIT_SCAN;
        } else {
            goto bad;
        }
    }
    int rc = audit_step(req);
    if (rc != 0)
        fail_with(req, (enum error_id)-rc);
    return;
bad:
    log_error("stock.audit: unexpected reply at step %d", req->stage);
    fail_with(req, E_INTERNAL);
}

/* Compares in time that depends only on the configured token's length. */
static bool token_matches(const char *want, size_t want_n, const char *got, size_t got_n)
{
    unsigned char diff = want_n != got_n;
    for (size_t i = 0; i < want_n; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < got_n ? got[i] : 0);
    return diff == 0;
}

static int auth_call(struct request *req)
{
    struct service *svc = req->svc;
    const char *want = svc->cfg->auth_token;
    const struct text *got = &req->params.token;
    if (want[0] != '\0' && !token_matches(want, strlen(want), got->p, got->n)) {
        svc->auth_failures++;
        svc->metrics->auth_failures++;
        log_warn("auth: a client sent a wrong token (%llu failures since start)",
                 svc->auth_failures);
        if (req->session != NULL)
            req->session->authenticated = false;
        struct rpc_error err;
        rpc_error_set(&err, E_UNAUTHORIZED);
        err.message = "Wrong token.";
        fail(req, &err);
        return 0;
    }
    if (req->session != NULL)
        req->session->authenticated = true;
    begin_result(req);
    buf_appends(&req->out, "{\"authenticated\":true}");
    end_result(req);
    return 0;
}

static int ping_call(struct request *req)
{
    begin_result(req);
    result_pong(&req->out, store_is_up(req->svc->store));
    end_result(req);
    return 0;
}

typedef int (*call_fn)(struct request *req);
typedef void (*reply_fn)(struct request *req, struct rd *rd, long long code);

static const struct {
    call_fn call;
    reply_fn reply;
} handlers[METHOD_COUNT] = {
    [METHOD_PING] = {ping_call, NULL},
    [METHOD_AUTH] = {auth_call, NULL},
    [METHOD_STOCK_SET] = {stock_set_call, row_reply},
    [METHOD_STOCK_ADJUST] = {stock_adjust_call, row_reply},
    [METHOD_STOCK_GET] = {stock_get_call, stock_get_reply},
    [METHOD_CHANNEL_SET] = {channel_set_call, channel_reply},
    [METHOD_CHANNEL_GET] = {channel_get_call, channel_reply},
    [METHOD_RESERVE] = {reserve_call, reservation_reply},
    [METHOD_RESERVATION_GET] = {reservation_get_call, reservation_reply},
    [METHOD_COMMIT] = {transition_call, transition_reply},
    [METHOD_RELEASE] = {transition_call, transition_reply},
    [METHOD_EXTEND] = {extend_call, reservation_reply},
    [METHOD_STOCK_AUDIT] = {audit_call, NULL}, /* replies go to audit_reply */
};

/* --- the Redis round trip ---------------------------------------------- */

/* Redis errors that mean "not done, try again later" rather than a bug. */
static bool transient_redis_error(const char *msg)
{
    static const char *const prefixes[] = {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "OOM",
                                           "NOREPLICAS", "CLUSTERDOWN", "TRYAGAIN", "NOAUTH"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(msg, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static void on_store_reply(void *data, const redisReply *r, int err)
{
    struct request *req = data;
    if (err != 0) {
        fail_with(req, (enum error_id)-err);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (transient_redis_error(r->str)) {
            log_warn("redis: %s answered: %s", method_name(req->method), r->str);
            fail_with(req, E_UNAVAILABLE);
        } else {
            log_error("redis: %s failed: %s", method_name(req->method), r->str);
            fail_with(req, E_INTERNAL);
        }
        return;
    }
    if (req->method == METHOD_STOCK_AUDIT) {
        audit_reply(req, r);
        return;
    }
    struct rd rd = {r, false};
    long long code = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        rd.bad = true;
    else
        code = rd_int(&rd, 0);
    bool was_done = req->done;
    if (!rd.bad)
        handlers[req->method].reply(req, &rd, code);
    if (rd.bad && !was_done && !req->done) {
        log_error("redis: unexpected reply to %s", method_name(req->method));
        fail_with(req, E_INTERNAL);
    }
}

static int call(struct request *req, enum script_id id, int nkeys)
{
    return store_eval(req->svc->store, id, nkeys, &req->svc->args, req->deadline, on_store_reply,
                      req);
}

/* --- entry points ------------------------------------------------------ */

struct service *service_new(struct store *store, struct sweeper *sweeper,
                            const struct config *cfg, struct metrics *m)
{
    struct service *svc = xcalloc(1, sizeof *svc);
    svc->metrics = m;
    svc->store = store;
    svc->sweeper = sweeper;
    svc->cfg = cfg;
    svc->limits.max_items = (unsigned)cfg->max_items;
    svc->limits.default_ttl_ms = cfg->default_ttl_ms;
    args_init(&svc->args);
    svc->rnd_pos = sizeof svc->rnd; /* empty: filled on first use */
    return svc;
}

static void request_destroy(struct request *req)
{
    audit_state_free(req->audit);
    rpc_request_free(&req->rpc);
    buf_free(&req->out);
    free(req->loc_storage);
    free(req->item_storage);
    free(req);
}

void service_free(struct service *svc)
{
    while (svc->spare) {
        struct request *req = svc->spare;
        svc->spare = req->next;
        request_destroy(req);
    }
    args_free(&svc->args);
    free(svc->rows);
    free(svc->allocs);
    free(svc->strs);
    free(svc);
}

struct request *service_request_new(struct service *svc, void *owner, request_done_fn on_done)
{
    struct request *req = svc->spare;
    if (req != NULL) {
        svc->spare = req->next;
    } else {
        req = xcalloc(1, sizeof *req);
        buf_init(&req->out);
    }
    req->next = NULL;
    req->owner = owner;
    req->svc = svc;
    req->on_done = on_done;
    req->done = false;
    req->rpc.id.kind = RPC_ID_NULL;
    return req;
}

void service_request_free(struct service *svc, struct request *req)
{
    audit_state_free(req->audit);
    req->audit = NULL;
    rpc_request_free(&req->rpc);
    buf_reset(&req->out);
    if (req->out.cap > 16384)
        buf_free(&req->out); /* do not keep a huge response's buffer around */
    req->next = svc->spare;
    svc->spare = req;
}

void service_handle_line(struct service *svc, struct request *req, struct session *session,
                         const char *line, size_t len, uint64_t now)
{
    struct rpc_error err;
    svc->inflight++;
    svc->metrics->inflight++;
    session->inflight++;
    req->session = session;
    req->started_ns = metrics_now_ns();
    req->error = E_NONE;
    req->method_known = false;
    req->deadline = now + (uint64_t)svc->cfg->request_timeout_ms;
    req->stage = 0;
    req->tries = 0;

    if (rpc_decode(line, len, &req->rpc, &err) != 0) {
        fail(req, &err);
        return;
    }
    int m = method_lookup(req->rpc.method);
    if (m < 0) {
        fail_with(req, E_METHOD_NOT_FOUND);
        return;
    }
    req->method = (enum method_id)m;
    req->method_known = true;
    bool free_pass = req->method == METHOD_PING || req->method == METHOD_AUTH;
    if (!free_pass && svc->cfg->auth_token[0] != '\0' && !session->authenticated) {
        fail_with(req, E_UNAUTHORIZED);
        return;
    }
    /* Admission: both counts include this request. */
    if (!free_pass && (session->inflight > (unsigned long)svc->cfg->max_pipeline ||
                       svc->inflight > (unsigned long)svc->cfg->max_inflight)) {
        fail_with(req, E_OVERLOADED);
        return;
    }

    if (req->loc_storage == NULL) {
        req->loc_storage = xcalloc(MAX_LOCATIONS, sizeof *req->loc_storage);
        req->item_storage = xcalloc(svc->limits.max_items, sizeof *req->item_storage);
    }
    req->params.locations = req->loc_storage;
    req->params.items = req->item_storage;
    if (params_validate(req->method, req->rpc.params, &svc->limits, &req->params, &err) != 0) {
        fail(req, &err);
        return;
    }

    args_reset(&svc->args);
    int rc = handlers[req->method].call(req);
    if (rc != 0)
        fail_with(req, (enum error_id)-rc);
}

unsigned long service_inflight(const struct service *svc)
{
    return svc->inflight;
}

unsigned long long service_auth_failures(const struct service *svc)
{
    return svc->auth_failures;
}

bool service_request_is_barrier(const struct request *req)
{
    return req->method == METHOD_COMMIT || req->method == METHOD_RELEASE;
}
