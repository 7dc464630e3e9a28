/* Integration: tenants on a real Redis Cluster (three masters, three
 * replicas), stockd started with --redis redis+cluster:// and a tenants
 * file of three tenants whose hash tags fall on three different masters.
 * Isolation: the same sku, location, channel and order_id names in two
 * tenants never meet (through the API, and in Redis: every key carries its
 * tenant's tag and lives on its slot's master). Live resharding: a busy
 * tenant's slot moves to another master under load, with holds expiring
 * meanwhile. Master failure: kill -9 of the busy tenant's master, its
 * replica takes over, stockd follows. Under both, every answer is a result
 * or a retryable error, a retry with the same order_id never makes a
 * second hold, and the books balance. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster_load.h"
#include "cluster_util.h"
#include "harness.h"

#define N_TENANTS 3

static struct {
    char name[N_TENANTS][72];
    char token[N_TENANTS][80];
    int plain[2]; /* stockd indexes: two replicas of stockd */
    int durable;  /* a stockd with --durability replica */
} T;
static int stop_failures;

static struct cluster *cl(void)
{
    return H.cluster;
}

static int master_of(int t)
{
    return cl_master_of_slot(cl(), cl_slot_of_tag(T.name[t]));
}

/* Fewer orders in CI's memory runs (harness_memory_run). */
static int scaled(int n, int in_memory_runs)
{
    return harness_memory_run() ? in_memory_runs : n;
}

static int group_setup(void **state)
{
    (void)state;
    harness_start_cluster(&H);
    int masters[CL_NODES_MAX];
    assert_int_equal(cl_masters(cl(), masters), CL_MASTERS);
    static const char *const base[N_TENANTS] = {"acme", "globex", "initech"};
    char text[1024];
    size_t len = (size_t)snprintf(text, sizeof text, "# tenants of the cluster test\n\n");
    for (int t = 0; t < N_TENANTS; t++) {
        cl_tag_on(cl(), base[t], masters[t], T.name[t], sizeof T.name[t]);
        snprintf(T.token[t], sizeof T.token[t], "tok-%d-%s-7f3a9c", t, base[t]);
        len += (size_t)snprintf(text + len, sizeof text - len, "%s %s\n", T.name[t], T.token[t]);
    }
    char path[512];
    harness_write_file("tenants", text, path, sizeof path);
    const char *const args[] = {"--tenants-file", path, "--sweep-interval-ms", "100", NULL};
    T.plain[0] = harness_stockd(&(struct stockd_opts){.args = args});
    T.plain[1] = harness_stockd(&(struct stockd_opts){.args = args});
    const char *const durable[] = {"--tenants-file",
                                   path,
                                   "--sweep-interval-ms",
                                   "100",
                                   "--durability",
                                   "replica",
                                   "--durability-timeout-ms",
                                   "500",
                                   NULL};
    T.durable = harness_stockd(&(struct stockd_opts){.args = durable});
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop_failures = harness_stop(&H);
    return stop_failures;
}

static int port(int i)
{
    return H.stockd[i].port;
}

static int conn_as(int t, int stockd)
{
    int fd = client_connect(port(stockd));
    cJSON *r = client_callf(fd, "{\"id\":0,\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
                            T.token[t]);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    return fd;
}

static cJSON *call(int fd, const char *method, const char *params)
{
    return client_callf(fd, "{\"id\":1,\"method\":\"%s\",\"params\":%s}", method, params);
}

static int code_of(int fd, const char *method, const char *params)
{
    cJSON *r = call(fd, method, params);
    int code = resp_error_code(r);
    cJSON_Delete(r);
    return code;
}

static void audit_ok(int fd)
{
    cJSON *r = call(fd, "stock.audit", "{}");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_result(r), "ok")))
        fail_msg("stock.audit: %s", cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
}

/* --- readiness ------------------------------------------------------------------ */

static void test_cluster_seen(void **state)
{
    (void)state;
    char *body = NULL;
    int status = harness_http_get(H.stockd[T.plain[0]].http_port, "/readyz", &body);
    printf("/readyz: %d %s\n", status, body);
    assert_int_equal(status, 200);
    assert_non_null(strstr(body, "cluster"));
    assert_non_null(strstr(body, "3 masters"));
    assert_non_null(strstr(body, "16384/16384 slots"));
    free(body);
    assert_true(harness_metric(T.plain[0], "stockd_redis_cluster_masters") == 3);
    assert_true(harness_metric(T.plain[0], "stockd_redis_up") == 1);
    assert_true(harness_metric(T.plain[0], "stockd_redis_cluster_slots_covered") == 16384);
    /* Unauthenticated: ping only. */
    int fd = client_connect(port(T.plain[0]));
    cJSON *r = call(fd, "ping", "{}");
    assert_string_equal(json_str(resp_result(r), "redis"), "up");
    cJSON_Delete(r);
    assert_int_equal(code_of(fd, "stock.get", "{\"sku\":\"A\"}"), 1006);
    char wrong[128];
    snprintf(wrong, sizeof wrong, "{\"token\":\"%sx\"}", T.token[0]);
    assert_int_equal(code_of(fd, "auth", wrong), 1006);
    assert_int_equal(code_of(fd, "stock.get", "{\"sku\":\"A\"}"), 1006);
    close(fd);
}

/* --- isolation --------------------------------------------------------------------- */

/* Whether some field value of some entry of the ledger stream key names
 * needle. */
static bool ledger_names(const char *key, const char *needle, int *reserves)
{
    redisReply *x = cl_key_cmd(cl(), key, "XRANGE %s - +", key);
    assert_non_null(x);
    assert_int_equal(x->type, REDIS_REPLY_ARRAY);
    bool found = false;
    *reserves = 0;
    for (size_t i = 0; i < x->elements; i++) {
        const redisReply *f = x->element[i]->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            found |= strstr(f->element[k + 1]->str, needle) != NULL;
            *reserves += strcmp(f->element[k]->str, "type") == 0 &&
                         strcmp(f->element[k + 1]->str, "reserve") == 0;
        }
    }
    freeReplyObject(x);
    return found;
}

/* Every key on every master carries the tag of a tenant, and lives on the
 * master of that tenant's slot; counts[t]: keys of tenant t. */
static void keys_by_tenant(int counts[N_TENANTS])
{
    memset(counts, 0, sizeof(int) * N_TENANTS);
    int masters[CL_NODES_MAX], n = cl_masters(cl(), masters);
    for (int k = 0; k < n; k++) {
        char cursor[32] = "0";
        do {
            redisReply *r = cl_must(cl(), masters[k], "SCAN %s COUNT 1000", cursor);
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            for (size_t i = 0; i < r->element[1]->elements; i++) {
                const char *key = r->element[1]->element[i]->str;
                int t = 0;
                for (; t < N_TENANTS; t++) {
                    size_t len = strlen(T.name[t]);
                    if (key[0] == '{' && strncmp(key + 1, T.name[t], len) == 0 &&
                        strncmp(key + 1 + len, "}:", 2) == 0)
                        break;
                }
                if (t == N_TENANTS)
                    fail_msg("key %s on node %d carries no tenant's tag", key, masters[k]);
                if (master_of(t) != masters[k])
                    fail_msg("key %s on node %d, tenant %s's slot is on node %d", key, masters[k],
                             T.name[t], master_of(t));
                counts[t]++;
            }
            freeReplyObject(r);
        } while (strcmp(cursor, "0") != 0);
    }
}

static void test_isolation(void **state)
{
    (void)state;
    assert_int_not_equal(master_of(0), master_of(1));
    int a = conn_as(0, T.plain[0]), b = conn_as(1, T.plain[1]);
    /* The same names, other data. */
    assert_int_equal(code_of(a, "location.set", "{\"location\":\"wh-1\",\"priority\":1}"), 0);
    assert_int_equal(code_of(b, "location.set", "{\"location\":\"wh-1\",\"priority\":9}"), 0);
    assert_int_equal(code_of(a, "channel.set",
                             "{\"channel\":\"web\",\"locations\":[\"wh-1\","
                             "\"wh-2\"]}"),
                     0);
    assert_int_equal(code_of(b, "channel.set", "{\"channel\":\"web\",\"locations\":[\"wh-2\"]}"),
                     0);
    client_stock_set(a, "A", "wh-1", 10);
    client_stock_set(a, "A", "wh-2", 5);
    client_stock_set(b, "A", "wh-1", 50);
    client_stock_set(b, "A", "wh-2", 70);
    cJSON *ra = call(a, "reserve",
                     "{\"order_id\":\"o-1\",\"items\":[{\"sku\":\"A\",\"quantity\":"
                     "3}],\"channel\":\"web\"}");
    cJSON *rb = call(b, "reserve",
                     "{\"order_id\":\"o-1\",\"items\":[{\"sku\":\"A\",\"quantity\":"
                     "7}],\"channel\":\"web\"}");
    assert_int_equal(resp_error_code(ra), 0);
    assert_int_equal(resp_error_code(rb), 0);
    char ida[64], idb[64];
    snprintf(ida, sizeof ida, "%s", json_str(resp_result(ra), "reservation_id"));
    snprintf(idb, sizeof idb, "%s", json_str(resp_result(rb), "reservation_id"));
    assert_string_not_equal(ida, idb);
    /* Each from its own channel's first location. */
    const cJSON *alloc_a =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(resp_result(ra), "allocations"), 0);
    const cJSON *alloc_b =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(resp_result(rb), "allocations"), 0);
    assert_string_equal(json_str(alloc_a, "location"), "wh-1");
    assert_string_equal(json_str(alloc_b, "location"), "wh-2");
    cJSON_Delete(ra);
    cJSON_Delete(rb);
    struct row r = stock_row(a, "A", "wh-1");
    assert_true(r.on_hand == 10 && r.reserved == 3);
    r = stock_row(a, "A", "wh-2");
    assert_true(r.on_hand == 5 && r.reserved == 0);
    r = stock_row(b, "A", "wh-1");
    assert_true(r.on_hand == 50 && r.reserved == 0);
    r = stock_row(b, "A", "wh-2");
    assert_true(r.on_hand == 70 && r.reserved == 7);
    cJSON *c = call(a, "channel.get", "{\"channel\":\"web\"}");
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(resp_result(c), "locations")), 2);
    cJSON_Delete(c);
    c = call(b, "channel.get", "{\"channel\":\"web\"}");
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(resp_result(c), "locations")), 1);
    cJSON_Delete(c);
    c = call(b, "location.get", "{\"location\":\"wh-1\"}");
    assert_int_equal(json_int(resp_result(c), "priority"), 9);
    cJSON_Delete(c);
    /* A third tenant sees nothing of either. */
    int t3 = conn_as(2, T.plain[0]);
    assert_int_equal(code_of(t3, "channel.get", "{\"channel\":\"web\"}"), 1005);
    assert_int_equal(code_of(t3, "location.get", "{\"location\":\"wh-1\"}"), 1002);
    r = stock_row(t3, "A", "wh-1");
    assert_true(r.on_hand == 0 && r.reserved == 0);
    close(t3);
    /* Neither reaches the other's reservation. */
    char p[160];
    snprintf(p, sizeof p, "{\"reservation_id\":\"%s\"}", ida);
    assert_int_equal(code_of(b, "reservation.get", p), 1002);
    assert_int_equal(code_of(b, "commit", p), 1002);
    assert_int_equal(code_of(b, "release", p), 1002);
    snprintf(p, sizeof p, "{\"reservation_id\":\"%s\",\"ttl_ms\":60000}", ida);
    assert_int_equal(code_of(b, "extend", p), 1002);
    snprintf(p, sizeof p, "{\"reservation_id\":\"%s\"}", idb);
    assert_int_equal(code_of(a, "release", p), 1002);
    /* b's o-1 is its own: a's items are a conflict there, its own a replay. */
    assert_int_equal(code_of(b, "reserve",
                             "{\"order_id\":\"o-1\",\"items\":[{\"sku\":\"A\","
                             "\"quantity\":3}],\"channel\":\"web\"}"),
                     1004);
    snprintf(p, sizeof p, "{\"reservation_id\":\"%s\"}", ida);
    c = call(a, "commit", p);
    assert_string_equal(json_str(resp_result(c), "status"), "committed");
    cJSON_Delete(c);
    r = stock_row(b, "A", "wh-1");
    assert_true(r.on_hand == 50 && r.reserved == 0);
    /* A connection's tenant is fixed by its first auth. */
    char other[128];
    snprintf(other, sizeof other, "{\"token\":\"%s\"}", T.token[1]);
    assert_int_equal(code_of(a, "auth", other), 1006);
    snprintf(other, sizeof other, "{\"token\":\"%s\"}", T.token[0]);
    assert_int_equal(code_of(a, "auth", other), 0);
    r = stock_row(a, "A", "wh-1");
    assert_true(r.on_hand == 7 && r.reserved == 0);
    /* In Redis: each ledger names its own reservation only, and every key
     * is a tenant's, on its master. */
    char key[128];
    int reserves;
    snprintf(key, sizeof key, "{%s}:events", T.name[0]);
    assert_true(ledger_names(key, ida, &reserves));
    assert_false(ledger_names(key, idb, &reserves));
    assert_int_equal(reserves, 1);
    snprintf(key, sizeof key, "{%s}:events", T.name[1]);
    assert_true(ledger_names(key, idb, &reserves));
    assert_false(ledger_names(key, ida, &reserves));
    assert_int_equal(reserves, 1);
    int counts[N_TENANTS];
    keys_by_tenant(counts);
    printf("keys: %s %d, %s %d, %s %d\n", T.name[0], counts[0], T.name[1], counts[1], T.name[2],
           counts[2]);
    assert_true(counts[0] > 0 && counts[1] > 0);
    audit_ok(a);
    audit_ok(b);
    close(a);
    close(b);
}

/* --- live resharding ------------------------------------------------------------------- */

struct reshard {
    int before, after; /* orders done before the move starts, and after it ends */
    int to;
    struct cl_move m;
    int phase, done_at_end;
    long long began, ended;
};

static bool reshard_tick(struct cld_load *l, void *data)
{
    struct reshard *rs = data;
    switch (rs->phase) {
    case 0:
        if (l->done < rs->before)
            return true;
        cl_move_begin(cl(), &rs->m, cl_slot_of_tag(T.name[0]), rs->to, 8);
        rs->began = harness_now_ms();
        rs->phase = 1;
        return true;
    case 1:
        if (cl_move_step(cl(), &rs->m)) {
            rs->ended = harness_now_ms();
            rs->done_at_end = l->done;
            rs->phase = 2;
        }
        return true;
    default:
        return l->done < rs->done_at_end + rs->after;
    }
}

static const char *const redirect_series[] = {
    "stockd_redis_cluster_redirects_total{kind=\"moved\"}",
    "stockd_redis_cluster_redirects_total{kind=\"ask\"}",
    "stockd_redis_cluster_retries_total{reason=\"tryagain\"}",
    "stockd_redis_cluster_retries_total{reason=\"clusterdown\"}"};
#define N_REDIRECT_SERIES (sizeof redirect_series / sizeof redirect_series[0])

/* The redirections and retries the two plain stockds counted, per series
 * into each (may be NULL); returns their sum. */
static double redirects(double each[N_REDIRECT_SERIES])
{
    double n = 0;
    for (size_t k = 0; k < N_REDIRECT_SERIES; k++) {
        double sum = 0;
        for (int s = 0; s < 2; s++) {
            double v = harness_metric(T.plain[s], redirect_series[k]);
            sum += v > 0 ? v : 0;
        }
        if (each)
            each[k] = sum;
        n += sum;
    }
    return n;
}

static void test_reshard_under_load(void **state)
{
    (void)state;
    int from = master_of(0);
    int masters[CL_NODES_MAX], n = cl_masters(cl(), masters);
    struct reshard rs = {.before = scaled(300, 60), .after = scaled(200, 40), .to = -1};
    for (int k = 0; k < n; k++)
        if (masters[k] != from && masters[k] != master_of(1))
            rs.to = masters[k];
    assert_true(rs.to >= 0);
    double each_before[N_REDIRECT_SERIES], each_after[N_REDIRECT_SERIES];
    double redirects_before = redirects(each_before);
    struct cld_load l;
    int ports[2] = {port(T.plain[0]), port(T.plain[1])};
    cld_init(&l, "rs", ports, 2);
    cld_add_tenant(&l, T.name[0], T.token[0], 6); /* busy: its slot moves */
    cld_add_tenant(&l, T.name[1], T.token[1], 2); /* on a master the move does not touch */
    cld_stock(&l);
    cld_run(&l, reshard_tick, &rs, 180000);
    cl_wait_ok(cl(), 20000);
    printf("slot %u of %s moved from node %d to node %d: %d keys in %d chunks, %lld ms; %d "
           "orders; %s: %d results, 2001 %d, 2002 %d, 2003 %d; %s: %d results, 2001 %d, 2002 "
           "%d, 2003 %d; redirects and retries counted: %.0f\n",
           rs.m.slot, T.name[0], from, rs.to, rs.m.keys_moved, rs.m.steps, rs.ended - rs.began,
           l.n_orders, T.name[0], l.tenant[0].results, l.tenant[0].unavailable,
           l.tenant[0].timeouts, l.tenant[0].overloaded, T.name[1], l.tenant[1].results,
           l.tenant[1].unavailable, l.tenant[1].timeouts, l.tenant[1].overloaded,
           redirects(each_after) - redirects_before);
    for (size_t k = 0; k < N_REDIRECT_SERIES; k++)
        printf("  %s +%.0f\n", redirect_series[k], each_after[k] - each_before[k]);
    assert_int_equal(master_of(0), rs.to);
    assert_true(rs.m.steps > 1);
    /* stockd met the move (ASK or TRYAGAIN while it ran, MOVED after). */
    assert_true(redirects(NULL) > redirects_before);
    /* The other tenant's master was not involved: nothing to retry there. */
    assert_int_equal(l.tenant[1].unavailable + l.tenant[1].timeouts + l.tenant[1].overloaded, 0);
    cld_check_books(&l, cl(), port(T.plain[1]), 20000);
    cld_free(&l);
}

/* --- master failure -------------------------------------------------------------------- */

struct failure {
    int before, after;
    unsigned slot;
    int victim, promoted;
    int phase, done_at_promotion;
    long long killed_at, promoted_at;
};

static bool failure_tick(struct cld_load *l, void *data)
{
    struct failure *f = data;
    switch (f->phase) {
    case 0:
        if (l->done < f->before)
            return true;
        f->victim = cl_master_of_slot(cl(), f->slot);
        cl_kill(cl(), f->victim);
        f->killed_at = harness_now_ms();
        f->phase = 1;
        return true;
    case 1: {
        int m = cl_master_of_slot(cl(), f->slot);
        if (m < 0 || m == f->victim || !cl_is_master(cl(), m)) {
            if (harness_now_ms() - f->killed_at > 30000)
                fail_msg("no replica took over from node %d in 30 s", f->victim);
            return true;
        }
        f->promoted = m;
        f->promoted_at = harness_now_ms();
        f->done_at_promotion = l->done;
        /* Back as the new master's replica: --durability replica can be
         * met again. */
        cl_launch(cl(), f->victim);
        f->phase = 2;
        return true;
    }
    default:
        return l->done < f->done_at_promotion + f->after;
    }
}

static void test_master_failure(void **state)
{
    (void)state;
    struct failure f = {
        .before = scaled(200, 40), .after = scaled(200, 40), .slot = cl_slot_of_tag(T.name[0])};
    double refreshes = harness_metric(T.durable, "stockd_redis_cluster_map_refreshes_total");
    struct cld_load l;
    int ports[1] = {port(T.durable)};
    cld_init(&l, "mf", ports, 1);
    cld_add_tenant(&l, T.name[0], T.token[0], 6);
    cld_add_tenant(&l, T.name[1], T.token[1], 2);
    cld_stock(&l);
    cld_run(&l, failure_tick, &f, 180000);
    cl_wait_ok(cl(), 30000);
    printf("node %d killed, node %d master of slot %u after %lld ms, the last retryable "
           "answer %lld ms after the kill; %d orders; %s: %d "
           "results, 2001 %d, 2002 %d, 2003 %d; %s: %d results, 2001 %d, 2002 %d, 2003 %d\n",
           f.victim, f.promoted, f.slot, f.promoted_at - f.killed_at,
           l.tenant[0].last_error_at ? l.tenant[0].last_error_at - f.killed_at : 0, l.n_orders,
           T.name[0], l.tenant[0].results, l.tenant[0].unavailable, l.tenant[0].timeouts,
           l.tenant[0].overloaded, T.name[1], l.tenant[1].results, l.tenant[1].unavailable,
           l.tenant[1].timeouts, l.tenant[1].overloaded);
    assert_int_equal(master_of(0), f.promoted);
    assert_false(cl_is_master(cl(), f.victim));
    assert_true(harness_metric(T.durable, "stockd_redis_cluster_map_refreshes_total") > refreshes);
    harness_wait_redis_up(port(T.durable), 10000);
    /* The killed master left the map (it is a replica now): three masters
     * again, all up. */
    long long deadline = harness_now_ms() + 10000;
    while (harness_metric(T.durable, "stockd_redis_cluster_masters") != 3) {
        if (harness_now_ms() > deadline)
            fail_msg("stockd_redis_cluster_masters is %g, not 3, 10 s after the failover",
                     harness_metric(T.durable, "stockd_redis_cluster_masters"));
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* a probe's pause */
    }
    /* The dead node's store did not leave its mark on the whole. */
    assert_true(harness_metric(T.durable, "stockd_redis_up") == 1);
    cld_check_books(&l, cl(), port(T.durable), 20000);
    cld_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_seen),
        cmocka_unit_test_setup(test_isolation, harness_flush_setup),
        cmocka_unit_test_setup(test_reshard_under_load, harness_flush_setup),
        cmocka_unit_test_setup(test_master_failure, harness_flush_setup),
    };
    int failed = cmocka_run_group_tests_name("cluster", tests, group_setup, group_teardown);
    /* cmocka reports a failed group teardown but does not count it. */
    return failed != 0 || stop_failures != 0;
}
