/* stock.audit (see audit.h). Each page is three calls, each with its own
 * deadline (an audit of many pages may take longer than one request
 * timeout; each call is bounded):
 *
 *   SCAN cursor MATCH {ns}:stock:* COUNT 500    the page's skus
 *   ZRANGE {ns}:expiry 0 -1                      the live holds, a snapshot
 *   audit.lua                                    compare, atomically
 *
 * If the index moved between the listing and the script, the page is
 * listed again (at most AUDIT_TRIES times, then 2003). stock.audit {sku}
 * checks that one sku: a single page without SCAN. */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "request.h"

#define AUDIT_PAGE 500
#define AUDIT_TRIES 5

/* The findings, gathered over the pages; owned by the request's ctx. */
struct audit_state {
    struct args skus; /* the page being checked */
    struct args ids;  /* the live holds of the snapshot */
    char cursor[24];  /* SCAN cursor; "0" after the last page */
    bool last_page;
    int tries; /* listings of this page's holds */
    long long skus_checked, holds;
    bool stale_seen;               /* the index's stale entries are reported once */
    struct buf differences, stale; /* result list bodies */
};

struct audit_ctx {
    struct audit_state *st; /* owned; freed when the request is answered */
};

static void scan(struct request *req);
static void list_holds(struct request *req);

static void audit_end(struct request *req)
{
    struct audit_state *st = REQUEST_CTX(req, struct audit_ctx)->st;
    args_free(&st->skus);
    args_free(&st->ids);
    buf_free(&st->differences);
    buf_free(&st->stale);
    free(st);
}

static struct audit_state *state(struct request *req)
{
    return REQUEST_CTX(req, struct audit_ctx)->st;
}

static void finish(struct request *req)
{
    struct audit_state *st = state(req);
    result_audit(request_result(req), st->skus_checked, st->holds, &st->differences, &st->stale);
    request_finish(req);
}

void audit_run(struct request *req)
{
    struct audit_state *st = xcalloc(1, sizeof *st);
    args_init(&st->skus);
    args_init(&st->ids);
    REQUEST_CTX(req, struct audit_ctx)->st = st;
    request_on_end(req, audit_end);
    if (req->params.present & HAS_SKU) {
        args_add_ident(&st->skus, &req->params.sku);
        st->last_page = true;
        list_holds(req);
    } else {
        strcpy(st->cursor, "0");
        scan(req);
    }
}

/* --- the check of one page: lua/audit.lua -------------------------------- */

static void next_page(struct request *req)
{
    if (state(req)->last_page)
        finish(req);
    else
        scan(req);
}

/* {OK, k, m, d, (sku, location, reserved, expected) x d, s,
 *  (id, status) x s} or {INDEX_MOVED}. */
static void check_reply(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    if (reply_status(rd) == AUDIT_ST_INDEX_MOVED) {
        reply_expect(rd, 1);
        if (rd->bad)
            return;
        if (++st->tries >= AUDIT_TRIES) {
            request_fail_with(req, E_OVERLOADED);
            return;
        }
        list_holds(req);
        return;
    }
    long long holds = reply_int(rd, 1);
    long long checked = reply_int(rd, 2);
    long long d = reply_int(rd, 3);
    size_t at = 4;
    if (d < 0 || d > (long long)reply_count(rd))
        rd->bad = true;
    for (long long i = 0; i < d && !rd->bad; i++, at += 4)
        result_audit_difference(&st->differences, reply_str(rd, at), reply_str(rd, at + 1),
                                reply_int(rd, at + 2), reply_int(rd, at + 3));
    long long n_stale = reply_int(rd, at++);
    if (n_stale < 0 || n_stale > (long long)reply_count(rd))
        rd->bad = true;
    /* Every page sees the same index: report its stale entries once. */
    for (long long i = 0; i < n_stale && !rd->bad; i++, at += 2)
        if (!st->stale_seen)
            result_audit_stale(&st->stale, reply_str(rd, at), reply_str(rd, at + 1));
    reply_expect(rd, at);
    if (rd->bad)
        return;
    st->stale_seen = true;
    st->holds = holds;
    st->skus_checked += checked;
    next_page(req);
}

static void check(struct request *req)
{
    struct audit_state *st = state(req);
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    struct ident id;
    request_renew_deadline(req);
    ARG_KEY(a, AUDIT_K_EXPIRY, ns, KEY_EXPIRY, NULL);
    for (int i = 0; i < st->ids.n; i++) {
        struct str s = args_get(&st->ids, i);
        ident_check(s.p, s.n, &id); /* checked when listed */
        args_add_key(a, ns, KEY_RES, &id);
    }
    for (int j = 0; j < st->skus.n; j++) {
        struct str s = args_get(&st->skus, j);
        ident_check(s.p, s.n, &id);
        args_add_key(a, ns, KEY_STOCK, &id);
    }
    int nkeys = a->n;
    ARG_INT(a, nkeys + AUDIT_A_K, st->ids.n);
    for (int i = 0; i < st->ids.n; i++)
        args_add_str(a, args_get(&st->ids, i));
    args_add_int(a, st->skus.n);
    for (int j = 0; j < st->skus.n; j++)
        args_add_str(a, args_get(&st->skus, j));
    request_call(req, SCRIPT_AUDIT, nkeys, AUDIT_STATUSES, check_reply);
}

/* --- the live holds: ZRANGE ---------------------------------------------- */

static void holds_reply(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    args_reset(&st->ids);
    if (rd->r->type != REDIS_REPLY_ARRAY) {
        rd->bad = true;
        return;
    }
    for (size_t i = 0; i < reply_count(rd); i++) {
        struct ident id = reply_ident(rd, i);
        if (rd->bad)
            return;
        args_add_ident(&st->ids, &id);
    }
    check(req);
}

static void list_holds(struct request *req)
{
    struct args *a = request_args(req);
    request_renew_deadline(req);
    args_add(a, "ZRANGE", 6);
    args_add_key(a, request_ns(req), KEY_EXPIRY, NULL);
    args_add(a, "0", 1);
    args_add(a, "-1", 2);
    request_command(req, holds_reply);
}

/* --- the skus: SCAN ------------------------------------------------------ */

static void scan_reply(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    const struct redisReply *r = rd->r;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY ||
        r->element[0]->len >= sizeof st->cursor) {
        rd->bad = true;
        return;
    }
    memcpy(st->cursor, r->element[0]->str, r->element[0]->len + 1);
    st->last_page = strcmp(st->cursor, "0") == 0;
    /* Keys are {ns}:stock:<sku>; anything else under the pattern is not
     * stockd's and is skipped. */
    size_t prefix = keys_prefix_len(request_ns(req), KEY_STOCK);
    args_reset(&st->skus);
    const redisReply *keys = r->element[1];
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        struct ident id;
        if (k->type == REDIS_REPLY_STRING && k->len > prefix &&
            ident_check(k->str + prefix, k->len - prefix, &id))
            args_add_ident(&st->skus, &id);
    }
    if (st->skus.n > 0) {
        st->tries = 0;
        list_holds(req);
    } else {
        next_page(req);
    }
}

static void scan(struct request *req)
{
    struct audit_state *st = state(req);
    struct args *a = request_args(req);
    request_renew_deadline(req);
    args_add(a, "SCAN", 4);
    args_add(a, st->cursor, strlen(st->cursor));
    args_add(a, "MATCH", 5);
    args_add_pattern(a, request_ns(req), KEY_STOCK);
    args_add(a, "COUNT", 5);
    args_add_int(a, AUDIT_PAGE);
    request_command(req, scan_reply);
}
