/* Integration: stockd under real failures, killed and stopped for real.
 * Redis runs with AOF and appendfsync always, so an acknowledged hold
 * survives a Redis crash. Under load: Redis kill -9 and restart, Redis
 * SIGSTOP, SCRIPT FLUSH; stockd kill -9 and restart; SIGTERM with 500
 * reserves in flight. Each test checks what clients were told against what
 * Redis holds: nothing acknowledged is lost, nothing is held twice. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TIMEOUT_MS 400 /* --request-timeout-ms of the stockd under test */
#define CLIENTS 8
#define MAX_ORDERS 200000

static const char *const stockd_args[] = {"--request-timeout-ms", "400", "--sweep-interval-ms",
                                          "100", NULL};

/* One client of the load: one reserve in flight at a time, each for a new
 * order_id, 1 unit of sku F. */
struct load_client {
    int fd;
    bool busy;
    int order;
    long long sent_at;
    long long next_at; /* paced: a new request 2 ms after the last answer */
};

/* What the load saw. */
struct outcome {
    int acked, unknown, refused, out_of_stock;
    long long slowest_ms;
    char ids[MAX_ORDERS][36]; /* reservation id per order, "" when not acknowledged */
    bool maybe[MAX_ORDERS];   /* answered 2001/2002/2003: to be retried */
};

static struct outcome out;
static int next_order;

static void send_reserve(struct load_client *c, int order, int ttl_ms)
{
    char req[256];
    snprintf(req, sizeof req,
             "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":\"f-%d\",\"items\":[{"
             "\"sku\":\"F\",\"quantity\":1}],\"locations\":[\"L\"],\"ttl_ms\":%d}}\n",
             order, order, ttl_ms);
    c->order = order;
    c->sent_at = harness_now_ms();
    c->busy = true;
    client_sends(c->fd, req);
}

static void take(struct load_client *c, const char *line)
{
    cJSON *r = cJSON_Parse(line);
    assert_non_null(r);
    long long waited = harness_now_ms() - c->sent_at;
    if (waited > out.slowest_ms)
        out.slowest_ms = waited;
    int code = resp_error_code(r);
    switch (code) {
    case 0:
        out.acked++;
        snprintf(out.ids[c->order], sizeof out.ids[0], "%s",
                 json_str(resp_result(r), "reservation_id"));
        out.maybe[c->order] = false;
        break;
    case 2001:
    case 2002:
        out.unknown++;
        out.maybe[c->order] = true;
        break;
    case 2003:
        out.refused++;
        out.maybe[c->order] = true;
        break;
    case 1001:
        out.out_of_stock++;
        break;
    default:
        fail_msg("unexpected answer: %s", line);
    }
    cJSON_Delete(r);
    c->busy = false;
    c->next_at = harness_now_ms() + 2;
}

/* Runs the load for ms milliseconds; during it, at `at` ms, calls fault. */
static void run_load(int port, long long ms, long long at, void (*fault)(void), int ttl_ms)
{
    struct load_client cs[CLIENTS];
    struct pollfd pfd[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        cs[i] = (struct load_client){.fd = client_connect(port)};
        pfd[i] = (struct pollfd){.fd = cs[i].fd, .events = POLLIN};
    }
    long long t0 = harness_now_ms();
    bool faulted = fault == NULL;
    for (;;) {
        long long now = harness_now_ms();
        if (!faulted && now - t0 >= at) {
            fault();
            faulted = true;
        }
        bool any_busy = false;
        for (int i = 0; i < CLIENTS; i++) {
            if (!cs[i].busy && now - t0 < ms && next_order < MAX_ORDERS && now >= cs[i].next_at)
                send_reserve(&cs[i], next_order++, ttl_ms);
            any_busy |= cs[i].busy;
        }
        if (!any_busy && now - t0 >= ms)
            break;
        int ready = poll(pfd, CLIENTS, any_busy ? 5000 : 1);
        if (ready <= 0 && any_busy)
            fail_msg("a request was never answered");
        for (int i = 0; i < CLIENTS; i++)
            if (pfd[i].revents & POLLIN) {
                char *line = client_readline(cs[i].fd, 5000);
                assert_non_null(line);
                take(&cs[i], line);
                free(line);
            }
    }
    for (int i = 0; i < CLIENTS; i++)
        close(cs[i].fd);
}

/* Retries every order whose outcome was unknown, with its order_id, until
 * each is acknowledged. */
static void retry_unknown(int fd)
{
    for (int o = 0; o < next_order; o++) {
        if (!out.maybe[o])
            continue;
        for (int attempt = 0; attempt < 50 && out.maybe[o]; attempt++) {
            cJSON *r = client_callf(fd,
                                    "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":"
                                    "\"f-%d\",\"items\":[{\"sku\":\"F\",\"quantity\":1}],"
                                    "\"locations\":[\"L\"],\"ttl_ms\":600000}}",
                                    o);
            if (resp_error_code(r) == 0) {
                snprintf(out.ids[o], sizeof out.ids[0], "%s",
                         json_str(resp_result(r), "reservation_id"));
                out.maybe[o] = false;
            } else if (attempt == 49) {
                fail_msg("order f-%d cannot be retried: %s", o, cJSON_PrintUnformatted(r));
            }
            cJSON_Delete(r);
        }
    }
}

/* Every acknowledged order has exactly its hold, and the units held are
 * exactly the acknowledged orders'. */
static void check_books(int fd, int orders)
{
    int holds = 0;
    for (int o = 0; o < orders; o++) {
        if (out.ids[o][0] == '\0')
            continue;
        holds++;
        redisReply *b = harness_redis(&H, "GET {inv}:order:f-%d", o);
        assert_int_equal(b->type, REDIS_REPLY_STRING);
        assert_string_equal(b->str, out.ids[o]);
        freeReplyObject(b);
        redisReply *s = harness_redis(&H, "HGET {inv}:res:%s status", out.ids[o]);
        assert_int_equal(s->type, REDIS_REPLY_STRING);
        assert_string_equal(s->str, "held");
        freeReplyObject(s);
    }
    assert_int_equal(stock_row(fd, "F", "L").reserved, holds);
    assert_int_equal(harness_holds_left(), holds);
}

static void reset(void)
{
    memset(&out, 0, sizeof out);
    next_order = 0;
}

static void kill_redis(void)
{
    harness_kill_redis(&H);
}

static void test_redis_killed_under_load(void **state)
{
    (void)state;
    reset();
    int fd = harness_client(0);
    client_stock_set(fd, "F", "L", 100000);
    run_load(H.stockd[0].port, 1500, 500, kill_redis, 600000);
    /* While Redis is down, answers come at once; none waits past the
     * request timeout (plus the loop's and the machine's slack). */
    printf("redis killed: %d acknowledged, %d unknown, slowest answer %lld ms\n", out.acked,
           out.unknown, out.slowest_ms);
    assert_true(out.unknown > 0);
    assert_true(out.slowest_ms < TIMEOUT_MS + 600);

    harness_restart_redis(&H); /* replays the AOF */
    /* The stock it was given before the crash is there. */
    redisReply *kept = harness_redis(&H, "HGET {inv}:stock:F L:on_hand");
    assert_int_equal(kept->type, REDIS_REPLY_STRING);
    freeReplyObject(kept);
    harness_wait_redis_up(H.stockd[0].port, 15000);
    fd = harness_client(0);
    retry_unknown(fd);
    check_books(fd, next_order);
}

static void stop_redis(void)
{
    harness_signal_redis(&H, SIGSTOP);
}

static void test_redis_stopped_under_load(void **state)
{
    (void)state;
    reset();
    int fd = harness_client(0);
    client_stock_set(fd, "F", "L", 100000);
    int probe = client_connect(H.stockd[0].port);
    run_load(H.stockd[0].port, 1200, 400, stop_redis, 600000);
    /* ping still answers while Redis is stopped. */
    long long t0 = harness_now_ms();
    cJSON *r = client_call(probe, "{\"id\":1,\"method\":\"ping\"}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    assert_true(harness_now_ms() - t0 < 200);
    printf("redis stopped: %d acknowledged, %d unknown, slowest answer %lld ms\n", out.acked,
           out.unknown, out.slowest_ms);
    assert_true(out.unknown > 0);
    assert_true(out.slowest_ms < TIMEOUT_MS + 600);

    harness_signal_redis(&H, SIGCONT);
    harness_wait_redis_up(H.stockd[0].port, 15000);
    retry_unknown(fd);
    check_books(fd, next_order);
    close(probe);
}

static void flush_scripts(void)
{
    for (int i = 0; i < 3; i++)
        freeReplyObject(harness_redis(&H, "SCRIPT FLUSH"));
}

static void test_script_flush_under_load(void **state)
{
    (void)state;
    reset();
    int fd = harness_client(0);
    client_stock_set(fd, "F", "L", 100000);
    run_load(H.stockd[0].port, 800, 300, flush_scripts, 600000);
    assert_int_equal(out.unknown, 0);
    assert_int_equal(out.refused, 0);
    assert_true(out.acked == next_order);
    check_books(fd, next_order);
}

static void kill_stockd(void)
{
    harness_signal_stockd(0, SIGKILL);
}

/* stockd is stateless: killed mid-load, nothing acknowledged is lost and
 * every unit comes back when the holds expire, swept by the next stockd. */
static void test_stockd_killed_under_load(void **state)
{
    (void)state;
    reset();
    int fd = client_connect(H.stockd[0].port);
    client_stock_set(fd, "F", "L", 100000);
    close(fd);
    /* The load sees the connection drop: run it until then by hand. */
    struct load_client cs[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        cs[i] = (struct load_client){.fd = client_connect(H.stockd[0].port)};
    long long t0 = harness_now_ms();
    while (harness_now_ms() - t0 < 300)
        for (int i = 0; i < CLIENTS; i++) {
            send_reserve(&cs[i], next_order++, 1000);
            char *line = client_readline(cs[i].fd, 5000);
            assert_non_null(line);
            take(&cs[i], line);
            free(line);
        }
    for (int i = 0; i < CLIENTS; i++)
        send_reserve(&cs[i], next_order++, 1000); /* in flight when it dies */
    kill_stockd();
    assert_true(WIFSIGNALED(harness_reap_stockd(0)));
    for (int i = 0; i < CLIENTS; i++) {
        char *line = client_readline(cs[i].fd, 2000);
        if (line != NULL) {
            take(&cs[i], line);
            free(line);
        }
        close(cs[i].fd);
    }

    int again = harness_stockd(&(struct stockd_opts){.args = stockd_args});
    fd = harness_client(again);
    for (int o = 0; o < next_order; o++) {
        if (out.ids[o][0] == '\0')
            continue;
        cJSON *r = client_callf(fd,
                                "{\"id\":1,\"method\":\"reservation.get\",\"params\":{"
                                "\"reservation_id\":\"%s\"}}",
                                out.ids[o]);
        const char *status = json_str(resp_result(r), "status");
        assert_true(strcmp(status, "held") == 0 || strcmp(status, "expired") == 0);
        cJSON_Delete(r);
    }
    long long give_up = harness_now_ms() + 15000;
    while (stock_row(fd, "F", "L").reserved != 0)
        if (harness_now_ms() > give_up)
            fail_msg("units never came back");
    struct row row = stock_row(fd, "F", "L");
    assert_int_equal(row.on_hand, 100000);
    assert_int_equal(row.available, 100000);
    printf("stockd killed: %d acknowledged holds, all back after expiry\n", out.acked);
}

/* SIGTERM with 500 reserves in flight: every answer that was sent is a
 * hold in Redis, and stockd exits 0. */
static void test_sigterm_with_reserves_in_flight(void **state)
{
    (void)state;
    enum { N = 500 };
    static const char *const args[] = {"--max-pipeline", "1000", NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = client_connect(H.stockd[i].port);
    client_stock_set(fd, "G", "L", 100000);
    static char all[N * 200];
    size_t len = 0;
    for (int k = 0; k < N; k++)
        len += (size_t)snprintf(all + len, sizeof all - len,
                                "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":"
                                "\"t-%d\",\"items\":[{\"sku\":\"G\",\"quantity\":1}],"
                                "\"locations\":[\"L\"]}}\n",
                                k, k);
    client_send(fd, all, len);
    harness_signal_stockd(i, SIGTERM);
    int ok = 0, answers = 0;
    char *line;
    while ((line = client_readline(fd, 10000)) != NULL) {
        cJSON *r = cJSON_Parse(line);
        assert_non_null(r);
        assert_int_equal(json_int(r, "id"), answers);
        ok += resp_error_code(r) == 0;
        answers++;
        cJSON_Delete(r);
        free(line);
    }
    close(fd);
    int status = harness_reap_stockd(i);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    printf("SIGTERM: %d answers, %d holds acknowledged\n", answers, ok);
    assert_true(answers > 0);
    int fd2 = harness_client(0);
    assert_int_equal(stock_row(fd2, "G", "L").reserved, ok);
}

/* A drain waits for Redis up to the request timeout; a second signal does
 * not wait at all. */
static void test_second_signal_exits_at_once(void **state)
{
    (void)state;
    static const char *const args[] = {"--request-timeout-ms", "5000", NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = client_connect(H.stockd[i].port);
    harness_signal_redis(&H, SIGSTOP);
    client_sends(fd, "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}\n");
    /* A ping on another connection is answered only after stockd's loop
     * has been through the first connection's read: the request is in. */
    int probe = client_connect(H.stockd[i].port);
    cJSON_Delete(client_call(probe, "{\"id\":2,\"method\":\"ping\"}"));
    long long t0 = harness_now_ms();
    harness_signal_stockd(i, SIGTERM);
    /* Two signals sent at once may arrive as one: the second goes once the
     * first has started the drain. */
    harness_wait_log(i, "draining", 5000);
    harness_signal_stockd(i, SIGTERM);
    int status = harness_reap_stockd(i);
    long long took = harness_now_ms() - t0;
    harness_signal_redis(&H, SIGCONT);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_true(took < 2000);
    close(fd);
    close(probe);
    freeReplyObject(harness_redis(&H, "PING")); /* Redis runs again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_redis_killed_under_load, harness_flush_setup),
        cmocka_unit_test_setup(test_redis_stopped_under_load, harness_flush_setup),
        cmocka_unit_test_setup(test_script_flush_under_load, harness_flush_setup),
        cmocka_unit_test_setup(test_sigterm_with_reserves_in_flight, harness_flush_setup),
        cmocka_unit_test_setup(test_stockd_killed_under_load, harness_flush_setup),
        cmocka_unit_test_setup(test_second_signal_exits_at_once, harness_flush_setup),
    };
    static const char *const redis_args[] = {"--appendonly", "yes", "--appendfsync", "always",
                                             NULL};
    harness_redis_args = redis_args;
    return harness_run("failures", tests, sizeof tests / sizeof tests[0], 1, stockd_args);
}
