/* What the direct script tests (test_scripts.c, test_scripts_change.c,
 * test_scripts_events.c) share: each script of lua/ called with EVAL and
 * its embedded body, its KEYS and ARGV filled by the positions of its C
 * contract, and checks of replies, state and ledger entries written as
 * text. */
#ifndef STOCKD_TEST_SCRIPTS_UTIL_H
#define STOCKD_TEST_SCRIPTS_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

#include "scripts.h"

#define NS "{t}"
#define EXPIRY NS ":expiry"
#define DUE NS ":due"
#define EVENTS NS ":events"
#define STOCK_EVENTS NS ":stock-events"
#define LOCATIONS NS ":locations"
#define CHANNEL NS ":channel:web"
#define RULES NS ":rules:web"
#define STOCK(sku) NS ":stock:" sku
#define HOLDS(sku) NS ":holds:" sku
#define QUARANTINE NS ":quarantine"
#define RES(id) NS ":res:" id
#define ORDER(id) NS ":order:" id
#define MAXLEN "10000"
#define RETENTION 86400 /* the transitions' A_RETENTION, in seconds */
#define TTL_MS 30000    /* reserve's A_TTL */
#define STR(x) #x
#define XSTR(x) STR(x) /* a number macro as a string */

/* A command on the inspection connection (hiredis format); free the reply. */
#define R(...) harness_redis(&H, __VA_ARGS__)

/* Short-lived formatted strings (keys, numbers as arguments): a ring, so
 * that one call may hold many without freeing them. */
const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
/* Arranges a test's state with one command (hiredis format). */
void run(const char *f, ...);
/* Milliseconds on Redis's clock. */
long long now(void);

/* A reply as text: integers as they are, strings quoted, nested arrays in
 * brackets: "0 'r1' ['a' 1] nil"; in a ring string. Frees the reply. */
const char *text_of(redisReply *r);

/* What a failed check names after its line (a table-driven test's case);
 * a test's setup empties it. */
extern char context[128];

/* Checks a reply (of a script, or of a command that reads state) against
 * its expected text, as text_of writes it, and frees it. */
#define is(...) is_at(__LINE__, __VA_ARGS__)
void is_at(int line, redisReply *r, const char *want, ...) __attribute__((format(printf, 3, 4)));

/* Everything in Redis as text (malloc'd): each key (sorted) with its type,
 * its whole value, and whether it has a TTL. */
char *snapshot(void);
/* The dataset is still the one of snapshot `before` (freed here). */
#define same(before) same_at(__LINE__, before)
void same_at(int line, char *before);
/* A call that must answer as is() expects and change nothing at all. */
#define UNCHANGED(call, ...)                                                                       \
    do {                                                                                           \
        char *before_ = snapshot();                                                                \
        is((call), __VA_ARGS__);                                                                   \
        same(before_);                                                                             \
    } while (0)

/* is() of a call whose expected text reads the state it leaves (head):
 * the call runs first. */
#define DONE(call, ...)                                                                            \
    do {                                                                                           \
        redisReply *r_ = (call);                                                                   \
        is(r_, __VA_ARGS__);                                                                       \
    } while (0)

/* Appends s to the string in dst[size], cut short if it does not fit. */
void cat(char *dst, size_t size, const char *s);

/* The ledger holds len entries, and the last n of them, oldest first, have
 * these values of type, sku, location, quantity, reservation and reason
 * (the fields in that order), one entry's values joined to the next by
 * " | ". */
#define ledger_is(...) ledger_at(__LINE__, __VA_ARGS__)
void ledger_at(int line, long long len, int n, const char *want, ...)
    __attribute__((format(printf, 4, 5)));

/* A reservation finished in status: out of the index, and its record,
 * and its order binding unless order_id is "", expire after the retention
 * time (a live hold's never do). */
void finished(const char *rid, const char *order_id, const char *status);

/* The start of reservation_reply for rid as its record says it now: id,
 * status, order_id, created_at, expires_at, reason (a ring string). */
const char *head(const char *rid);

/* Splits s at spaces into at most max words (ring strings); their count. */
int words(const char *s, const char **out, int max);

/* The on_hand, reserved and safety fields of sku at loc. */
void put_stock(const char *sku, const char *loc, long long on_hand, long long reserved,
               long long safety);
/* A reservation record as reserve writes it (created a minute before its
 * deadline), its allocations given as "sku loc qty ...", with its index
 * entry when held and its order binding. The units it holds are the
 * caller's to count in the stock. */
void put_hold(const char *rid, const char *order_id, const char *status, long long expires,
              const char *allocs);

/* EVAL of script id with nk KEYS then na ARGV. Every slot must be set: a
 * NULL is a contract position the test forgot. Every script answers a
 * table, so any other reply fails the test. */
redisReply *eval(enum script_id id, const char *const *keys, int nk, const char *const *args,
                 int na);
/* eval of a read-only script: it must change nothing at all. */
redisReply *eval_ro(enum script_id id, const char *const *keys, int nk, const char *const *args,
                    int na);

/* stock_set, keeping the backorder limit and the threshold. */
redisReply *call_stock_set(const char *sku, const char *loc, const char *on_hand,
                           const char *safety);
/* stock_set with A_BACKORDER and A_LOW_STOCK too. */
redisReply *call_stock_set_full(const char *sku, const char *loc, const char *on_hand,
                                const char *safety, const char *backorder, const char *low_stock);
/* stock_adjust with a largest on_hand of 100. */
redisReply *call_adjust(const char *sku, const char *loc, const char *delta, const char *reason);
/* stock_get of sku at the locations "L1 L2 ..." ("": all of them). */
redisReply *call_stock_get(const char *sku, const char *locs);

/* A call of reserve, a batch script, built order by order as reserve.c
 * lays each one out: after the shared KEYS, the order's own keys, a stock
 * key per line, a holds key per line; after the shared ARGV, the order's
 * own, sku and quantity per line, m and the m locations. */
struct batch {
    const char *keys[48], *args[80];
    int nk, na;
};

void batch_init(struct batch *b);
/* Adds an order of the lines "sku qty ..." on channel "web" with a ttl of
 * TTL_MS, at the requested locations "L1 ..." ("": the channel's), made
 * without backorders or partial holds. */
void batch_add(struct batch *b, const char *rid, const char *order_id, const char *strategy,
               const char *stale, const char *lines, const char *locs);
/* The same with EA_FLAGS flags ("0".."3"). */
void batch_add_flags(struct batch *b, const char *rid, const char *order_id, const char *strategy,
                     const char *flags, const char *lines, const char *locs);
/* Runs the batch: its reply has one element per order. */
redisReply *batch_run(struct batch *b);
/* Takes element i out of reply r (is() frees what it is given). */
redisReply *detach(redisReply *r, size_t i);
/* A batch of one order (batch_add); returns that order's reply. */
redisReply *call_reserve(const char *rid, const char *order_id, const char *strategy,
                         const char *stale, const char *lines, const char *locs);
/* The same with flags (batch_add_flags). */
redisReply *call_reserve_flags(const char *rid, const char *order_id, const char *strategy,
                               const char *flags, const char *lines, const char *locs);
/* One line of qty of sku A, auto, at the channel's locations. */
redisReply *reserve_a(const char *rid, int qty);

/* reservation_get; with mode 'replay', of the items "sku qty ...". */
redisReply *call_get(const char *rid, const char *mode, const char *items);

/* An act in the layout of transition.h: the ids "r1 r2" with their order
 * bindings "o-1 -" ('-': none, the record key stands in), the stock keys
 * and the holds keys of the skus "A B", then the nk KEYS more_keys; the
 * ARGV end with the na more_args. extend's ttl is 60000 ms. */
redisReply *call_transition(enum script_id script, const char *reason, const char *budget,
                            const char *ids, const char *orders, const char *skus,
                            const char *const *more_keys, int nk, const char *const *more_args,
                            int na);

/* A setup per test: a fresh Redis, and no case named by a test that failed
 * before. */
int scripts_setup(void **state);

#endif
