/* Integration: the Node.js example client (examples/node-client). Runs
 * order-demo.js with node against a real stockd, requires exit status 0, and
 * then checks on its own, through stockd and directly in Redis, that the end
 * state is what the demo's RESULT lines claim: each reservation with its
 * status, order binding and ledger movements (one reserve movement per line
 * even for the order that was reserved three times), and the stock rows.
 * Also runs the demo twice (unique names per run) and against a stockd that
 * requires auth. No node on the machine is a failure, not a skip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define DEMO SOURCE_DIR "/examples/node-client/order-demo.js"
#define MAX_RESULTS 16

struct demo_run {
    int status; /* exit status, or -1 when it did not exit normally */
    char *output;
};

struct res_claim {
    char status[32], id[160], order_id[160];
};

struct stock_claim {
    char sku[160], location[160];
    long long on_hand, reserved;
};

static void require_node(void)
{
    if (system("command -v node >/dev/null 2>&1") != 0)
        fail_msg("node is not installed (or not on PATH): the Node.js example cannot be tested");
}

/* Runs the demo against stockd on port with the given token (NULL: none),
 * collecting stdout and stderr. */
static struct demo_run run_demo(int port, const char *token)
{
    require_node();
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "timeout 120 env -u STOCKD_AUTH_TOKEN STOCKD_HOST=127.0.0.1 STOCKD_PORT=%d %s%s%s "
             "node '%s' 2>&1",
             port, token ? "STOCKD_AUTH_TOKEN='" : "", token ? token : "", token ? "'" : "", DEMO);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        fail_msg("popen failed: %s", cmd);
    char *out = harness_read_all(p);
    int st = pclose(p);
    struct demo_run r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
    return r;
}

/* The RESULT lines of a run. */
static void parse_results(const char *out, struct res_claim *res, int *n_res,
                          struct stock_claim *stock, int *n_stock)
{
    *n_res = *n_stock = 0;
    for (const char *line = out; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "RESULT ", 7) != 0)
            continue;
        if (strncmp(line, "RESULT stock ", 13) == 0) {
            assert_true(*n_stock < MAX_RESULTS);
            struct stock_claim *s = &stock[*n_stock];
            if (sscanf(line, "RESULT stock %159s %159s %lld %lld", s->sku, s->location, &s->on_hand,
                       &s->reserved) != 4)
                fail_msg("malformed line: %.200s", line);
            (*n_stock)++;
        } else {
            assert_true(*n_res < MAX_RESULTS);
            struct res_claim *c = &res[*n_res];
            if (sscanf(line, "RESULT %31s %159s %159s", c->status, c->id, c->order_id) != 3)
                fail_msg("malformed line: %.200s", line);
            (*n_res)++;
        }
    }
}

/* Checks one claimed reservation through stockd and in Redis. */
static void verify_reservation(int fd, const struct res_claim *c)
{
    cJSON *r = client_callf(fd,
                            "{\"id\":1,\"method\":\"reservation.get\",\"params\":"
                            "{\"reservation_id\":\"%s\"}}",
                            c->id);
    if (resp_error_code(r) != 0)
        fail_msg("reservation.get %s: %s", c->id, cJSON_PrintUnformatted(r));
    const cJSON *res = resp_result(r);
    assert_string_equal(json_str(res, "status"), c->status);
    assert_string_equal(json_str(res, "order_id"), c->order_id);
    if (strcmp(c->status, "released") == 0)
        assert_string_equal(json_str(res, "reason"), "payment declined");
    const cJSON *allocs = cJSON_GetObjectItemCaseSensitive(res, "allocations");
    int lines = cJSON_GetArraySize(allocs);
    assert_true(lines >= 1);
    /* No allocation of it is left in its skus' holds indexes. */
    char prefix[80];
    int plen = snprintf(prefix, sizeof prefix, "%s:", c->id);
    for (int i = 0; i < lines; i++) {
        redisReply *h = harness_redis(&H, "ZRANGE {inv}:holds:%s 0 -1",
                                      json_str(cJSON_GetArrayItem(allocs, i), "sku"));
        for (size_t j = 0; j < h->elements; j++)
            assert_true(strncmp(h->element[j]->str, prefix, (size_t)plen) != 0);
        freeReplyObject(h);
    }
    cJSON_Delete(r);

    /* The order binding, the record, no live hold left behind. */
    redisReply *g = harness_redis(&H, "GET {inv}:order:%s", c->order_id);
    assert_int_equal(g->type, REDIS_REPLY_STRING);
    assert_string_equal(g->str, c->id);
    freeReplyObject(g);
    redisReply *s = harness_redis(&H, "HGET {inv}:res:%s status", c->id);
    assert_int_equal(s->type, REDIS_REPLY_STRING);
    assert_string_equal(s->str, c->status);
    freeReplyObject(s);

    /* Exactly one hold was made (one reserve movement per line, however
     * often the order was reserved), and it was finished exactly once. */
    assert_int_equal(harness_ledger_count("reserve", "reservation", c->id, false), lines);
    const char *finish = strcmp(c->status, "committed") == 0 ? "commit" : "release";
    assert_int_equal(harness_ledger_count(finish, "reservation", c->id, false), lines);
}

/* Runs the demo against stockd i and checks everything it claims. */
static void run_and_verify(int i, const char *token)
{
    struct demo_run run = run_demo(H.stockd[i].port, token);
    if (run.status != 0)
        fail_msg("order-demo.js exited with %d:\n%s", run.status, run.output);
    assert_non_null(strstr(run.output, "all expectations held"));

    struct res_claim res[MAX_RESULTS];
    struct stock_claim stock[MAX_RESULTS];
    int n_res, n_stock;
    parse_results(run.output, res, &n_res, stock, &n_stock);
    assert_int_equal(n_res, 3);
    assert_int_equal(n_stock, 3);
    /* (a) committed, (b) released as compensation, (c) committed after a
     * replayed retry: three distinct orders and reservations. */
    assert_string_equal(res[0].status, "committed");
    assert_string_equal(res[1].status, "released");
    assert_string_equal(res[2].status, "committed");
    assert_string_not_equal(res[0].id, res[1].id);
    assert_string_not_equal(res[1].id, res[2].id);
    assert_string_not_equal(res[0].order_id, res[2].order_id);

    /* The checks use a connection of their own (authenticated if needed). */
    int fd = client_connect(H.stockd[i].port);
    if (token) {
        cJSON *a =
            client_callf(fd, "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}", token);
        assert_int_equal(resp_error_code(a), 0);
        cJSON_Delete(a);
    }
    for (int k = 0; k < n_res; k++)
        verify_reservation(fd, &res[k]);
    for (int k = 0; k < n_stock; k++) {
        struct row row = stock_row(fd, stock[k].sku, stock[k].location);
        assert_int_equal(row.on_hand, stock[k].on_hand);
        assert_int_equal(row.reserved, stock[k].reserved);
        assert_int_equal(row.reserved, 0); /* every hold was finished */
        cJSON *au = client_callf(fd,
                                 "{\"id\":1,\"method\":\"stock.audit\",\"params\":"
                                 "{\"sku\":\"%s\"}}",
                                 stock[k].sku);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(au), "ok")));
        cJSON_Delete(au);
    }
    /* The numbers the flow must leave: 10 - 3 sold tees, 5 untouched at
     * wh-west, 4 - 1 - 2 sold mugs. */
    assert_int_equal(stock[0].on_hand, 7);
    assert_int_equal(stock[1].on_hand, 5);
    assert_int_equal(stock[2].on_hand, 1);
    close(fd);
    free(run.output);
}

static void test_demo_runs_and_its_claims_hold(void **state)
{
    (void)state;
    run_and_verify(0, NULL);
}

/* Unique skus, channel and order ids per run: a second run against the same
 * stockd works just as well. */
static void test_demo_runs_again(void **state)
{
    (void)state;
    run_and_verify(0, NULL);
}

/* Against a stockd that requires auth: with STOCKD_AUTH_TOKEN the demo
 * authenticates first; without it, it fails with a clear 1006 message. */
static void test_demo_with_auth(void **state)
{
    (void)state;
    const char *token = "node-demo-token-31337";
    char path[512], text[256];
    snprintf(text, sizeof text, "%s\n", token);
    harness_write_file("node-token", text, path, sizeof path);
    const char *args[] = {"--auth-token-file", path, NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});

    run_and_verify(i, token);

    struct demo_run bad = run_demo(H.stockd[i].port, NULL);
    if (bad.status == 0)
        fail_msg("order-demo.js succeeded without the token:\n%s", bad.output);
    assert_non_null(strstr(bad.output, "code 1006"));
    assert_non_null(strstr(bad.output, "FAILED"));
    free(bad.output);
}

/* Pointed at a port where nothing listens, the demo exits non-zero with a
 * message that says where it tried. */
static void test_demo_without_stockd_fails_clearly(void **state)
{
    (void)state;
    struct demo_run bad = run_demo(1, NULL);
    assert_int_not_equal(bad.status, 0);
    assert_non_null(strstr(bad.output, "FAILED"));
    assert_non_null(strstr(bad.output, "127.0.0.1:1"));
    free(bad.output);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_runs_and_its_claims_hold),
        cmocka_unit_test(test_demo_runs_again),
        cmocka_unit_test(test_demo_with_auth),
        cmocka_unit_test(test_demo_without_stockd_fails_clearly),
    };
    return harness_run("node_client", tests, sizeof tests / sizeof tests[0], 1, NULL);
}
