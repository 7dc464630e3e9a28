/* Integration: expiry at scale. A hold past its deadline never costs a sale
 * and never reorders requests, whatever the number of due holds and
 * whether a sweep ran; the sweeper's and the audit's calls are bounded by
 * allocations, so small requests keep flowing while 300,000 allocations
 * expire; an unreadable due record is moved aside, not retried for ever;
 * a hold past its deadline reads as expired; an order binding whose record
 * is gone does not answer 1002. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* Stockd 0 sweeps every 100 ms; the "still" one (started on first use, in
 * its own namespace) never in a test's time. Stockd 0's ledger is capped
 * well below the 600,000 entries the test at scale writes (its stock is
 * made in Redis directly, and every allocation is held and expired): the
 * audit then says it cannot replay the ledger, and checks the holds as
 * before. Replaying a whole ledger is itest_ledger's. */
#define STOCKD_ARGS "--sweep-interval-ms", "100", "--ledger-maxlen", "100000"

static int still_index = -1;

static int still(void)
{
    if (still_index < 0) {
        static const char *const args[] = {"--namespace", "still", "--sweep-interval-ms", "60000",
                                           NULL};
        still_index = harness_stockd(&(struct stockd_opts){.args = args});
    }
    return harness_client(still_index);
}

static const char *reserve_line(const char *sku, int q, int ttl_ms)
{
    static char line[256];
    snprintf(line, sizeof line,
             "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"%s\","
             "\"quantity\":%d}],\"locations\":[\"L\"],\"ttl_ms\":%d}}\n",
             sku, q, ttl_ms);
    return line;
}

/* Sends n reserves of q of sku pipelined, reads every answer (all must
 * hold); returns the latest deadline. */
static long long hold_many(int fd, const char *sku, int q, int n, int ttl_ms)
{
    for (int i = 0; i < n; i++)
        client_sends(fd, reserve_line(sku, q, ttl_ms));
    long long last = 0;
    for (int i = 0; i < n; i++) {
        char *line = client_readline(fd, 30000);
        assert_non_null(line);
        cJSON *r = cJSON_Parse(line);
        if (resp_error_code(r) != 0)
            fail_msg("hold %d of %s: %s", i, sku, line);
        long long e = json_int(resp_result(r), "expires_at");
        if (e > last)
            last = e;
        cJSON_Delete(r);
        free(line);
    }
    return last;
}

/* The error code of each of n answers read from fd ("0" for a result),
 * joined with spaces. */
static const char *codes(int fd, int n)
{
    static char out[256];
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        char *line = client_readline(fd, 10000);
        assert_non_null(line);
        cJSON *r = cJSON_Parse(line);
        size_t len = strlen(out);
        snprintf(out + len, sizeof out - len, "%s%d", i ? " " : "", resp_error_code(r));
        cJSON_Delete(r);
        free(line);
    }
    return out;
}

static redisReply *R(const char *fmt, const char *arg)
{
    return harness_redis(&H, fmt, arg);
}

/* Three reserves of 1 pipelined on one connection, 2 units, all held by one
 * hold past its deadline and no sweep for a minute: answered in request
 * order, held, held, out of stock. The same over three connections, each
 * sent once the one before it was answered. */
static void test_due_hold_keeps_request_order(void **state)
{
    (void)state;
    int fd = still();
    client_stock_set(fd, "P", "L", 2);
    harness_wait_redis_time(&H, hold_many(fd, "P", 2, 1, 1000));
    for (int i = 0; i < 3; i++)
        client_sends(fd, reserve_line("P", 1, 60000));
    assert_string_equal(codes(fd, 3), "0 0 1001");

    client_stock_set(fd, "Q", "L", 2);
    harness_wait_redis_time(&H, hold_many(fd, "Q", 2, 1, 1000));
    int c[3];
    char got[64] = "";
    for (int i = 0; i < 3; i++) {
        c[i] = client_connect(H.stockd[still_index].port);
        client_sends(c[i], reserve_line("Q", 1, 60000));
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", codes(c[i], 1));
    }
    assert_string_equal(got, "0 0 1001");
    for (int i = 0; i < 3; i++)
        close(c[i]);
}

/* 2,100 due holds on one sku ahead of the due hold on another sku's only
 * unit: a reserve of that unit holds at once, with no sweep at all. */
static void test_many_due_holds_never_cost_a_sale(void **state)
{
    (void)state;
    int fd = still();
    client_stock_set(fd, "MANY", "L", 2100);
    long long e1 = hold_many(fd, "MANY", 1, 2100, 1000);
    client_stock_set(fd, "ONE", "L", 1);
    long long e2 = hold_many(fd, "ONE", 1, 1, 1000);
    harness_wait_redis_time(&H, e1 > e2 ? e1 : e2);
    client_sends(fd, reserve_line("ONE", 1, 60000));
    assert_string_equal(codes(fd, 1), "0");
    /* Only ONE's due hold was given back; MANY's wait for the sweeper. */
    redisReply *r = R("HGET {still}:stock:%s L:reserved", "MANY");
    assert_string_equal(r->str, "2100");
    freeReplyObject(r);
}

/* 47 holds of 100 lines split over 64 locations: 300,800 allocations, due
 * together. While the sweeper gives them back, a client keeps reserving
 * another sku one request at a time: every answer a hold, none slower than
 * 250 ms, and stockd never drops its Redis connection. Then an audit,
 * with reserves running beside it, completes and finds the books right. */
static void test_expiry_at_scale_keeps_requests_flowing(void **state)
{
    (void)state;
    /* Fewer big holds in CI's memory runs, which look for memory errors. */
    enum { MAX_HOLDS = 47, LINES = 100, LOCS = 64 };
    const int holds = harness_memory_run() ? 12 : MAX_HOLDS;
    int fd = harness_client(0);
    long long started = harness_now_ms();
    /* Stock by hand: every hold its own LINES skus, with one unit at each
     * of LOCS locations, so that a split line takes one unit at each. */
    static char req[16384];
    char key[64], field[LOCS][24];
    const char *argv[2 + 2 * LOCS];
    argv[0] = "HSET";
    argv[1] = key;
    for (int l = 0; l < LOCS; l++) {
        snprintf(field[l], sizeof field[l], "W%d:on_hand", l);
        argv[2 + 2 * l] = field[l];
        argv[3 + 2 * l] = "1";
    }
    long long due = 0;
    char ids[MAX_HOLDS][64];
    double disconnects = harness_metric(0, "stockd_redis_disconnects_total");
    double expired = harness_metric(0, "stockd_sweeper_expired_total");
    for (int h = 0; h < holds; h++) {
        for (int s = 0; s < LINES; s++) {
            snprintf(key, sizeof key, "{inv}:stock:BIG%d.%d", h, s);
            redisReply *x = redisCommandArgv(H.redis, 2 + 2 * LOCS, argv, NULL);
            assert_true(x != NULL && x->type == REDIS_REPLY_INTEGER);
            freeReplyObject(x);
        }
        int n = snprintf(req, sizeof req,
                         "{\"id\":1,\"method\":\"reserve\",\"params\":{\"strategy\":\"split\","
                         "\"ttl_ms\":600000,\"locations\":[");
        for (int l = 0; l < LOCS; l++)
            n += snprintf(req + n, sizeof req - (size_t)n, "%s\"W%d\"", l ? "," : "", l);
        n += snprintf(req + n, sizeof req - (size_t)n, "],\"items\":[");
        for (int s = 0; s < LINES; s++)
            n += snprintf(req + n, sizeof req - (size_t)n,
                          "%s{\"sku\":\"BIG%d.%d\",\"quantity\":%d}", s ? "," : "", h, s, LOCS);
        snprintf(req + n, sizeof req - (size_t)n, "]}}");
        cJSON *r = client_call(fd, req);
        if (resp_error_code(r) != 0)
            fail_msg("big hold %d: %s", h, cJSON_PrintUnformatted(r));
        snprintf(ids[h], sizeof ids[h], "%s", json_str(resp_result(r), "reservation_id"));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(resp_result(r),
                                                                             "allocations")),
                         LINES * LOCS);
        cJSON_Delete(r);
    }
    /* All due within a few seconds of each other: extended one by one. */
    long long first_due = 0;
    for (int h = 0; h < holds; h++) {
        cJSON *r = client_callf(fd,
                                "{\"id\":1,\"method\":\"extend\",\"params\":{\"reservation_id\":"
                                "\"%s\",\"ttl_ms\":5000}}",
                                ids[h]);
        if (resp_error_code(r) != 0)
            fail_msg("extend %d: %s", h, cJSON_PrintUnformatted(r));
        due = json_int(resp_result(r), "expires_at");
        first_due = first_due ? first_due : due;
        cJSON_Delete(r);
    }
    client_stock_set(fd, "SMALL", "L", 1000000);

    /* Reserve SMALL until every big hold is gone, from before their
     * deadline on. */
    print_message("holds made at %lld ms\n", harness_now_ms() - started);
    harness_wait_redis_time(&H, first_due - 200);
    long long worst = 0;
    int sent = 0;
    for (;;) {
        long long t0 = harness_now_ms();
        client_sends(fd, reserve_line("SMALL", 1, 600000));
        const char *got = codes(fd, 1);
        long long took = harness_now_ms() - t0;
        if (strcmp(got, "0") != 0)
            fail_msg("small reserve %d answered %s", sent, got);
        worst = took > worst ? took : worst;
        sent++;
        /* A big hold's last allocations are of its last line's sku. */
        long long left = 0;
        for (int h = 0; h < holds; h++) {
            redisReply *z = harness_redis(&H, "ZCARD {inv}:holds:BIG%d.%d", h, LINES - 1);
            left += z->integer;
            freeReplyObject(z);
        }
        if (left == 0)
            break;
        if (sent > 200000)
            fail_msg("the big holds did not expire");
    }
    print_message("%d small reserves during the expiry, slowest %lld ms, done at %lld ms\n", sent,
                  worst, harness_now_ms() - started);
    assert_true(worst < 250);
    assert_true(harness_metric(0, "stockd_redis_disconnects_total") == disconnects);
    /* The last call's answer may still be on its way to stockd. */
    long long until = harness_now_ms() + 10000;
    while (harness_metric(0, "stockd_sweeper_expired_total") - expired != holds)
        if (harness_now_ms() > until)
            fail_msg("stockd_sweeper_expired_total grew by %.0f, not %d",
                     harness_metric(0, "stockd_sweeper_expired_total") - expired, holds);
    redisReply *r = harness_redis(&H, "HGET {inv}:stock:BIG7.3 W9:reserved");
    assert_string_equal(r->str, "0");
    freeReplyObject(r);

    /* The audit under traffic: 2,000 reserves pipelined on one connection,
     * the audit on another, then their answers. */
    int other = client_connect(H.stockd[0].port);
    for (int i = 0; i < 2000; i++)
        client_sends(fd, reserve_line("SMALL", 1, 600000));
    cJSON *a = client_call(other, "{\"id\":9,\"method\":\"stock.audit\",\"params\":{}}");
    if (resp_error_code(a) != 0)
        fail_msg("audit: %s", cJSON_PrintUnformatted(a));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(a), "ok")));
    assert_int_equal(json_int(resp_result(a), "skus_checked"), holds * LINES + 1);
    const cJSON *ledger = cJSON_GetObjectItemCaseSensitive(resp_result(a), "ledger");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ledger, "replayed")));
    cJSON_Delete(a);
    for (int i = 0; i < 2000; i++)
        free(client_readline(fd, 10000));
    close(other);
}

/* A due record that cannot be read is moved to {inv}:quarantine, logged
 * once and counted; the holds beside it still expire, sweep after sweep. */
static void test_unreadable_due_record_is_moved_aside(void **state)
{
    (void)state;
    int fd = harness_client(0);
    long long now = harness_redis_time_ms(&H);
    freeReplyObject(harness_redis(&H,
                                  "HSET {inv}:res:broken status held created_at 1 expires_at %lld "
                                  "allocations {not-json",
                                  now - 1000));
    freeReplyObject(harness_redis(&H, "ZADD {inv}:expiry %lld broken", now - 1000));
    client_stock_set(fd, "QA", "L", 5);
    harness_wait_redis_time(&H, hold_many(fd, "QA", 1, 3, 1000));
    harness_wait_no_holds(10000, NULL);
    redisReply *r = harness_redis(&H, "HGET {inv}:quarantine broken");
    assert_string_equal(r->str, "allocations are not JSON");
    freeReplyObject(r);
    r = harness_redis(&H, "HGET {inv}:stock:QA L:reserved");
    assert_string_equal(r->str, "0");
    freeReplyObject(r);
    /* Redis shows the move before stockd has read the script's answer. */
    long long give_up = harness_now_ms() + 10000;
    while (harness_metric(0, "stockd_sweeper_quarantined_total") < 1 && harness_now_ms() < give_up)
        harness_wait_redis_time(&H, harness_redis_time_ms(&H) + 20);
    assert_true(harness_metric(0, "stockd_sweeper_quarantined_total") == 1);
    /* Later sweeps do not see it again. */
    harness_wait_redis_time(&H, harness_redis_time_ms(&H) + 500);
    assert_int_equal(harness_log_count(0, "broken moved to {inv}:quarantine"), 1);
}

/* Past its deadline, before any sweep: reservation.get and a replayed
 * reserve say expired. */
static void test_due_hold_reads_as_expired(void **state)
{
    (void)state;
    int fd = still();
    client_stock_set(fd, "G", "L", 5);
    const char *req = "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"o-g\","
                      "\"items\":[{\"sku\":\"G\",\"quantity\":2}],\"locations\":[\"L\"],"
                      "\"ttl_ms\":1000}}";
    cJSON *r = client_call(fd, req);
    char id[64];
    snprintf(id, sizeof id, "%s", json_str(resp_result(r), "reservation_id"));
    harness_wait_redis_time(&H, json_int(resp_result(r), "expires_at"));
    cJSON_Delete(r);
    r = client_callf(fd,
                     "{\"id\":2,\"method\":\"reservation.get\",\"params\":{\"reservation_id\":"
                     "\"%s\"}}",
                     id);
    assert_string_equal(json_str(resp_result(r), "status"), "expired");
    cJSON_Delete(r);
    r = client_call(fd, req);
    assert_string_equal(json_str(resp_result(r), "status"), "expired");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "replayed")));
    cJSON_Delete(r);
}

/* An order binding that outlived its record (retention ended between the
 * two reads) is taken as absent: the reserve holds, and binds anew. */
static void test_binding_without_record_is_absent(void **state)
{
    (void)state;
    int fd = harness_client(0);
    client_stock_set(fd, "B", "L", 5);
    freeReplyObject(harness_redis(&H, "SET {inv}:order:o-gone no-such-record"));
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":"
                               "\"o-gone\",\"items\":[{\"sku\":\"B\",\"quantity\":1}],"
                               "\"locations\":[\"L\"]}}");
    if (resp_error_code(r) != 0)
        fail_msg("reserve: %s", cJSON_PrintUnformatted(r));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "replayed")));
    redisReply *b = harness_redis(&H, "GET {inv}:order:o-gone");
    assert_string_equal(b->str, json_str(resp_result(r), "reservation_id"));
    freeReplyObject(b);
    cJSON_Delete(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_due_hold_keeps_request_order, harness_flush_setup),
        cmocka_unit_test_setup(test_many_due_holds_never_cost_a_sale, harness_flush_setup),
        cmocka_unit_test_setup(test_expiry_at_scale_keeps_requests_flowing, harness_flush_setup),
        cmocka_unit_test_setup(test_unreadable_due_record_is_moved_aside, harness_flush_setup),
        cmocka_unit_test_setup(test_due_hold_reads_as_expired, harness_flush_setup),
        cmocka_unit_test_setup(test_binding_without_record_is_absent, harness_flush_setup),
    };
    static const char *const args[] = {STOCKD_ARGS, NULL};
    return harness_run("expiry", tests, sizeof tests / sizeof tests[0], 1, args);
}
