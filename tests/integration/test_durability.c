/* Integration: --durability replica against a master with one replica
 * (redis://, no Sentinel). A write is answered once WAIT says the replica
 * has it, and is then on the replica; WAITs are pipelined, far fewer than
 * the writes of a pipelined load; a stopped replica turns writes into 2002
 * "replication" after --durability-timeout-ms while reads are answered; a
 * retry with the same order_id makes no second hold and is confirmed like
 * the first; metrics and /readyz say what happened; replica:2 with one
 * replica never confirms; none sends no WAIT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sentinel_util.h"

#define SKU "DU"
#define LOC "L"
#define DURABILITY_TIMEOUT_MS 600

static struct sgroup G;

static const char *const replica_args[] = {"--durability", "replica", "--durability-timeout-ms",
                                           "600", NULL};

static cJSON *set_stock(int fd)
{
    return client_call(fd, "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"" SKU
                           "\",\"location\":\"" LOC "\",\"on_hand\":1000000}}");
}

/* A fresh master and replica, and a stockd on them with args; with
 * stock, when stocked. */
static int start_with(const char *const *args, bool stocked)
{
    sg_start(&G, &(struct sg_opts){.replicas = 1});
    char url[128];
    int i = harness_stockd(
        &(struct stockd_opts){.redis_url = sg_direct_url(&G, url, sizeof url), .args = args});
    if (stocked) {
        int fd = client_connect(H.stockd[i].port);
        cJSON *r = set_stock(fd);
        if (resp_error_code(r) != 0)
            fail_msg("stock.set: %s", cJSON_PrintUnformatted(r));
        cJSON_Delete(r);
        close(fd);
    }
    return i;
}

static int start(const char *const *args)
{
    return start_with(args, true);
}

static void finish(int i)
{
    sg_stop_stockd(i);
    sg_stop(&G);
}

static cJSON *reserve(int fd, const char *order_id)
{
    return client_callf(fd,
                        "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"%s\","
                        "\"items\":[{\"sku\":\"" SKU "\",\"quantity\":1}],\"locations\":[\"" LOC
                        "\"]}}",
                        order_id);
}

/* The binding of order_id on data node n, "" when none (malloc'd). */
static char *binding_on(int n, const char *order_id)
{
    redisReply *r = sg_node_must(&G, n, "GET {inv}:order:%s", order_id);
    const char *v = r->type == REDIS_REPLY_STRING ? r->str : "";
    char *out = memcpy(malloc(strlen(v) + 1), v, strlen(v) + 1);
    freeReplyObject(r);
    return out;
}

static void assert_bound_on(int n, const char *order_id, const char *id)
{
    char *b = binding_on(n, order_id);
    if (strcmp(b, id) != 0)
        fail_msg("order %s on node %d: bound to '%s', expected '%s'", order_id, n, b, id);
    free(b);
}

static char *readyz(int i)
{
    char *body = NULL;
    assert_int_equal(harness_http_get(H.stockd[i].http_port, "/readyz", &body), 200);
    return body;
}

static void test_write_waits_for_the_replica(void **state)
{
    (void)state;
    int i = start(replica_args);
    long long waits = sg_cmd_calls(&G, 0, "wait");
    int fd = client_connect(H.stockd[i].port);
    cJSON *r = reserve(fd, "one");
    assert_int_equal(resp_error_code(r), 0);
    /* Acknowledged: the replica has it already. */
    assert_bound_on(1, "one", json_str(resp_result(r), "reservation_id"));
    cJSON_Delete(r);
    assert_true(sg_cmd_calls(&G, 0, "wait") > waits);
    assert_true(harness_metric(i, "stockd_redis_replication_waits_total") >= 1);
    assert_true(harness_metric(i, "stockd_redis_replication_failures_total") == 0);
    assert_true(harness_metric(i, "stockd_redis_replication_required") == 1);
    char series[160];
    assert_true(harness_metric(i, sg_master_series(&G, 0, "direct", series, sizeof series)) == 1);
    char *body = readyz(i), line[128];
    snprintf(line, sizeof line, "redis: master 127.0.0.1:%d (direct), failovers seen 0",
             G.node[0].port);
    if (strstr(body, line) == NULL || strstr(body, "durability: replica:1\n") == NULL ||
        strstr(body, "warning:") != NULL)
        fail_msg("/readyz: %s", body);
    free(body);
    close(fd);
    finish(i);
}

/* 2,000 reserves pipelined on 4 connections: each acknowledged and on the
 * replica, with far fewer WAITs than reserves. */
static void test_waits_are_pipelined(void **state)
{
    (void)state;
    enum { CONNS = 4, PER = 500 };
    static const char *const args[] = {
        "--durability", "replica", "--durability-timeout-ms", "600", "--max-pipeline",
        "1000",         NULL};
    int i = start(args);
    long long waits = sg_cmd_calls(&G, 0, "wait");
    int fds[CONNS];
    static char data[CONNS][PER * 200];
    size_t len[CONNS];
    for (int c = 0; c < CONNS; c++) {
        fds[c] = client_connect(H.stockd[i].port);
        len[c] = 0;
        for (int k = 0; k < PER; k++)
            len[c] += (size_t)snprintf(data[c] + len[c], sizeof data[c] - len[c],
                                       "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":"
                                       "\"p-%d-%d\",\"items\":[{\"sku\":\"" SKU "\",\"quantity\":"
                                       "1}],\"locations\":[\"" LOC "\"]}}\n",
                                       k, c, k);
    }
    /* All connections' requests out before any answer is read. */
    for (int c = 0; c < CONNS; c++)
        client_send(fds[c], data[c], len[c]);
    int acked = 0;
    for (int c = 0; c < CONNS; c++) {
        char **lines = client_exchange(fds[c], "", 0, PER, 30000);
        for (int k = 0; k < PER; k++) {
            cJSON *r = cJSON_Parse(lines[k]);
            if (resp_error_code(r) != 0)
                fail_msg("pipelined reserve: %s", lines[k]);
            acked++;
            cJSON_Delete(r);
        }
        client_free_lines(lines, PER);
        close(fds[c]);
    }
    long long n_waits = sg_cmd_calls(&G, 0, "wait") - waits;
    printf("pipelined: %d reserves acknowledged with %lld WAITs (%lld EVALSHA in all)\n", acked,
           n_waits, sg_cmd_calls(&G, 0, "evalsha"));
    assert_int_equal(acked, CONNS * PER);
    assert_true(n_waits >= 1);
    assert_true(n_waits * 4 <= acked);
    /* Acknowledged, so on the replica (a sample of them). */
    char order[32];
    for (int c = 0; c < CONNS; c++)
        for (int k = 0; k < PER; k += 97) {
            snprintf(order, sizeof order, "p-%d-%d", c, k);
            char *b = binding_on(1, order);
            assert_true(b[0] != '\0');
            free(b);
        }
    finish(i);
}

/* The replica stopped: a reserve is answered 2002 "replication" after the
 * durability timeout, a read is answered, metrics and /readyz tell; once
 * the replica runs again the retry with the same order_id is the same
 * hold, confirmed. */
static void test_stopped_replica(void **state)
{
    (void)state;
    int i = start(replica_args);
    int fd = client_connect(H.stockd[i].port);
    cJSON_Delete(reserve(fd, "warm"));
    double failures = harness_metric(i, "stockd_redis_replication_failures_total");
    double waited = harness_metric(i, "stockd_redis_replication_wait_seconds_total");
    sg_signal(&G, 1, SIGSTOP);
    long long t0 = harness_now_ms();
    cJSON *r = reserve(fd, "stalled");
    long long took = harness_now_ms() - t0;
    assert_int_equal(resp_error_code(r), 2002);
    assert_string_equal(resp_error_reason(r), "replication");
    cJSON_Delete(r);
    printf("stopped replica: 2002 replication after %lld ms (timeout %d)\n", took,
           DURABILITY_TIMEOUT_MS);
    assert_true(took >= DURABILITY_TIMEOUT_MS - 50 && took < DURABILITY_TIMEOUT_MS + 700);
    /* Reads are answered. */
    t0 = harness_now_ms();
    struct row row = stock_row(fd, SKU, LOC);
    printf("stopped replica: stock.get answered in %lld ms\n", harness_now_ms() - t0);
    assert_int_equal(row.reserved, 2); /* warm, and stalled: it ran */
    assert_true(harness_metric(i, "stockd_redis_replication_failures_total") > failures);
    assert_true(harness_metric(i, "stockd_redis_replication_wait_seconds_total") >=
                waited + (DURABILITY_TIMEOUT_MS - 50) / 1000.0);
    char *body = readyz(i);
    if (strstr(body, "\nwarning:") == NULL || strstr(body, "replica") == NULL)
        fail_msg("/readyz has no warning: %s", body);
    free(body);

    sg_signal(&G, 1, SIGCONT);
    long long give_up = harness_now_ms() + 10000;
    char *id = NULL;
    while (id == NULL) {
        r = reserve(fd, "stalled");
        if (resp_error_code(r) == 0)
            id = strdup(json_str(resp_result(r), "reservation_id"));
        else if (resp_error_code(r) != 2002 || harness_now_ms() > give_up)
            fail_msg("retry after the replica came back: %s", cJSON_PrintUnformatted(r));
        cJSON_Delete(r);
    }
    /* The same hold: the one the stalled call made. */
    assert_int_equal(stock_row(fd, SKU, LOC).reserved, 2);
    assert_bound_on(0, "stalled", id);
    assert_bound_on(1, "stalled", id);
    free(id);
    body = readyz(i);
    if (strstr(body, "warning:") != NULL)
        fail_msg("/readyz still warns: %s", body);
    free(body);
    close(fd);
    finish(i);
}

/* The hold of a 2002 "replication" answer, replayed through another
 * connection that was made before it (another stockd, here) while the
 * replica still has not confirmed it: the replay must not be acknowledged
 * either, since a failover now would lose the hold. (WAIT counts from the
 * connection's own last write, which the hold is not.) */
static void test_replay_is_confirmed_too(void **state)
{
    (void)state;
    int a = start(replica_args);
    char url[128];
    int b = harness_stockd(&(struct stockd_opts){.redis_url = sg_direct_url(&G, url, sizeof url),
                                                 .args = replica_args});
    int fa = client_connect(H.stockd[a].port), fb = client_connect(H.stockd[b].port);
    cJSON *r = reserve(fa, "warm-a");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    r = reserve(fb, "warm-b");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    sg_signal(&G, 1, SIGSTOP);
    r = reserve(fa, "replayed");
    assert_int_equal(resp_error_code(r), 2002);
    assert_string_equal(resp_error_reason(r), "replication");
    cJSON_Delete(r);
    r = reserve(fb, "replayed");
    int code = resp_error_code(r);
    char *text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    sg_signal(&G, 1, SIGCONT);
    if (code == 0)
        fail_msg("a replay was acknowledged while the replica had not confirmed the hold: %s",
                 text);
    assert_int_equal(code, 2002);
    free(text);
    close(fa);
    close(fb);
    sg_stop_stockd(b);
    finish(a);
}

/* Reads are not delayed (the protocol's "Reaching Redis"): with the
 * replica stopped and a write unconfirmed, a read does not wait for the
 * durability timeout. */
static void test_reads_are_not_delayed(void **state)
{
    (void)state;
    int i = start(replica_args);
    int fd = client_connect(H.stockd[i].port);
    cJSON_Delete(reserve(fd, "warm"));
    sg_signal(&G, 1, SIGSTOP);
    cJSON_Delete(reserve(fd, "unconfirmed"));
    long long worst = 0;
    for (int k = 0; k < 5; k++) {
        long long t0 = harness_now_ms();
        (void)stock_row(fd, SKU, LOC);
        long long took = harness_now_ms() - t0;
        worst = took > worst ? took : worst;
    }
    sg_signal(&G, 1, SIGCONT);
    printf("stopped replica: slowest of 5 reads %lld ms (durability timeout %d ms)\n", worst,
           DURABILITY_TIMEOUT_MS);
    assert_true(worst < DURABILITY_TIMEOUT_MS / 2);
    close(fd);
    finish(i);
}

/* replica:2 with one replica: no write is ever confirmed. */
static void test_more_replicas_than_there_are(void **state)
{
    (void)state;
    static const char *const args[] = {"--durability", "replica:2", "--durability-timeout-ms",
                                       "300", NULL};
    int i = start_with(args, false);
    int fd = client_connect(H.stockd[i].port);
    cJSON *set = set_stock(fd); /* a write like any other */
    assert_int_equal(resp_error_code(set), 2002);
    assert_string_equal(resp_error_reason(set), "replication");
    cJSON_Delete(set);
    for (int k = 0; k < 3; k++) {
        char order[32];
        snprintf(order, sizeof order, "two-%d", k);
        cJSON *r = reserve(fd, order);
        assert_int_equal(resp_error_code(r), 2002);
        assert_string_equal(resp_error_reason(r), "replication");
        cJSON_Delete(r);
    }
    assert_true(harness_metric(i, "stockd_redis_replication_required") == 2);
    assert_true(harness_metric(i, "stockd_redis_replication_failures_total") >= 3);
    char *body = readyz(i);
    if (strstr(body, "durability: replica:2\n") == NULL || strstr(body, "\nwarning:") == NULL)
        fail_msg("/readyz: %s", body);
    free(body);
    close(fd);
    finish(i);
}

/* none: no WAIT at all. */
static void test_none_sends_no_wait(void **state)
{
    (void)state;
    int i = start(NULL);
    long long waits = sg_cmd_calls(&G, 0, "wait"); /* the group's own readiness probes */
    int fd = client_connect(H.stockd[i].port);
    for (int k = 0; k < 20; k++) {
        char order[32];
        snprintf(order, sizeof order, "none-%d", k);
        cJSON *r = reserve(fd, order);
        assert_int_equal(resp_error_code(r), 0);
        cJSON_Delete(r);
    }
    assert_int_equal(sg_cmd_calls(&G, 0, "wait"), waits);
    assert_true(harness_metric(i, "stockd_redis_replication_required") == 0);
    char *body = readyz(i);
    assert_non_null(strstr(body, "durability: none\n"));
    free(body);
    close(fd);
    finish(i);
}

/* A WAIT as long as the request timeout: refused at start. */
static void test_timeout_must_fit(void **state)
{
    (void)state;
    static const char *const args[] = {
        "--durability", "replica", "--durability-timeout-ms", "2000", "--request-timeout-ms",
        "2000",         NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args, .no_wait = true});
    int status = harness_reap_stockd(i);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    assert_true(harness_log_count(i, "must be below --request-timeout-ms") == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_must_fit),
        cmocka_unit_test(test_write_waits_for_the_replica),
        cmocka_unit_test(test_waits_are_pipelined),
        cmocka_unit_test(test_stopped_replica),
        cmocka_unit_test(test_more_replicas_than_there_are),
        cmocka_unit_test(test_none_sends_no_wait),
        cmocka_unit_test(test_replay_is_confirmed_too),
        cmocka_unit_test(test_reads_are_not_delayed),
    };
    /* STOCKD_TEST_ONLY=<pattern>: run only the tests it matches. */
    if (getenv("STOCKD_TEST_ONLY"))
        cmocka_set_test_filter(getenv("STOCKD_TEST_ONLY"));
    return harness_run("durability", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
