/* Integration: stockd (one namespace, `inv`) while the cluster's shape
 * changes under it, each change made while stockd is idle so that its
 * next calls meet a stale slot map: a slot moved (MOVED, to one request
 * and to a burst that stockd coalesces), a slot moved to a master added
 * after stockd started (a node it never knew, with no script loaded),
 * the scripts flushed on one master (NOSCRIPT), a seed that is down at
 * start, the only seed gone before the map must be read again, and a
 * whole shard lost (master and replica) and brought back. A call that
 * did not run is never answered 2002, nothing is left held that was not
 * acknowledged, and the books balance. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h" /* xmalloc and friends */
#include "cluster_util.h"
#include "harness.h"

#define SKU "T"
#define LOC "L"
#define BURST 24

static int stop_failures;
static int acked; /* reserves acknowledged in the running test */

static struct cluster *cl(void)
{
    return H.cluster;
}

static unsigned inv_slot(void)
{
    return cl_slot_of_tag("inv");
}

static int group_setup(void **state)
{
    (void)state;
    harness_start_cluster(&H);
    static const char *const args[] = {"--sweep-interval-ms", "100", NULL};
    harness_stockd(&(struct stockd_opts){.args = args});
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop_failures = harness_stop(&H);
    return stop_failures;
}

static int setup(void **state)
{
    harness_flush_setup(state);
    acked = 0;
    int fd = harness_client(0);
    client_stock_set(fd, SKU, LOC, 1000000);
    return 0;
}

/* A master other than the owner of {inv}'s slot (and than avoid). */
static int other_master(int avoid)
{
    int masters[CL_NODES_MAX], n = cl_masters(cl(), masters);
    int owner = cl_master_of_slot(cl(), inv_slot());
    for (int k = 0; k < n; k++)
        if (masters[k] != owner && masters[k] != avoid)
            return masters[k];
    fail_msg("no other master");
    return -1;
}

/* BURST connections to stockd s each send one reserve at once (stockd
 * coalesces them), then every answer is read: each must be a result. */
static void burst_all_results(int s, const char *what)
{
    int fds[BURST];
    for (int i = 0; i < BURST; i++)
        fds[i] = client_connect(H.stockd[s].port);
    static int seq;
    int first = seq;
    for (int i = 0; i < BURST; i++) {
        char req[256];
        snprintf(req, sizeof req,
                 "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":\"b-%d\",\"items\":"
                 "[{\"sku\":\"" SKU "\",\"quantity\":1}],\"locations\":[\"" LOC "\"]}}\n",
                 i, seq++);
        client_sends(fds[i], req);
    }
    for (int i = 0; i < BURST; i++) {
        char *line = client_readline(fds[i], 10000);
        if (line == NULL)
            fail_msg("%s: order b-%d got no answer", what, first + i);
        cJSON *r = cJSON_Parse(line);
        if (resp_error_code(r) != 0)
            fail_msg("%s: order b-%d answered %s", what, first + i, line);
        acked++;
        cJSON_Delete(r);
        free(line);
        close(fds[i]);
    }
}

/* The held units are the acknowledged reserves, and the audit is ok. */
static void books(int s)
{
    int fd = client_connect(H.stockd[s].port);
    struct row r = stock_row(fd, SKU, LOC);
    assert_int_equal(r.reserved, acked);
    cJSON *a = client_call(fd, "{\"id\":1,\"method\":\"stock.audit\",\"params\":{}}");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(a), "ok")))
        fail_msg("stock.audit: %s", cJSON_PrintUnformatted(a));
    cJSON_Delete(a);
    close(fd);
}

static double moved_total(int s)
{
    double v = harness_metric(s, "stockd_redis_cluster_redirects_total{kind=\"moved\"}");
    return v > 0 ? v : 0;
}

/* Waits until stockd s's metric series reads want. */
static void wait_metric(int s, const char *series, double want, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    double v;
    while ((v = harness_metric(s, series)) != want) {
        if (harness_now_ms() > deadline)
            fail_msg("%s is %g, not %g, after %d ms", series, v, want, timeout_ms);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* a probe's pause */
    }
}

static void test_quiet_move_then_burst(void **state)
{
    (void)state;
    int from = cl_master_of_slot(cl(), inv_slot());
    burst_all_results(0, "before the move");
    double moved = moved_total(0);
    /* Twice: away, and back again. */
    for (int round = 0; round < 2; round++) {
        int to = round == 0 ? other_master(-1) : from;
        cl_move_slot(cl(), inv_slot(), to, 50);
        burst_all_results(0, round == 0 ? "after the move" : "after the move back");
        assert_int_equal(cl_master_of_slot(cl(), inv_slot()), to);
    }
    printf("MOVED replies met: %.0f\n", moved_total(0) - moved);
    books(0);
}

static void test_move_to_new_master(void **state)
{
    (void)state;
    burst_all_results(0, "before the new master");
    int added = cl_add_master(cl(), 20000);
    cl_move_slot(cl(), inv_slot(), added, 50);
    /* stockd never knew that node, and it has no script loaded. */
    burst_all_results(0, "on the new master");
    wait_metric(0, "stockd_redis_cluster_masters", 4, 10000);
    char *body = NULL;
    assert_int_equal(harness_http_get(H.stockd[0].http_port, "/readyz", &body), 200);
    assert_non_null(strstr(body, "4 masters"));
    free(body);
    books(0);
}

static void test_noscript_on_one_master(void **state)
{
    (void)state;
    burst_all_results(0, "before SCRIPT FLUSH");
    int owner = cl_master_of_slot(cl(), inv_slot());
    freeReplyObject(cl_must(cl(), owner, "SCRIPT FLUSH"));
    burst_all_results(0, "after SCRIPT FLUSH on the master");
    books(0);
}

static void test_seed_down_at_start(void **state)
{
    (void)state;
    /* A first seed that refuses, then one live node. */
    char url[200];
    snprintf(url, sizeof url, "redis+cluster://127.0.0.1:%d,127.0.0.1:%d", harness_free_port(),
             cl()->node[4].port);
    int s = harness_stockd(&(struct stockd_opts){.redis_url = url});
    burst_all_results(s, "through the second seed");
    books(s);
}

static void test_only_seed_gone(void **state)
{
    (void)state;
    /* A stockd whose only seed is a replica: once it is gone, a new map
     * must come from the nodes stockd knows. */
    int seed = -1;
    for (int i = 0; i < cl()->n_nodes && seed < 0; i++)
        if (cl()->node[i].pid > 0 && !cl_is_master(cl(), i))
            seed = i;
    assert_true(seed >= 0);
    char url[200];
    snprintf(url, sizeof url, "redis+cluster://127.0.0.1:%d", cl()->node[seed].port);
    int s = harness_stockd(&(struct stockd_opts){.redis_url = url});
    burst_all_results(s, "through the seed");
    cl_kill(cl(), seed);
    cl_wait_ok(cl(), 20000);
    cl_move_slot(cl(), inv_slot(), other_master(-1), 50);
    burst_all_results(s, "after the seed died and the slot moved");
    books(s);
    cl_restart(cl(), seed, 30000);
}

static void test_shard_lost_and_back(void **state)
{
    (void)state;
    burst_all_results(0, "before the shard is lost");
    int owner = cl_master_of_slot(cl(), inv_slot());
    /* A shard that is not {inv}'s: all of it (master and replica). */
    int victim = other_master(-1), replica = -1;
    for (int i = 0; i < cl()->n_nodes; i++) {
        if (i == victim || cl()->node[i].pid <= 0)
            continue;
        redisReply *r = cl_cmd(cl(), i, "INFO replication");
        char needle[64];
        snprintf(needle, sizeof needle, "master_port:%d\r", cl()->node[victim].port);
        if (r && r->type == REDIS_REPLY_STRING && strstr(r->str, needle))
            replica = i;
        if (r)
            freeReplyObject(r);
    }
    assert_true(replica >= 0);
    cl_kill(cl(), replica);
    cl_kill(cl(), victim);
    /* The cluster goes down (it needs every slot): {inv}'s master then
     * refuses the calls. Each is answered in time, 2001 (it did not
     * run) or a result (it ran before the cluster noticed), never 2002. */
    int fd = client_connect(H.stockd[0].port);
    long long until = harness_now_ms() + 4000 + CL_NODE_TIMEOUT_MS * 2;
    int unavailable = 0, results = 0, n = 0;
    while (harness_now_ms() < until) {
        long long t0 = harness_now_ms();
        cJSON *r = client_callf(fd,
                                "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":"
                                "\"down-%d\",\"items\":[{\"sku\":\"" SKU "\",\"quantity\":1}],"
                                "\"locations\":[\"" LOC "\"]}}",
                                n++);
        long long took = harness_now_ms() - t0;
        int code = resp_error_code(r);
        if (code != 0 && code != 2001)
            fail_msg("a reserve while a shard is down answered %d after %lld ms: %s", code, took,
                     cJSON_PrintUnformatted(r));
        if (took > 3500)
            fail_msg("a reserve while a shard is down took %lld ms", took);
        unavailable += code == 2001;
        results += code == 0;
        acked += code == 0;
        cJSON_Delete(r);
    }
    printf("while the shard was down: %d reserves, %d results, %d answered 2001\n", n, results,
           unavailable);
    assert_true(unavailable > 0);
    /* Still down: stockd stays ready (every stockd sees the same cluster;
     * taking them all out of a Service would stop every tenant), says
     * which part is missing, and its ping does not claim all of Redis. */
    wait_metric(0, "stockd_redis_cluster_masters_up", 2, 10000);
    char *body = NULL;
    assert_int_equal(harness_http_get(H.stockd[0].http_port, "/readyz", &body), 200);
    printf("/readyz with a shard down: %s", body);
    assert_non_null(strstr(body, "3 masters (2 up)"));
    assert_non_null(strstr(body, "\nwarning: 1 of 3 masters not up"));
    free(body);
    cJSON *pong = client_call(fd, "{\"id\":1,\"method\":\"ping\"}");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(pong, "result"), "redis")),
                        "down");
    cJSON_Delete(pong);
    /* Back (each with its nodes.conf): the cluster is ok again, and so is
     * stockd. */
    cl_launch(cl(), victim);
    cl_launch(cl(), replica);
    cl_wait_ok(cl(), 30000);
    assert_int_equal(cl_master_of_slot(cl(), inv_slot()), owner);
    harness_wait_redis_up(H.stockd[0].port, 15000);
    burst_all_results(0, "after the shard came back");
    close(fd);
    books(0);
}

/* The replica of master m, or -1. */
static int replica_of(int m)
{
    for (int i = 0; i < cl()->n_nodes; i++) {
        if (i == m || cl()->node[i].pid <= 0)
            continue;
        redisReply *r = cl_cmd(cl(), i, "INFO replication");
        char needle[64];
        snprintf(needle, sizeof needle, "master_port:%d\r", cl()->node[m].port);
        bool found = r && r->type == REDIS_REPLY_STRING && strstr(r->str, needle);
        if (r)
            freeReplyObject(r);
        if (found)
            return i;
    }
    return -1;
}

static cJSON *reserve_order(int fd, const char *order_id)
{
    return client_callf(fd,
                        "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"%s\","
                        "\"items\":[{\"sku\":\"" SKU "\",\"quantity\":1}],\"locations\":[\"" LOC
                        "\"]}}",
                        order_id);
}

/* --durability replica on a cluster: each write waits for a replica of
 * the master that took it. Without one, 2002 reason replication (it ran);
 * a retry by the same order_id once the replica is back gets the hold. */
static void test_durability_per_master(void **state)
{
    (void)state;
    static const char *const args[] = {"--durability", "replica", "--durability-timeout-ms", "300",
                                       NULL};
    int s = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = client_connect(H.stockd[s].port);
    cJSON *r = reserve_order(fd, "dur-0");
    assert_int_equal(resp_error_code(r), 0);
    acked++;
    cJSON_Delete(r);
    int owner = cl_master_of_slot(cl(), inv_slot());
    int replica = replica_of(owner);
    assert_true(replica >= 0);
    cl_kill(cl(), replica);
    /* Until the master has dropped the replica's link. */
    long long deadline = harness_now_ms() + 10000;
    for (;;) {
        redisReply *i = cl_must(cl(), owner, "INFO replication");
        bool none = strstr(i->str, "connected_slaves:0") != NULL;
        freeReplyObject(i);
        if (none)
            break;
        if (harness_now_ms() > deadline)
            fail_msg("the master never dropped its killed replica");
    }
    r = reserve_order(fd, "dur-1");
    if (resp_error_code(r) != 2002 || strcmp(resp_error_reason(r), "replication") != 0)
        fail_msg("a reserve with no replica to confirm it answered %s", cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
    cl_restart(cl(), replica, 30000);
    /* Retried as a client does after 2002: right after its full copy a
     * replica may confirm only with its once-a-second ACK, so the first
     * WAITs can still time out (Redis's answer, seen with MONITOR). The
     * hold must come, and once (books below). */
    long long until = harness_now_ms() + 10000;
    r = reserve_order(fd, "dur-1");
    while (resp_error_code(r) == 2002 && harness_now_ms() < until) {
        cJSON_Delete(r);
        r = reserve_order(fd, "dur-1");
    }
    if (resp_error_code(r) != 0)
        fail_msg("the retry once the replica is back answered %s", cJSON_PrintUnformatted(r));
    /* The first attempt had run: this is its hold. */
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "replayed")));
    acked++;
    cJSON_Delete(r);
    close(fd);
    books(s);
}

/* A slot in the middle of a move, held there: with some of a call's keys
 * on each side Redis answers TRYAGAIN, and stockd retries until its
 * deadline, then 2001 (nothing ran); with every key on the target, the
 * source answers ASK, and stockd's ASKING + call there succeeds. */
static void test_slot_held_mid_move(void **state)
{
    (void)state;
    static const char *const args[] = {"--request-timeout-ms", "600", NULL};
    int s = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = client_connect(H.stockd[s].port);
    cJSON *r = reserve_order(fd, "mid-0");
    assert_int_equal(resp_error_code(r), 0);
    acked++;
    char id[64], params[160];
    snprintf(id, sizeof id, "%s", json_str(resp_result(r), "reservation_id"));
    cJSON_Delete(r);
    double ask0 = harness_metric(s, "stockd_redis_cluster_redirects_total{kind=\"ask\"}");
    double try0 = harness_metric(s, "stockd_redis_cluster_retries_total{reason=\"tryagain\"}");
    struct cl_move m;
    cl_move_begin(cl(), &m, inv_slot(), other_master(-1), 100);
    /* Only the stock row moves: a new reserve needs it (target) and makes
     * new keys beside the ledger (source). */
    cl_move_key(cl(), &m, "{inv}:stock:" SKU);
    long long t0 = harness_now_ms();
    r = reserve_order(fd, "mid-1");
    long long took = harness_now_ms() - t0;
    if (resp_error_code(r) != 2001)
        fail_msg("a reserve over a half moved slot answered %s after %lld ms",
                 cJSON_PrintUnformatted(r), took);
    cJSON_Delete(r);
    double tries =
        harness_metric(s, "stockd_redis_cluster_retries_total{reason=\"tryagain\"}") - try0;
    printf("half moved: 2001 after %lld ms (deadline 600 ms), %.0f TRYAGAIN retries\n", took,
           tries);
    /* Retried (not given up at the first TRYAGAIN), and not past its
     * deadline by much. */
    assert_true(tries >= 2);
    assert_true(took < 1500);
    /* Every key on the target, the slot still the source's: ASK. */
    cl_move_all_keys(cl(), &m);
    snprintf(params, sizeof params, "{\"reservation_id\":\"%s\"}", id);
    r = client_callf(fd, "{\"id\":1,\"method\":\"reservation.get\",\"params\":%s}", params);
    if (resp_error_code(r) != 0)
        fail_msg("reservation.get with every key on the importing node: %s",
                 cJSON_PrintUnformatted(r));
    assert_string_equal(json_str(resp_result(r), "status"), "held");
    cJSON_Delete(r);
    struct row row = stock_row(fd, SKU, LOC);
    assert_int_equal(row.reserved, acked);
    assert_true(harness_metric(s, "stockd_redis_cluster_redirects_total{kind=\"ask\"}") > ask0);
    /* A commit declares keys that may not exist yet (the stock-level
     * events): the importing node answers those TRYAGAIN until the move
     * ends. A result, or 2001 and nothing done. */
    r = client_callf(fd, "{\"id\":1,\"method\":\"commit\",\"params\":%s}", params);
    int commit_code = resp_error_code(r);
    if (commit_code != 0 && commit_code != 2001)
        fail_msg("commit with every key on the importing node: %s", cJSON_PrintUnformatted(r));
    printf("commit while the slot is importing: %s\n", commit_code ? "2001" : "a result");
    cJSON_Delete(r);
    /* Nothing of that happened on the source. */
    redisReply *n = cl_must(cl(), m.from, "CLUSTER COUNTKEYSINSLOT %u", inv_slot());
    assert_int_equal(n->integer, 0);
    freeReplyObject(n);
    cl_move_step(cl(), &m);
    assert_true(m.done);
    cl_wait_ok(cl(), 20000);
    r = client_callf(fd, "{\"id\":1,\"method\":\"commit\",\"params\":%s}", params);
    assert_int_equal(resp_error_code(r), 0);
    assert_string_equal(json_str(resp_result(r), "status"), "committed");
    cJSON_Delete(r);
    acked--; /* committed: no longer held */
    /* The reserve that answered 2001 did not run: its retry holds once. */
    r = reserve_order(fd, "mid-1");
    assert_int_equal(resp_error_code(r), 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "replayed")));
    acked++;
    cJSON_Delete(r);
    row = stock_row(fd, SKU, LOC);
    assert_int_equal(row.on_hand, 1000000 - 1);
    close(fd);
    books(s);
}

/* A cluster whose nodes require a password: stockd logs in on every
 * master, including one added after it started and found through MOVED. */
static void test_password_on_every_node(void **state)
{
    (void)state;
    static struct cluster P; /* a second cluster, this test's own */
    cl_start_auth(&P, H.dir, "pw-8c1d2e");
    char pw_path[512], url[400];
    harness_write_file("cluster-password", "pw-8c1d2e\n", pw_path, sizeof pw_path);
    const char *const args[] = {"--redis-password-file", pw_path, NULL};
    int s = harness_stockd(
        &(struct stockd_opts){.redis_url = cl_url(&P, 2, url, sizeof url), .args = args});
    int fd = client_connect(H.stockd[s].port);
    client_stock_set(fd, SKU, LOC, 1000000);
    acked = 0;
    burst_all_results(s, "with a password");
    int added = cl_add_master(&P, 20000);
    cl_move_slot(&P, inv_slot(), added, 50);
    burst_all_results(s, "on a master added later, with a password");
    books(s);
    close(fd);
    harness_signal_stockd(s, SIGTERM);
    int status = harness_reap_stockd(s);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cl_stop(&P);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_quiet_move_then_burst, setup),
        cmocka_unit_test_setup(test_noscript_on_one_master, setup),
        cmocka_unit_test_setup(test_seed_down_at_start, setup),
        cmocka_unit_test_setup(test_only_seed_gone, setup),
        cmocka_unit_test_setup(test_shard_lost_and_back, setup),
        cmocka_unit_test_setup(test_durability_per_master, setup),
        cmocka_unit_test_setup(test_slot_held_mid_move, setup),
        cmocka_unit_test_setup(test_password_on_every_node, setup),
        cmocka_unit_test_setup(test_move_to_new_master, setup),
    };
    int failed =
        cmocka_run_group_tests_name("cluster_topology", tests, group_setup, group_teardown);
    return failed != 0 || stop_failures != 0;
}
