/* stock.audit (see audit.h). Every call has its own deadline (an audit of
 * many pages may take longer than one request timeout; each call is
 * bounded):
 *
 *   audit.lua, no sku                           may the ledger be replayed?
 *   XRANGE {ns}:events (cursor + COUNT 1000     the ledger, a page at a time,
 *                                               into the replay
 *   SCAN cursor MATCH {ns}:stock:* COUNT 500   a page of skus
 *   audit.lua, as many calls as the page needs  compare (AUDIT_BUDGET members
 *                                               of the holds indexes and
 *                                               stock locations each)
 *   ... the next page, then the skus only the ledger names, then:
 *   ZSCAN {ns}:expiry cursor COUNT 100         a page of the expiry index
 *   audit_index.lua                             stale entries
 *
 * No call depends on another staying true: each compares one consistent
 * snapshot of what it reads, so traffic during the audit never makes it
 * start over. For the ledger that snapshot is the replay of the entries
 * read so far (the stream's first `read` ones) plus the entries after them,
 * which audit.lua reads in the same atomic step as the counts and checks
 * are all the rest (entries-added = read + the entries after the cursor):
 * trimming between two calls is found, never mistaken for a difference.
 * Before a call whose tail would be long the replay reads on, so that no
 * call reads more than AUDIT_TAIL entries. ZSCAN may return an id twice
 * (while Redis resizes the index); a stale id is reported once. */
#include "audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_ledger.h"
#include "keys.h"
#include "request.h"

#define AUDIT_PAGE 500
#define AUDIT_INDEX_PAGE 100
#define AUDIT_BUDGET 20000
#define AUDIT_LEDGER_PAGE 1000 /* ledger entries per XRANGE */
#define AUDIT_TAIL 4000        /* the most ledger entries one audit.lua call reads */
#define AUDIT_BEHIND_MAX 100   /* calls in a row that find the replay too far behind */

/* The findings, gathered over the pages; owned by the request's ctx. */
struct audit_state {
    struct args skus; /* the page being checked */
    int sku_at;       /* its first sku not checked yet */
    struct args ids;  /* the page of the expiry index */
    char cursor[24];  /* SCAN / ZSCAN cursor; "0" after the last page */
    bool last_page;
    bool one_sku; /* stock.audit {sku}: no index pass */
    long long skus_checked, holds;
    struct buf differences, stale, late; /* result list bodies */
    long long found[AUDIT_KINDS];        /* their entries, for the metrics */
    struct args stale_ids;               /* reported already */
    /* The ledger replay. book is NULL once the ledger cannot be replayed. */
    struct audit_ledger *book; /* owned */
    struct audit_ledger_report ledger;
    char entry[48];                      /* the id of the last entry replayed; "0-0" for none */
    long long read;                      /* the entries replayed */
    long long added;                     /* the entries ever added, as last seen */
    int behind;                          /* calls in a row that found the replay too far behind */
    void (*resume)(struct request *req); /* the step that waits for the replay */
    bool others;                         /* in the pass over the skus only the ledger names */
    int other_at, other_end;             /* that pass: the next sku of the book, and its end */
    struct ledger_row *rows;             /* owned: one sku's rows from a reply */
    size_t rows_cap;
    struct ledger_tail *tail; /* owned: one sku's entries from a reply */
    size_t tail_cap;
};

struct audit_ctx {
    struct audit_state *st; /* owned; freed when the request is answered */
};

static void scan(struct request *req);
static void scan_index(struct request *req);
static void check(struct request *req);
static void page(struct request *req);
static void next_page(struct request *req);

static void audit_end(struct request *req)
{
    struct audit_state *st = REQUEST_CTX(req, struct audit_ctx)->st;
    args_free(&st->skus);
    args_free(&st->ids);
    args_free(&st->stale_ids);
    buf_free(&st->differences);
    buf_free(&st->stale);
    buf_free(&st->late);
    audit_ledger_free(st->book);
    buf_free(&st->ledger.differences);
    free(st->rows);
    free(st->tail);
    free(st);
}

static struct audit_state *state(struct request *req)
{
    return REQUEST_CTX(req, struct audit_ctx)->st;
}

static void finish(struct request *req)
{
    struct audit_state *st = state(req);
    audit_ledger_result(request_result(req), st->skus_checked, st->holds, &st->differences,
                        &st->stale, &st->late, &st->ledger);
    if (!st->one_sku) {
        st->found[AUDIT_LEDGER] = st->ledger.replayed ? st->ledger.n_differences : 0;
        metrics_audit(request_metrics(req), st->found);
    }
    request_finish(req);
}

/* The ledger cannot be replayed (why, a format): the audit goes on without
 * it, and what it found there is forgotten (a partial replay proves
 * nothing). entries: what the ledger held, as far as known. */
static void ledger_off(struct audit_state *st, long long entries, const char *why, ...)
    __attribute__((format(printf, 3, 4)));
static void ledger_off(struct audit_state *st, long long entries, const char *why, ...)
{
    va_list ap;
    va_start(ap, why);
    vsnprintf(st->ledger.why, sizeof st->ledger.why, why, ap);
    va_end(ap);
    st->ledger.replayed = false;
    st->ledger.entries = entries;
    st->ledger.n_differences = 0;
    buf_reset(&st->ledger.differences);
    audit_ledger_free(st->book);
    st->book = NULL;
}

/* The ledger segment of an audit.lua call (audit.h): its KEYS, after the
 * call's other keys; its ARGV, after the call's other arguments. */
static void add_ledger_keys(struct request *req, struct args *a)
{
    ARG_KEY(a, a->n + AUDIT_EK_EVENTS, request_ns(req), KEY_EVENTS, NULL);
}

static void add_ledger_argv(struct audit_state *st, struct args *a)
{
    int at = a->n;
    ARG_INT(a, at + AUDIT_EA_READ, st->read);
    ARG_BYTES(a, at + AUDIT_EA_CURSOR, st->entry, strlen(st->entry));
    ARG_INT(a, at + AUDIT_EA_TAIL, AUDIT_TAIL);
}

/* Statuses other than OK of an audit.lua call that carried the ledger
 * segment: true when handled (the caller's call is to be made again). */
static bool ledger_status(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    switch (reply_status(rd)) {
    case AUDIT_ST_BEHIND:
        st->added = reply_int(rd, 1);
        reply_expect(rd, 2);
        if (!rd->bad && ++st->behind > AUDIT_BEHIND_MAX)
            ledger_off(st, st->added, "the ledger grew faster than the audit could read it");
        return true;
    case AUDIT_ST_UNREPLAYABLE: {
        struct str why = reply_str(rd, 1);
        long long added = reply_int(rd, 2), length = reply_int(rd, 3);
        reply_expect(rd, 4);
        if (rd->bad)
            return true;
        if (str_eq(why, STR_LIT("trimmed")) && st->read == 0)
            ledger_off(st, length,
                       "the ledger was trimmed (--ledger-maxlen) or had entries deleted: it "
                       "holds %lld of the %lld entries ever added to it",
                       length, added);
        else if (str_eq(why, STR_LIT("trimmed")))
            ledger_off(st, length,
                       "the ledger was trimmed (--ledger-maxlen) during the audit, before it "
                       "was read to its end");
        else if (str_eq(why, STR_LIT("uncounted")))
            ledger_off(st, length,
                       "Redis does not count the entries ever added to the ledger (Redis 7.0 "
                       "does), so the audit cannot tell whether it was trimmed");
        else
            ledger_off(st, 0, "the ledger is not a stream");
        return true;
    }
    default:
        return false;
    }
}

/* --- the ledger: is it whole, then read it ------------------------------- */

/* Whatever waited for the replay: the skus, one or a page at a time. */
static void start_skus(struct request *req)
{
    struct audit_state *st = state(req);
    if (st->one_sku) {
        check(req);
    } else {
        strcpy(st->cursor, "0");
        scan(req);
    }
}

/* {OK, 0, 0, 0, 0, added, 0}, or BEHIND or UNREPLAYABLE */
static void probe_reply(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    if (ledger_status(req, rd)) {
        st->behind = 0; /* a ledger of any length is read from the start */
    } else {
        long long added = reply_int(rd, 5);
        reply_expect(rd, 7);
        if (reply_int(rd, 1) != 0 || reply_int(rd, 6) != 0)
            rd->bad = true;
        st->added = added;
        st->ledger.entries = added;
    }
    if (rd->bad)
        return;
    st->resume = start_skus;
    if (st->book != NULL && st->added > st->read)
        page(req);
    else
        start_skus(req);
}

static void probe(struct request *req)
{
    struct audit_state *st = state(req);
    struct args *a = request_args(req);
    request_renew_deadline(req);
    ARG_KEY(a, AUDIT_K_DUE, request_ns(req), KEY_DUE, NULL);
    ARG_KEY(a, AUDIT_K_EXPIRY, request_ns(req), KEY_EXPIRY, NULL);
    add_ledger_keys(req, a);
    int nkeys = a->n;
    ARG_INT(a, nkeys + AUDIT_A_BUDGET, AUDIT_BUDGET);
    ARG_INT(a, nkeys + AUDIT_A_M, 0);
    add_ledger_argv(st, a);
    request_call(req, SCRIPT_AUDIT, nkeys, AUDIT_STATUSES, probe_reply);
}

/* A field of a ledger entry's field list (name, value, ...); "" if none. */
static struct str entry_field(const redisReply *fields, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && k->len == n && memcmp(k->str, name, n) == 0 &&
            v->type == REDIS_REPLY_STRING)
            return (struct str){v->str, v->len};
    }
    return (struct str){"", 0};
}

/* Replays one entry. Returns false (and turns the replay off) when it
 * cannot be replayed. */
static bool replay(struct audit_state *st, const redisReply *e)
{
    const redisReply *id = e->element[0], *fields = e->element[1];
    struct str sku = entry_field(fields, "sku"), loc = entry_field(fields, "location");
    struct str type = entry_field(fields, "type");
    struct ledger_move mv;
    struct ident ok;
    if (audit_ledger_move(type, entry_field(fields, "quantity"), &mv) != 0 ||
        !ident_check(sku.p, sku.n, &ok) || !ident_check(loc.p, loc.n, &ok)) {
        ledger_off(st, st->added,
                   "ledger entry %.*s cannot be replayed: type %.*s is not one that moves stock, "
                   "or its sku, location or quantity is not one",
                   (int)id->len, id->str, (int)(type.n > 32 ? 32 : type.n), type.p);
        return false;
    }
    /* stock.audit {sku} replays that sku's entries only. */
    if (!st->one_sku || str_eq(sku, args_get(&st->skus, 0))) {
        if (audit_ledger_add(st->book, sku, loc, &mv) != 0) {
            ledger_off(st, st->added, "the ledger's sums at %.*s %.*s leave the range of numbers",
                       (int)sku.n, sku.p, (int)loc.n, loc.p);
            return false;
        }
    }
    st->read++;
    memcpy(st->entry, id->str, id->len + 1);
    return true;
}

/* [[id, [field, value, ...]], ...] */
static void page_reply(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    const redisReply *r = rd->r;
    if (r->type != REDIS_REPLY_ARRAY || r->elements > AUDIT_LEDGER_PAGE) {
        rd->bad = true;
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= sizeof st->entry ||
            e->element[1]->type != REDIS_REPLY_ARRAY) {
            rd->bad = true;
            return;
        }
    }
    for (size_t i = 0; i < r->elements && st->book != NULL; i++)
        if (!replay(st, r->element[i]))
            break;
    /* A short page is the end of the stream as it was then: nothing more
     * to read for now (if entries the replay has not read are gone, the
     * next audit.lua call finds it). */
    if (r->elements < AUDIT_LEDGER_PAGE && st->added > st->read)
        st->added = st->read;
    if (st->book != NULL && st->read < st->added)
        page(req);
    else
        st->resume(req);
}

/* Reads the next page of the ledger into the replay, then st->resume. */
static void page(struct request *req)
{
    struct audit_state *st = state(req);
    struct args *a = request_args(req);
    char from[sizeof st->entry + 1];
    request_renew_deadline(req);
    snprintf(from, sizeof from, "(%s", st->entry);
    args_add(a, "XRANGE", 6);
    args_add_key(a, request_ns(req), KEY_EVENTS, NULL);
    args_add(a, from, strlen(from));
    args_add(a, "+", 1);
    args_add(a, "COUNT", 5);
    args_add_int(a, AUDIT_LEDGER_PAGE);
    request_command(req, page_reply);
}

void audit_run(struct request *req)
{
    struct audit_state *st = xcalloc(1, sizeof *st);
    args_init(&st->skus);
    args_init(&st->ids);
    args_init(&st->stale_ids);
    st->book = audit_ledger_new();
    st->ledger.replayed = true;
    strcpy(st->entry, "0-0");
    REQUEST_CTX(req, struct audit_ctx)->st = st;
    request_on_end(req, audit_end);
    if (req->params.present & HAS_SKU) {
        args_add_ident(&st->skus, &req->params.sku);
        st->last_page = true;
        st->one_sku = true;
    }
    probe(req);
}

/* --- the check of the skus: lua/audit.lua ------------------------------- */

/* The next page of the skus only the ledger names (no stock hash, or one
 * SCAN did not return): those of the book when the pass began, unchecked. */
static void others(struct request *req)
{
    struct audit_state *st = state(req);
    args_reset(&st->skus);
    while (st->book != NULL && st->other_at < st->other_end && st->skus.n < AUDIT_PAGE) {
        if (!audit_ledger_checked(st->book, st->other_at))
            args_add_str(&st->skus, audit_ledger_name(st->book, st->other_at));
        st->other_at++;
    }
    st->last_page = st->book == NULL || st->other_at >= st->other_end;
    st->sku_at = 0;
    if (st->skus.n > 0)
        check(req);
    else
        next_page(req); /* the last page: the pass is over */
}

static void next_page(struct request *req)
{
    struct audit_state *st = state(req);
    if (!st->last_page) {
        if (st->others)
            others(req);
        else
            scan(req);
    } else if (st->one_sku) {
        finish(req);
    } else if (!st->others && st->book != NULL) {
        st->others = true;
        st->other_end = audit_ledger_count(st->book);
        others(req);
    } else {
        strcpy(st->cursor, "0");
        st->last_page = false;
        scan_index(req);
    }
}

/* A count in a stock hash, as text; one that is missing, or is not a whole
 * number, reads as 0 (as it does for reserve and stock.get). */
static long long count_text(struct str s)
{
    char digits[24];
    if (s.n == 0 || s.n >= sizeof digits)
        return 0;
    memcpy(digits, s.p, s.n);
    digits[s.n] = '\0';
    char *end;
    long long v = strtoll(digits, &end, 10);
    return *end == '\0' ? v : 0;
}

/* The ledger part of a reply from `at`: added, then per sku checked its
 * rows (r, (location, on_hand, reserved) x r), then t, (id, type, sku,
 * location, quantity) x t. Compares each sku checked. */
static void ledger_reply(struct request *req, struct reply *rd, size_t at, long long done)
{
    struct audit_state *st = state(req);
    size_t count = reply_count(rd);
    long long added = reply_int(rd, at++);
    size_t first_rows = at;
    for (long long j = 0; j < done && !rd->bad; j++) {
        long long r = reply_int(rd, at++);
        if (r < 0 || (size_t)r > count / 3)
            rd->bad = true;
        else
            at += 3 * (size_t)r;
    }
    long long t = rd->bad ? 0 : reply_int(rd, at++);
    if (t < 0 || (size_t)t > count / 5)
        rd->bad = true;
    size_t first_entry = at;
    reply_expect(rd, at + 5 * (size_t)t);
    if (rd->bad)
        return;
    st->added = added;
    st->ledger.entries = added;
    /* Every entry must be one the replay knows, whichever sku it names. */
    for (long long e = 0; e < t; e++) {
        size_t x = first_entry + 5 * (size_t)e;
        struct ledger_move mv;
        struct str id = reply_str(rd, x), type = reply_str(rd, x + 1);
        if (audit_ledger_move(type, reply_str(rd, x + 4), &mv) != 0) {
            ledger_off(st, added,
                       "ledger entry %.*s cannot be replayed: type %.*s is not one that moves "
                       "stock, or its quantity is not a whole number",
                       (int)(id.n > 40 ? 40 : id.n), id.p, (int)(type.n > 32 ? 32 : type.n),
                       type.p);
            return;
        }
    }
    at = first_rows;
    for (long long j = 0; j < done && !rd->bad; j++) {
        struct str sku = args_get(&st->skus, st->sku_at + (int)j);
        size_t r = (size_t)reply_int(rd, at++);
        st->rows = xgrow(st->rows, &st->rows_cap, r, sizeof *st->rows);
        for (size_t i = 0; i < r; i++, at += 3)
            st->rows[i] = (struct ledger_row){reply_str(rd, at), count_text(reply_str(rd, at + 1)),
                                              count_text(reply_str(rd, at + 2))};
        size_t n_tail = 0;
        for (long long e = 0; e < t; e++) {
            size_t x = first_entry + 5 * (size_t)e;
            if (!str_eq(reply_str(rd, x + 2), sku))
                continue;
            st->tail = xgrow(st->tail, &st->tail_cap, n_tail + 1, sizeof *st->tail);
            st->tail[n_tail].location = reply_str(rd, x + 3);
            audit_ledger_move(reply_str(rd, x + 1), reply_str(rd, x + 4), &st->tail[n_tail].move);
            n_tail++;
        }
        audit_ledger_compare(st->book, sku, st->rows, r, st->tail, n_tail, &st->ledger);
        audit_ledger_set_checked(st->book, audit_ledger_sku(st->book, sku));
    }
}

/* {OK, done, holds, d, (sku, location, reserved, expected) x d,
 *  u, (sku, due, earliest) x u, [the ledger part]}, or BEHIND or
 *  UNREPLAYABLE when the call carried the ledger segment */
static void check_reply(struct request *req, struct reply *rd)
{
    struct audit_state *st = state(req);
    bool ledger = st->book != NULL; /* the call carried the ledger segment */
    if (ledger && ledger_status(req, rd)) {
        if (!rd->bad)
            check(req);
        return;
    }
    long long done = reply_int(rd, 1);
    long long holds = reply_int(rd, 2);
    long long d = reply_int(rd, 3);
    size_t at = 4;
    if (done < 1 || done > st->skus.n - st->sku_at || d < 0 || d > (long long)reply_count(rd))
        rd->bad = true;
    for (long long i = 0; i < d && !rd->bad; i++, at += 4, st->found[AUDIT_COUNTS]++)
        result_audit_difference(&st->differences, reply_str(rd, at), reply_str(rd, at + 1),
                                reply_int(rd, at + 2), reply_int(rd, at + 3));
    long long u = rd->bad ? 0 : reply_int(rd, at++);
    if (u < 0 || u > (long long)reply_count(rd))
        rd->bad = true;
    for (long long i = 0; i < u && !rd->bad; i++, at += 3, st->found[AUDIT_LATE]++)
        result_audit_late(&st->late, reply_str(rd, at), reply_int(rd, at + 1),
                          reply_int(rd, at + 2));
    if (ledger && !rd->bad)
        ledger_reply(req, rd, at, done);
    else
        reply_expect(rd, at);
    if (rd->bad)
        return;
    st->behind = 0;
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
    /* A long tail is read into the replay first, a page at a time. */
    if (st->book != NULL && st->added - st->read > AUDIT_LEDGER_PAGE) {
        st->resume = check;
        page(req);
        return;
    }
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
    if (st->book != NULL)
        add_ledger_keys(req, a);
    int nkeys = a->n;
    ARG_INT(a, nkeys + AUDIT_A_BUDGET, AUDIT_BUDGET);
    ARG_INT(a, nkeys + AUDIT_A_M, st->skus.n - st->sku_at);
    for (int j = st->sku_at; j < st->skus.n; j++)
        args_add_str(a, args_get(&st->skus, j));
    if (st->book != NULL)
        add_ledger_argv(st, a);
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
            st->found[AUDIT_STALE]++;
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
