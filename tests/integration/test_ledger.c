/* Integration: stock.audit proves the books against the ledger. Replayed
 * from empty, {inv}:events gives every (sku, location)'s on_hand and
 * reserved after any mix of operations; a count changed behind stockd's
 * back is found with its numbers (also at a location, or for a sku, whose
 * stock hash the ledger does not explain); a trimmed ledger is said to be
 * one and reports no difference; and audits that run while other
 * connections reserve, commit and release find the books clean. */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define STOCKD_ARGS "--sweep-interval-ms", "100"

/* A request with the params written with ' for " (for readability); the
 * parsed response. */
static cJSON *rpc(int fd, const char *method, const char *params, ...)
    __attribute__((format(printf, 3, 4)));
static cJSON *rpc(int fd, const char *method, const char *params, ...)
{
    char p[8192], line[8400];
    va_list ap;
    va_start(ap, params);
    vsnprintf(p, sizeof p, params, ap);
    va_end(ap);
    for (char *c = p; *c; c++)
        if (*c == '\'')
            *c = '"';
    snprintf(line, sizeof line, "{\"id\":1,\"method\":\"%s\",\"params\":%s}", method, p);
    return client_call(fd, line);
}

/* The same, which must succeed; returns the result (free the response
 * with cJSON_Delete(resp)). */
static cJSON *ok(cJSON *resp)
{
    if (resp_error_code(resp) != 0)
        fail_msg("refused: %s", cJSON_PrintUnformatted(resp));
    return resp;
}

/* reserve with params; the reservation id in id[64]. */
static void reserve(int fd, char id[64], const char *params)
{
    cJSON *r = ok(rpc(fd, "reserve", "%s", params));
    snprintf(id, 64, "%s", json_str(resp_result(r), "reservation_id"));
    cJSON_Delete(r);
}

static void act(int fd, const char *method, const char *id)
{
    cJSON_Delete(ok(rpc(fd, method, "{'reservation_id':'%s'}", id)));
}

static const cJSON *member(const cJSON *o, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    if (m == NULL)
        fail_msg("no %s in %s", name, cJSON_PrintUnformatted(o));
    return m;
}

static const cJSON *ledger_of(const cJSON *resp)
{
    return member(resp_result(resp), "ledger");
}

/* A field of XINFO STREAM {inv}:events (0 when there is no stream). */
static long long stream_info(const char *field)
{
    redisReply *r = harness_redis(&H, "XINFO STREAM {inv}:events");
    long long v = 0;
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            if (strcmp(r->element[i]->str, field) == 0)
                v = r->element[i + 1]->integer;
    freeReplyObject(r);
    return v;
}

/* stock.audit with params; must be answered with a result. */
static cJSON *audit(int fd, const char *params)
{
    cJSON *r = rpc(fd, "stock.audit", "%s", params);
    if (resp_error_code(r) != 0)
        fail_msg("stock.audit %s: %s", params, cJSON_PrintUnformatted(r));
    return r;
}

/* The audit is clean, the ledger replayed over every entry ever added. */
static void assert_clean(cJSON *r)
{
    const cJSON *l = ledger_of(r);
    if (!cJSON_IsTrue(member(resp_result(r), "ok")) || !cJSON_IsTrue(member(l, "replayed")) ||
        cJSON_GetArraySize(member(l, "differences")) != 0)
        fail_msg("not clean: %s", cJSON_PrintUnformatted(r));
}

/* The ledger difference at (sku, location); fails when there is none. */
static const cJSON *difference(const cJSON *resp, const char *sku, const char *location)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, member(ledger_of(resp), "differences"))
    {
        if (strcmp(json_str(d, "sku"), sku) == 0 && strcmp(json_str(d, "location"), location) == 0)
            return d;
    }
    fail_msg("no ledger difference at %s %s: %s", sku, location, cJSON_PrintUnformatted(resp));
    return NULL;
}

static void assert_difference(const cJSON *resp, const char *sku, const char *location,
                              long long on_hand, long long reserved, long long ledger_on_hand,
                              long long ledger_reserved)
{
    const cJSON *d = difference(resp, sku, location);
    assert_int_equal(json_int(d, "on_hand"), on_hand);
    assert_int_equal(json_int(d, "reserved"), reserved);
    assert_int_equal(json_int(d, "ledger_on_hand"), ledger_on_hand);
    assert_int_equal(json_int(d, "ledger_reserved"), ledger_reserved);
}

/* --- a clean book ---------------------------------------------------------- */

static void test_clean_book_after_a_mix(void **state)
{
    (void)state;
    int fd = harness_client(0);
    char r1[64], r2[64], r3[64], r4[64], r5[64];
    cJSON_Delete(ok(rpc(fd, "stock.set", "{'sku':'A','location':'W1','on_hand':10}")));
    cJSON_Delete(ok(rpc(fd, "stock.set", "{'sku':'A','location':'W2','on_hand':5}")));
    cJSON_Delete(ok(rpc(fd, "stock.set", "{'sku':'B','location':'W1','on_hand':7}")));
    cJSON_Delete(ok(rpc(fd, "stock.adjust",
                        "{'sku':'A','location':'W1','delta':5,"
                        "'reason':'receiving'}")));
    cJSON_Delete(ok(rpc(fd, "stock.adjust", "{'sku':'B','location':'W1','delta':-2}")));
    /* A set that lowers, and one that changes only the safety stock. */
    cJSON_Delete(ok(rpc(fd, "stock.set", "{'sku':'A','location':'W2','on_hand':4}")));
    cJSON_Delete(ok(rpc(fd, "stock.set",
                        "{'sku':'A','location':'W2','on_hand':4,"
                        "'safety_stock':1}")));
    /* Sold: a hold across both locations and skus, committed. */
    reserve(fd, r1,
            "{'items':[{'sku':'A','quantity':16},{'sku':'B','quantity':3}],"
            "'locations':['W1','W2'],'strategy':'split'}");
    act(fd, "commit", r1);
    /* Given back while held; restocked after a commit. */
    reserve(fd, r2, "{'items':[{'sku':'A','quantity':1}],'locations':['W2']}");
    act(fd, "release", r2);
    reserve(fd, r3, "{'items':[{'sku':'B','quantity':1}],'locations':['W1']}");
    act(fd, "commit", r3);
    act(fd, "release", r3);
    /* Expired by the sweeper; and one still held. */
    cJSON *r = ok(rpc(fd, "reserve",
                      "{'items':[{'sku':'B','quantity':2}],'locations':['W1'],"
                      "'ttl_ms':1000}"));
    snprintf(r4, sizeof r4, "%s", json_str(resp_result(r), "reservation_id"));
    harness_wait_redis_time(&H, json_int(resp_result(r), "expires_at") + 1);
    cJSON_Delete(r);
    harness_wait_no_holds(10000, NULL);
    r = ok(rpc(fd, "reservation.get", "{'reservation_id':'%s'}", r4));
    assert_string_equal(json_str(resp_result(r), "status"), "expired");
    cJSON_Delete(r);
    reserve(fd, r5,
            "{'items':[{'sku':'A','quantity':2},{'sku':'B','quantity':1}],"
            "'locations':['W1','W2'],'strategy':'split'}");

    r = audit(fd, "{}");
    assert_clean(r);
    assert_int_equal(json_int(resp_result(r), "skus_checked"), 2);
    assert_int_equal(json_int(resp_result(r), "holds"), 2); /* r5, on A and on B */
    /* Every entry ever added, and the ledger never trimmed. */
    assert_int_equal(json_int(ledger_of(r), "entries"), stream_info("entries-added"));
    assert_int_equal(stream_info("entries-added"), stream_info("length"));
    assert_true(stream_info("length") >= 17);
    assert_null(cJSON_GetObjectItemCaseSensitive(ledger_of(r), "why"));
    cJSON_Delete(r);
    for (int i = 0; i < 2; i++) {
        r = audit(fd, i == 0 ? "{'sku':'A'}" : "{'sku':'B'}");
        assert_clean(r);
        assert_int_equal(json_int(resp_result(r), "skus_checked"), 1);
        cJSON_Delete(r);
    }
    /* The numbers the replay had to agree with. */
    struct row a1 = stock_row(fd, "A", "W1"), a2 = stock_row(fd, "A", "W2");
    struct row b1 = stock_row(fd, "B", "W1");
    assert_int_equal(a1.on_hand + a2.on_hand, 10 + 5 + 5 - 1 - 16);
    assert_int_equal(a1.reserved + a2.reserved, 2);
    assert_int_equal(b1.on_hand, 7 - 2 - 3);
    assert_int_equal(b1.reserved, 1);
}

/* Backorders (on_hand below 0 and paid back), partial holds, and holds
 * changed by reservation.update and moved by reservation.transfer: the
 * ledger still explains every count, owed ones included. */
static void test_clean_book_with_backorders(void **state)
{
    (void)state;
    int fd = harness_client(0);
    char b1[64], b2[64], b3[64];
    cJSON_Delete(ok(rpc(fd, "stock.set",
                        "{'sku':'P','location':'W1','on_hand':2,"
                        "'backorder_limit':10}")));
    cJSON_Delete(ok(rpc(fd, "stock.set", "{'sku':'P','location':'W2','on_hand':5}")));
    /* 2 from stock, 4 promised beyond it; sold: W1 owes 4. */
    reserve(fd, b1,
            "{'items':[{'sku':'P','quantity':6}],'locations':['W1'],"
            "'allow_backorder':true}");
    act(fd, "commit", b1);
    assert_int_equal(stock_row(fd, "P", "W1").on_hand, -4);
    cJSON *r = audit(fd, "{}");
    assert_clean(r);
    cJSON_Delete(r);
    /* Goods in pay the debt first; a count keeps what is still owed. */
    cJSON_Delete(ok(rpc(fd, "stock.adjust", "{'sku':'P','location':'W1','delta':3}")));
    cJSON_Delete(ok(rpc(fd, "stock.set", "{'sku':'P','location':'W1','on_hand':4}")));
    assert_int_equal(stock_row(fd, "P", "W1").on_hand, 3);
    /* A hold grown across both locations, shrunk, moved, then sold. */
    reserve(fd, b2,
            "{'items':[{'sku':'P','quantity':2}],'locations':['W1','W2'],"
            "'strategy':'split'}");
    cJSON_Delete(ok(rpc(fd, "reservation.update",
                        "{'reservation_id':'%s','items':[{'sku':'P',"
                        "'quantity':5}]}",
                        b2)));
    cJSON_Delete(ok(rpc(fd, "reservation.update",
                        "{'reservation_id':'%s','items':[{'sku':'P',"
                        "'quantity':4}]}",
                        b2)));
    cJSON_Delete(ok(rpc(fd, "reservation.transfer",
                        "{'reservation_id':'%s','sku':'P',"
                        "'from':'W1','to':'W2'}",
                        b2)));
    /* Unchanged: written nowhere. */
    long long added = stream_info("entries-added");
    r = ok(rpc(fd, "reservation.update",
               "{'reservation_id':'%s','items':[{'sku':'P',"
               "'quantity':4}]}",
               b2));
    assert_false(cJSON_IsTrue(member(resp_result(r), "changed")));
    cJSON_Delete(r);
    assert_int_equal(stream_info("entries-added"), added);
    act(fd, "commit", b2);
    /* A partial backordered hold, part of it moved, then given back. */
    cJSON_Delete(ok(rpc(fd, "stock.adjust", "{'sku':'P','location':'W2','delta':10}")));
    r = ok(rpc(fd, "reserve",
               "{'items':[{'sku':'P','quantity':20},{'sku':'Q','quantity':1}],"
               "'locations':['W1','W2'],'allow_backorder':true,"
               "'allow_partial':true,'strategy':'split'}"));
    snprintf(b3, sizeof b3, "%s", json_str(resp_result(r), "reservation_id"));
    assert_int_equal(cJSON_GetArraySize(member(resp_result(r), "shortages")), 1); /* Q */
    long long backordered = 0;
    const cJSON *al;
    cJSON_ArrayForEach(al, member(resp_result(r), "allocations"))
    {
        backordered += json_int(al, "backordered");
    }
    assert_int_equal(backordered, 10); /* W1 down to -10 */
    cJSON_Delete(r);
    cJSON_Delete(ok(rpc(fd, "reservation.transfer",
                        "{'reservation_id':'%s','sku':'P',"
                        "'from':'W1','to':'W2','quantity':1}",
                        b3)));
    r = audit(fd, "{}");
    assert_clean(r);
    cJSON_Delete(r);
    act(fd, "release", b3);

    r = audit(fd, "{}");
    assert_clean(r);
    assert_int_equal(json_int(ledger_of(r), "entries"), stream_info("entries-added"));
    cJSON_Delete(r);
    r = audit(fd, "{'sku':'P'}");
    assert_clean(r);
    cJSON_Delete(r);
    /* Owed units stay in the replay: taking the debt away by hand is
     * found. */
    freeReplyObject(harness_redis(&H, "HSET {inv}:stock:P W9:on_hand -3"));
    freeReplyObject(harness_redis(&H, "HINCRBY {inv}:stock:P W1:on_hand 1"));
    long long w1 = stock_row(fd, "P", "W1").on_hand;
    r = audit(fd, "{'sku':'P'}");
    assert_int_equal(cJSON_GetArraySize(member(ledger_of(r), "differences")), 2);
    assert_difference(r, "P", "W9", -3, 0, 0, 0);
    assert_difference(r, "P", "W1", w1, 0, w1 - 1, 0);
    cJSON_Delete(r);
}

/* --- a book changed behind stockd's back ---------------------------------- */

static void test_tampered_stock_is_found(void **state)
{
    (void)state;
    int fd = harness_client(0);
    char id[64];
    cJSON_Delete(ok(rpc(fd, "stock.set", "{'sku':'T','location':'L','on_hand':10}")));
    cJSON_Delete(ok(rpc(fd, "stock.set", "{'sku':'U','location':'L','on_hand':5}")));
    reserve(fd, id, "{'items':[{'sku':'T','quantity':3}],'locations':['L']}");
    cJSON *r = audit(fd, "{}");
    assert_clean(r);
    cJSON_Delete(r);

    /* on_hand raised by hand: the holds still agree with reserved, so only
     * the ledger sees it. */
    freeReplyObject(harness_redis(&H, "HINCRBY {inv}:stock:T L:on_hand 7"));
    static const char *const audits[] = {"{}", "{'sku':'T'}"};
    for (int i = 0; i < 2; i++) {
        r = audit(fd, audits[i]);
        assert_false(cJSON_IsTrue(member(resp_result(r), "ok")));
        assert_true(cJSON_IsTrue(member(ledger_of(r), "replayed")));
        assert_int_equal(cJSON_GetArraySize(member(resp_result(r), "differences")), 0);
        assert_int_equal(cJSON_GetArraySize(member(ledger_of(r), "differences")), 1);
        assert_difference(r, "T", "L", 17, 3, 10, 3);
        cJSON_Delete(r);
    }
    r = audit(fd, "{'sku':'U'}");
    assert_clean(r);
    cJSON_Delete(r);

    /* Counts at a location the ledger never names, a reserved count, and a
     * stock hash that is gone (found through the ledger alone). */
    freeReplyObject(harness_redis(&H, "HSET {inv}:stock:T L9:on_hand 4"));
    freeReplyObject(harness_redis(&H, "HINCRBY {inv}:stock:T L:reserved 1"));
    freeReplyObject(harness_redis(&H, "DEL {inv}:stock:U"));
    r = audit(fd, "{}");
    assert_false(cJSON_IsTrue(member(resp_result(r), "ok")));
    assert_int_equal(cJSON_GetArraySize(member(ledger_of(r), "differences")), 3);
    assert_difference(r, "T", "L", 17, 4, 10, 3);
    assert_difference(r, "T", "L9", 4, 0, 0, 0);
    assert_difference(r, "U", "L", 0, 0, 5, 0);
    assert_int_equal(json_int(resp_result(r), "skus_checked"), 2);
    /* The holds check sees the reserved count too, as it always did. */
    assert_int_equal(cJSON_GetArraySize(member(resp_result(r), "differences")), 1);
    cJSON_Delete(r);
    r = audit(fd, "{'sku':'U'}");
    assert_difference(r, "U", "L", 0, 0, 5, 0);
    cJSON_Delete(r);

    /* Put back: clean again. */
    freeReplyObject(harness_redis(&H, "HINCRBY {inv}:stock:T L:on_hand -7"));
    freeReplyObject(harness_redis(&H, "HINCRBY {inv}:stock:T L:reserved -1"));
    freeReplyObject(harness_redis(&H, "HDEL {inv}:stock:T L9:on_hand"));
    freeReplyObject(harness_redis(&H, "HSET {inv}:stock:U L:on_hand 5"));
    r = audit(fd, "{}");
    assert_clean(r);
    cJSON_Delete(r);
}

/* --- a trimmed ledger ------------------------------------------------------ */

static void test_trimmed_ledger_is_not_replayed(void **state)
{
    (void)state;
    static const char *const args[] = {STOCKD_ARGS, "--ledger-maxlen", "1000", NULL};
    static int small = -1;
    if (small < 0)
        small = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = harness_client(small);
    char id[64];
    cJSON_Delete(ok(rpc(fd, "stock.set", "{'sku':'S','location':'L','on_hand':100}")));
    enum { N = 1300 };
    static char lines[N * 96];
    size_t n = 0;
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(lines + n, sizeof lines - n,
                              "{\"id\":%d,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"S\","
                              "\"location\":\"L\",\"delta\":1}}\n",
                              i);
    char **answers = client_exchange(fd, lines, n, N, 30000);
    for (int i = 0; i < N; i++)
        if (strstr(answers[i], "\"error\"") != NULL)
            fail_msg("adjust %d: %s", i, answers[i]);
    client_free_lines(answers, N);
    reserve(fd, id, "{'items':[{'sku':'S','quantity':4}],'locations':['L']}");
    long long length = stream_info("length");
    assert_true(length < stream_info("entries-added")); /* trimmed, as it should be */

    /* The books are right; a replay of what is left would not be. */
    static const char *const audits[] = {"{}", "{'sku':'S'}"};
    for (int i = 0; i < 2; i++) {
        cJSON *r = audit(fd, audits[i]);
        const cJSON *l = ledger_of(r);
        assert_true(cJSON_IsTrue(member(resp_result(r), "ok")));
        assert_false(cJSON_IsTrue(member(l, "replayed")));
        assert_non_null(strstr(json_str(l, "why"), "trimmed"));
        assert_int_equal(cJSON_GetArraySize(member(l, "differences")), 0);
        assert_int_equal(json_int(l, "entries"), length);
        cJSON_Delete(r);
    }
    /* A difference the holds show is still found. */
    freeReplyObject(harness_redis(&H, "HINCRBY {inv}:stock:S L:reserved 1"));
    cJSON *r = audit(fd, "{}");
    assert_false(cJSON_IsTrue(member(resp_result(r), "ok")));
    assert_int_equal(cJSON_GetArraySize(member(resp_result(r), "differences")), 1);
    assert_int_equal(cJSON_GetArraySize(member(ledger_of(r), "differences")), 0);
    cJSON_Delete(r);
}

/* --- audits under traffic -------------------------------------------------- */

enum { LOAD_SKUS = 1200, LOAD_BATCH = 60 };

static pid_t load_pid = -1; /* the load's process while it runs */

/* Stops a load that a failed test left running. */
static int load_teardown(void **state)
{
    (void)state;
    if (load_pid > 0) {
        kill(load_pid, SIGKILL);
        waitpid(load_pid, NULL, 0);
        load_pid = -1;
    }
    return 0;
}

/* The load, in a child process on its own connection until told to stop
 * (a byte on stop): batches of pipelined reserves, then commits of half of
 * them and releases of the rest. Writes a byte to started after its first
 * batch. Exits 0, or 1 when stockd refused something. */
static void load(int port, int started, int stop)
{
    int fd = client_connect(port);
    static char lines[LOAD_BATCH * 200];
    char ids[LOAD_BATCH][64];
    for (int round = 0;; round++) {
        size_t n = 0;
        for (int i = 0; i < LOAD_BATCH; i++)
            n += (size_t)snprintf(lines + n, sizeof lines - n,
                                  "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"items\":[{"
                                  "\"sku\":\"LOAD%d\",\"quantity\":%d},{\"sku\":\"LOAD%d\","
                                  "\"quantity\":1}],\"locations\":[\"L1\",\"L2\"],"
                                  "\"strategy\":\"split\"}}\n",
                                  i, (round * LOAD_BATCH + i) % LOAD_SKUS, 1 + i % 3,
                                  (round * LOAD_BATCH + i + 1 + i * 13 % 500) % LOAD_SKUS);
        char **got = client_exchange(fd, lines, n, LOAD_BATCH, 30000);
        for (int i = 0; i < LOAD_BATCH; i++) {
            cJSON *r = cJSON_Parse(got[i]);
            if (r == NULL || resp_error_code(r) != 0) {
                fprintf(stderr, "load: %s\n", got[i]);
                _exit(1);
            }
            snprintf(ids[i], sizeof ids[i], "%s", json_str(resp_result(r), "reservation_id"));
            cJSON_Delete(r);
        }
        client_free_lines(got, LOAD_BATCH);
        n = 0;
        for (int i = 0; i < LOAD_BATCH; i++)
            n += (size_t)snprintf(lines + n, sizeof lines - n,
                                  "{\"id\":%d,\"method\":\"%s\",\"params\":{\"reservation_id\":"
                                  "\"%s\"}}\n",
                                  i, i % 2 ? "commit" : "release", ids[i]);
        got = client_exchange(fd, lines, n, LOAD_BATCH, 30000);
        for (int i = 0; i < LOAD_BATCH; i++)
            if (strstr(got[i], "\"error\"") != NULL) {
                fprintf(stderr, "load: %s\n", got[i]);
                _exit(1);
            }
        client_free_lines(got, LOAD_BATCH);
        if (round == 0 && write(started, "x", 1) != 1)
            _exit(1);
        struct pollfd p = {.fd = stop, .events = POLLIN};
        if (poll(&p, 1, 0) > 0)
            _exit(0);
    }
}

static void test_audit_under_load(void **state)
{
    (void)state;
    int fd = harness_client(0);
    /* Every sku at two locations, enough never to run out. */
    static char lines[LOAD_SKUS * 2 * 120];
    size_t n = 0;
    for (int i = 0; i < 2 * LOAD_SKUS; i++)
        n += (size_t)snprintf(lines + n, sizeof lines - n,
                              "{\"id\":%d,\"method\":\"stock.set\",\"params\":{\"sku\":\"LOAD%d\","
                              "\"location\":\"L%d\",\"on_hand\":1000000000}}\n",
                              i, i / 2, 1 + i % 2);
    client_free_lines(client_exchange(fd, lines, n, 2 * LOAD_SKUS, 30000), 2 * LOAD_SKUS);

    int started[2], stop[2];
    assert_int_equal(pipe(started), 0);
    assert_int_equal(pipe(stop), 0);
    pid_t child = load_pid = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(started[0]);
        close(stop[1]);
        load(H.stockd[0].port, started[1], stop[0]);
    }
    close(started[1]);
    close(stop[0]);
    char byte;
    assert_int_equal(read(started[0], &byte, 1), 1);

    /* The load runs until told to stop, so every audit below overlaps it. */
    long long before = stream_info("entries-added");
    for (int i = 0; i < 4; i++) {
        cJSON *r = audit(fd, i % 2 ? "{'sku':'LOAD7'}" : "{}");
        assert_clean(r);
        if (i % 2 == 0)
            assert_int_equal(json_int(resp_result(r), "skus_checked"), LOAD_SKUS);
        assert_true(json_int(ledger_of(r), "entries") >= before);
        cJSON_Delete(r);
    }
    long long during = stream_info("entries-added");
    assert_int_equal(write(stop[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    load_pid = -1;
    close(started[0]);
    close(stop[1]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(during > before); /* the ledger grew while the audits ran */

    cJSON *r = audit(fd, "{}");
    assert_clean(r);
    assert_int_equal(json_int(ledger_of(r), "entries"), stream_info("entries-added"));
    cJSON_Delete(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_clean_book_after_a_mix, harness_flush_setup),
        cmocka_unit_test_setup(test_clean_book_with_backorders, harness_flush_setup),
        cmocka_unit_test_setup(test_tampered_stock_is_found, harness_flush_setup),
        cmocka_unit_test_setup(test_trimmed_ledger_is_not_replayed, harness_flush_setup),
        cmocka_unit_test_setup_teardown(test_audit_under_load, harness_flush_setup, load_teardown),
    };
    static const char *const args[] = {STOCKD_ARGS, NULL};
    return harness_run("ledger", tests, sizeof tests / sizeof tests[0], 1, args);
}
