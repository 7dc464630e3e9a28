/* Integration: locations and routing (PROTOCOL-2.md "Locations and
 * routing"). Thousands of random catalogues whose reserves must agree with
 * the oracle of routing_oracle.c; buyers racing for the nearest last units
 * across two replicas; bad params that change nothing; the location and
 * channel records; v1 ranking for a channel without rules; and distances
 * within a millimetre as ties.
 * STOCKD_TEST_SEED=<n> replays a run of the property test (the seed is
 * printed; unset, each run draws a new one). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "routing_catalogue.h"
#include "routing_judge.h"
#include "routing_oracle.h"

/* --- pipelines and calls ---------------------------------------------------- */

/* Requests written back to back and answered in order: each answer goes to
 * on_line with the tag it was sent with. */
#define PIPE_MAX 2000
struct pipe {
    int fd;
    struct sb buf;
    int n, tag[PIPE_MAX];
    void (*on_line)(int tag, const char *line, void *arg);
    void *arg;
};

static void pipe_flush(struct pipe *p)
{
    if (p->n == 0)
        return;
    char **lines = client_exchange(p->fd, p->buf.p, p->buf.len, p->n, 120000);
    for (int i = 0; i < p->n; i++)
        p->on_line(p->tag[i], lines[i], p->arg);
    client_free_lines(lines, p->n);
    p->n = 0;
    p->buf.len = 0;
}

static void pipe_add(struct pipe *p, int tag, const char *method, const char *params)
{
    sb_printf(&p->buf, "{\"id\":%d,\"method\":\"%s\",\"params\":%s}\n", tag, method, params);
    p->tag[p->n++] = tag;
    if (p->n == PIPE_MAX)
        pipe_flush(p);
}

static void send_setup(void *arg, const char *method, const char *params)
{
    pipe_add(arg, -1, method, params);
}

static const cJSON *error_data(const cJSON *r)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "error"), "data");
}

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static cJSON *call(int fd, const char *method, const char *params)
{
    return client_callf(fd, "{\"id\":1,\"method\":\"%s\",\"params\":%s}", method, params);
}

static void call_ok(int fd, const char *method, const char *params)
{
    cJSON *r = call(fd, method, params);
    if (resp_error_code(r) != 0)
        fail_msg("%s %s failed: %s", method, params, cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
}

/* 2,500 catalogues in batches; under valgrind (STOCKD_VALGRIND), which
 * looks for memory errors rather than wrong answers, 750. */
enum { N_CATALOGUES = 2500, N_VALGRIND = 750, BATCH = 250, MAX_REPORTS = 12 };

static int mismatches;

static struct {
    int orders, holds, out_of_stock, explained, excluded_all, near_ties, books_wrong;
} stats;

static void on_reserve(int tag, const char *line, void *arg)
{
    struct cat *c = &((struct cat *)arg)[tag];
    struct judge j;
    judge_init(&j, c, &c->cur);
    cJSON *r = cJSON_Parse(line);
    const char *why = judge_answer(&j, r);
    if (j.read && j.got.ok) /* what stockd handed out, right or wrong */
        for (int i = 0; i < j.got.n; i++)
            c->given[c->cur.sku[j.got.a[i].line]][j.got.a[i].loc] += j.got.a[i].q;
    stats.orders++;
    stats.holds += j.read && j.got.ok;
    stats.out_of_stock += j.read && !j.got.ok;
    stats.excluded_all += j.k == 0;
    stats.explained += c->cur.explain;
    stats.near_ties += j.near_tie;
    if (why != NULL && mismatches++ < MAX_REPORTS)
        judge_report(&j, why, line);
    cJSON_Delete(r);
}

static void on_setup(int tag, const char *line, void *arg)
{
    (void)tag;
    (void)arg;
    if (strstr(line, "\"result\"") == NULL)
        fail_msg("a catalogue's setup failed: %s", line);
}

/* Conservation: stock.get shows, at each location, the on_hand set and
 * reserved = the units the reserves were given (none beyond on_hand). */
static void on_stock(int tag, const char *line, void *arg)
{
    struct cat *c = &((struct cat *)arg)[tag / MAX_SKUS];
    int s = tag % MAX_SKUS, want_rows = 0, rows = 0;
    for (int i = 0; i < RO_MAX_LOCS; i++) {
        want_rows += c->given[s][i] > 0;
        if (c->given[s][i] > c->on_hand[s][i] && stats.books_wrong++ < MAX_REPORTS)
            fprintf(stderr, "OVERSOLD p%d-s%d at %d: %lld of %lld\n", c->id, s, i, c->given[s][i],
                    c->on_hand[s][i]);
    }
    cJSON *r = cJSON_Parse(line);
    const cJSON *row;
    cJSON_ArrayForEach(row, get(resp_result(r), "locations"))
    {
        int loc = loc_index(c, json_str(row, "location"));
        rows += json_int(row, "reserved") > 0;
        if ((loc < 0 || json_int(row, "reserved") != c->given[s][loc] ||
             json_int(row, "on_hand") != c->on_hand[s][loc]) &&
            stats.books_wrong++ < MAX_REPORTS)
            fprintf(stderr, "BOOKS p%d-s%d: row %s, given %lld\n", c->id, s,
                    cJSON_PrintUnformatted(row), loc < 0 ? -1 : c->given[s][loc]);
    }
    if ((resp_result(r) == NULL || rows != want_rows) && stats.books_wrong++ < MAX_REPORTS)
        fprintf(stderr, "BOOKS p%d-s%d: %d rows with holds, want %d: %s\n", c->id, s, rows,
                want_rows, line);
    cJSON_Delete(r);
}

static unsigned long long seed;

static void test_property(void **state)
{
    (void)state;
    long long t0 = harness_now_ms();
    printf("routing: seed %llu (STOCKD_TEST_SEED=%llu replays this run)\n", seed, seed);
    fflush(stdout);
    rnd_seed(seed);
    struct cat *cats = calloc(BATCH, sizeof *cats);
    assert_non_null(cats);
    int n_cat = getenv("STOCKD_VALGRIND") ? N_VALGRIND : N_CATALOGUES;
    for (int b = 0; b < n_cat; b += BATCH) {
        struct pipe p = {.fd = harness_client((b / BATCH) % 2), .on_line = on_setup, .arg = cats};
        for (int i = 0; i < BATCH; i++) {
            catalogue_gen(&cats[i], b + i);
            catalogue_send(&cats[i], send_setup, &p);
        }
        pipe_flush(&p);
        /* One order per catalogue per round: a catalogue's orders run one
         * after another, whatever stockd does with a pipeline. */
        p.on_line = on_reserve;
        for (int round = 0; round < MAX_ROUNDS; round++) {
            for (int i = 0; i < BATCH; i++) {
                if (cats[i].n_orders <= round)
                    continue;
                order_gen(&cats[i], &cats[i].cur);
                pipe_add(&p, i, "reserve", cats[i].cur.params.p);
            }
            pipe_flush(&p);
        }
        p.on_line = on_stock;
        for (int i = 0; i < BATCH; i++)
            for (int s = 0; s < cats[i].n_sku; s++) {
                char params[64];
                snprintf(params, sizeof params, "{\"sku\":\"p%d-s%d\"}", cats[i].id, s);
                pipe_add(&p, i * MAX_SKUS + s, "stock.get", params);
            }
        pipe_flush(&p);
        free(p.buf.p);
    }
    for (int i = 0; i < BATCH; i++)
        free(cats[i].cur.params.p);
    free(cats);
    printf("routing: %d catalogues, %d orders: %d held, %d out_of_stock (%d with no candidate), "
           "%d explained, %d with near ties; %d wrong, %d books wrong; %lld ms\n",
           n_cat, stats.orders, stats.holds, stats.out_of_stock, stats.excluded_all,
           stats.explained, stats.near_ties, mismatches, stats.books_wrong, harness_now_ms() - t0);
    if (mismatches > 0 || stats.books_wrong > 0)
        fail_msg("%d reserves disagree with the oracle, %d stock rows are wrong (seed %llu)",
                 mismatches, stats.books_wrong, seed);
    /* A run that never exercised both answers would prove little. */
    assert_true(stats.holds > stats.orders / 5 && stats.out_of_stock > stats.orders / 20);
    assert_true(stats.excluded_all > 0 && stats.near_ties > 0);
}

/* --- buyers racing for the nearest units --------------------------------- */

/* 40 buyers on two replicas, all nearest to L (5 units), then M. F and N
 * rank first by priority but are beyond max_distance_km (N has no
 * coordinates). The ledger, in Redis's order, shows every unit of L taken
 * before any of M. */
static void test_race_for_nearest(void **state)
{
    (void)state;
    enum { BUYERS = 40, ROUNDS = 8, AT_L = 5 };
    int admin = harness_client(0), fds[BUYERS];
    call_ok(admin, "location.set", "{\"location\":\"cc-L\",\"lat\":48.8566,\"lng\":2.3522}");
    call_ok(admin, "location.set", "{\"location\":\"cc-M\",\"lat\":49.1,\"lng\":2.6}");
    call_ok(admin, "location.set",
            "{\"location\":\"cc-F\",\"lat\":45.764,\"lng\":4.8357,\"priority\":1000}");
    call_ok(admin, "location.set", "{\"location\":\"cc-N\",\"priority\":1000}");
    call_ok(admin, "channel.set",
            "{\"channel\":\"cc\",\"locations\":[\"cc-F\",\"cc-N\",\"cc-M\","
            "\"cc-L\"],\"rules\":[\"priority\",\"nearest\"]}");
    for (int i = 0; i < BUYERS; i++)
        fds[i] = client_connect(H.stockd[i % 2].port);
    for (int round = 0; round < ROUNDS; round++) {
        long long m_units = 10 + 5 * round,
                  want_m = m_units < BUYERS - AT_L ? m_units : BUYERS - AT_L;
        char sku[32], req[512], ids[BUYERS][64];
        snprintf(sku, sizeof sku, "cc-s%d", round);
        client_stock_set(admin, sku, "cc-L", AT_L);
        client_stock_set(admin, sku, "cc-M", m_units);
        client_stock_set(admin, sku, "cc-F", 100);
        client_stock_set(admin, sku, "cc-N", 100);
        for (int i = 0; i < BUYERS; i++) {
            snprintf(
                req, sizeof req,
                "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":\"cc-%d-%d\","
                "\"items\":[{\"sku\":\"%s\",\"quantity\":1}],\"channel\":\"cc\",\"destination\":"
                "{\"lat\":%.4f,\"lng\":%.4f},\"max_distance_km\":100%s}}\n",
                i, round, i, sku, 48.8566 + (i % 7 - 3) * 0.001, 2.3522 + (i % 5 - 2) * 0.001,
                i % 3 ? "" : ",\"explain\":true");
            client_sends(fds[i], req);
        }
        int at_l = 0, at_m = 0, oos = 0;
        for (int i = 0; i < BUYERS; i++) {
            char *line = client_readline(fds[i], 10000);
            cJSON *r = line ? cJSON_Parse(line) : NULL;
            const cJSON *res = resp_result(r);
            const cJSON *a = cJSON_GetArrayItem(get(res, "allocations"), 0);
            const char *where = json_str(a, "location");
            ids[i][0] = '\0';
            if (res && cJSON_GetArraySize(get(res, "allocations")) == 1 &&
                json_int(a, "quantity") == 1 &&
                (strcmp(where, "cc-L") == 0 || strcmp(where, "cc-M") == 0)) {
                at_l += where[3] == 'L';
                at_m += where[3] == 'M';
                snprintf(ids[i], sizeof ids[i], "%s %s", json_str(res, "reservation_id"), where);
            } else if (resp_error_code(r) == 1001 &&
                       strcmp(json_str(error_data(r), "sku"), sku) == 0 &&
                       json_int(error_data(r), "requested") == 1 &&
                       json_int(error_data(r), "available") == 0) {
                oos++;
            } else {
                fail_msg("round %d buyer %d: %s", round, i, line ? line : "(no answer)");
            }
            if (i % 3 == 0) { /* the candidates after exclusion, nearest first */
                const cJSON *ex = get(res ? res : error_data(r), "explain");
                assert_int_equal(cJSON_GetArraySize(ex), 2);
                assert_string_equal(json_str(cJSON_GetArrayItem(ex, 0), "location"), "cc-L");
                assert_string_equal(json_str(cJSON_GetArrayItem(ex, 1), "location"), "cc-M");
            }
            cJSON_Delete(r);
            free(line);
        }
        if (at_l != AT_L || at_m != want_m || oos != BUYERS - AT_L - want_m)
            fail_msg("round %d: %d at L, %d at M, %d out of stock; want %d, %lld, %lld", round,
                     at_l, at_m, oos, AT_L, want_m, BUYERS - AT_L - want_m);
        assert_int_equal(stock_row(admin, sku, "cc-L").reserved, AT_L);
        assert_int_equal(stock_row(admin, sku, "cc-M").reserved, want_m);
        assert_int_equal(stock_row(admin, sku, "cc-F").reserved, 0);
        assert_int_equal(stock_row(admin, sku, "cc-N").reserved, 0);

        redisReply *x = harness_redis(&H, "XRANGE {inv}:events - +");
        int seen = 0, last_l = -1, first_m = -1;
        for (size_t e = 0; e < x->elements; e++) {
            const redisReply *f = x->element[e]->element[1];
            const char *v[4] = {"", "", "", ""}; /* type, sku, location, reservation */
            static const char *const names[4] = {"type", "sku", "location", "reservation"};
            for (size_t k = 0; k + 1 < f->elements; k += 2)
                for (int n = 0; n < 4; n++)
                    if (strcmp(f->element[k]->str, names[n]) == 0)
                        v[n] = f->element[k + 1]->str;
            if (strcmp(v[0], "reserve") != 0 || strcmp(v[1], sku) != 0)
                continue;
            char entry[96];
            snprintf(entry, sizeof entry, "%s %s", v[3], v[2]);
            bool known = false;
            for (int i = 0; i < BUYERS && !known; i++)
                known = strcmp(ids[i], entry) == 0;
            if (!known)
                fail_msg("round %d: ledger entry %s is no buyer's allocation", round, entry);
            last_l = strcmp(v[2], "cc-L") == 0 ? seen : last_l;
            first_m = first_m < 0 && strcmp(v[2], "cc-M") == 0 ? seen : first_m;
            seen++;
        }
        freeReplyObject(x);
        assert_int_equal(seen, AT_L + want_m);
        if (first_m >= 0 && first_m < last_l)
            fail_msg("round %d: a unit of M was held (entry %d) while L had one (entry %d)", round,
                     first_m, last_l);
    }
    for (int i = 0; i < BUYERS; i++)
        close(fds[i]);
}

/* --- bad params -------------------------------------------------------------- */

static void digest(char out[64])
{
    redisReply *r = harness_redis(&H, "DEBUG DIGEST");
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    snprintf(out, 64, "%s", r->str);
    freeReplyObject(r);
}

#define ITEMS "\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"channel\":\"web\""
#define DEST "\"destination\":{\"lat\":48.85,\"lng\":2.35}"
static const struct {
    const char *method, *params, *field;
} bad[] = {
    {"location.set", "{\"location\":\"L1\",\"lat\":90.5,\"lng\":0}", "lat"},
    {"location.set", "{\"location\":\"L1\",\"lat\":-91,\"lng\":0}", "lat"},
    {"location.set", "{\"location\":\"L1\",\"lat\":0,\"lng\":180.5}", "lng"},
    {"location.set", "{\"location\":\"L1\",\"lat\":0,\"lng\":-181}", "lng"},
    {"location.set", "{\"location\":\"L1\",\"lat\":10}", "lng"},
    {"location.set", "{\"location\":\"L1\",\"lng\":10}", "lat"},
    {"location.set", "{\"location\":\"L1\",\"lat\":\"52.5\",\"lng\":13.4}", "lat"},
    {"location.set", "{\"location\":\"L1\",\"lat\":1e999,\"lng\":13.4}", "lat"},
    {"location.set", "{\"location\":\"L1\",\"lat\":52.5,\"lng\":-1e999}", "lng"},
    {"location.set", "{\"location\":\"L1\",\"priority\":1001}", "priority"},
    {"location.set", "{\"location\":\"L1\",\"priority\":-1001}", "priority"},
    {"location.set", "{\"location\":\"L1\",\"priority\":1.5}", "priority"},
    {"location.set", "{\"location\":\"L1\",\"priority\":\"5\"}", "priority"},
    {"location.set",
     "{\"location\":\"L1\",\"tags\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
     "\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}",
     "tags"},
    {"location.set", "{\"location\":\"L1\",\"tags\":[\"a\",\"b\",\"a\"]}", "tags"},
    {"location.set", "{\"location\":\"L1\",\"tags\":[\"a\",\"b c\"]}", "tags"},
    {"location.set", "{\"location\":\"L1\",\"tags\":\"a\"}", "tags"},
    {"location.set", "{\"location\":\"L1\",\"zone\":\"x:y\"}", "zone"},
    {"location.set", "{\"location\":\"L 1\",\"lat\":1,\"lng\":1}", "location"},
    {"channel.set",
     "{\"channel\":\"web\",\"locations\":[\"L1\"],\"rules\":[\"nearest\",\"fastest\"]}", "rules"},
    {"channel.set",
     "{\"channel\":\"web\",\"locations\":[\"L1\"],\"rules\":[\"nearest\",\"nearest\"]}", "rules"},
    {"channel.set", "{\"channel\":\"web\",\"locations\":[\"L1\"],\"rules\":[]}", "rules"},
    {"channel.set",
     "{\"channel\":\"web\",\"locations\":[\"L1\"],\"rules\":[\"same_zone\",\"nearest\","
     "\"priority\",\"channel_order\",\"same_zone\",\"nearest\"]}",
     "rules"},
    {"channel.set", "{\"channel\":\"web\",\"locations\":[\"L1\"],\"rules\":[\"nearest\",1]}",
     "rules"},
    {"channel.set", "{\"channel\":\"web\",\"locations\":[\"L1\"],\"rules\":\"nearest\"}", "rules"},
    {"reserve", "{" ITEMS ",\"destination\":{\"lat\":48.85}}", "destination.lng"},
    {"reserve", "{" ITEMS ",\"destination\":{\"lng\":2.35}}", "destination.lat"},
    {"reserve", "{" ITEMS ",\"destination\":{\"lat\":91,\"lng\":2.35}}", "destination.lat"},
    {"reserve", "{" ITEMS ",\"destination\":{\"lat\":1e999,\"lng\":2.35}}", "destination.lat"},
    {"reserve", "{" ITEMS ",\"destination\":{\"lat\":48.85,\"lng\":-180.01}}", "destination.lng"},
    {"reserve", "{" ITEMS ",\"destination\":{\"lat\":48.85,\"lng\":2.35,\"zone\":\"a b\"}}",
     "destination.zone"},
    {"reserve", "{" ITEMS ",\"destination\":\"Paris\"}", "destination"},
    {"reserve", "{" ITEMS ",\"max_distance_km\":5}", "max_distance_km"},
    {"reserve", "{" ITEMS "," DEST ",\"max_distance_km\":0}", "max_distance_km"},
    {"reserve", "{" ITEMS "," DEST ",\"max_distance_km\":-1}", "max_distance_km"},
    {"reserve", "{" ITEMS "," DEST ",\"max_distance_km\":\"5\"}", "max_distance_km"},
    {"reserve", "{" ITEMS "," DEST ",\"max_distance_km\":1e999}", "max_distance_km"},
    {"reserve", "{" ITEMS "," DEST ",\"explain\":\"yes\"}", "explain"},
    {"reserve", "{" ITEMS "," DEST ",\"explain\":1}", "explain"},
};

/* Each bad value: -32602 naming its field (or an element of it: "tags[1]"
 * names tags), and Redis exactly as it was. */
static void test_bad_params_change_nothing(void **state)
{
    (void)state;
    int fd = harness_client(0);
    call_ok(fd, "location.set",
            "{\"location\":\"L1\",\"lat\":48.85,\"lng\":2.35,\"zone\":\"FR\","
            "\"priority\":3,\"tags\":[\"x\"]}");
    call_ok(fd, "channel.set",
            "{\"channel\":\"web\",\"locations\":[\"L1\"],\"rules\":[\"nearest\"]}");
    client_stock_set(fd, "A", "L1", 9);
    call_ok(fd, "reserve", "{" ITEMS "," DEST "}");
    char before[64], after[64];
    digest(before);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *r = call(fd, bad[i].method, bad[i].params);
        const char *field = json_str(error_data(r), "field");
        size_t n = strlen(bad[i].field);
        if (resp_error_code(r) != -32602 ||
            !(strncmp(field, bad[i].field, n) == 0 && (field[n] == '\0' || field[n] == '[')))
            fail_msg("%s %s: %s, want -32602 field %s", bad[i].method, bad[i].params,
                     cJSON_PrintUnformatted(r), bad[i].field);
        cJSON_Delete(r);
    }
    digest(after);
    assert_string_equal(after, before);
    assert_int_equal(stock_row(fd, "A", "L1").reserved, 1);
}

/* --- records ----------------------------------------------------------------- */

static bool result_is(const cJSON *r, const char *want_json)
{
    cJSON *want = cJSON_Parse(want_json);
    bool same = want != NULL && cJSON_Compare(resp_result(r), want, true);
    cJSON_Delete(want);
    return same;
}

static void expect_result(cJSON *r, const char *want_json)
{
    if (!result_is(r, want_json))
        fail_msg("got %s, want result %s", cJSON_PrintUnformatted(r), want_json);
    cJSON_Delete(r);
}

/* GEOPOS of a location in {inv}:geo: true when it has a position there. */
static bool in_geo(const char *loc, double lat, double lng)
{
    redisReply *r = harness_redis(&H, "GEOPOS {inv}:geo %s", loc);
    const redisReply *p = r->element[0];
    bool found = p->type == REDIS_REPLY_ARRAY && p->elements == 2;
    if (found && (fabs(atof(p->element[0]->str) - lng) > 1e-5 ||
                  fabs(atof(p->element[1]->str) - lat) > 1e-5))
        fail_msg("%s is in the GEO set at %s,%s", loc, p->element[1]->str, p->element[0]->str);
    freeReplyObject(r);
    return found;
}

static void test_location_and_channel_records(void **state)
{
    (void)state;
    int fd = harness_client(0);
    /* Set in this order, listed bytewise: 9 A_2 B _x a-1 b. */
    static const char *const recs[] = {
        "{\"location\":\"b\",\"lat\":52.52,\"lng\":13.405,\"zone\":\"DE-BE\",\"priority\":5,"
        "\"tags\":[\"cold\",\"big\"]}",
        "{\"location\":\"B\",\"priority\":0,\"tags\":[]}",
        "{\"location\":\"a-1\",\"zone\":\"z\",\"priority\":-1000,\"tags\":[]}",
        "{\"location\":\"_x\",\"lat\":-90,\"lng\":180,\"priority\":0,\"tags\":[\"a\",\"b\",\"c\","
        "\"d\",\"e\",\"f\","
        "\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\"]}",
        "{\"location\":\"9\",\"lat\":-33.8688,\"lng\":151.2093,\"priority\":1000,\"tags\":[\"t\"]}",
        "{\"location\":\"A_2\",\"lat\":0,\"lng\":0,\"priority\":0,\"tags\":[]}",
    };
    static const char *const params[] = {
        NULL,
        "{\"location\":\"B\"}",
        "{\"location\":\"a-1\",\"zone\":\"z\",\"priority\":-1000}",
        NULL,
        NULL,
        "{\"location\":\"A_2\",\"lat\":0,\"lng\":0}",
    };
    static const int listed[] = {4, 5, 1, 3, 2, 0};
    for (int i = 0; i < 6; i++)
        expect_result(call(fd, "location.set", params[i] ? params[i] : recs[i]), recs[i]);
    for (int i = 0; i < 6; i++) {
        char p[64];
        cJSON *want = cJSON_Parse(recs[i]);
        snprintf(p, sizeof p, "{\"location\":\"%s\"}", json_str(want, "location"));
        cJSON_Delete(want);
        expect_result(call(fd, "location.get", p), recs[i]);
    }
    /* Coordinates come back as the shortest text that reads back the same. */
    client_sends(fd, "{\"id\":1,\"method\":\"location.get\",\"params\":{\"location\":\"b\"}}\n");
    char *line = client_readline(fd, 5000);
    assert_non_null(strstr(line, "\"lat\":52.52,"));
    assert_non_null(strstr(line, "\"lng\":13.405,"));
    free(line);

    cJSON *r = call(fd, "location.list", "{}");
    const cJSON *list = get(resp_result(r), "locations");
    assert_int_equal(cJSON_GetArraySize(list), 6);
    for (int i = 0; i < 6; i++) {
        cJSON *want = cJSON_Parse(recs[listed[i]]);
        if (!cJSON_Compare(cJSON_GetArrayItem(list, i), want, true))
            fail_msg("location.list[%d]: %s, want %s", i,
                     cJSON_PrintUnformatted(cJSON_GetArrayItem(list, i)), recs[listed[i]]);
        cJSON_Delete(want);
    }
    cJSON_Delete(r);
    r = call(fd, "location.get", "{\"location\":\"nope\"}");
    assert_int_equal(resp_error_code(r), 1002);
    assert_string_equal(resp_error_reason(r), "not_found");
    cJSON_Delete(r);

    /* The GEO set has what has coordinates inside GEO's latitudes. */
    assert_true(in_geo("b", 52.52, 13.405));
    assert_true(in_geo("9", -33.8688, 151.2093));
    assert_true(in_geo("A_2", 0, 0));
    assert_false(in_geo("B", 0, 0) || in_geo("a-1", 0, 0) || in_geo("_x", -90, 180));
    redisReply *g = harness_redis(&H, "GEOSEARCH {inv}:geo FROMLONLAT 13.4 52.5 BYRADIUS 5 km ASC");
    assert_int_equal(g->elements, 1);
    assert_string_equal(g->element[0]->str, "b");
    freeReplyObject(g);
    /* Setting replaces the whole record: no coordinates, out of the set. */
    expect_result(call(fd, "location.set", "{\"location\":\"b\",\"priority\":1}"),
                  "{\"location\":\"b\",\"priority\":1,\"tags\":[]}");
    expect_result(call(fd, "location.get", "{\"location\":\"b\"}"),
                  "{\"location\":\"b\",\"priority\":1,\"tags\":[]}");
    assert_false(in_geo("b", 0, 0));

    /* Channel rules: default, set, reset by a set without them. */
    const char *v1 =
        "{\"channel\":\"rt\",\"locations\":[\"b\",\"B\"],\"rules\":[\"channel_order\"]}";
    const char *ruled = "{\"channel\":\"rt\",\"locations\":[\"b\",\"B\"],\"rules\":[\"same_zone\","
                        "\"nearest\",\"priority\"]}";
    expect_result(call(fd, "channel.set", "{\"channel\":\"rt\",\"locations\":[\"b\",\"B\"]}"), v1);
    expect_result(call(fd, "channel.get", "{\"channel\":\"rt\"}"), v1);
    expect_result(call(fd, "channel.set", ruled), ruled);
    expect_result(call(fd, "channel.get", "{\"channel\":\"rt\"}"), ruled);
    expect_result(call(fd, "channel.set", "{\"channel\":\"rt\",\"locations\":[\"b\",\"B\"]}"), v1);
    expect_result(call(fd, "channel.get", "{\"channel\":\"rt\"}"), v1);
    r = call(fd, "channel.get", "{\"channel\":\"nope\"}");
    assert_int_equal(resp_error_code(r), 1005);
    cJSON_Delete(r);
}

/* --- v1 ranking without rules ------------------------------------------------ */

static const char *allocs_of(const cJSON *r)
{
    static char out[256];
    const cJSON *a;
    out[0] = '\0';
    cJSON_ArrayForEach(a, get(resp_result(r), "allocations"))
    {
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, "%s%s=%lld", n ? "," : "", json_str(a, "location"),
                 json_int(a, "quantity"));
    }
    return out;
}

static void expect_allocs(int fd, const char *params, const char *want)
{
    cJSON *r = call(fd, "reserve", params);
    if (strcmp(allocs_of(r), want) != 0)
        fail_msg("reserve %s: %s, want %s", params, cJSON_PrintUnformatted(r), want);
    cJSON_Delete(r);
}

/* A channel without rules ranks in channel order whatever the destination;
 * max_distance_km still excludes the far and those without coordinates. */
static void test_v1_ranking_without_rules(void **state)
{
    (void)state;
    int fd = harness_client(0);
    call_ok(fd, "location.set", "{\"location\":\"v-far\",\"lat\":50,\"lng\":10}");
    call_ok(fd, "location.set", "{\"location\":\"v-none\",\"priority\":1000}");
    call_ok(fd, "location.set",
            "{\"location\":\"v-near\",\"lat\":48.85,\"lng\":2.35,\"priority\":-5}");
    call_ok(fd, "channel.set",
            "{\"channel\":\"v1\",\"locations\":[\"v-far\",\"v-none\",\"v-near\",\"v-gone\"]}");
    const char *locs[] = {"v-far", "v-none", "v-near", "v-gone"};
    for (int i = 0; i < 4; i++)
        client_stock_set(fd, "A", locs[i], 3);
#define V1                                                                                         \
    "{\"items\":[{\"sku\":\"A\",\"quantity\":%d}],\"channel\":\"v1\",\"destination\":{\"lat\":48." \
    "85,\"lng\":2.35,\"zone\":\"FR\"}"
    char p[512];
    snprintf(p, sizeof p, V1 ",\"explain\":true,\"order_id\":\"v-o1\"}", 1);
    cJSON *r = call(fd, "reserve", p);
    assert_string_equal(allocs_of(r), "v-far=1");
    const cJSON *ex = get(resp_result(r), "explain");
    assert_int_equal(cJSON_GetArraySize(ex), 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(json_str(cJSON_GetArrayItem(ex, i), "location"), locs[i]);
    double far_km = ro_distance_m(48.85, 2.35, 50, 10) / 1000;
    assert_true(fabs(get(cJSON_GetArrayItem(ex, 0), "distance_km")->valuedouble - far_km) < 0.001);
    assert_null(get(cJSON_GetArrayItem(ex, 1), "distance_km"));
    assert_true(get(cJSON_GetArrayItem(ex, 2), "distance_km")->valuedouble == 0);
    assert_null(get(cJSON_GetArrayItem(ex, 3), "distance_km"));
    assert_int_equal(json_int(cJSON_GetArrayItem(ex, 1), "priority"), 1000);
    assert_int_equal(json_int(cJSON_GetArrayItem(ex, 3), "priority"), 0);
    cJSON_Delete(r);
    r = call(fd, "reserve", p); /* a replay has no explain */
    assert_true(cJSON_IsTrue(get(resp_result(r), "replayed")));
    assert_string_equal(allocs_of(r), "v-far=1");
    assert_null(get(resp_result(r), "explain"));
    cJSON_Delete(r);
    snprintf(p, sizeof p, V1 ",\"strategy\":\"single\"}", 3);
    expect_allocs(fd, p, "v-none=3"); /* v-far has 2 left */
    snprintf(p, sizeof p, V1 ",\"max_distance_km\":10}", 2);
    expect_allocs(fd, p, "v-near=2");
    snprintf(p, sizeof p, V1 ",\"max_distance_km\":1e300}", 2); /* any finite number */
    expect_allocs(fd, p, "v-far=2"); /* v-none and v-gone have no coordinates */
    snprintf(p, sizeof p, V1 ",\"max_distance_km\":1000,\"strategy\":\"split\"}", 2);
    r = call(fd, "reserve", p);
    assert_int_equal(resp_error_code(r), 1001);
    assert_int_equal(json_int(error_data(r), "available"), 1); /* v-near's last unit */
    cJSON_Delete(r);
    r = call(fd, "reserve",
             "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"channel\":\"v1\","
             "\"destination\":{\"lat\":0,\"lng\":0},\"max_distance_km\":10,\"explain\":true}");
    assert_int_equal(resp_error_code(r), 1001);
    assert_string_equal(json_str(error_data(r), "sku"), "A");
    assert_int_equal(json_int(error_data(r), "requested"), 1);
    assert_int_equal(json_int(error_data(r), "available"), 0);
    assert_int_equal(cJSON_GetArraySize(get(error_data(r), "explain")), 0);
    assert_true(cJSON_IsArray(get(error_data(r), "explain")));
    cJSON_Delete(r);
    long long want[] = {3, 3, 2, 0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(stock_row(fd, "A", locs[i]).reserved, want[i]);
}

/* Many locations: location.list reads the index a page at a time (no call
 * holds Redis for the whole list) and answers every one, once, by name. */
static void test_location_list_in_pages(void **state)
{
    (void)state;
    enum { N = 1000 };
    int fd = harness_client(0);
    char *req = malloc((size_t)N * 128);
    size_t len = 0;
    for (int i = 0; i < N; i++) /* written in an order that is not the answer's */
        len += (size_t)sprintf(req + len,
                               "{\"id\":1,\"method\":\"location.set\",\"params\":{"
                               "\"location\":\"loc-%04d\",\"priority\":%d}}\n",
                               (i * 7919) % N, (i * 7919) % N - 500);
    char **lines = client_exchange(fd, req, len, N, 60000);
    for (int i = 0; i < N; i++)
        assert_null(strstr(lines[i], "\"error\""));
    client_free_lines(lines, N);
    free(req);
    redisReply *before = harness_redis(&H, "INFO commandstats");
    cJSON *r = call(fd, "location.list", "{}");
    redisReply *after = harness_redis(&H, "INFO commandstats");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(resp_result(r), "locations");
    assert_int_equal(cJSON_GetArraySize(list), N);
    int i = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, list)
    {
        char want[16];
        snprintf(want, sizeof want, "loc-%04d", i);
        assert_string_equal(json_str(rec, "location"), want);
        assert_int_equal(json_int(rec, "priority"), i - 500);
        i++;
    }
    cJSON_Delete(r);
    /* More than one script call: the evalsha count grew by the pages. */
    const char *b = strstr(before->str, "cmdstat_evalsha:calls="),
               *a = strstr(after->str, "cmdstat_evalsha:calls=");
    assert_non_null(b);
    assert_non_null(a);
    long calls =
        atol(a + strlen("cmdstat_evalsha:calls=")) - atol(b + strlen("cmdstat_evalsha:calls="));
    assert_true(calls >= 4);
    freeReplyObject(before);
    freeReplyObject(after);
}

/* --- ties ------------------------------------------------------------------- */

/* Distances within a millimetre are a tie, broken by the next rule: two
 * names for the north pole, and two distances 0.4 mm apart (in the middle
 * of a millimetre, so that rounding to whole millimetres agrees). */
static void test_ties_within_a_millimetre(void **state)
{
    (void)state;
    int fd = harness_client(0);
    double lat_1 = 1000.0001 / RO_EARTH_M * 180 / 3.14159265358979323846,
           lat_2 = 1000.0005 / RO_EARTH_M * 180 / 3.14159265358979323846;
    char p[256];
    static const struct {
        const char *near, *far; /* the nearer one by a hair has the lower priority */
    } pairs[] = {{"pole-a", "pole-b"}, {"mm-a", "mm-b"}};
    call_ok(fd, "location.set", "{\"location\":\"pole-a\",\"lat\":90,\"lng\":10}");
    call_ok(fd, "location.set",
            "{\"location\":\"pole-b\",\"lat\":90,\"lng\":-170,\"priority\":10}");
    snprintf(p, sizeof p, "{\"location\":\"mm-a\",\"lat\":%.17g,\"lng\":0}", lat_1);
    call_ok(fd, "location.set", p);
    snprintf(p, sizeof p, "{\"location\":\"mm-b\",\"lat\":%.17g,\"lng\":0,\"priority\":10}", lat_2);
    call_ok(fd, "location.set", p);
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        snprintf(p, sizeof p,
                 "{\"channel\":\"tie%zu\",\"locations\":[\"%s\",\"%s\"],\"rules\":[\"nearest\","
                 "\"priority\"]}",
                 i, pairs[i].near, pairs[i].far);
        call_ok(fd, "channel.set", p);
        client_stock_set(fd, "T", pairs[i].near, 5);
        client_stock_set(fd, "T", pairs[i].far, 5);
        snprintf(p, sizeof p,
                 "{\"items\":[{\"sku\":\"T\",\"quantity\":1}],\"channel\":\"tie%zu\","
                 "\"destination\":{\"lat\":%d,\"lng\":0}}",
                 i, i == 0 ? 90 : 0);
        char want[64];
        snprintf(want, sizeof want, "%s=1", pairs[i].far);
        expect_allocs(fd, p, want);
    }
}

int main(void)
{
    /* STOCKD_TEST_SEED=<n> replays a run; unset (or "random"): a new one. */
    const char *s = getenv("STOCKD_TEST_SEED");
    if (s != NULL && *s != '\0' && strcmp(s, "random") != 0)
        seed = strtoull(s, NULL, 10);
    else
        seed = (unsigned long long)time(NULL) * 1000003ULL ^ (unsigned long long)getpid();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_property, harness_flush_setup),
        cmocka_unit_test_setup(test_race_for_nearest, harness_flush_setup),
        cmocka_unit_test_setup(test_bad_params_change_nothing, harness_flush_setup),
        cmocka_unit_test_setup(test_location_and_channel_records, harness_flush_setup),
        cmocka_unit_test_setup(test_v1_ranking_without_rules, harness_flush_setup),
        cmocka_unit_test_setup(test_ties_within_a_millimetre, harness_flush_setup),
        cmocka_unit_test_setup(test_location_list_in_pages, harness_flush_setup),
    };
    static const char *const redis_args[] = {"--enable-debug-command", "local", NULL};
    harness_redis_args = redis_args;
    return harness_run("routing", tests, sizeof tests / sizeof tests[0], 2, NULL);
}
