/* Integration: stock-level events under load, one entry per crossing.
 * 1,000 reserves below the threshold append one entry; six pipelined
 * connections over two replicas that drain and refill stock around the
 * levels leave a stream that is exactly the crossings the ledger's
 * movements imply, in order, no more and no fewer. After each test the
 * prev chains are checked and stock.audit must agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events_util.h"

/* --- the crossings the ledger implies ------------------------------------- */

static long long available_of(long long on_hand, long long reserved, long long safety)
{
    long long a = on_hand - reserved - safety;
    if (a >= 0)
        return a;
    return on_hand - reserved < 0 ? on_hand - reserved : 0;
}

static void field_of(const redisReply *fv, const char *name, char *out, size_t size)
{
    for (size_t f = 0; f + 1 < fv->elements; f += 2)
        if (strcmp(fv->element[f]->str, name) == 0) {
            snprintf(out, size, "%s", fv->element[f + 1]->str);
            return;
        }
    fail_msg("a ledger entry without %s", name);
}

static long long hash_int(const char *sku, const char *field, long long absent)
{
    redisReply *r = harness_redis(&H, "HGET {inv}:stock:%s %s", sku, field);
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : absent;
    freeReplyObject(r);
    return v;
}

struct counts {
    int low, out, back;
};

/* Replays the ledger's movements at (sku, loc) from empty, with the safety
 * stock and threshold the row has now (the caller kept them constant), and
 * derives the entries each movement's change of available implies, in
 * order; the stream's entries of (sku, loc) must be exactly those. Returns
 * how many of each type. */
static struct counts stream_matches_ledger(const char *sku, const char *loc)
{
    char f_saf[80], f_low[80];
    snprintf(f_saf, sizeof f_saf, "%s:safety", loc);
    snprintf(f_low, sizeof f_low, "%s:low_stock", loc);
    long long safety = hash_int(sku, f_saf, 0), low = hash_int(sku, f_low, -1);
    char *want = NULL, *got = NULL;
    size_t want_len = 0, got_len = 0;
    FILE *w = open_memstream(&want, &want_len);
    struct counts c = {0, 0, 0};
    long long on_hand = 0, reserved = 0;
    char from[64] = "-";
    for (;;) {
        redisReply *r = harness_redis(&H, "XRANGE {inv}:events %s + COUNT 5000", from);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *fv = r->element[i]->element[1];
            char type[16], s[64], l[64], q[32], rid[64], reason[64];
            field_of(fv, "type", type, sizeof type);
            field_of(fv, "sku", s, sizeof s);
            field_of(fv, "location", l, sizeof l);
            field_of(fv, "quantity", q, sizeof q);
            field_of(fv, "reservation", rid, sizeof rid);
            field_of(fv, "reason", reason, sizeof reason);
            snprintf(from, sizeof from, "(%s", r->element[i]->element[0]->str);
            if (strcmp(s, sku) != 0 || strcmp(l, loc) != 0)
                continue;
            long long qty = atoll(q), before = available_of(on_hand, reserved, safety);
            const char *cause = type;
            if (strcmp(type, "reserve") == 0) {
                reserved += qty;
            } else if (strcmp(type, "release") == 0 || strcmp(type, "expire") == 0) {
                reserved -= qty;
            } else if (strcmp(type, "commit") == 0) {
                on_hand -= qty;
                reserved -= qty;
            } else {
                on_hand += qty; /* restock, adjust, set */
                if (strcmp(type, "restock") == 0)
                    cause = "release";
            }
            if (strcmp(reason, "update") == 0 || strcmp(reason, "transfer") == 0)
                cause = reason;
            long long after = available_of(on_hand, reserved, safety);
            if (low >= 0 && before > low && after <= low) {
                fprintf(w, "low_stock %lld/%lld %s %s; ", after, low, cause, rid);
                c.low++;
            }
            if (before > 0 && after <= 0) {
                fprintf(w, "out_of_stock %lld/0 %s %s; ", after, cause, rid);
                c.out++;
            } else if (before <= 0 && after > 0) {
                fprintf(w, "back_in_stock %lld/0 %s %s; ", after, cause, rid);
                c.back++;
            }
        }
        size_t got_n = r->elements;
        freeReplyObject(r);
        if (got_n < 5000)
            break;
    }
    fclose(w);
    FILE *g = open_memstream(&got, &got_len);
    struct event *e;
    int n = read_events(&e);
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].sku, sku) == 0 && strcmp(e[i].loc, loc) == 0)
            fprintf(g, "%s %lld/%lld %s %s; ", e[i].type, e[i].available, e[i].threshold,
                    e[i].cause, e[i].rid);
    fclose(g);
    free(e);
    if (strcmp(want, got) != 0)
        fail_msg("%s@%s: the stream is not what the ledger implies\nwant: %s\n got: %s", sku, loc,
                 want, got);
    free(want);
    free(got);
    return c;
}

/* --- one entry per crossing --------------------------------------------- */

/* Reserves that keep a location below its threshold append nothing after
 * the first crossing; the last unit taken and given back is one
 * out_of_stock and one back_in_stock. */
static void test_thousand_reserves_one_entry(void **state)
{
    (void)state;
    int n = getenv("STOCKD_VALGRIND") ? 200 : 1000;
    /* Threshold n: the first reserve takes available from n + 1 to n, the
     * last leaves 1. */
    char extra[64], want[256];
    snprintf(extra, sizeof extra, ",'low_stock_threshold':%d", n);
    stock("K", "L", n + 1, extra);
    size_t size = (size_t)n * 128, len = 0;
    char *all = malloc(size);
    assert_non_null(all);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(all + len, size - len,
                                "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":"
                                "\"K\",\"quantity\":1}],\"locations\":[\"L\"]}}\n",
                                i);
    char **lines = client_exchange(conn(), all, len, n, 60000);
    int held = 0;
    for (int i = 0; i < n; i++) {
        cJSON *r = cJSON_Parse(lines[i]);
        held += resp_error_code(r) == 0;
        if (i == 0 && resp_error_code(r) == 0)
            name_id(json_str(res(r), "reservation_id"), "first");
        cJSON_Delete(r);
    }
    client_free_lines(lines, n);
    free(all);
    assert_int_equal(held, n);
    assert_int_equal(harness_ledger_count("reserve", "sku", "K", false), n);
    snprintf(want, sizeof want, "back_in_stock K@L %d/0 set -; low_stock K@L %d/%d reserve first",
             n + 1, n, n);
    expect_events(want);

    hold_as("last", "{'items':[{'sku':'K','quantity':1}],'locations':['L']}");
    ok(rpc("release", "{'reservation_id':'%s'}", id_of("last")));
    expect_new_events(2, "out_of_stock K@L 0/0 reserve last; back_in_stock K@L 1/0 release last");
    struct counts c = stream_matches_ledger("K", "L");
    assert_true(c.low == 1 && c.out == 1 && c.back == 2);
}

enum { FDS = 6, PER_ROUND = 8, MAX_HOLDS = 4096 };
enum act { RESERVE, RELEASE, COMMIT, ADJUST };

/* Each connection's holds, oldest first (from first[f] on). */
static char held_ids[FDS][MAX_HOLDS][40];
static int n_held[FDS], first_held[FDS];

static const char *const race_skus[2] = {"C", "D"};

/* Appends one request to a pipeline on connection f: the kind that x
 * (0..99) picks for the sku it picks, most of them reserves while that
 * sku's stock drains (drain[sku]), releases and goods received while it
 * fills. */
static enum act pick(int f, unsigned x, const bool *drain, int id, char *buf, size_t size,
                     size_t *len)
{
    int s = (int)(x / 3) % 2;
    const char *sku = race_skus[s];
    bool has_hold = first_held[f] < n_held[f];
    enum act a = ADJUST;
    if (x < (drain[s] ? 75u : 10u))
        a = RESERVE;
    else if (x < (drain[s] ? 88u : 55u) && has_hold)
        a = RELEASE;
    else if (x < (drain[s] ? 94u : 60u) && has_hold)
        a = COMMIT;
    char params[256];
    const char *method = "reserve";
    if (a == RESERVE && x % 5 == 0 && drain[0] && drain[1]) {
        snprintf(params, sizeof params,
                 "{\"items\":[{\"sku\":\"C\",\"quantity\":%u},{\"sku\":\"D\",\"quantity\":%u}],"
                 "\"locations\":[\"L\"]}",
                 1 + x % 3, 1 + x % 2);
    } else if (a == RESERVE) {
        snprintf(params, sizeof params,
                 "{\"items\":[{\"sku\":\"%s\",\"quantity\":%u}],\"locations\":[\"L\"]}", sku,
                 1 + x % 4);
    } else if (a == ADJUST) {
        method = "stock.adjust";
        snprintf(params, sizeof params, "{\"sku\":\"%s\",\"location\":\"L\",\"delta\":%d}", sku,
                 drain[s] ? -(int)(1 + x % 2) : (int)(1 + x % 4));
    } else {
        method = a == RELEASE ? "release" : "commit";
        snprintf(params, sizeof params, "{\"reservation_id\":\"%s\"}",
                 held_ids[f][first_held[f]++]);
    }
    *len += (size_t)snprintf(buf + *len, size - *len,
                             "{\"id\":%d,\"method\":\"%s\",\"params\":%s}\n", id, method, params);
    return a;
}

/* Reads the answers to a pipeline of n requests of kinds acts on fds[f]. */
static void read_answers(int *fds, int f, const enum act *acts, int n)
{
    for (int k = 0; k < n; k++) {
        char *line = client_readline(fds[f], 30000);
        assert_non_null(line);
        cJSON *r = cJSON_Parse(line);
        assert_non_null(r);
        int code = resp_error_code(r);
        if (json_int(r, "id") != k)
            fail_msg("answer %d on connection %d: %s", k, f, line);
        if (acts[k] == RESERVE && code == 0) {
            assert_true(n_held[f] < MAX_HOLDS);
            snprintf(held_ids[f][n_held[f]++], sizeof held_ids[0][0], "%s",
                     json_str(res(r), "reservation_id"));
        } else if (!(code == 0 || (code == 1001 && (acts[k] == RESERVE || acts[k] == ADJUST)))) {
            fail_msg("answer %d on connection %d: %s", k, f, line);
        }
        cJSON_Delete(r);
        free(line);
    }
}

/* Clients race around the levels: six connections over two replicas, each
 * sending pipelines of reserves (of one line or two), releases, commits and
 * adjustments of two skus that share a threshold, all written before any
 * answer is read; each sku's stock drains to 0 and fills again to above
 * the threshold, over and over. No crossing has two entries and none lacks
 * its entry:
 * the stream is exactly what the ledger's movements imply, in order, so
 * out_of_stock and back_in_stock alternate and low_stock counts the
 * downward crossings of the threshold. */
static void test_racing_clients(void **state)
{
    (void)state;
    int rounds = getenv("STOCKD_VALGRIND") ? 15 : 80;
    stock("C", "L", 24, ",'low_stock_threshold':10");
    stock("D", "L", 24, ",'low_stock_threshold':10");
    int fds[FDS];
    for (int f = 0; f < FDS; f++) {
        fds[f] = client_connect(H.stockd[f % 2].port);
        n_held[f] = first_held[f] = 0;
    }
    unsigned seed = 15;
    static char bufs[FDS][PER_ROUND * 320];
    enum act acts[FDS][PER_ROUND];
    bool drain[2] = {true, true};
    int cycles[2] = {0, 0};
    for (int round = 0; round < rounds; round++) {
        for (int s = 0; s < 2; s++) {
            long long available = stock_row(conn(), race_skus[s], "L").available;
            if (drain[s] && available <= 0) {
                drain[s] = false;
            } else if (!drain[s] && available >= 16) {
                drain[s] = true;
                cycles[s]++;
            }
        }
        for (int f = 0; f < FDS; f++) {
            size_t len = 0;
            for (int k = 0; k < PER_ROUND; k++)
                acts[f][k] = pick(f, (unsigned)rand_r(&seed) % 100, drain, k, bufs[f],
                                  sizeof bufs[f], &len);
            client_send(fds[f], bufs[f], len);
        }
        for (int f = 0; f < FDS; f++)
            read_answers(fds, f, acts[f], PER_ROUND);
    }
    /* Every hold left goes back, and goods arrive: back in stock. */
    for (int f = 0; f < FDS; f++) {
        for (int i = first_held[f]; i < n_held[f]; i++)
            cJSON_Delete(must(rpc_fd(fds[f], "release", "{'reservation_id':'%s'}",
                                     held_ids[f][i])));
        close(fds[f]);
    }
    ok(rpc("stock.adjust", "{'sku':'C','location':'L','delta':30}"));
    ok(rpc("stock.adjust", "{'sku':'D','location':'L','delta':30}"));

    int total = check_chains();
    struct counts c = stream_matches_ledger("C", "L"), d = stream_matches_ledger("D", "L");
    printf("racing clients: %d rounds, %d and %d refills; %d entries; C: %d low, %d out, %d "
           "back; D: %d low, %d out, %d back\n",
           rounds, cycles[0], cycles[1], total, c.low, c.out, c.back, d.low, d.out, d.back);
    assert_int_equal(total, c.low + c.out + c.back + d.low + d.out + d.back);
    /* Each sku went down through both levels and came back at least once
     * (its first units are a back_in_stock too). */
    assert_true(cycles[0] > 0 && cycles[1] > 0);
    assert_true(c.low > 0 && c.out > 0 && c.back > 1 && d.low > 0 && d.out > 0 && d.back > 1);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, harness_flush_setup, events_teardown)

int main(void)
{
    /* Two replicas, neither sweeping in a test's time. */
    static const char *const args[] = {"--sweep-interval-ms", "60000", NULL};
    const struct CMUnitTest tests[] = {
        TEST(test_thousand_reserves_one_entry),
        TEST(test_racing_clients),
    };
    return harness_run("events_race", tests, sizeof tests / sizeof tests[0], 2, args);
}
