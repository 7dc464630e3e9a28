/* stock.audit (see audit.h). Every call has its own deadline (an audit of
 * many pages may take longer than one request timeout; each call is
 * bounded):
 *
 *   SCAN cursor MATCH {ns}:stock:* COUNT 500   a page of skus
 *   audit.lua, as many calls as the page needs  compare (AUDIT_BUDGET members
 *                                               of the holds indexes each)
 *   ... the next page, then:
 *   ZSCAN {ns}:expiry cursor COUNT 100         a page of the expiry index
 *   audit_index.lua                             stale entries
 *
 * No call depends on another staying true: each compares one consistent
 * snapshot of what it reads, so traffic during the audit never makes it
 * start over. ZSCAN may return an id twice (while Redis resizes the index);
 * a stale id is reported once. */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "request.h"

#define AUDIT_PAGE 500
#define AUDIT_INDEX_PAGE 100
#define AUDIT_BUDGET 20000

/* The findings, gathered over the pages; owned by the request's ctx. */
struct audit_state {
    struct args skus; /* the page being checked */
    int sku_at;       /* its first sku not checked yet */
    struct args ids;  /* the page of the expiry index */
    char cursor[24];  /* SCAN / ZSCAN cursor; "0" after the last page */
    bool last_page;
    bool one_sku;     /* stock.audit {sku}: no index pass */
    long long skus_checked, holds;
    struct buf differences, stale, late; /* result list bodies */
    struct args stale_ids;         /* reported already */
};

struct audit_ctx {
    struct audit_state *st; /* owned; freed when the request is answered */
};

static void scan(struct request *req);
static void scan_index(struct request *req);
static void check(struct request *req);

static void audit_end(struct request *req)
{
    struct audit_state *st = REQUEST_CTX(req, struct audit_ctx)->st;
    args_free(&st->skus);
    args_free(&st->ids);
    args_free(&st->stale_ids);
    buf_free(&st->differences);
    buf_free(&st->stale);
    buf_free(&st->late);
    free(st);
}

static struct audit_state *state(struct request *req)
{
    return REQUEST_CTX(req, struct audit_ctx)->st;
}

static void finish(struct request *req)
{
    struct audit_state *st = state(req);
    result_audit(request_result(req), st->skus_checked, st->holds, &st->differences, &st->stale,
                 &st->late);
    request_finish(req);
}

void audit_run(struct request *req)
{
    struct audit_state *st = xcalloc(1, sizeof *st);
    args_init(&st->skus);
    args_init(&st->ids);
    args_init(&st->stale_ids);
    REQUEST_CTX(req, struct audit_ctx)->st = st;
    request_on_end(req, audit_end);
    if (req->params.present & HAS_SKU) {
        args_add_ident(&st->skus, &req->params.sku);
        st->last_page = true;
        st->one_sku = true;
        check(req);
    } else {
        strcpy(st->cursor, "0");
        scan(req);
    }
}

/* --- the check of the skus: lua/audit.lua ------------------------------- */

static void next_page(struct request *req)
{
    struct audit_state *st = state(req);
    if (!st->last_page) {
        scan(req);
    } else if (st->one_sku) {
        finish(req);
    } else {
        strcpy(st->cursor, "0");
        st->last_page = false;
        scan_index(req);
    }
}

/* {OK, done, holds, d, (sku, location, reserved, expected) x d,
 *  u, (sku, due, earliest) x u} */
static void check_reply(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    long long done = reply_int(rd, 1);
    long long holds = reply_int(rd, 2);
    long long d = reply_int(rd, 3);
    size_t at = 4;
    if (done < 1 || done > st->skus.n - st->sku_at || d < 0 || d > (long long)reply_count(rd))
        rd->bad = true;
    for (long long i = 0; i < d && !rd->bad; i++, at += 4)
        result_audit_difference(&st->differences, reply_str(rd, at), reply_str(rd, at + 1),
                                reply_int(rd, at + 2), reply_int(rd, at + 3));
    long long u = rd->bad ? 0 : reply_int(rd, at++);
    if (u < 0 || u > (long long)reply_count(rd))
        rd->bad = true;
    for (long long i = 0; i < u && !rd->bad; i++, at += 3)
        result_audit_late(&st->late, reply_str(rd, at), reply_int(rd, at + 1),
                          reply_int(rd, at + 2));
    reply_expect(rd, at);
    if (rd->bad)
        return;
    st->skus_checked += done;
    st->holds += holds;
    st->sku_at += (int)done;
    if (st->sku_at < st->skus.n)
        check(req);
    else
        next_page(req);
}

static void check(struct request *req)
{
    struct audit_state *st = state(req);
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    struct ident id;
    request_renew_deadline(req);
    ARG_KEY(a, AUDIT_K_DUE, ns, KEY_DUE, NULL);
    ARG_KEY(a, AUDIT_K_EXPIRY, ns, KEY_EXPIRY, NULL);
    for (int kind = 0; kind < 2; kind++)
        for (int j = st->sku_at; j < st->skus.n; j++) {
            struct str s = args_get(&st->skus, j);
            ident_check(s.p, s.n, &id); /* checked when listed */
            args_add_key(a, ns, kind == 0 ? KEY_STOCK : KEY_HOLDS, &id);
        }
    int nkeys = a->n;
    ARG_INT(a, nkeys + AUDIT_A_BUDGET, AUDIT_BUDGET);
    ARG_INT(a, nkeys + AUDIT_A_M, st->skus.n - st->sku_at);
    for (int j = st->sku_at; j < st->skus.n; j++)
        args_add_str(a, args_get(&st->skus, j));
    request_call(req, SCRIPT_AUDIT, nkeys, AUDIT_STATUSES, check_reply);
}

/* --- the expiry index: ZSCAN, then lua/audit_index.lua ------------------- */

static bool reported(const struct audit_state *st, struct str id)
{
    for (int i = 0; i < st->stale_ids.n; i++)
        if (str_eq(args_get(&st->stale_ids, i), id))
            return true;
    return false;
}

/* {OK, held, s, (id, status) x s} */
static void index_reply(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    long long held = reply_int(rd, 1);
    long long s = reply_int(rd, 2);
    if (held < 0 || s < 0 || held + s > st->ids.n)
        rd->bad = true;
    else
        reply_expect(rd, 3 + 2 * (size_t)s);
    for (long long i = 0; i < s && !rd->bad; i++) {
        struct ident id = reply_ident(rd, 3 + 2 * (size_t)i);
        struct str status = reply_str(rd, 4 + 2 * (size_t)i);
        if (!rd->bad && !reported(st, id.s)) {
            args_add_ident(&st->stale_ids, &id);
            result_audit_stale(&st->stale, id.s, status);
        }
    }
    if (rd->bad)
        return;
    (void)held; /* counted by sku, in the holds indexes */
    if (st->last_page)
        finish(req);
    else
        scan_index(req);
}

static void check_index(struct request *req)
{
    struct audit_state *st = state(req);
    const struct ident *ns = request_ns(req);
    struct args *a = request_args(req);
    struct ident id;
    request_renew_deadline(req);
    ARG_KEY(a, AUDIT_INDEX_K_EXPIRY, ns, KEY_EXPIRY, NULL);
    for (int i = 0; i < st->ids.n; i++) {
        struct str s = args_get(&st->ids, i);
        ident_check(s.p, s.n, &id); /* checked when listed */
        args_add_key(a, ns, KEY_RES, &id);
    }
    int nkeys = a->n;
    ARG_INT(a, nkeys + AUDIT_INDEX_A_K, st->ids.n);
    for (int i = 0; i < st->ids.n; i++)
        args_add_str(a, args_get(&st->ids, i));
    request_call(req, SCRIPT_AUDIT_INDEX, nkeys, AUDIT_INDEX_STATUSES, index_reply);
}

/* [cursor, [id, score, id, score, ...]] */
static void zscan_reply(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    const struct redisReply *r = rd->r;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY ||
        r->element[0]->len >= sizeof st->cursor || r->element[1]->elements % 2 != 0) {
        rd->bad = true;
        return;
    }
    memcpy(st->cursor, r->element[0]->str, r->element[0]->len + 1);
    st->last_page = strcmp(st->cursor, "0") == 0;
    args_reset(&st->ids);
    const redisReply *page = r->element[1];
    for (size_t i = 0; i < page->elements; i += 2) {
        const redisReply *k = page->element[i];
        struct ident id;
        if (k->type != REDIS_REPLY_STRING || !ident_check(k->str, k->len, &id)) {
            rd->bad = true;
            return;
        }
        args_add_ident(&st->ids, &id);
    }
    if (st->ids.n > 0)
        check_index(req);
    else if (st->last_page)
        finish(req);
    else
        scan_index(req);
}

static void scan_index(struct request *req)
{
    struct audit_state *st = state(req);
    struct args *a = request_args(req);
    request_renew_deadline(req);
    args_add(a, "ZSCAN", 5);
    args_add_key(a, request_ns(req), KEY_EXPIRY, NULL);
    args_add(a, st->cursor, strlen(st->cursor));
    args_add(a, "COUNT", 5);
    args_add_int(a, AUDIT_INDEX_PAGE);
    request_command(req, zscan_reply);
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
    st->sku_at = 0;
    if (st->skus.n > 0)
        check(req);
    else
        next_page(req);
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
