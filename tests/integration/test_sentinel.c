/* Integration: stockd with --redis redis+sentinel://. It finds the master
 * through the sentinels (the first one dead, or stopped, too), shows it in
 * /metrics and /readyz, follows a kill -9 of the master, a manual SENTINEL
 * FAILOVER (the +switch-master announcement) and a master demoted behind
 * its back (READONLY), and never writes to the old master once it moved.
 * Bad URLs stop it at start with a message naming the problem; passwords
 * come from the environment and files, never from what ps shows. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "failover_load.h"
#include "harness.h"
#include "sentinel_util.h"

static struct sgroup G;

static int start_stockd(const char *url, const char *const *args)
{
    char buf[256];
    if (url == NULL)
        url = sg_sentinel_url(&G, NULL, buf, sizeof buf);
    return harness_stockd(&(struct stockd_opts){.redis_url = url, .args = args});
}

/* A master, two replicas and three sentinels: the last test's when it
 * left them whole. */
static void start_group(void)
{
    sg_reuse_or_start(&G, &(struct sg_opts){.replicas = 2, .sentinels = true});
}

/* The group, a stockd on it (its index in H) and stock to reserve. */
static int start_with_stock(const char *const *args)
{
    start_group();
    int i = start_stockd(NULL, args);
    int fd = client_connect(H.stockd[i].port);
    client_stock_set(fd, FL_SKU, FL_LOCATION, 1000);
    close(fd);
    return i;
}

/* One reserve of order_id, retried while the answer is 2001/2002 (a switch
 * in progress) until timeout_ms; returns the reservation id (malloc'd). */
static char *reserve_until_ok(int port, const char *order_id, int timeout_ms)
{
    int fd = client_connect(port);
    long long give_up = harness_now_ms() + timeout_ms;
    for (;;) {
        cJSON *r = client_callf(fd,
                                "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"%s\","
                                "\"items\":[{\"sku\":\"" FL_SKU "\",\"quantity\":1}],"
                                "\"locations\":[\"" FL_LOCATION "\"]}}",
                                order_id);
        int code = resp_error_code(r);
        if (code == 0) {
            const char *id = json_str(resp_result(r), "reservation_id");
            char *out = memcpy(malloc(strlen(id) + 1), id, strlen(id) + 1);
            cJSON_Delete(r);
            close(fd);
            return out;
        }
        if ((code != 2001 && code != 2002) || harness_now_ms() > give_up) {
            char *text = cJSON_PrintUnformatted(r);
            fail_msg("reserve %s: %s", order_id, text);
        }
        cJSON_Delete(r);
        usleep(20 * 1000); /* a retry's pause */
    }
}

/* The order is bound to id on data node i. */
static void assert_order_on(int i, const char *order_id, const char *id)
{
    redisReply *r = sg_node_must(&G, i, "GET {inv}:order:%s", order_id);
    if (r->type != REDIS_REPLY_STRING || strcmp(r->str, id) != 0)
        fail_msg("order %s is not bound to %s on node %d", order_id, id, i);
    freeReplyObject(r);
}

/* Waits until stockd i names node m as its master in /metrics. */
static void wait_master_metric(int i, int m, int timeout_ms)
{
    char series[160];
    sg_master_series(&G, m, "sentinel", series, sizeof series);
    long long give_up = harness_now_ms() + timeout_ms;
    while (harness_metric(i, series) != 1) {
        if (harness_now_ms() > give_up)
            fail_msg("stockd never showed %s", series);
        usleep(20 * 1000);
    }
}

static bool log_has(int i, const char *needle)
{
    return harness_log_count(i, needle) > 0;
}

static void test_finds_the_master(void **state)
{
    (void)state;
    int i = start_with_stock(NULL);
    int port = H.stockd[i].port;

    char series[160];
    assert_true(
        harness_metric(i, sg_master_series(&G, G.master, "sentinel", series, sizeof series)) == 1);
    assert_true(harness_metric(i, "stockd_redis_failovers_total") == 0);
    char *body = NULL;
    assert_int_equal(harness_http_get(H.stockd[i].http_port, "/readyz", &body), 200);
    char line[128];
    snprintf(line, sizeof line, "redis: master 127.0.0.1:%d (sentinel), failovers seen 0",
             G.node[G.master].port);
    if (strstr(body, line) == NULL)
        fail_msg("/readyz lacks '%s': %s", line, body);
    free(body);

    char *id = reserve_until_ok(port, "find-1", 5000);
    assert_order_on(G.master, "find-1", id);
    free(id);
    /* Operators find stockd in CLIENT LIST. */
    assert_true(sg_has_client(&G, G.master, "stockd"));
    harness_wait_log(i, "watching sentinel", 5000);
    sg_stop_stockd(i);
}

/* The sentinels are asked in turn: a dead first address (nothing listens)
 * and a stopped first sentinel (it accepts and never answers) are passed
 * over. */
static void test_first_sentinel_unreachable(void **state)
{
    (void)state;
    start_group();
    char url[256];
    snprintf(url, sizeof url, "redis+sentinel://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/%s",
             harness_free_port(), G.sentinel[1].port, G.sentinel[2].port, SG_MASTER_NAME);
    int i = start_stockd(url, NULL);
    char series[160];
    assert_true(
        harness_metric(i, sg_master_series(&G, G.master, "sentinel", series, sizeof series)) == 1);
    sg_stop_stockd(i);

    sg_signal_sentinel(&G, 0, SIGSTOP);
    static const char *const args[] = {"--request-timeout-ms", "500", NULL};
    long long t0 = harness_now_ms();
    i = start_stockd(NULL, args); /* sentinel 0 first */
    printf("up past a stopped first sentinel in %lld ms\n", harness_now_ms() - t0);
    assert_true(harness_metric(i, series) == 1);
    sg_stop_stockd(i);
    sg_signal_sentinel(&G, 0, SIGCONT);
}

/* kill -9 of the master: stockd follows to the replica Sentinel promotes,
 * and the reserve that succeeds next is on it. */
static void test_follows_a_killed_master(void **state)
{
    (void)state;
    int i = start_with_stock(NULL);
    int port = H.stockd[i].port;
    free(reserve_until_ok(port, "kill-0", 5000));

    int old = G.master;
    long long t0 = harness_now_ms();
    sg_kill(&G, old);
    char *id = reserve_until_ok(port, "kill-1", 30000);
    long long took = harness_now_ms() - t0;
    int m = sg_wait_new_master(&G, old, 20000);
    printf("kill -9 of node %d: node %d promoted, first reserve after %lld ms\n", old, m, took);
    assert_order_on(m, "kill-1", id);
    free(id);
    wait_master_metric(i, m, 5000);
    printf("failovers seen: %.0f, moves logged: %d\n",
           harness_metric(i, "stockd_redis_failovers_total"), harness_log_count(i, "moved from"));
    assert_true(harness_metric(i, "stockd_redis_failovers_total") >= 1);
    assert_true(log_has(i, "moved from"));
    sg_stop_stockd(i);
    sg_restart_replica(&G, old); /* whole again, for the next test */
}

/* Calls of stockd's write commands on node i. */
static long long writes_on(int i)
{
    return sg_cmd_calls(&G, i, "evalsha") + sg_cmd_calls(&G, i, "eval");
}

/* Once stockd has left node old: it has no connection there, and the
 * reserves that follow (all acknowledged) add no write to it. */
static void assert_left_alone(int i, int old, int m, const char *prefix)
{
    long long give_up = harness_now_ms() + 10000;
    while (sg_has_client(&G, old, "stockd")) {
        if (harness_now_ms() > give_up)
            fail_msg("stockd kept a connection to the old master");
        usleep(20 * 1000);
    }
    long long before = writes_on(old);
    for (int k = 0; k < 30; k++) {
        char order[32];
        snprintf(order, sizeof order, "%s-%d", prefix, k);
        char *id = reserve_until_ok(H.stockd[i].port, order, 10000);
        assert_order_on(m, order, id);
        free(id);
    }
    assert_int_equal(writes_on(old), before);
    assert_false(sg_has_client(&G, old, "stockd"));
}

/* SENTINEL FAILOVER with the old master alive: stockd moves on the
 * +switch-master announcement, and leaves the old master alone. */
static void test_manual_failover(void **state)
{
    (void)state;
    int i = start_with_stock(NULL);
    int port = H.stockd[i].port;
    free(reserve_until_ok(port, "manual-first", 5000));
    int old = G.master;
    redisReply *r = sg_sentinel_cmd(&G, 1, "SENTINEL FAILOVER %s", SG_MASTER_NAME);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    int m = sg_wait_new_master(&G, old, 20000);
    wait_master_metric(i, m, 10000);
    harness_wait_log(i, "announces a failover", 5000);
    assert_true(harness_metric(i, "stockd_redis_failovers_total") >= 1);
    assert_left_alone(i, old, m, "manual");
    sg_stop_stockd(i);
    /* A replica again, which the sentinels see at once (their INFO of a
     * running replica comes every 10 s, of a restarted one at once). */
    sg_restart_replica(&G, old);
}

/* The sentinel stockd watches is stopped, so no announcement reaches it;
 * the master is failed over and then demoted by hand: stockd's next write
 * is answered READONLY, and stockd asks the sentinels again. */
static void test_readonly_moves(void **state)
{
    (void)state;
    static const char *const args[] = {"--request-timeout-ms", "500", NULL};
    int i = start_with_stock(args);
    int port = H.stockd[i].port;
    harness_wait_log(i, "watching sentinel", 5000);
    /* The watched sentinel: the one with a subscriber. */
    int watched = -1;
    for (int s = 0; s < G.n_sentinels && watched < 0; s++) {
        redisReply *r = sg_sentinel_cmd(&G, s, "CLIENT LIST");
        if (r && r->type == REDIS_REPLY_STRING && strstr(r->str, " sub=1 ") != NULL)
            watched = s;
        if (r)
            freeReplyObject(r);
    }
    if (watched < 0)
        fail_msg("no sentinel has stockd's subscription");
    sg_signal_sentinel(&G, watched, SIGSTOP);

    int old = G.master;
    redisReply *r =
        sg_sentinel_cmd(&G, (watched + 1) % G.n_sentinels, "SENTINEL FAILOVER %s", SG_MASTER_NAME);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    int m = sg_wait_new_master(&G, old, 20000);
    /* What the sentinels would do a few seconds later. */
    freeReplyObject(sg_node_must(&G, old, "REPLICAOF 127.0.0.1 %d", G.node[m].port));
    char *id = reserve_until_ok(port, "readonly-first", 20000);
    assert_order_on(m, "readonly-first", id);
    free(id);
    wait_master_metric(i, m, 5000);
    assert_true(log_has(i, "READONLY"));
    assert_true(harness_metric(i, "stockd_redis_failovers_total") >= 1);
    sg_signal_sentinel(&G, watched, SIGCONT);
    assert_left_alone(i, old, m, "readonly");
    sg_stop_stockd(i);
    sg_restart_replica(&G, old); /* seen at once by the sentinels, as above */
}

/* Nothing to reach (every sentinel and data node gone): SIGTERM still
 * ends stockd, with status 0. */
static void test_stops_with_nothing_to_reach(void **state)
{
    (void)state;
    start_group();
    int i = start_stockd(NULL, NULL);
    sg_stop(&G);
    harness_wait_log(i, "no sentinel named the master", 10000);
    long long t0 = harness_now_ms();
    sg_stop_stockd(i);
    assert_true(harness_now_ms() - t0 < 5000);
}

/* A bad URL: exit code 2 (CONFIG_EXIT_USAGE) and a message naming the
 * problem, never the password. */
static void expect_refused(const char *url, const char *needle)
{
    const char *args[] = {"--redis", url, NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args, .no_wait = true});
    int status = harness_reap_stockd(i);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 || !log_has(i, needle) ||
        !log_has(i, "invalid value for --redis")) {
        sg_print_tail(H.stockd[i].log_path, 10);
        fail_msg("%s: status 0x%x, expected exit 2 and '%s'", url, status, needle);
    }
    assert_false(log_has(i, "hunter2pw"));
}

static void test_bad_urls(void **state)
{
    (void)state;
    expect_refused("redis+sentinel://127.0.0.1:26379", "no master name");
    expect_refused("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/", "no master name");
    expect_refused("redis+sentinel:///mymaster", "empty host list");
    expect_refused("redis+sentinel://127.0.0.1:26379,127.0.0.1:99999/mymaster",
                   "bad port '99999' in sentinel address 2");
    expect_refused("redis+sentinel://u:hunter2pw@127.0.0.1:26379,127.0.0.1:0/mymaster",
                   "sentinel address 2");
    expect_refused("redis+sentinel://u:hunter2pw@/mymaster", "empty host list");
}

/* /proc/<pid>/cmdline, NULs as spaces (malloc'd). */
static char *cmdline_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *all = malloc(65536);
    size_t n = fread(all, 1, 65535, f);
    fclose(f);
    for (size_t k = 0; k < n; k++)
        if (all[k] == '\0')
            all[k] = ' ';
    all[n] = '\0';
    return all;
}

/* An ACL user on the data nodes and a password on the sentinels: given
 * through the environment and a file, they appear in no argv and no log. */
static void test_passwords_stay_out_of_argv(void **state)
{
    (void)state;
    sg_start(&G, &(struct sg_opts){.replicas = 1,
                                   .sentinels = true,
                                   .user = "shop",
                                   .password = "data-pw-5f1c",
                                   .sentinel_password = "sent-pw-9a2e"});
    char url[256], file[512];
    sg_sentinel_url(&G, NULL, url, sizeof url);
    harness_write_file("sentinel.pw", "sent-pw-9a2e\n", file, sizeof file);
    const char *args[] = {"--redis-user", "shop", "--sentinel-password-file", file, NULL};
    setenv("STOCKD_REDIS_PASSWORD", "data-pw-5f1c", 1);
    int i = harness_stockd(&(struct stockd_opts){.redis_url = url, .args = args});
    unsetenv("STOCKD_REDIS_PASSWORD");
    int fd = client_connect(H.stockd[i].port);
    client_stock_set(fd, FL_SKU, FL_LOCATION, 10);
    close(fd);
    char *id = reserve_until_ok(H.stockd[i].port, "pw-1", 5000);
    assert_order_on(G.master, "pw-1", id);
    free(id);
    harness_wait_log(i, "watching sentinel", 5000); /* the subscriber logged in too */
    char *argv = cmdline_of(H.stockd[i].pid);
    assert_non_null(strstr(argv, "--redis-user shop"));
    assert_null(strstr(argv, "data-pw-5f1c"));
    assert_null(strstr(argv, "sent-pw-9a2e"));
    free(argv);
    assert_false(log_has(i, "data-pw-5f1c"));
    assert_false(log_has(i, "sent-pw-9a2e"));
    assert_false(log_has(i, "visible to every user"));
    sg_stop_stockd(i);

    /* A password in the --redis flag works, and is warned about. */
    sg_sentinel_url(&G, "shop:data-pw-5f1c", url, sizeof url);
    i = harness_stockd(&(struct stockd_opts){.redis_url = url, .args = args + 2});
    assert_true(log_has(i, "visible to every user"));
    sg_stop_stockd(i);
    sg_stop(&G);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_finds_the_master),
        cmocka_unit_test(test_first_sentinel_unreachable),
        cmocka_unit_test(test_follows_a_killed_master),
        cmocka_unit_test(test_manual_failover),
        cmocka_unit_test(test_readonly_moves),
        cmocka_unit_test(test_stops_with_nothing_to_reach),
        cmocka_unit_test(test_passwords_stay_out_of_argv),
    };
    /* STOCKD_TEST_ONLY=<pattern>: run only the tests it matches. */
    if (getenv("STOCKD_TEST_ONLY"))
        cmocka_set_test_filter(getenv("STOCKD_TEST_ONLY"));
    return harness_run("sentinel", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
