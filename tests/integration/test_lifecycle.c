/* Integration: the reservation state machine. Every (state x operation)
 * pair with its result and stock numbers, expiry by the sweeper within
 * sweep_interval_ms, extend, retention of finished records only, the
 * ledger, idempotent retries under concurrency, and stock.audit finding a
 * difference planted by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SWEEP_MS 100 /* the sweeping stockd's --sweep-interval-ms */
#define RETENTION_S 600

#define STOCKD_ARGS "--sweep-interval-ms", "100", "--retention-s", "600"

/* Stockd 0 sweeps every SWEEP_MS. The table test needs holds that are past
 * their deadline but not swept, so it uses a stockd that never sweeps, in
 * its own namespace; the retry test a second replica of stockd 0. Both are
 * started when first needed. */
static int still_index = -1, replica_index = -1;

static int still(void)
{
    if (still_index < 0) {
        static const char *const args[] = {"--namespace", "still", "--sweep-interval-ms", "60000",
                                           "--retention-s", "600", NULL};
        still_index = harness_stockd(&(struct stockd_opts){.args = args});
    }
    return harness_client(still_index);
}

static int replica_port(void)
{
    if (replica_index < 0) {
        static const char *const args[] = {STOCKD_ARGS, NULL};
        replica_index = harness_stockd(&(struct stockd_opts){.args = args});
    }
    return H.stockd[replica_index].port;
}

static int sweeping(void)
{
    return harness_client(0);
}

/* Reserves q of sku at L; returns the id (static storage) and deadline. */
static const char *hold(int fd, const char *sku, int q, int ttl_ms, long long *expires)
{
    static char id[64];
    cJSON *r = client_callf(fd,
                            "{\"id\":2,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"%s\","
                            "\"quantity\":%d}],\"locations\":[\"L\"],\"ttl_ms\":%d}}",
                            sku, q, ttl_ms);
    if (resp_error_code(r) != 0)
        fail_msg("reserve %s: %s", sku, cJSON_PrintUnformatted(r));
    snprintf(id, sizeof id, "%s", json_str(resp_result(r), "reservation_id"));
    if (expires)
        *expires = json_int(resp_result(r), "expires_at");
    cJSON_Delete(r);
    return id;
}

static cJSON *op(int fd, const char *method, const char *id, const char *extra)
{
    return client_callf(fd, "{\"id\":3,\"method\":\"%s\",\"params\":{\"reservation_id\":\"%s\"%s}}",
                        method, id, extra);
}

enum state { HELD, HELD_DUE, COMMITTED, RELEASED, EXPIRED, UNKNOWN };
static const char *const state_names[] = {"held", "held past deadline", "committed", "released",
                                          "expired", "unknown"};

/* Brings a fresh reservation of 3 units (on_hand 10) into a state, in two
 * steps so that all rows share one wait for their deadlines: prepare
 * returns the id and its deadline, settle runs once Redis's clock passed
 * every deadline. */
static void prepare_state(int fd, const char *sku, enum state st, char id[64], long long *expires)
{
    client_stock_set(fd, sku, "L", 10);
    *expires = 0;
    if (st == UNKNOWN) {
        strcpy(id, "0123456789abcdef0123456789abcdef");
        return;
    }
    int ttl = (st == HELD_DUE || st == EXPIRED) ? 1000 : 600000;
    snprintf(id, 64, "%s", hold(fd, sku, 3, ttl, expires));
    cJSON *r = NULL;
    if (st == COMMITTED)
        r = op(fd, "commit", id, "");
    else if (st == RELEASED)
        r = op(fd, "release", id, ",\"reason\":\"cancelled\"");
    cJSON_Delete(r);
}

static void settle_state(int fd, enum state st, const char *id)
{
    if (st == EXPIRED)
        cJSON_Delete(op(fd, "commit", id, "")); /* past the deadline: expires it */
}

static const struct transition {
    enum state from;
    const char *method;
    int code;              /* error code, 0 for a result */
    const char *status;    /* the result's status, or the error's reason */
    long long on_hand, reserved; /* afterwards */
} transitions[] = {
    {HELD, "commit", 0, "committed", 7, 0},
    {HELD, "release", 0, "released", 10, 0},
    {HELD, "extend", 0, "held", 10, 3},
    {HELD, "reservation.get", 0, "held", 10, 3},
    {HELD_DUE, "commit", 1003, "expired", 10, 0},
    {HELD_DUE, "release", 0, "expired", 10, 0},
    {HELD_DUE, "extend", 1003, "expired", 10, 3},
    {HELD_DUE, "reservation.get", 0, "expired", 10, 3},
    {COMMITTED, "commit", 0, "committed", 7, 0},
    {COMMITTED, "release", 0, "released", 10, 0},
    {COMMITTED, "extend", 1003, "committed", 7, 0},
    {COMMITTED, "reservation.get", 0, "committed", 7, 0},
    {RELEASED, "commit", 1003, "released", 10, 0},
    {RELEASED, "release", 0, "released", 10, 0},
    {RELEASED, "extend", 1003, "released", 10, 0},
    {RELEASED, "reservation.get", 0, "released", 10, 0},
    {EXPIRED, "commit", 1003, "expired", 10, 0},
    {EXPIRED, "release", 0, "expired", 10, 0},
    {EXPIRED, "extend", 1003, "expired", 10, 0},
    {EXPIRED, "reservation.get", 0, "expired", 10, 0},
    {UNKNOWN, "commit", 1002, "not_found", 10, 0},
    {UNKNOWN, "release", 1002, "not_found", 10, 0},
    {UNKNOWN, "extend", 1002, "not_found", 10, 0},
    {UNKNOWN, "reservation.get", 1002, "not_found", 10, 0},
};

static void test_state_operation_table(void **state)
{
    (void)state;
    enum { N = sizeof transitions / sizeof transitions[0] };
    int fd = still();
    char ids[N][64];
    long long latest = 0;
    for (size_t i = 0; i < N; i++) {
        char sku[32];
        long long expires;
        snprintf(sku, sizeof sku, "T%zu", i);
        prepare_state(fd, sku, transitions[i].from, ids[i], &expires);
        if ((transitions[i].from == HELD_DUE || transitions[i].from == EXPIRED) && expires > latest)
            latest = expires;
    }
    harness_wait_redis_time(&H, latest);
    for (size_t i = 0; i < N; i++)
        settle_state(fd, transitions[i].from, ids[i]);

    for (size_t i = 0; i < N; i++) {
        const struct transition *t = &transitions[i];
        char sku[32], what[96];
        snprintf(sku, sizeof sku, "T%zu", i);
        snprintf(what, sizeof what, "%s x %s", state_names[t->from], t->method);
        cJSON *r = op(fd, t->method, ids[i],
                      strcmp(t->method, "extend") == 0 ? ",\"ttl_ms\":60000" : "");
        int code = resp_error_code(r);
        const char *got = code == 0 ? json_str(resp_result(r), "status") : resp_error_reason(r);
        if (code != t->code || strcmp(got, t->status) != 0)
            fail_msg("%s: got %d %s, want %d %s", what, code, got, t->code, t->status);
        cJSON_Delete(r);

        struct row row = stock_row(fd, sku, "L");
        if (row.on_hand != t->on_hand || row.reserved != t->reserved)
            fail_msg("%s: on_hand %lld reserved %lld, want %lld %lld", what, row.on_hand,
                     row.reserved, t->on_hand, t->reserved);
    }
}

static void test_release_reason_and_ledger(void **state)
{
    (void)state;
    int fd = sweeping();
    client_stock_set(fd, "R", "L", 10);
    const char *id = hold(fd, "R", 4, 600000, NULL);
    char rid[64];
    snprintf(rid, sizeof rid, "%s", id);
    cJSON *r = op(fd, "release", rid, ",\"reason\":\"payment failed\"");
    assert_string_equal(json_str(resp_result(r), "reason"), "payment failed");
    cJSON_Delete(r);
    /* Again: nothing changes, the answer shows the final state. */
    r = op(fd, "release", rid, ",\"reason\":\"retry\"");
    assert_string_equal(json_str(resp_result(r), "status"), "released");
    assert_string_equal(json_str(resp_result(r), "reason"), "payment failed");
    cJSON_Delete(r);
    assert_int_equal(stock_row(fd, "R", "L").reserved, 0);

    /* The ledger: set, reserve and one release, newest first. */
    redisReply *x = harness_redis(&H, "XREVRANGE {inv}:events + -");
    assert_int_equal(x->elements, 3);
    static const char *const types[] = {"release", "reserve", "set"};
    for (size_t i = 0; i < 3; i++) {
        const redisReply *fields = x->element[i]->element[1];
        assert_string_equal(fields->element[0]->str, "type");
        assert_string_equal(fields->element[1]->str, types[i]);
        assert_string_equal(fields->element[3]->str, "R");
        if (i < 2) {
            assert_string_equal(fields->element[7]->str, "4");
            assert_string_equal(fields->element[9]->str, rid);
        }
    }
    assert_string_equal(x->element[0]->element[1]->element[11]->str, "payment failed");
    freeReplyObject(x);
}

static void test_retention_only_for_finished(void **state)
{
    (void)state;
    int fd = still();
    client_stock_set(fd, "K", "L", 10);
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"ret-1\","
                               "\"items\":[{\"sku\":\"K\",\"quantity\":1}],\"locations\":[\"L\"]}}");
    char id[64];
    snprintf(id, sizeof id, "%s", json_str(resp_result(r), "reservation_id"));
    cJSON_Delete(r);
    /* A hold never expires by key TTL: that would leak its units. */
    redisReply *t = harness_redis(&H, "TTL {still}:res:%s", id);
    assert_int_equal(t->integer, -1);
    freeReplyObject(t);
    t = harness_redis(&H, "TTL {still}:order:ret-1");
    assert_int_equal(t->integer, -1);
    freeReplyObject(t);

    r = op(fd, "commit", id, "");
    cJSON_Delete(r);
    t = harness_redis(&H, "TTL {still}:res:%s", id);
    assert_true(t->integer > RETENTION_S - 10 && t->integer <= RETENTION_S);
    freeReplyObject(t);
    t = harness_redis(&H, "TTL {still}:order:ret-1");
    assert_true(t->integer > RETENTION_S - 10 && t->integer <= RETENTION_S);
    freeReplyObject(t);
    t = harness_redis(&H, "ZCARD {still}:holds:K");
    assert_int_equal(t->integer, 0);
    freeReplyObject(t);

    /* The order_id stays bound while the record is kept. */
    r = client_call(fd, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"ret-1\","
                        "\"items\":[{\"sku\":\"K\",\"quantity\":1}],\"locations\":[\"L\"]}}");
    assert_string_equal(json_str(resp_result(r), "reservation_id"), id);
    assert_string_equal(json_str(resp_result(r), "status"), "committed");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "replayed")));
    cJSON_Delete(r);
}

static void test_expiry_by_the_sweeper(void **state)
{
    (void)state;
    int fd = sweeping();
    client_stock_set(fd, "E", "L", 5);
    long long expires;
    const char *id = hold(fd, "E", 5, 1000, &expires);
    char rid[64];
    snprintf(rid, sizeof rid, "%s", id);
    assert_int_equal(stock_row(fd, "E", "L").available, 0);

    /* Watch for the units to come back, on the Redis clock. */
    long long back_at = 0;
    long long give_up = harness_now_ms() + 10000;
    while (back_at == 0 && harness_now_ms() < give_up) {
        if (stock_row(fd, "E", "L").reserved == 0)
            back_at = harness_redis_time_ms(&H);
    }
    assert_true(back_at > 0);
    assert_true(back_at >= expires);
    if (back_at - expires > SWEEP_MS + 200)
        fail_msg("units came back %lld ms after the deadline", back_at - expires);
    cJSON *r = op(fd, "reservation.get", rid, "");
    assert_string_equal(json_str(resp_result(r), "status"), "expired");
    cJSON_Delete(r);
    r = op(fd, "commit", rid, "");
    assert_int_equal(resp_error_code(r), 1003);
    assert_string_equal(resp_error_reason(r), "expired");
    cJSON_Delete(r);
    redisReply *x = harness_redis(&H, "XREVRANGE {inv}:events + - COUNT 1");
    assert_string_equal(x->element[0]->element[1]->element[1]->str, "expire");
    freeReplyObject(x);
}

static void test_extend_moves_the_deadline(void **state)
{
    (void)state;
    int fd = sweeping();
    client_stock_set(fd, "X", "L", 5);
    long long expires;
    const char *id = hold(fd, "X", 2, 1000, &expires);
    char rid[64];
    snprintf(rid, sizeof rid, "%s", id);
    cJSON *r = op(fd, "extend", rid, ",\"ttl_ms\":5000");
    long long moved = json_int(resp_result(r), "expires_at");
    assert_true(moved >= expires + 3500);
    cJSON_Delete(r);
    /* The holds index has the new deadline; the sku is due no later. */
    redisReply *z = harness_redis(&H, "ZRANGE {inv}:holds:X 0 -1 WITHSCORES");
    assert_int_equal(z->elements, 2);
    assert_int_equal(atoll(z->element[1]->str), moved);
    freeReplyObject(z);
    z = harness_redis(&H, "ZSCORE {inv}:due X");
    assert_true(atoll(z->str) <= moved);
    freeReplyObject(z);
    /* Past the first deadline, and a few sweeps later, it is still held. */
    harness_wait_redis_time(&H, expires + 3 * SWEEP_MS);
    r = op(fd, "reservation.get", rid, "");
    assert_string_equal(json_str(resp_result(r), "status"), "held");
    cJSON_Delete(r);
    assert_int_equal(stock_row(fd, "X", "L").reserved, 2);
    r = op(fd, "extend", rid, ",\"ttl_ms\":999");
    assert_int_equal(resp_error_code(r), -32602);
    cJSON_Delete(r);
}

/* An expired hold never costs a sale, even before any sweep ran. */
static void test_reserve_sweeps_due_holds(void **state)
{
    (void)state;
    int fd = still();
    client_stock_set(fd, "D", "L", 2);
    long long expires;
    hold(fd, "D", 2, 1000, &expires);
    harness_wait_redis_time(&H, expires);
    const char *id = hold(fd, "D", 2, 60000, NULL);
    assert_true(strlen(id) > 0);
    struct row row = stock_row(fd, "D", "L");
    assert_int_equal(row.reserved, 2);
    assert_int_equal(row.on_hand, 2);
}

static void test_concurrent_retries_make_one_hold(void **state)
{
    (void)state;
    enum { RETRIES = 20 };
    int fd = sweeping();
    client_stock_set(fd, "I", "L", 100);
    int fds[RETRIES];
    const char *req = "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"same-order\","
                      "\"items\":[{\"sku\":\"I\",\"quantity\":3}],\"locations\":[\"L\"]}}\n";
    /* Half through a second replica, all written before any answer is read. */
    for (int i = 0; i < RETRIES; i++)
        fds[i] = client_connect(i % 2 ? replica_port() : H.stockd[0].port);
    for (int i = 0; i < RETRIES; i++)
        client_sends(fds[i], req);
    char first[64] = "";
    int replayed = 0;
    for (int i = 0; i < RETRIES; i++) {
        char *line = client_readline(fds[i], 10000);
        assert_non_null(line);
        cJSON *r = cJSON_Parse(line);
        free(line);
        assert_int_equal(resp_error_code(r), 0);
        const char *id = json_str(resp_result(r), "reservation_id");
        if (first[0] == '\0')
            snprintf(first, sizeof first, "%s", id);
        assert_string_equal(id, first);
        replayed += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "replayed"));
        cJSON_Delete(r);
        close(fds[i]);
    }
    assert_int_equal(replayed, RETRIES - 1);
    assert_int_equal(stock_row(fd, "I", "L").reserved, 3);
    assert_int_equal(harness_holds_left(), 1);
}

/* Two replicas sweep the same expiring holds: each hold is released once. */
static void test_two_sweepers_release_each_hold_once(void **state)
{
    (void)state;
    enum { HOLDS = 300 };
    int fd = sweeping();
    (void)replica_port(); /* the second sweeper */
    client_stock_set(fd, "S", "L", HOLDS);
    /* Pipelined: all holds share about the same deadline. */
    for (int i = 0; i < HOLDS; i++)
        client_sends(fd, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":"
                         "\"S\",\"quantity\":1}],\"locations\":[\"L\"],\"ttl_ms\":1000}}\n");
    for (int i = 0; i < HOLDS; i++) {
        char *line = client_readline(fd, 10000);
        assert_non_null(line);
        assert_null(strstr(line, "\"error\""));
        free(line);
    }
    assert_int_equal(stock_row(fd, "S", "L").reserved, HOLDS);

    harness_wait_no_holds(15000, NULL);
    struct row row = stock_row(fd, "S", "L");
    assert_int_equal(row.reserved, 0);
    assert_int_equal(row.on_hand, HOLDS);

    /* One expire entry per hold, no id twice. */
    redisReply *x = harness_redis(&H, "XRANGE {inv}:events - +");
    int expires = 0;
    for (size_t e = 0; e < x->elements; e++) {
        const redisReply *f = x->element[e]->element[1];
        if (strcmp(f->element[1]->str, "expire") != 0)
            continue;
        expires++;
        for (size_t g = e + 1; g < x->elements; g++) {
            const redisReply *o = x->element[g]->element[1];
            if (strcmp(o->element[1]->str, "expire") == 0 &&
                strcmp(o->element[9]->str, f->element[9]->str) == 0)
                fail_msg("hold %s expired twice", f->element[9]->str);
        }
    }
    freeReplyObject(x);
    assert_int_equal(expires, HOLDS);
}

static void test_audit_finds_planted_difference(void **state)
{
    (void)state;
    int fd = sweeping();
    client_stock_set(fd, "A1", "L", 10);
    client_stock_set(fd, "A2", "L", 10);
    hold(fd, "A1", 3, 600000, NULL);
    hold(fd, "A2", 1, 600000, NULL);
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"stock.audit\",\"params\":{}}");
    const cJSON *res = resp_result(r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "ok")));
    assert_int_equal(json_int(res, "skus_checked"), 2);
    assert_int_equal(json_int(res, "holds"), 2);
    cJSON_Delete(r);

    /* Planted by hand, as an operator's mistake would be. */
    freeReplyObject(harness_redis(&H, "HINCRBY {inv}:stock:A1 L:reserved 2"));
    freeReplyObject(harness_redis(&H, "ZADD {inv}:expiry 99999999999999 ghost-id"));
    static const char *const audits[] = {"{}", "{\"sku\":\"A1\"}"};
    for (size_t i = 0; i < 2; i++) {
        r = client_callf(fd, "{\"id\":1,\"method\":\"stock.audit\",\"params\":%s}", audits[i]);
        res = resp_result(r);
        assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "ok")));
        const cJSON *diffs = cJSON_GetObjectItemCaseSensitive(res, "differences");
        assert_int_equal(cJSON_GetArraySize(diffs), 1);
        const cJSON *d = cJSON_GetArrayItem(diffs, 0);
        assert_string_equal(json_str(d, "sku"), "A1");
        assert_string_equal(json_str(d, "location"), "L");
        assert_int_equal(json_int(d, "reserved"), 5);
        assert_int_equal(json_int(d, "expected"), 3);
        /* The expiry index is checked by the audit of every sku only. */
        const cJSON *stale = cJSON_GetObjectItemCaseSensitive(res, "stale_index");
        assert_int_equal(cJSON_GetArraySize(stale), i == 0 ? 1 : 0);
        if (i == 0)
            assert_string_equal(json_str(cJSON_GetArrayItem(stale, 0), "reservation_id"),
                                "ghost-id");
        cJSON_Delete(r);
    }
    freeReplyObject(harness_redis(&H, "HINCRBY {inv}:stock:A1 L:reserved -2"));
    freeReplyObject(harness_redis(&H, "ZREM {inv}:expiry ghost-id"));
    r = client_call(fd, "{\"id\":1,\"method\":\"stock.audit\",\"params\":{\"sku\":\"A1\"}}");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "ok")));
    cJSON_Delete(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_state_operation_table, harness_flush_setup),
        cmocka_unit_test_setup(test_release_reason_and_ledger, harness_flush_setup),
        cmocka_unit_test_setup(test_retention_only_for_finished, harness_flush_setup),
        cmocka_unit_test_setup(test_expiry_by_the_sweeper, harness_flush_setup),
        cmocka_unit_test_setup(test_extend_moves_the_deadline, harness_flush_setup),
        cmocka_unit_test_setup(test_reserve_sweeps_due_holds, harness_flush_setup),
        cmocka_unit_test_setup(test_concurrent_retries_make_one_hold, harness_flush_setup),
        cmocka_unit_test_setup(test_two_sweepers_release_each_hold_once, harness_flush_setup),
        cmocka_unit_test_setup(test_audit_finds_planted_difference, harness_flush_setup),
    };
    static const char *const args[] = {STOCKD_ARGS, NULL};
    return harness_run("lifecycle", tests, sizeof tests / sizeof tests[0], 1, args);
}
