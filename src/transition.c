/* Transitions of reservations, plan then act (see transition.h). Per call,
 * in order: the plan's builder, the act's builder (from the plan's reply),
 * and the act's reply reader. */
#include "transition.h"

#include <limits.h>
#include <stdlib.h>

#include "buf.h"
#include "keys.h"

/* A plan that went stale before its act (the act found a sku it was not
 * given) is made again, at most this many times. */
#define TRANSITION_TRIES 3

static const struct {
    enum script_id script;
    int n_status;
    int keys_missing; /* the act's status for "a sku held has no key" */
} acts[] = {
    [TRANSITION_COMMIT] = {SCRIPT_COMMIT, COMMIT_STATUSES, COMMIT_ST_KEYS_MISSING},
    [TRANSITION_RELEASE] = {SCRIPT_RELEASE, RELEASE_STATUSES, RELEASE_ST_KEYS_MISSING},
    [TRANSITION_EXTEND] = {SCRIPT_EXTEND, EXTEND_STATUSES, EXTEND_ST_KEYS_MISSING},
    [TRANSITION_EXPIRE] = {SCRIPT_EXPIRE, EXPIRE_STATUSES, EXPIRE_ST_KEYS_MISSING},
    [TRANSITION_UPDATE] = {SCRIPT_UPDATE, UPDATE_STATUSES, UPDATE_ST_KEYS_MISSING},
    [TRANSITION_TRANSFER] = {SCRIPT_TRANSFER, TRANSFER_STATUSES, TRANSFER_ST_KEYS_MISSING},
};

/* --- reservation_plan ---------------------------------------------------- */

static void send_plan(struct transition *t)
{
    struct args *a = t->args;
    args_reset(a);
    for (int i = 0; i < t->k; i++)
        args_add_key(a, t->ns, KEY_RES, &t->ids[i]);
    ARG_INT(a, t->k + RESERVATION_PLAN_A_BUDGET, t->budget > 0 ? t->budget : LLONG_MAX);
    t->acting = false;
    t->send(t, SCRIPT_RESERVATION_PLAN, t->k, RESERVATION_PLAN_STATUSES);
}

void transition_start(struct transition *t)
{
    assert(t->k >= 1 && t->send != NULL && t->done != NULL);
    t->tries = 0;
    send_plan(t);
}

static int ident_order(const void *a, const void *b)
{
    return str_cmp(((const struct ident *)a)->s, ((const struct ident *)b)->s);
}

/* --- the act: commit, release or expire ------------------------------- */

/* The method's own arguments of the act, after the skus (transition.h). */
static void add_own_args(struct transition *t, struct args *a)
{
    const struct params *p = t->params;
    if (t->kind == TRANSITION_UPDATE) {
        args_add_int(a, p->n_items);
        for (unsigned i = 0; i < p->n_items; i++) {
            args_add_ident(a, &p->items[i].sku);
            args_add_int(a, p->items[i].quantity);
        }
    } else if (t->kind == TRANSITION_TRANSFER) {
        args_add_ident(a, &p->sku);
        args_add_ident(a, &p->from);
        args_add_ident(a, &p->to);
        if (p->present & HAS_QUANTITY)
            args_add_int(a, p->quantity);
        else
            args_add(a, "", 0);
    }
}

/* Builds the act from the plan's reply {OK, group_1..group_j}, j <= k,
 * each group order_id ('' for none), channel, n, sku_1..sku_n (n = -1: no
 * such reservation). The act takes the first j reservations. Returns false
 * when the reply breaks that shape. */
static bool build_act(struct transition *t, struct reply *rd)
{
    /* The skus of all groups, made distinct: each stock key once. */
    size_t n_skus = 0, at = 1;
    int k = 0;
    struct ident channel;
    ident_check("default", 7, &channel);
    while (at < reply_count(rd) && k < t->k) {
        reply_str(rd, at);
        if (k == 0)
            channel = reply_ident(rd, at + 1);
        else
            reply_ident(rd, at + 1);
        long long n = reply_int(rd, at + 2);
        at += 3;
        if (rd->bad || n < -1 || n > (long long)reply_count(rd))
            return false;
        *t->skus = xgrow(*t->skus, t->skus_cap, n_skus + (size_t)(n > 0 ? n : 0), sizeof **t->skus);
        for (long long j = 0; j < n; j++)
            (*t->skus)[n_skus++] = reply_ident(rd, at++);
        k++;
    }
    if (rd->bad || k == 0 || at != reply_count(rd))
        return false;
    t->k_act = k;
    if (n_skus > 1)
        qsort(*t->skus, n_skus, sizeof **t->skus, ident_order);
    size_t m = 0;
    for (size_t j = 0; j < n_skus; j++)
        if (m == 0 || !str_eq((*t->skus)[m - 1].s, (*t->skus)[j].s))
            (*t->skus)[m++] = (*t->skus)[j];

    struct args *a = t->args;
    args_reset(a);
    ARG_KEY(a, TRANSITION_K_EXPIRY, t->ns, KEY_EXPIRY, NULL);
    ARG_KEY(a, TRANSITION_K_EVENTS, t->ns, KEY_EVENTS, NULL);
    ARG_KEY(a, TRANSITION_K_QUARANTINE, t->ns, KEY_QUARANTINE, NULL);
    ARG_KEY(a, TRANSITION_K_DUE, t->ns, KEY_DUE, NULL);
    ARG_KEY(a, TRANSITION_K_LOCATIONS, t->ns, KEY_LOCATIONS, NULL);
    ARG_KEY(a, TRANSITION_K_STOCK_EVENTS, t->ns, KEY_STOCK_EVENTS, NULL);
    for (int i = 0; i < t->k_act; i++)
        args_add_key(a, t->ns, KEY_RES, &t->ids[i]);
    at = 1;
    for (int i = 0; i < t->k_act; i++) {
        struct str order = reply_str(rd, at);
        long long n = reply_int(rd, at + 2);
        at += 3 + (size_t)(n > 0 ? n : 0);
        struct ident id;
        if (order.n == 0)
            args_add_key(a, t->ns, KEY_RES, &t->ids[i]); /* no binding: a key of its own */
        else if (ident_check(order.p, order.n, &id))
            args_add_key(a, t->ns, KEY_ORDER, &id);
        else
            return false;
    }
    for (size_t j = 0; j < m; j++)
        args_add_key(a, t->ns, KEY_STOCK, &(*t->skus)[j]);
    for (size_t j = 0; j < m; j++)
        args_add_key(a, t->ns, KEY_HOLDS, &(*t->skus)[j]);
    if (t->kind == TRANSITION_UPDATE) {
        args_add_key(a, t->ns, KEY_CHANNEL, &channel);
        args_add_key(a, t->ns, KEY_RULES, &channel);
    }
    int nkeys = a->n;
    ARG_INT(a, nkeys + TRANSITION_A_RETENTION, t->retention_s);
    ARG_INT(a, nkeys + TRANSITION_A_MAXLEN, t->ledger_maxlen);
    ARG_STR(a, nkeys + TRANSITION_A_REASON, t->reason);
    ARG_INT(a, nkeys + TRANSITION_A_TTL, t->ttl_ms);
    ARG_INT(a, nkeys + TRANSITION_A_BUDGET, t->budget > 0 ? t->budget : 1);
    ARG_INT(a, nkeys + TRANSITION_A_K, t->k_act);
    for (int i = 0; i < t->k_act; i++)
        args_add_ident(a, &t->ids[i]);
    args_add_int(a, (long long)m);
    for (size_t j = 0; j < m; j++)
        args_add_ident(a, &(*t->skus)[j]);
    add_own_args(t, a);
    t->acting = true;
    t->send(t, acts[t->kind].script, nkeys, acts[t->kind].n_status);
    return true;
}

/* Which statuses carry the reservation after them. */
static bool carries_reservation(enum transition_kind kind, int status)
{
    if (kind == TRANSITION_COMMIT)
        return status == COMMIT_ST_COMMITTED;
    if (kind == TRANSITION_RELEASE)
        return status == RELEASE_ST_RELEASED || status == RELEASE_ST_RESTOCKED ||
               status == RELEASE_ST_EXPIRED || status == RELEASE_ST_UNCHANGED;
    if (kind == TRANSITION_EXTEND)
        return status == EXTEND_ST_EXTENDED;
    if (kind == TRANSITION_UPDATE)
        return status == UPDATE_ST_UPDATED || status == UPDATE_ST_UNCHANGED;
    if (kind == TRANSITION_TRANSFER)
        return status == TRANSFER_ST_MOVED || status == TRANSFER_ST_UNCHANGED;
    return false;
}

/* Reads the act's reply: {status, reservation...} for the statuses that
 * carry one, {OK, expired, more, q, (id, why) x q} for expire, else
 * {status}. */
static bool read_act(struct transition *t, struct reply *rd)
{
    struct transition_result res = {.status = reply_status(rd)};
    if (carries_reservation(t->kind, res.status)) {
        res.has_reservation = true;
        reply_reservation(rd, 1, &res.res, t->res_scratch);
    } else if (t->kind == TRANSITION_EXPIRE && res.status == EXPIRE_ST_OK) {
        res.expired = reply_int(rd, 1);
        res.more = reply_int(rd, 2) != 0;
        res.quarantined = reply_int(rd, 3);
        if (res.quarantined < 0 || res.quarantined > t->k)
            rd->bad = true;
        else
            reply_expect(rd, EXPIRE_QUARANTINED_AT + 2 * (size_t)res.quarantined);
        for (long long i = 0; i < res.quarantined && !rd->bad; i++) {
            reply_ident(rd, EXPIRE_QUARANTINED_AT + 2 * (size_t)i);
            reply_str(rd, EXPIRE_QUARANTINED_AT + 2 * (size_t)i + 1);
        }
        res.rd = rd;
    } else if (t->kind == TRANSITION_UPDATE || t->kind == TRANSITION_TRANSFER) {
        res.rd = rd; /* their errors carry data: done reads it */
    } else {
        reply_expect(rd, 1);
    }
    if (rd->bad)
        return false;
    t->done(t, &res);
    return true;
}

int transition_reply(struct transition *t, struct reply *rd)
{
    assert(t->k >= 1 && t->tries < TRANSITION_TRIES);
    if (rd->bad)
        return -1;
    if (!t->acting)
        return build_act(t, rd) ? 0 : (rd->bad = true, -1);
    if (reply_status(rd) == acts[t->kind].keys_missing) {
        /* A record changed between the plan and the act: plan again. */
        if (++t->tries >= TRANSITION_TRIES) {
            rd->bad = true;
            return -1;
        }
        send_plan(t);
        return 0;
    }
    return read_act(t, rd) ? 0 : -1;
}
