/* Integration: a randomised concurrent workload over two stockd replicas
 * that both sweep, with the books checked after every step and at the end.
 * Sixteen clients reserve (every strategy, several skus, short TTLs, with
 * and without allow_backorder and allow_partial), retry with the same
 * order_id, commit, release, update and transfer holds (mostly recent ones
 * and ones about to expire, so they race each other, the sweepers and the
 * other clients), adjust stock, and set counts and backorder limits at
 * some places; the others never get a limit. Every answer must be one the
 * contract allows for some order of the racing requests, and an update or
 * transfer that had its hold to itself must give exactly the answer its
 * hold's state called for (workload_exact.c).
 *
 * After every answer, one atomic read of Redis: reserved = the sum of the
 * live holds at each (sku, location), on_hand - reserved >= -backorder
 * limit (>= 0 where no limit is ever set), and the ledger replayed from
 * empty gives every on_hand and reserved, with the limit kept after each
 * of its entries too. At the end: every hold has ended in a state that
 * agrees with the answers; the whole ledger accounts for each hold's units;
 * units beyond available stock went only to holds that allow backorders,
 * and each reserve's answer counted them as backordered; every stock.set
 * paid what was owed first; on_hand = counts set + adjustments - units
 * committed, reserved = 0; and stock.audit is clean (also every 2,500
 * steps).
 *
 * The seed is fixed (42) unless STOCKD_TEST_SEED is set: a number, or
 * "random" for one taken from the clock. STOCKD_WORKLOAD_OPS sets the
 * number of operations (20,000; 5,000 under STOCKD_VALGRIND). Both are
 * printed, and a failure names its step, request and answer. The seed
 * fixes the stock and the random choices; which request runs first on the
 * server is not in its hands, and later choices follow the answers, so a
 * seed makes a like run, not always the same one. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload_books.h"
#include "workload_model.h"
#include "workload_ops.h"

#define CLIENTS 16
#define AUDIT_EVERY 2500
#define WL_VALGRIND_OPS 5000

/* The run, for the callback of harness_wait_no_holds. */
static struct wl *run;
static struct wl_books *run_books;

static void look_between(void)
{
    books_step(run_books, run);
}

static unsigned long long seed_from_env(void)
{
    const char *env = getenv("STOCKD_TEST_SEED");
    unsigned long long seed = 42;
    if (env != NULL && strcmp(env, "random") == 0)
        seed = (unsigned long long)harness_now_ms() * 2654435761ULL ^ (unsigned long long)getpid();
    else if (env != NULL)
        seed = strtoull(env, NULL, 10);
    return seed == 0 ? 1 : seed;
}

static void audit(struct wl *w, int admin)
{
    cJSON *a = client_call(admin, "{\"id\":1,\"method\":\"stock.audit\",\"params\":{}}");
    const cJSON *r = resp_result(a);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")) ||
        json_int(r, "skus_checked") != WL_SKUS) {
        char *text = cJSON_PrintUnformatted(a);
        w->answer = text;
        wl_fail(w, "stock.audit is not clean");
    }
    w->audits++;
    cJSON_Delete(a);
}

/* Every (sku, location) gets a count; some get a backorder limit, the
 * others never will: for each sku one location always has a limit and
 * one never has. */
static void stock_up(struct wl *w, int admin)
{
    for (int s = 0; s < WL_SKUS; s++)
        for (int l = 0; l < WL_LOCS; l++) {
            bool limited = l == (s + 1) % WL_LOCS || (l != s % WL_LOCS && wl_pick(w, 2) == 0);
            w->backorder_group[s][l] = limited;
            w->limit[s][l] = limited ? 5 + wl_pick(w, 16) : 0;
            w->limits[s][l][0] = w->limit[s][l];
            w->n_limits[s][l] = 1;
            w->pending[s][l] = -1;
            int count = 20 + wl_pick(w, 40);
            char limit[40] = "";
            if (limited)
                snprintf(limit, sizeof limit, ",\"backorder_limit\":%lld", w->limit[s][l]);
            cJSON *r = client_callf(admin,
                                    "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":"
                                    "\"W%d\",\"location\":\"L%d\",\"on_hand\":%d%s}}",
                                    s, l, count, limit);
            if (resp_error_code(r) != 0)
                wl_fail(w, "stock.set W%d L%d refused", s, l);
            wl_check_row(w, resp_result(r), s, l, 0);
            wl_pair_set_answer(w, s, l, count, json_int(resp_result(r), "on_hand"), w->limit[s][l]);
            cJSON_Delete(r);
        }
    cJSON_Delete(client_call(admin, "{\"id\":1,\"method\":\"channel.set\",\"params\":{\"channel\":"
                                    "\"web\",\"locations\":[\"L0\",\"L1\",\"L2\"]}}"));
}

/* The final state of every hold, read with pipelined reservation.get. */
static int final_states(struct wl *w, int admin)
{
    enum { BATCH = 500 };
    static char req[BATCH * 128];
    int expired = 0;
    w->req = "(reservation.get of every hold after the run)";
    for (int first = 0; first < w->n_holds; first += BATCH) {
        int n = w->n_holds - first < BATCH ? w->n_holds - first : BATCH;
        size_t len = 0;
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(req + len, sizeof req - len,
                                    "{\"id\":%d,\"method\":\"reservation.get\",\"params\":{"
                                    "\"reservation_id\":\"%s\"}}\n",
                                    first + i, w->holds[first + i].id);
        char **lines = client_exchange(admin, req, len, n, 20000);
        for (int i = 0; i < n; i++) {
            w->answer = lines[i];
            cJSON *r = cJSON_Parse(lines[i]);
            if (r == NULL || resp_error_code(r) != 0)
                wl_fail(w, "reservation.get of %s failed", w->holds[first + i].id);
            wl_check_final(w, &w->holds[first + i], resp_result(r));
            expired += w->holds[first + i].final == WL_EXPIRED;
            cJSON_Delete(r);
        }
        client_free_lines(lines, n);
    }
    w->answer = NULL;
    return expired;
}

static void report(const struct wl *w, const struct wl_books *b, int expired, long long ms)
{
    static const char *const names[] = {"reserve", "retry",    "commit", "release",
                                        "update",  "transfer", "adjust", "set"};
    printf("workload: %ld operations in %lld ms, %d reservations (%d expired), %ld ledger "
           "entries (%ld by update or transfer), %ld audits\n",
           w->ops, ms, w->n_holds, expired, b->entries, b->moves, w->audits);
    for (int k = 0; k < WL_KINDS; k++)
        printf("  %-9s sent %6ld  ok %6ld  1001 %5ld  1003 %5ld  -32602 %4ld\n", names[k],
               w->count[k].sent, w->count[k].ok, w->count[k].short_1001, w->count[k].conflict_1003,
               w->count[k].invalid_32602);
    printf("  exact checks %ld, changed %ld, unchanged %ld, not_held %ld, not_at_location %ld, "
           "replays %ld\n",
           w->exact_checks, w->changed, w->unchanged, w->not_held, w->not_at_location, w->replays);
    printf("  backordered units in answers %ld, short lines %ld; looks with a place below "
           "zero available %ld, with on_hand below zero %ld\n",
           w->backordered_units, w->shortages, w->backordered_seen, w->negative_on_hand_seen);
}

static void test_random_workload_keeps_the_books(void **state)
{
    (void)state;
    static struct wl w;
    static struct wl_books books;
    memset(&w, 0, sizeof w);
    w.seed = w.rng = seed_from_env();
    /* Under valgrind (STOCKD_VALGRIND) stockd is many times slower: fewer
     * operations by default, so that the run fits its timeout. */
    const char *ops_env = getenv("STOCKD_WORKLOAD_OPS");
    w.ops = ops_env ? atol(ops_env) : getenv("STOCKD_VALGRIND") ? WL_VALGRIND_OPS : WL_DEFAULT_OPS;
    if (w.ops < 100)
        w.ops = 100;
    printf("workload seed: %llu, %ld operations (STOCKD_TEST_SEED, STOCKD_WORKLOAD_OPS to "
           "repeat)\n",
           w.seed, w.ops);
    fflush(stdout);
    w.max_holds = (int)w.ops + CLIENTS;
    w.orders = calloc((size_t)w.ops + 1, sizeof *w.orders);
    w.keyed = calloc((size_t)w.ops + 1, sizeof *w.keyed);
    w.holds = calloc((size_t)w.max_holds, sizeof *w.holds);
    w.short_lived = calloc((size_t)w.max_holds, sizeof *w.short_lived);
    assert_true(w.orders && w.keyed && w.holds && w.short_lived);
    w.clock_offset = harness_redis_time_ms(&H) - harness_now_ms();
    run = &w;
    run_books = &books;

    int admin = harness_client(0);
    w.req = "(setting up)";
    stock_up(&w, admin);
    books_init(&books);
    books_step(&books, &w);

    long long start = harness_now_ms();
    struct wl_client clients[CLIENTS];
    struct pollfd pfd[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = (struct wl_client){.fd = client_connect(H.stockd[i % 2].port), .hold = -1};
        pfd[i] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
    }
    long sent = 0;
    while (w.step < w.ops) {
        for (int i = 0; i < CLIENTS; i++)
            if (!clients[i].busy && sent < w.ops) {
                wl_send(&w, &clients[i]);
                sent++;
            }
        if (poll(pfd, CLIENTS, 10000) <= 0)
            wl_fail(&w, "no answer for 10 s");
        for (int i = 0; i < CLIENTS; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            char *line = client_readline(clients[i].fd, 5000);
            if (line == NULL)
                wl_fail(&w, "a connection closed or went silent");
            wl_take(&w, &clients[i], line);
            books_step(&books, &w);
            free(line);
            w.req = w.answer = NULL;
            if (++w.step % AUDIT_EVERY == 0)
                audit(&w, admin);
        }
    }
    for (int i = 0; i < CLIENTS; i++)
        close(clients[i].fd);

    /* Every hold ends: committed, released, or expired by a sweeper. */
    w.req = "(waiting for every hold to end)";
    harness_wait_no_holds(20000, look_between);
    books_step(&books, &w);
    int expired = final_states(&w, admin);
    books_final(&books, &w);
    audit(&w, admin);
    report(&w, &books, expired, harness_now_ms() - start);

    /* What the run must have exercised for its checks to mean something. */
    if (w.ops >= WL_DEFAULT_OPS) {
        assert_true(expired > 0);
        assert_true(w.count[WL_UPDATE].ok > 0 && w.count[WL_TRANSFER].ok > 0);
        assert_true(w.not_held > 0 && w.backordered_units > 0 && w.shortages > 0);
    }
    books_free(&books);
    free(w.orders);
    free(w.keyed);
    free(w.holds);
    free(w.short_lived);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_random_workload_keeps_the_books, harness_flush_setup),
    };
    /* Both replicas sweep often; the ledger is never trimmed during a run,
     * so it can be replayed from empty at the end. */
    static const char *const args[] = {"--sweep-interval-ms", "50", "--ledger-maxlen", "1000000000",
                                       NULL};
    return harness_run("workload", tests, sizeof tests / sizeof tests[0], 2, args);
}
