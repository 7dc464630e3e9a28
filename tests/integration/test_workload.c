/* Integration: a randomised concurrent workload over two stockd replicas
 * that both sweep, then the bank invariants. Clients reserve (every
 * strategy, several skus and locations, short TTLs), commit, release,
 * retry with the same order_id, adjust stock, or abandon their holds to
 * expiry. Afterwards, for every (sku, location): on_hand = initial +
 * adjustments - committed units, reserved = 0, available was never
 * negative at any observation, each expired hold was expired exactly once
 * in the ledger, and stock.audit is clean.
 *
 * The seed is fixed (42) unless STOCKD_TEST_SEED is set: a number, or
 * "random" for one taken from the clock. It is printed either way. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SKUS 4
#define LOCS 3
#define CLIENTS 16
#define OPS 4000
#define MAX_RES OPS
#define MAX_ALLOCS (3 * LOCS)

static unsigned long long rng;

static unsigned long long next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int pick(int n)
{
    return (int)(next_random() % (unsigned long long)n);
}

struct reservation {
    char id[40];
    int n;
    struct {
        int sku, loc;
        long long q;
    } a[MAX_ALLOCS];
};

static struct reservation res[MAX_RES];
static int n_res;
static long long initial[SKUS][LOCS], adjusted[SKUS][LOCS];

/* A reserve that can be retried: the exact request line. */
static char orders[MAX_RES][512];
static int n_orders;

enum kind { RESERVE, COMMIT, RELEASE, ADJUST, RETRY };

struct client {
    int fd;
    bool busy;
    enum kind kind;
    int sku, loc;
    long long delta;
};

static int find_res(const char *id)
{
    for (int i = 0; i < n_res; i++)
        if (strcmp(res[i].id, id) == 0)
            return i;
    return -1;
}

static int sku_index(const char *s)
{
    return s[0] == 'W' ? atoi(s + 1) : -1;
}

static void remember(const cJSON *result)
{
    const char *id = json_str(result, "reservation_id");
    if (find_res(id) >= 0)
        return;
    assert_true(n_res < MAX_RES);
    struct reservation *r = &res[n_res++];
    snprintf(r->id, sizeof r->id, "%s", id);
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(result, "allocations"))
    {
        assert_true(r->n < MAX_ALLOCS);
        r->a[r->n].sku = sku_index(json_str(a, "sku"));
        r->a[r->n].loc = atoi(json_str(a, "location") + 1);
        r->a[r->n].q = json_int(a, "quantity");
        r->n++;
    }
}

static void send_op(struct client *c)
{
    static const char *const strategies[] = {"auto", "single", "per_line", "split"};
    char line[512];
    int roll = pick(100);
    if (roll < 45 || n_res == 0) {
        /* 1..3 distinct skus, 1..4 units each. */
        int lines = 1 + pick(3), first = pick(SKUS);
        size_t len = 0;
        char items[256] = "";
        for (int i = 0; i < lines; i++)
            len += (size_t)snprintf(items + len, sizeof items - len,
                                    "%s{\"sku\":\"W%d\",\"quantity\":%d}", i ? "," : "",
                                    (first + i) % SKUS, 1 + pick(4));
        char order[48] = "";
        bool keep = pick(3) == 0 && n_orders < MAX_RES;
        if (keep)
            snprintf(order, sizeof order, "\"order_id\":\"wo-%d\",", n_orders);
        snprintf(line, sizeof line,
                 "{\"id\":1,\"method\":\"reserve\",\"params\":{%s\"items\":[%s],\"channel\":\"web\","
                 "\"strategy\":\"%s\",\"ttl_ms\":%d}}\n",
                 order, items, strategies[pick(4)], 1000 + pick(1000));
        if (keep)
            snprintf(orders[n_orders++], sizeof orders[0], "%s", line);
        c->kind = RESERVE;
    } else if (roll < 65) {
        snprintf(line, sizeof line,
                 "{\"id\":1,\"method\":\"commit\",\"params\":{\"reservation_id\":\"%s\"}}\n",
                 res[pick(n_res)].id);
        c->kind = COMMIT;
    } else if (roll < 80) {
        snprintf(line, sizeof line,
                 "{\"id\":1,\"method\":\"release\",\"params\":{\"reservation_id\":\"%s\","
                 "\"reason\":\"test\"}}\n",
                 res[pick(n_res)].id);
        c->kind = RELEASE;
    } else if (roll < 90 || n_orders == 0) {
        c->sku = pick(SKUS);
        c->loc = pick(LOCS);
        c->delta = pick(9) - 3;
        if (c->delta == 0)
            c->delta = 5;
        snprintf(line, sizeof line,
                 "{\"id\":1,\"method\":\"stock.adjust\",\"params\":{\"sku\":\"W%d\","
                 "\"location\":\"L%d\",\"delta\":%lld}}\n",
                 c->sku, c->loc, c->delta);
        c->kind = ADJUST;
    } else {
        snprintf(line, sizeof line, "%s", orders[pick(n_orders)]);
        c->kind = RETRY;
    }
    client_sends(c->fd, line);
    c->busy = true;
}

static void take_answer(struct client *c, const char *line)
{
    cJSON *r = cJSON_Parse(line);
    assert_non_null(r);
    int code = resp_error_code(r);
    /* Refusals the workload provokes on purpose; anything else is a bug. */
    bool expected = code == 0 || code == 1001 || code == 1003;
    if (!expected)
        fail_msg("unexpected answer: %s", line);
    if (code == 0) {
        if (c->kind == RESERVE || c->kind == RETRY)
            remember(resp_result(r));
        else if (c->kind == ADJUST)
            adjusted[c->sku][c->loc] += c->delta;
    }
    cJSON_Delete(r);
    c->busy = false;
}

/* Reads every counter straight from Redis: nothing may ever be negative. */
static void observe(void)
{
    for (int s = 0; s < SKUS; s++)
        for (int l = 0; l < LOCS; l++) {
            redisReply *v = harness_redis(&H, "HMGET {inv}:stock:W%d L%d:on_hand L%d:reserved", s,
                                          l, l);
            long long on_hand = v->element[0]->str ? atoll(v->element[0]->str) : 0;
            long long reserved = v->element[1]->str ? atoll(v->element[1]->str) : 0;
            freeReplyObject(v);
            if (reserved < 0 || on_hand - reserved < 0)
                fail_msg("W%d@L%d: on_hand %lld reserved %lld", s, l, on_hand, reserved);
        }
}

static void test_random_workload_keeps_the_books(void **state)
{
    (void)state;
    const char *seed_env = getenv("STOCKD_TEST_SEED");
    unsigned long long seed = 42;
    if (seed_env != NULL && strcmp(seed_env, "random") == 0)
        seed = (unsigned long long)harness_now_ms() * 2654435761ULL ^ (unsigned long long)getpid();
    else if (seed_env != NULL)
        seed = strtoull(seed_env, NULL, 10);
    if (seed == 0)
        seed = 1;
    rng = seed;
    printf("workload seed: %llu (STOCKD_TEST_SEED to repeat)\n", seed);

    int admin = harness_client(0);
    for (int s = 0; s < SKUS; s++)
        for (int l = 0; l < LOCS; l++) {
            initial[s][l] = 20 + pick(40);
            cJSON_Delete(client_callf(admin,
                                      "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":"
                                      "\"W%d\",\"location\":\"L%d\",\"on_hand\":%lld}}",
                                      s, l, initial[s][l]));
        }
    cJSON_Delete(client_call(admin, "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":"
                                    "\"web\",\"locations\":[\"L0\",\"L1\",\"L2\"]}}"));

    struct client clients[CLIENTS];
    struct pollfd pfd[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = (struct client){.fd = client_connect(H.stockd[i % 2].port)};
        pfd[i] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
    }
    int sent = 0, answered = 0;
    while (answered < OPS) {
        for (int i = 0; i < CLIENTS; i++)
            if (!clients[i].busy && sent < OPS) {
                send_op(&clients[i]);
                sent++;
            }
        if (poll(pfd, CLIENTS, 10000) <= 0)
            fail_msg("no answer for 10 s");
        for (int i = 0; i < CLIENTS; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            char *line = client_readline(clients[i].fd, 5000);
            assert_non_null(line);
            take_answer(&clients[i], line);
            free(line);
            if (++answered % 200 == 0)
                observe();
        }
    }
    for (int i = 0; i < CLIENTS; i++)
        close(clients[i].fd);

    /* Every hold ends: committed, released, or expired by a sweeper. */
    harness_wait_no_holds(20000, observe);

    long long committed[SKUS][LOCS] = {{0}};
    int expired = 0;
    for (int i = 0; i < n_res; i++) {
        cJSON *r = client_callf(admin,
                                "{\"id\":1,\"method\":\"reservation.get\",\"params\":{"
                                "\"reservation_id\":\"%s\"}}",
                                res[i].id);
        const char *status = json_str(resp_result(r), "status");
        assert_true(strcmp(status, "held") != 0);
        if (strcmp(status, "committed") == 0)
            for (int k = 0; k < res[i].n; k++)
                committed[res[i].a[k].sku][res[i].a[k].loc] += res[i].a[k].q;
        if (strcmp(status, "expired") == 0) {
            expired++;
            /* Expired exactly once, whichever replica swept it. */
            redisReply *x = harness_redis(&H, "XRANGE {inv}:events - +");
            int entries = 0;
            for (size_t e = 0; e < x->elements; e++) {
                const redisReply *f = x->element[e]->element[1];
                if (strcmp(f->element[1]->str, "expire") == 0 &&
                    strcmp(f->element[9]->str, res[i].id) == 0)
                    entries++;
            }
            freeReplyObject(x);
            assert_int_equal(entries, res[i].n);
        }
        cJSON_Delete(r);
    }
    printf("workload: %d reservations, %d expired\n", n_res, expired);
    assert_true(expired > 0);

    for (int s = 0; s < SKUS; s++)
        for (int l = 0; l < LOCS; l++) {
            char sku[16], loc[16];
            snprintf(sku, sizeof sku, "W%d", s);
            snprintf(loc, sizeof loc, "L%d", l);
            struct row row = stock_row(admin, sku, loc);
            long long want = initial[s][l] + adjusted[s][l] - committed[s][l];
            if (row.on_hand != want || row.reserved != 0)
                fail_msg("%s@%s: on_hand %lld reserved %lld, want %lld and 0", sku, loc,
                         row.on_hand, row.reserved, want);
        }
    cJSON *a = client_call(admin, "{\"id\":1,\"method\":\"stock.audit\",\"params\":{}}");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(a), "ok")));
    assert_int_equal(json_int(resp_result(a), "skus_checked"), SKUS);
    cJSON_Delete(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_random_workload_keeps_the_books, harness_flush_setup),
    };
    static const char *const args[] = {"--sweep-interval-ms", "50", NULL};
    return harness_run("workload", tests, sizeof tests / sizeof tests[0], 2, args);
}
