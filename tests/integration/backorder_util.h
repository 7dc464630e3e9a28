/* Calls and readings shared by the backorder tests (test_backorder.c):
 * requests written with ' for ", checks of the expected errors, and
 * allocations, shortages, stock rows and ledger entries rendered as short
 * strings, so that an assertion shows the whole picture when it fails.
 * Every check fails the running cmocka test. */
#ifndef STOCKD_TEST_BACKORDER_UTIL_H
#define STOCKD_TEST_BACKORDER_UTIL_H

#include "harness.h"

#define NO_SUCH_ID "0123456789abcdef0123456789abcdef"

/* The connection to stockd 0 of the harness. */
int conn(void);

/* Calls method on stockd 0 (rpc) or on the connection fd (rpc_fd) with the
 * params of fmt, in which ' stands for " (no identifier in these tests
 * holds a quote). The caller frees the reply with cJSON_Delete. */
cJSON *rpc(const char *method, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cJSON *rpc_fd(int fd, const char *method, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* r itself, after failing the test when r is an error. */
cJSON *must(cJSON *r);
/* The result, and error.data, of a reply (NULL when absent). */
const cJSON *res(const cJSON *r);
const cJSON *edata(const cJSON *r);

/* Each checks the error of r, then frees r: the code and data.reason
 * (reason may be NULL: any); 1001 out_of_stock with its data; -32602 with
 * data.field; 1003 not_held with data.status. what names the case in the
 * failure message. */
void expect_err(cJSON *r, int code, const char *reason);
void expect_oos(cJSON *r, const char *sku, long long requested, long long available);
void expect_field(cJSON *r, const char *field, const char *what);
void expect_not_held(cJSON *r, const char *status);
/* As expect_field without failing: prints what it got and returns false. */
bool names_field(cJSON *r, const char *field, const char *what);

/* channel.set, and stock.set of on_hand with extra members appended
 * (",'backorder_limit':5", or ""); both must succeed. */
void channel(const char *name, const char *locations);
void stock(const char *sku, const char *loc, long long on_hand, const char *extra);
/* A reserve with the params of fmt that must succeed; the reservation id
 * goes to id (64 bytes). The caller frees the reply. */
cJSON *reserve_ok(char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* reservation.get (must succeed), reservation.update with items (JSON, '
 * for "), reservation.transfer with the members rest. The caller frees. */
cJSON *get_res(const char *id);
cJSON *update(const char *id, const char *items);
cJSON *transfer(const char *id, const char *rest);
/* The boolean `changed` of an update or transfer result (fails without). */
bool changed(const cJSON *r);

/* These return static storage, valid until the next call of the same
 * function. allocs: the allocations of a result as "sku@location=q",
 * followed by "(boN)" when the allocation has `backordered`, joined by ",",
 * in reply order (allocs) or sorted (allocs_as with sorted). shortages:
 * "sku requested/allocated" joined by ",", or "none" without the key. */
const char *allocs(const cJSON *result);
const char *allocs_as(const cJSON *result, bool sorted);
const char *shortages(const cJSON *result);
/* A stock row as "oh=.. res=.. av=.. bo=.. lim=..", given (rowfmt) or
 * read from stockd 0 with stock.get (rowstr). */
const char *rowfmt(const cJSON *row);
const char *rowstr(const char *sku, const char *loc);

/* Entries in the ledger {ns}:events. */
long long ledger_len(const char *ns);
/* The entries from index from on as "type sku@location quantity reason",
 * sorted, joined by "; "; fails when one is not of reservation id. */
const char *ledger_tail(const char *ns, long long from, const char *id);
/* Fails unless tail is one entry starting with prefix. */
void expect_ledger_prefix(const char *tail, const char *prefix);

/* What a refused request must leave alone, read from stockd 0 and
 * namespace inv: stock.get of each sku (skus separated by spaces), the
 * reservation id (may be NULL), the ledger's length and the holds left.
 * The caller frees it. same_world fails unless it is still before, and
 * frees before. */
char *world(const char *id, const char *skus);
void same_world(char *before, const char *id, const char *skus);

/* stock.audit {} on the connection fd must answer ok. */
void audit_ok_on(int fd);

#endif
