/* Integration: requests through coalesced script calls. Fifty connections
 * pipeline waves of mixed reserve, replayed reserve, commit, release and
 * extend requests, all at once, so that reserves from many connections
 * share script calls; every answer, the books and the ledger are checked
 * against a model of each connection's own sku, the same checks for a
 * stockd that coalesces (the default) and one that does not
 * (--batch-max 1). Also: a lone request goes out alone, and a batch that
 * outlives its deadline answers 2002 to each request in it. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CONNS 50
#define WAVE 40 /* requests per connection per wave */
#define ON_HAND 60

/* What one connection's sku holds, as the model sees it. */
struct model {
    long long on_hand, reserved;
    long long reserves, commits, releases; /* ledger entries expected */
};

struct hold {
    char id[64];
    int q;
};

/* What the answer to one request must be. */
enum kind { K_RESERVE, K_REPLAY, K_COMMIT, K_RELEASE, K_EXTEND };
struct expect {
    enum kind kind;
    int q;
    bool held;          /* reserve: held (else out of stock) */
    long long avail;    /* reserve, when out of stock: the available units */
    const char *bound;  /* replay: the reservation bound to the order */
};

struct conn_state {
    int fd;
    char sku[32];
    struct model m;
    struct hold holds[2 * WAVE];
    int n_holds;
    char orders[WAVE][64]; /* wave 1's order ids, and the hold bound to each */
    int order_hold[WAVE];  /* index in holds, -1: not held */
    struct expect ex[2 * WAVE];
    int n_ex;
    char buf[2 * WAVE * 256];
    size_t len;
};

static struct conn_state conns[CONNS];

/* The stockds: 0 coalesces (the default), 1 does not, 2 has a short
 * request deadline. Started on first use. */
static int stockd(int which)
{
    static int index[3] = {-1, -1, -1};
    static const char *const plain[] = {NULL};
    static const char *const one[] = {"--batch-max", "1", NULL};
    static const char *const late[] = {"--request-timeout-ms", "300", NULL};
    static const char *const *const args[3] = {plain, one, late};
    if (index[which] < 0)
        index[which] = harness_stockd(&(struct stockd_opts){.args = args[which]});
    return index[which];
}

static void add_line(struct conn_state *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_line(struct conn_state *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->buf + c->len, sizeof c->buf - c->len, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof c->buf - c->len);
    c->len += (size_t)n;
}

/* A reserve of q units of the connection's sku; the model decides. */
static void reserve(struct conn_state *c, int id, const char *order_id, int q)
{
    long long avail = c->m.on_hand - c->m.reserved;
    struct expect *e = &c->ex[c->n_ex++];
    *e = (struct expect){K_RESERVE, q, avail >= q, avail, NULL};
    if (e->held) {
        c->m.reserved += q;
        c->m.reserves++;
    }
    add_line(c,
             "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":\"%s\",\"items\":[{\"sku\":"
             "\"%s\",\"quantity\":%d}],\"locations\":[\"L1\"],\"ttl_ms\":600000}}\n",
             id, order_id, c->sku, q);
}

/* Sends every connection's wave, all before reading any answer, so that
 * requests from all connections meet in stockd; returns the answers. */
static cJSON **exchange_all(int *n_out)
{
    for (int i = 0; i < CONNS; i++)
        client_send(conns[i].fd, conns[i].buf, conns[i].len);
    static cJSON *answers[CONNS * 2 * WAVE];
    int n = 0;
    for (int i = 0; i < CONNS; i++) {
        for (int j = 0; j < conns[i].n_ex; j++) {
            char *line = client_readline(conns[i].fd, 20000);
            assert_non_null(line);
            answers[n] = cJSON_Parse(line);
            assert_non_null(answers[n]);
            free(line);
            n++;
        }
    }
    *n_out = n;
    return answers;
}

/* Checks answer a of the j-th request of connection c against the model;
 * returns the reservation id of a new hold (or NULL). */
static const char *check(struct conn_state *c, int j, const cJSON *a)
{
    const struct expect *e = &c->ex[j];
    assert_int_equal(json_int(a, "id"), j + 1);
    if (e->kind == K_RESERVE && !e->held) {
        if (resp_error_code(a) != 1001)
            fail_msg("%s request %d: want out_of_stock, got %s", c->sku, j + 1, cJSON_PrintUnformatted(a));
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "error"), "data");
        assert_int_equal(json_int(d, "requested"), e->q);
        assert_int_equal(json_int(d, "available"), e->avail);
        return NULL;
    }
    if (resp_error_code(a) != 0)
        fail_msg("%s request %d: want a result, got %s", c->sku, j + 1, cJSON_PrintUnformatted(a));
    const cJSON *r = resp_result(a);
    static const char *const status[] = {"held", "held", "committed", "released", "held"};
    assert_string_equal(json_str(r, "status"), status[e->kind]);
    const cJSON *allocs = cJSON_GetObjectItemCaseSensitive(r, "allocations");
    assert_int_equal(cJSON_GetArraySize(allocs), 1);
    const cJSON *al = cJSON_GetArrayItem(allocs, 0);
    assert_string_equal(json_str(al, "sku"), c->sku);
    assert_string_equal(json_str(al, "location"), "L1");
    assert_int_equal(json_int(al, "quantity"), e->q);
    if (e->kind == K_REPLAY) {
        assert_string_equal(json_str(r, "reservation_id"), e->bound);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "replayed")));
    }
    return e->kind == K_RESERVE ? json_str(r, "reservation_id") : NULL;
}

static void run_waves(int which)
{
    int s = stockd(which);
    int admin = client_connect(H.stockd[s].port);
    for (int c = 0; c < CONNS; c++) {
        struct conn_state *cs = &conns[c];
        memset(cs, 0, sizeof *cs);
        cs->fd = client_connect(H.stockd[s].port);
        snprintf(cs->sku, sizeof cs->sku, "b%d-c%d", which, c);
        client_stock_set(admin, cs->sku, "L1", ON_HAND);
        cs->m.on_hand = ON_HAND;
    }

    /* Wave 1: reserves of 1 to 4 units until the stock runs short; every
     * fifth repeats the order of four requests before (a replay of its
     * hold, or a fresh try when that one was short). */
    for (int c = 0; c < CONNS; c++) {
        struct conn_state *cs = &conns[c];
        for (int i = 0; i < WAVE; i++) {
            int q = 1 + (c * 7 + i * 3) % 4;
            if (i % 5 == 4 && cs->order_hold[i - 4] >= 0) {
                int h = cs->order_hold[i - 4];
                q = cs->holds[h].q;
                cs->ex[cs->n_ex++] = (struct expect){K_REPLAY, q, true, 0, cs->holds[h].id};
                cs->order_hold[i] = -1;
                add_line(cs,
                         "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":\"%s\","
                         "\"items\":[{\"sku\":\"%s\",\"quantity\":%d}],\"locations\":[\"L1\"],"
                         "\"ttl_ms\":600000}}\n",
                         i + 1, cs->orders[i - 4], cs->sku, q);
                continue;
            }
            snprintf(cs->orders[i], sizeof cs->orders[i], "o-b%d-c%d-%d", which, c, i);
            reserve(cs, i + 1, cs->orders[i], q);
            cs->order_hold[i] = -1;
        }
    }
    int n;
    cJSON **answers = exchange_all(&n);
    int k = 0;
    for (int c = 0; c < CONNS; c++) {
        struct conn_state *cs = &conns[c];
        for (int j = 0; j < cs->n_ex; j++, k++) {
            const char *id = check(cs, j, answers[k]);
            if (id != NULL) {
                struct hold *h = &cs->holds[cs->n_holds];
                size_t len = strlen(id);
                assert_true(len < sizeof h->id);
                memcpy(h->id, id, len + 1);
                h->q = cs->ex[j].q;
                cs->order_hold[j] = cs->n_holds++;
            }
            cJSON_Delete(answers[k]);
        }
    }

    /* Wave 2: each hold committed, released or extended, in turn, each
     * followed by a new reserve of 2 (which a release may make room for). */
    for (int c = 0; c < CONNS; c++) {
        struct conn_state *cs = &conns[c];
        int holds = cs->n_holds;
        cs->n_ex = 0;
        cs->len = 0;
        for (int h = 0; h < holds && cs->n_ex + 2 <= WAVE; h++) {
            const struct hold *ho = &cs->holds[h];
            int id = cs->n_ex + 1;
            switch (h % 3) {
            case 0:
                cs->ex[cs->n_ex++] = (struct expect){K_COMMIT, ho->q, true, 0, NULL};
                cs->m.on_hand -= ho->q;
                cs->m.reserved -= ho->q;
                cs->m.commits++;
                add_line(cs, "{\"id\":%d,\"method\":\"commit\",\"params\":{\"reservation_id\":\"%s\"}}\n",
                         id, ho->id);
                break;
            case 1:
                cs->ex[cs->n_ex++] = (struct expect){K_RELEASE, ho->q, true, 0, NULL};
                cs->m.reserved -= ho->q;
                cs->m.releases++;
                add_line(cs, "{\"id\":%d,\"method\":\"release\",\"params\":{\"reservation_id\":\"%s\"}}\n",
                         id, ho->id);
                break;
            default:
                cs->ex[cs->n_ex++] = (struct expect){K_EXTEND, ho->q, true, 0, NULL};
                add_line(cs,
                         "{\"id\":%d,\"method\":\"extend\",\"params\":{\"reservation_id\":\"%s\","
                         "\"ttl_ms\":900000}}\n",
                         id, ho->id);
                break;
            }
            char order[64];
            snprintf(order, sizeof order, "w2-%s-%d", cs->sku, h);
            reserve(cs, cs->n_ex + 1, order, 2);
        }
    }
    answers = exchange_all(&n);
    k = 0;
    for (int c = 0; c < CONNS; c++)
        for (int j = 0; j < conns[c].n_ex; j++, k++) {
            check(&conns[c], j, answers[k]);
            cJSON_Delete(answers[k]);
        }

    /* The books and the ledger of each connection's sku. */
    long long reserves = 0, commits = 0, releases = 0;
    for (int c = 0; c < CONNS; c++) {
        struct conn_state *cs = &conns[c];
        struct row r = stock_row(admin, cs->sku, "L1");
        assert_int_equal(r.on_hand, cs->m.on_hand);
        assert_int_equal(r.reserved, cs->m.reserved);
        assert_int_equal(r.available, cs->m.on_hand - cs->m.reserved);
        reserves += cs->m.reserves;
        commits += cs->m.commits;
        releases += cs->m.releases;
    }
    char prefix[16];
    snprintf(prefix, sizeof prefix, "b%d-", which);
    assert_int_equal(harness_ledger_count("reserve", "sku", prefix, true), reserves);
    assert_int_equal(harness_ledger_count("commit", "sku", prefix, true), commits);
    assert_int_equal(harness_ledger_count("release", "sku", prefix, true), releases);
    cJSON *audit = client_call(admin, "{\"id\":1,\"method\":\"stock.audit\",\"params\":{}}");
    assert_int_equal(resp_error_code(audit), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(audit), "ok")));
    cJSON_Delete(audit);
}

static void test_waves_coalesced(void **state)
{
    (void)state;
    int s = stockd(0);
    double batches = harness_metric(s, "stockd_redis_batches_total");
    double calls = harness_metric(s, "stockd_redis_batched_calls_total");
    run_waves(0);
    batches = harness_metric(s, "stockd_redis_batches_total") - batches;
    calls = harness_metric(s, "stockd_redis_batched_calls_total") - calls;
    /* Every reserve went through a batch, and batches carried many. */
    assert_true(calls >= CONNS * WAVE);
    assert_true(calls > 2 * batches);
    print_message("%.0f reserves in %.0f script calls\n", calls, batches);
}

static void test_waves_one_by_one(void **state)
{
    (void)state;
    int s = stockd(1);
    double batches = harness_metric(s, "stockd_redis_batches_total");
    double calls = harness_metric(s, "stockd_redis_batched_calls_total");
    run_waves(1);
    /* Each reserve was a call of its own. */
    assert_true(harness_metric(s, "stockd_redis_batches_total") - batches ==
                harness_metric(s, "stockd_redis_batched_calls_total") - calls);
}

/* A lone request on an idle service goes out alone, at once. */
static void test_lone_request(void **state)
{
    (void)state;
    int s = stockd(0);
    int fd = client_connect(H.stockd[s].port);
    client_stock_set(fd, "lone", "L1", 5);
    double batches = harness_metric(s, "stockd_redis_batches_total");
    double calls = harness_metric(s, "stockd_redis_batched_calls_total");
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":"
                               "\"lone\",\"quantity\":1}],\"locations\":[\"L1\"]}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    assert_true(harness_metric(s, "stockd_redis_batches_total") - batches == 1);
    assert_true(harness_metric(s, "stockd_redis_batched_calls_total") - calls == 1);
}

/* A batch that gets no answer by its deadline answers 2002 to each of its
 * requests (they may have run). */
static void test_batch_deadline(void **state)
{
    (void)state;
    int s = stockd(2);
    int admin = client_connect(H.stockd[s].port);
    client_stock_set(admin, "late", "L1", 100);
    int fds[10];
    for (int i = 0; i < 10; i++)
        fds[i] = client_connect(H.stockd[s].port);
    harness_signal_redis(&H, SIGSTOP);
    for (int i = 0; i < 10; i++)
        client_sends(fds[i], "{\"id\":7,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":"
                             "\"late\",\"quantity\":1}],\"locations\":[\"L1\"]}}\n");
    for (int i = 0; i < 10; i++) {
        char *line = client_readline(fds[i], 10000);
        assert_non_null(line);
        cJSON *r = cJSON_Parse(line);
        free(line);
        assert_int_equal(resp_error_code(r), 2002);
        cJSON_Delete(r);
    }
    harness_signal_redis(&H, SIGCONT);
    /* They ran late: each held one unit, exactly once. */
    struct row r = stock_row(admin, "late", "L1");
    assert_int_equal(r.reserved, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waves_coalesced),
        cmocka_unit_test(test_waves_one_by_one),
        cmocka_unit_test(test_lone_request),
        cmocka_unit_test(test_batch_deadline),
    };
    return harness_run("batch", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
