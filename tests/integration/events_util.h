/* The stock-events stream of the events tests (test_events.c,
 * test_events_race.c) read back and checked: its entries, rendered as short
 * strings with reservation ids by name, the checks every stream must pass,
 * and the steps those tests share. Every check fails the running cmocka
 * test. */
#ifndef STOCKD_TEST_EVENTS_UTIL_H
#define STOCKD_TEST_EVENTS_UTIL_H

#include "backorder_util.h"

#define STREAM "{inv}:stock-events"

/* One entry of the stream. */
struct event {
    char id[48], prev[48];
    char type[16], sku[64], loc[64], cause[16], rid[64];
    long long available, threshold;
};

/* Every entry of the stream, oldest first, in *out (malloc'd; free it);
 * their count. Fails on an entry without exactly the fields type, sku,
 * location, available, threshold, cause, reservation and prev, in this
 * order. */
int read_events(struct event **out);

/* Names the reservation id name (up to 64 names per test), so that an
 * entry reads "... r2"; id_of is the id named name, and fails the test
 * when no id has that name. */
void name_id(const char *id, const char *name);
const char *id_of(const char *name);

/* The whole stream is want. */
#define expect_events(want) expect_events_at(__LINE__, 0, want)
/* The entries from index from on are want ("" for none). */
#define expect_new_events(from, want) expect_events_at(__LINE__, from, want)
/* Fails the test, naming line, unless the entries from index from on, as
 * "type sku@location available/threshold cause reservation" joined by
 * "; ", are want. */
void expect_events_at(int line, int from, const char *want);

/* What every stream must be: each entry's prev is the id of the entry
 * before it of its (sku, location) ('' for the first); out_of_stock and
 * back_in_stock alternate per (sku, location); each entry's available is
 * on the side of its level that its type says; and the <loc>:event field
 * of each stock hash names the last entry of its location. Returns the
 * number of entries. */
int check_chains(void);

/* The teardown of each test: check_chains, and stock.audit must agree;
 * forgets the names. */
int events_teardown(void **state);

/* A reserve of params that must succeed, its id named name. */
void hold_as(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fails the test when r is an error; frees r. */
void ok(cJSON *r);

#endif
