/* What the direct script tests share; each function says what it does in
 * scripts_util.h. */
#include "scripts_util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reservation.h"
#include "reserve.h"
#include "stock.h"
#include "transition.h"

/* Short-lived formatted strings (keys, numbers as arguments): a ring, so
 * that one call may hold many without freeing them. */
const char *fmt(const char *f, ...)
{
    static char ring[128][2048];
    static unsigned next;
    char *s = ring[next++ % 128];
    va_list ap;
    va_start(ap, f);
    vsnprintf(s, sizeof ring[0], f, ap);
    va_end(ap);
    return s;
}

/* Arranges a test's state with one command (hiredis format). */
void run(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    redisReply *r = redisvCommand(H.redis, f, ap);
    va_end(ap);
    assert_non_null(r);
    bool failed = r->type == REDIS_REPLY_ERROR;
    freeReplyObject(r);
    assert_false(failed);
}

long long now(void)
{
    return harness_redis_time_ms(&H);
}

/* --- replies and state as text ------------------------------------------- */

/* A reply as text: integers as they are, strings quoted, nested arrays in
 * brackets: "0 'r1' ['a' 1] nil". */
static void print_reply(FILE *f, const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER) {
        fprintf(f, "%lld", r->integer);
    } else if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
               r->type == REDIS_REPLY_ERROR) {
        fprintf(f, "'%s'", r->str);
    } else if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            bool nested = r->element[i]->type == REDIS_REPLY_ARRAY;
            fprintf(f, "%s%s", i ? " " : "", nested ? "[" : "");
            print_reply(f, r->element[i]);
            fputs(nested ? "]" : "", f);
        }
    } else {
        fputs("nil", f);
    }
}

/* A reply as text (print_reply), in a ring string; frees the reply. */
const char *text_of(redisReply *r)
{
    char buf[2048] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    print_reply(f, r);
    fclose(f);
    freeReplyObject(r);
    return fmt("%s", buf);
}

/* What a failed check names after its line (a table-driven test's case). */
char context[128];

/* Checks a reply (of a script, or of a command that reads state) against
 * its expected text, as print_reply writes it, and frees it. */
void is_at(int line, redisReply *r, const char *want, ...)
{
    char w[2048];
    va_list ap;
    va_start(ap, want);
    vsnprintf(w, sizeof w, want, ap);
    va_end(ap);
    const char *got = text_of(r);
    if (strcmp(got, w) != 0)
        fail_msg("line %d %s\nwant: %s\n got: %s", line, context, w, got);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(redisReply *const *)a)->str, (*(redisReply *const *)b)->str);
}

/* Everything in Redis as text: each key (sorted) with its type, its whole
 * value, and whether it has a TTL (not its value, which ticks). */
char *snapshot(void)
{
    static const char *const dump[][2] = {{"string", "GET %s"},
                                          {"hash", "HGETALL %s"},
                                          {"list", "LRANGE %s 0 -1"},
                                          {"zset", "ZRANGE %s 0 -1 WITHSCORES"},
                                          {"stream", "XRANGE %s - +"}};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    redisReply *keys = R("KEYS *");
    if (keys->elements > 1) /* an empty reply has no element array */
        qsort(keys->element, keys->elements, sizeof *keys->element, by_name);
    for (size_t i = 0; i < keys->elements; i++) {
        const char *key = keys->element[i]->str;
        redisReply *type = R("TYPE %s", key), *ttl = R("TTL %s", key);
        fprintf(f, "%s %s%s:", key, type->str, ttl->integer >= 0 ? " (ttl)" : "");
        for (size_t j = 0; j < sizeof dump / sizeof dump[0]; j++) {
            if (strcmp(type->str, dump[j][0]) == 0) {
                redisReply *v = R(dump[j][1], key);
                fputc(' ', f);
                print_reply(f, v);
                freeReplyObject(v);
            }
        }
        fputc('\n', f);
        freeReplyObject(type);
        freeReplyObject(ttl);
    }
    freeReplyObject(keys);
    fclose(f);
    return text;
}

/* Appends s to the string in dst[size], cut short if it does not fit. */
void cat(char *dst, size_t size, const char *s)
{
    strncat(dst, s, size - strlen(dst) - 1);
}

/* The dataset is still the one of snapshot `before` (freed here). */
void same_at(int line, char *before)
{
    char *after = snapshot();
    if (strcmp(after, before) != 0)
        fail_msg("line %d %s: changed\nbefore:\n%s\nafter:\n%s", line, context, before, after);
    free(after);
    free(before);
}

/* The ledger holds len entries, and the last n of them, oldest first, have
 * these values of type, sku, location, quantity, reservation and reason
 * (the fields in that order), one entry's values joined to the next by
 * " | ". */
void ledger_at(int line, long long len, int n, const char *want, ...)
{
    static const char *const names[] = {"type",     "sku",         "location",
                                        "quantity", "reservation", "reason"};
    char w[2048], got[2048] = "";
    va_list ap;
    va_start(ap, want);
    vsnprintf(w, sizeof w, want, ap);
    va_end(ap);
    /* Values only: a field of another name shows with its name. */
    redisReply *r = R("XREVRANGE " EVENTS " + - COUNT %d", n > 0 ? n : 1);
    for (int i = n - 1; i >= 0 && i < (int)r->elements; i--) {
        const redisReply *fv = r->element[i]->element[1];
        for (size_t j = 0; j + 1 < fv->elements; j += 2) {
            bool named = j < 12 && strcmp(fv->element[j]->str, names[j / 2]) == 0;
            cat(got, sizeof got,
                fmt("%s%s'%s'",
                    j           ? " "
                    : i < n - 1 ? " | "
                                : "",
                    named ? "" : fv->element[j]->str, fv->element[j + 1]->str));
        }
    }
    freeReplyObject(r);
    const char *have = text_of(R("XLEN " EVENTS));
    if (strcmp(have, fmt("%lld", len)) != 0 || strcmp(got, w) != 0)
        fail_msg("line %d: %s ledger entries, want %lld\nwant: %s\n got: %s", line, have, len, w,
                 got);
}

/* A reservation finished in status: out of the index, and its record,
 * and its order binding unless order_id is "", expire after the retention
 * time (a live hold's never do). */
void finished(const char *rid, const char *order_id, const char *status)
{
    is(R("HGET " NS ":res:%s status", rid), "'%s'", status);
    is(R("ZSCORE " EXPIRY " %s", rid), "nil");
    const char *keys[] = {fmt(NS ":res:%s", rid), fmt(NS ":order:%s", order_id)};
    for (int i = 0; i < (order_id[0] ? 2 : 1); i++) {
        redisReply *r = R("TTL %s", keys[i]);
        long long ttl = r->integer;
        freeReplyObject(r);
        if (ttl <= 0 || ttl > RETENTION)
            fail_msg("TTL of %s: %lld", keys[i], ttl);
    }
}

/* The start of reservation_reply for rid as its record says it now: id,
 * status, order_id, created_at, expires_at, reason. */
const char *head(const char *rid)
{
    redisReply *r = R("HMGET " NS ":res:%s status order_id created_at expires_at reason", rid);
    const char *v[5];
    for (int i = 0; i < 5; i++)
        v[i] = r->element[i]->str ? fmt("%s", r->element[i]->str) : "";
    freeReplyObject(r);
    return fmt("'%s' '%s' '%s' %s %s '%s'", rid, v[0], v[1], v[2], v[3], v[4]);
}

/* Splits s at spaces into at most max words (ring strings); their count. */
int words(const char *s, const char **out, int max)
{
    int n = 0;
    for (size_t len; *s; s += len + (s[len] == ' ')) {
        len = strcspn(s, " ");
        assert_true(n < max);
        out[n++] = fmt("%.*s", (int)len, s);
    }
    return n;
}

void put_stock(const char *sku, const char *loc, long long on_hand, long long reserved,
               long long safety)
{
    run("HSET " NS ":stock:%s %s:on_hand %lld %s:reserved %lld %s:safety %lld", sku, loc, on_hand,
        loc, reserved, loc, safety);
}

/* A reservation record as reserve writes it (created a minute before its
 * deadline), its allocations given as "sku loc qty ...", with its index
 * entry when held and its order binding. The units it holds are the
 * caller's to count in the stock. */
void put_hold(const char *rid, const char *order_id, const char *status, long long expires,
              const char *allocs)
{
    const char *w[24];
    int n = words(allocs, w, 24);
    char json[512] = "[";
    for (int i = 0; i + 2 < n; i += 3)
        cat(json, sizeof json, fmt("%s[\"%s\",\"%s\",%s]", i ? "," : "", w[i], w[i + 1], w[i + 2]));
    cat(json, sizeof json, "]");
    run("HSET " NS ":res:%s status %s order_id %s created_at %lld expires_at %lld allocations %s",
        rid, status, order_id, expires - 60000, expires, json);
    if (strcmp(status, "held") == 0) {
        /* Each allocation in its sku's holds index, each sku due no later,
         * as reserve makes it; and in the expiry index, as a hold made
         * before the due index was (the scripts take both). */
        run("ZADD " EXPIRY " %lld %s", expires, rid);
        run("HSET " NS ":res:%s v 2", rid);
        for (int i = 0; i + 2 < n; i += 3) {
            run("ZADD " NS ":holds:%s %lld %s:%d:%s:%s", w[i], expires, rid, i / 3 + 1, w[i + 1],
                w[i + 2]);
            run("ZADD " DUE " LT %lld %s", expires, w[i]);
        }
    }
    if (order_id[0] != '\0')
        run("SET " NS ":order:%s %s", order_id, rid);
}

/* --- the calls, by contract position -------------------------------------- */

/* EVAL of script id with nk KEYS then na ARGV. Every slot must be set: a
 * NULL is a contract position the test forgot. Every script answers a
 * table, so any other reply fails the test. */
redisReply *eval(enum script_id id, const char *const *keys, int nk, const char *const *args,
                 int na)
{
    enum { MAX_ARGV = 128 };
    const char *argv[MAX_ARGV];
    size_t lens[MAX_ARGV];
    int argc = 3 + nk + na;
    assert_true(argc <= MAX_ARGV);
    argv[0] = "EVAL";
    argv[1] = scripts[id].body;
    argv[2] = fmt("%d", nk);
    for (int i = 0; i < nk + na; i++) {
        argv[3 + i] = i < nk ? keys[i] : args[i - nk];
        if (argv[3 + i] == NULL)
            fail_msg("%s: %s[%d] not set", scripts[id].name, i < nk ? "KEYS" : "ARGV",
                     (i < nk ? i : i - nk) + 1);
    }
    for (int i = 0; i < argc; i++)
        lens[i] = i == 1 ? scripts[id].len : strlen(argv[i]);
    redisReply *r = redisCommandArgv(H.redis, argc, argv, lens);
    if (r == NULL)
        fail_msg("%s: %s", scripts[id].name, H.redis->errstr);
    if (r->type != REDIS_REPLY_ARRAY)
        is(r, "a table from %s", scripts[id].name); /* fails, showing the reply */
    return r;
}

/* eval of a read-only script: it must change nothing at all. */
redisReply *eval_ro(enum script_id id, const char *const *keys, int nk, const char *const *args,
                    int na)
{
    char *before = snapshot();
    redisReply *r = eval(id, keys, nk, args, na);
    same(before);
    return r;
}

redisReply *call_stock_set_full(const char *sku, const char *loc, const char *on_hand,
                                const char *safety, const char *backorder, const char *low_stock)
{
    const char *keys[STOCK_SET_K_FIXED] = {[STOCK_SET_K_STOCK] = fmt(NS ":stock:%s", sku),
                                           [STOCK_SET_K_EVENTS] = EVENTS,
                                           [STOCK_SET_K_STOCK_EVENTS] = STOCK_EVENTS};
    const char *args[STOCK_SET_A_FIXED] = {
        [STOCK_SET_A_LOCATION] = loc,       [STOCK_SET_A_ON_HAND] = on_hand,
        [STOCK_SET_A_SAFETY] = safety,      [STOCK_SET_A_SKU] = sku,
        [STOCK_SET_A_MAXLEN] = MAXLEN,      [STOCK_SET_A_BACKORDER] = backorder,
        [STOCK_SET_A_LOW_STOCK] = low_stock};
    return eval(SCRIPT_STOCK_SET, keys, STOCK_SET_K_FIXED, args, STOCK_SET_A_FIXED);
}

redisReply *call_stock_set(const char *sku, const char *loc, const char *on_hand,
                           const char *safety)
{
    return call_stock_set_full(sku, loc, on_hand, safety, "", "");
}

/* stock_adjust with a largest on_hand of 100. */
redisReply *call_adjust(const char *sku, const char *loc, const char *delta, const char *reason)
{
    const char *keys[STOCK_ADJUST_K_FIXED] = {[STOCK_ADJUST_K_STOCK] = fmt(NS ":stock:%s", sku),
                                              [STOCK_ADJUST_K_EVENTS] = EVENTS,
                                              [STOCK_ADJUST_K_STOCK_EVENTS] = STOCK_EVENTS};
    const char *args[STOCK_ADJUST_A_FIXED] = {
        [STOCK_ADJUST_A_LOCATION] = loc,  [STOCK_ADJUST_A_DELTA] = delta,
        [STOCK_ADJUST_A_MAX] = "100",     [STOCK_ADJUST_A_SKU] = sku,
        [STOCK_ADJUST_A_MAXLEN] = MAXLEN, [STOCK_ADJUST_A_REASON] = reason};
    return eval(SCRIPT_STOCK_ADJUST, keys, STOCK_ADJUST_K_FIXED, args, STOCK_ADJUST_A_FIXED);
}

/* stock_get of sku at the locations "L1 L2 ..." ("": all of them). */
redisReply *call_stock_get(const char *sku, const char *locs)
{
    const char *keys[STOCK_GET_K_FIXED] = {[STOCK_GET_K_STOCK] = fmt(NS ":stock:%s", sku)};
    const char *args[8];
    return eval_ro(SCRIPT_STOCK_GET, keys, STOCK_GET_K_FIXED, args, words(locs, args, 8));
}

void batch_init(struct batch *b)
{
    memset(b, 0, sizeof *b);
    b->keys[RESERVE_K_DUE] = DUE;
    b->keys[RESERVE_K_EVENTS] = EVENTS;
    b->keys[RESERVE_K_LOCATIONS] = NS ":locations";
    b->keys[RESERVE_K_STOCK_EVENTS] = STOCK_EVENTS;
    b->nk = RESERVE_K_FIXED;
    b->args[RESERVE_A_MAXLEN] = MAXLEN;
    b->na = RESERVE_A_FIXED;
}

/* One order's segment of KEYS and ARGV (batch_add). */
static void add_order(struct batch *b, const char *rid, const char *order_id, const char *strategy,
                      const char *stale, const char *flags, const char *lines, const char *locs)
{
    const char *w[8], *res = fmt(NS ":res:%s", rid);
    int n = words(lines, w, 8) / 2;
    assert_true(n <= 4 && b->nk + RESERVE_EK_FIXED + 2 * n <= 48 &&
                b->na + RESERVE_EA_FIXED + 2 * n + 1 + 4 <= 80);
    const char **k = b->keys + b->nk, **a = b->args + b->na;
    k[RESERVE_EK_RES] = res;
    k[RESERVE_EK_ORDER] = order_id[0] ? fmt(NS ":order:%s", order_id) : res;
    k[RESERVE_EK_CHANNEL] = CHANNEL;
    k[RESERVE_EK_RULES] = RULES;
    a[RESERVE_EA_ID] = rid;
    a[RESERVE_EA_ORDER_ID] = order_id;
    a[RESERVE_EA_TTL] = XSTR(TTL_MS);
    a[RESERVE_EA_STRATEGY] = strategy;
    a[RESERVE_EA_STALE] = stale;
    a[RESERVE_EA_ROUTE] = "";
    a[RESERVE_EA_FLAGS] = flags;
    a[RESERVE_EA_CHANNEL] = "web";
    a[RESERVE_EA_N] = fmt("%d", n);
    for (int i = 0; i < n; i++) {
        k[RESERVE_EK_FIXED + i] = fmt(NS ":stock:%s", w[2 * i]);
        k[RESERVE_EK_FIXED + n + i] = fmt(NS ":holds:%s", w[2 * i]);
        a[RESERVE_EA_FIXED + 2 * i] = w[2 * i];
        a[RESERVE_EA_FIXED + 2 * i + 1] = w[2 * i + 1];
    }
    int m = words(locs, a + RESERVE_EA_FIXED + 2 * n + 1, 4);
    a[RESERVE_EA_FIXED + 2 * n] = fmt("%d", m);
    b->nk += RESERVE_EK_FIXED + 2 * n;
    b->na += RESERVE_EA_FIXED + 2 * n + 1 + m;
}

void batch_add(struct batch *b, const char *rid, const char *order_id, const char *strategy,
               const char *stale, const char *lines, const char *locs)
{
    add_order(b, rid, order_id, strategy, stale, "0", lines, locs);
}

void batch_add_flags(struct batch *b, const char *rid, const char *order_id, const char *strategy,
                     const char *flags, const char *lines, const char *locs)
{
    add_order(b, rid, order_id, strategy, "", flags, lines, locs);
}

redisReply *batch_run(struct batch *b)
{
    return eval(SCRIPT_RESERVE, b->keys, b->nk, b->args, b->na);
}

redisReply *detach(redisReply *r, size_t i)
{
    assert_true(i < r->elements);
    redisReply *e = r->element[i];
    r->element[i] = NULL;
    return e;
}

/* The one order's reply of a batch b of one. */
static redisReply *run_one(struct batch *b)
{
    redisReply *r = batch_run(b);
    if (r->elements != 1 || r->element[0]->type != REDIS_REPLY_ARRAY)
        is(r, "one reply of one order"); /* fails, showing the reply */
    redisReply *one = detach(r, 0);
    freeReplyObject(r);
    return one;
}

redisReply *call_reserve(const char *rid, const char *order_id, const char *strategy,
                         const char *stale, const char *lines, const char *locs)
{
    struct batch b;
    batch_init(&b);
    batch_add(&b, rid, order_id, strategy, stale, lines, locs);
    return run_one(&b);
}

redisReply *call_reserve_flags(const char *rid, const char *order_id, const char *strategy,
                               const char *flags, const char *lines, const char *locs)
{
    struct batch b;
    batch_init(&b);
    batch_add_flags(&b, rid, order_id, strategy, flags, lines, locs);
    return run_one(&b);
}

redisReply *reserve_a(const char *rid, int qty)
{
    return call_reserve(rid, "", "auto", "", fmt("A %d", qty), "");
}

redisReply *call_get(const char *rid, const char *mode, const char *items)
{
    const char *keys[RESERVATION_GET_K_FIXED] = {[RESERVATION_GET_K_RES] = fmt(NS ":res:%s", rid)};
    const char *args[RESERVATION_GET_A_FIXED + 8] = {
        [RESERVATION_GET_A_ID] = rid, [RESERVATION_GET_A_MODE] = mode};
    int n = words(items, args + RESERVATION_GET_A_FIXED, 8);
    return eval_ro(SCRIPT_RESERVATION_GET, keys, RESERVATION_GET_K_FIXED, args,
                   RESERVATION_GET_A_FIXED + n);
}

redisReply *call_transition(enum script_id script, const char *reason, const char *budget,
                            const char *ids, const char *orders, const char *skus,
                            const char *const *more_keys, int nk, const char *const *more_args,
                            int na)
{
    enum { MAX_K = 8, MAX_M = 4, MAX_MORE = 16 };
    const char *id[MAX_K], *order[MAX_K], *sku[MAX_M];
    int k = words(ids, id, MAX_K), m = words(skus, sku, MAX_M);
    assert_int_equal(words(orders, order, MAX_K), k);
    assert_true(nk <= MAX_MORE && na <= MAX_MORE);
    const char *keys[TRANSITION_K_FIXED + 2 * MAX_K + 2 * MAX_M + MAX_MORE] = {
        [TRANSITION_K_EXPIRY] = EXPIRY,
        [TRANSITION_K_EVENTS] = EVENTS,
        [TRANSITION_K_QUARANTINE] = QUARANTINE,
        [TRANSITION_K_DUE] = DUE,
        [TRANSITION_K_LOCATIONS] = LOCATIONS,
        [TRANSITION_K_STOCK_EVENTS] = STOCK_EVENTS};
    const char *args[TRANSITION_A_FIXED + MAX_K + 1 + MAX_M + MAX_MORE] = {
        [TRANSITION_A_RETENTION] = XSTR(RETENTION),
        [TRANSITION_A_MAXLEN] = MAXLEN,
        [TRANSITION_A_REASON] = reason,
        [TRANSITION_A_TTL] = "60000",
        [TRANSITION_A_BUDGET] = budget,
        [TRANSITION_A_K] = fmt("%d", k)};
    for (int i = 0; i < k; i++) {
        keys[TRANSITION_K_FIXED + i] = fmt(NS ":res:%s", id[i]);
        keys[TRANSITION_K_FIXED + k + i] =
            strcmp(order[i], "-") ? fmt(NS ":order:%s", order[i]) : keys[TRANSITION_K_FIXED + i];
        args[TRANSITION_A_FIXED + i] = id[i];
    }
    args[TRANSITION_A_FIXED + k] = fmt("%d", m);
    for (int j = 0; j < m; j++) {
        keys[TRANSITION_K_FIXED + 2 * k + j] = fmt(NS ":stock:%s", sku[j]);
        keys[TRANSITION_K_FIXED + 2 * k + m + j] = fmt(NS ":holds:%s", sku[j]);
        args[TRANSITION_A_FIXED + k + 1 + j] = sku[j];
    }
    int n_keys = TRANSITION_K_FIXED + 2 * k + 2 * m, n_args = TRANSITION_A_FIXED + k + 1 + m;
    for (int i = 0; i < nk; i++)
        keys[n_keys++] = more_keys[i];
    for (int i = 0; i < na; i++)
        args[n_args++] = more_args[i];
    return eval(script, keys, n_keys, args, n_args);
}

int scripts_setup(void **state)
{
    context[0] = '\0';
    return harness_flush_setup(state);
}
