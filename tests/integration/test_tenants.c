/* Integration: tenants (--tenants-file) against one redis-server. The
 * sweeper with 1,000 tenants of which a few hold stock releases each hold
 * on time while its Redis calls per second stay bounded (counted from
 * INFO commandstats, not timed); two tenants with the same sku, location
 * and channel names never see or change each other's data, over the API
 * and in the keys Redis holds; auth picks the tenant, a wrong token or
 * another tenant's is 1006 and the connection keeps its tenant; requests
 * are counted per tenant; stockctl's --tenant-token (and its variable)
 * authenticates as the tenant; bad files and exclusive options stop
 * stockd at start with exit 2 and a message that names the line. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#include "buf.h"
#include "scripts.h"
#include "stockctl_util.h"
#include "sweeper.h"

#define SWEEP_MS 250 /* the default --sweep-interval-ms */

static int main_index = -1; /* the stockd of every tenant: t0000, t0001, ... */
static int n_tenants;

static const char *token_of(int t)
{
    static char tok[4][32];
    static int next;
    char *out = tok[next++ % 4];
    snprintf(out, sizeof tok[0], "tok-%04d-%x", t, (unsigned)(t * 2654435761u));
    return out;
}

/* stockd with n_tenants tenants, started on first use. */
static int main_stockd(void)
{
    if (main_index >= 0)
        return main_index;
    /* A memory run looks for memory errors: fewer tenants do. */
    n_tenants = harness_memory_run() ? 100 : 1000;
    struct buf text;
    buf_init(&text);
    buf_appends(&text, "# tenant token\n");
    for (int t = 0; t < n_tenants; t++) {
        char line[80];
        snprintf(line, sizeof line, "t%04d %s\n", t, token_of(t));
        buf_appends(&text, line);
    }
    static char path[512];
    harness_write_file("tenants", buf_cstr(&text), path, sizeof path);
    buf_free(&text);
    const char *args[] = {"--tenants-file", path, NULL};
    main_index = harness_stockd(&(struct stockd_opts){.args = args});
    return main_index;
}

/* A connection of stockd i authenticated as tenant t. */
static int tenant_conn(int i, int t)
{
    int fd = client_connect(H.stockd[i].port);
    cJSON *r = client_callf(fd, "{\"id\":0,\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
                            token_of(t));
    char want[16];
    snprintf(want, sizeof want, "t%04d", t);
    if (resp_error_code(r) != 0 || strcmp(json_str(resp_result(r), "tenant"), want) != 0)
        fail_msg("auth as %s failed", want);
    cJSON_Delete(r);
    return fd;
}

/* The error code of a call (0: a result). */
static int code_of(int fd, const char *request)
{
    cJSON *r = client_call(fd, request);
    int code = resp_error_code(r);
    cJSON_Delete(r);
    return code;
}

static long long evalsha_calls(void)
{
    redisReply *r = harness_redis(&H, "INFO commandstats");
    const char *at = r->str ? strstr(r->str, "cmdstat_evalsha:calls=") : NULL;
    long long n = at ? atoll(at + strlen("cmdstat_evalsha:calls=")) : 0;
    freeReplyObject(r);
    return n;
}

/* When the ledger of tenant t says reservation rid expired (its entry's
 * time), or -1. */
static long long expired_at(int t, const char *rid)
{
    redisReply *r = harness_redis(&H, "XRANGE {t%04d}:events - +", t);
    long long at = -1;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i], *f = e->element[1];
        bool expire = false, ours = false;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            expire |= strcmp(f->element[k]->str, "type") == 0 &&
                      strcmp(f->element[k + 1]->str, "expire") == 0;
            ours |= strcmp(f->element[k]->str, "reservation") == 0 &&
                    strcmp(f->element[k + 1]->str, rid) == 0;
        }
        if (expire && ours)
            at = atoll(e->element[0]->str);
    }
    freeReplyObject(r);
    return at;
}

/* --- the sweeper ------------------------------------------------------------ */

/* expire_due for namespace {n}: with `next`, the reply's last element;
 * without it, the reply must be {OK, 0} (nothing due in those calls). */
static long long due_next(bool ask)
{
    const struct script *sc = &scripts[SCRIPT_EXPIRE_DUE];
    redisReply *r = harness_redis(&H, "EVAL %b 3 {n}:expiry {n}:due {n}:quarantine 100 {n}:holds: "
                                      "{n}:res: %s",
                                  sc->body, sc->len, ask ? "1" : "0");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    long long next = -2;
    if (ask) {
        assert_true(r->elements >= 3 && r->element[r->elements - 1]->type == REDIS_REPLY_INTEGER);
        next = r->element[r->elements - 1]->integer;
    } else {
        assert_int_equal(r->elements, 2);
    }
    freeReplyObject(r);
    return next;
}

/* The contract of `next`: -1 when nothing is held, the ms to the earliest
 * score of the due and expiry indexes, 0 when one has passed; the reply
 * without it is as before. */
static void test_expire_due_next(void **state)
{
    (void)state;
    assert_int_equal(due_next(true), -1);
    due_next(false);
    long long now = harness_redis_time_ms(&H);
    freeReplyObject(harness_redis(&H, "ZADD {n}:due %lld S", now + 60000));
    long long next = due_next(true);
    assert_true(next > 55000 && next <= 60000);
    freeReplyObject(harness_redis(&H, "ZADD {n}:expiry %lld r1", now + 30000));
    next = due_next(true);
    assert_true(next > 25000 && next <= 30000);
    /* Due now, with nothing behind it: the sku leaves the index. */
    freeReplyObject(harness_redis(&H, "ZADD {n}:due %lld S", now - 10));
    next = due_next(true);
    assert_true(next > 25000 && next <= 30000);
    freeReplyObject(harness_redis(&H, "ZADD {n}:expiry %lld r1", now - 10));
    freeReplyObject(harness_redis(&H, "ZADD {n}:holds:T %lld r2:%lld:L:1", now - 5, now - 5));
    freeReplyObject(harness_redis(&H, "HSET {n}:res:r2 status held"));
    freeReplyObject(harness_redis(&H, "ZADD {n}:due %lld T", now - 5));
    const struct script *sc = &scripts[SCRIPT_EXPIRE_DUE];
    redisReply *r = harness_redis(&H, "EVAL %b 3 {n}:expiry {n}:due {n}:quarantine 100 {n}:holds: "
                                      "{n}:res: 1",
                                  sc->body, sc->len);
    assert_int_equal(r->elements, 5); /* OK, gone, r1, r2, next */
    assert_string_equal(r->element[2]->str, "r1");
    assert_string_equal(r->element[3]->str, "r2");
    assert_int_equal(r->element[4]->integer, 0);
    freeReplyObject(r);
}

#define MAX_HOLDS 64

/* A few tenants among many hold stock with deadlines over a few seconds:
 * each hold is released within the sweep interval of its deadline, and the
 * sweeper's script calls meanwhile stay near the idle poll's rate, not
 * one per tenant per interval (which would be 4,000 a second here). */
static void test_sweeper_many_tenants(void **state)
{
    (void)state;
    int i = main_stockd();
    bool small = harness_memory_run();
    int active = small ? 3 : 10, per = small ? 2 : 3;
    struct {
        int t;
        char id[64];
        long long expires_at;
    } holds[MAX_HOLDS];
    int n = 0;
    for (int a = 0; a < active; a++) {
        int t = a * (n_tenants / active) + 7;
        int fd = tenant_conn(i, t);
        client_stock_set(fd, "A", "L", 100);
        for (int k = 0; k < per; k++, n++) {
            cJSON *r = client_callf(fd,
                                    "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":"
                                    "\"A\",\"quantity\":1}],\"locations\":[\"L\"],\"ttl_ms\":%d}}",
                                    1000 + 700 * k + 50 * a);
            assert_int_equal(resp_error_code(r), 0);
            holds[n].t = t;
            snprintf(holds[n].id, sizeof holds[n].id, "%s", json_str(resp_result(r), "reservation_id"));
            holds[n].expires_at = json_int(resp_result(r), "expires_at");
            cJSON_Delete(r);
        }
        close(fd);
    }
    /* The window: nothing but the sweeper calls scripts. */
    long long calls = evalsha_calls(), started = harness_now_ms();
    long long last = 0;
    for (int h = 0; h < n; h++)
        if (holds[h].expires_at > last)
            last = holds[h].expires_at;
    harness_wait_redis_time(&H, last + 3000);
    calls = evalsha_calls() - calls;
    double seconds = (double)(harness_now_ms() - started) / 1000.0;

    /* Idle polls at SWEEP_IDLE_RATE a second at most (one per tenant per
     * SWEEP_IDLE_MS when fewer), and per hold a few calls: expire_due,
     * plan, expire, and the expire_due that finds nothing left. */
    double idle_rate = (double)n_tenants * 1000.0 / (double)sweeper_idle_ms((size_t)n_tenants, SWEEP_MS);
    double bound = seconds * idle_rate * 1.25 + 10.0 * n + 20;
    printf("sweeper: %lld script calls in %.1f s (%.1f/s; bound %.0f) for %d tenants, %d holds\n",
           calls, seconds, (double)calls / seconds, bound, n_tenants, n);
    if ((double)calls > bound)
        fail_msg("the sweeper made %lld script calls in %.1f s, more than %.0f", calls, seconds,
                 bound);

    /* Every hold released once, within the sweep interval of its deadline
     * (valgrind's stockd is slower: a memory run allows a second). */
    long long allowed = small ? 1000 : SWEEP_MS, worst = 0;
    for (int h = 0; h < n; h++) {
        long long at = expired_at(holds[h].t, holds[h].id);
        if (at < 0)
            fail_msg("hold %s of t%04d was not released", holds[h].id, holds[h].t);
        long long late = at - holds[h].expires_at;
        if (late < 0 || late > allowed)
            fail_msg("hold %s of t%04d released %lld ms after its deadline", holds[h].id,
                     holds[h].t, late);
        if (late > worst)
            worst = late;
    }
    printf("sweeper: the latest release came %lld ms after its deadline\n", worst);
}

/* --- isolation ----------------------------------------------------------- */

/* Two tenants make the same names; each sees only its own. */
static void test_isolation(void **state)
{
    (void)state;
    int i = main_stockd();
    int a = tenant_conn(i, 1), b = tenant_conn(i, 2);
    const int fds[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        int fd = fds[k];
        assert_int_equal(code_of(fd, "{\"id\":1,\"method\":\"location.set\",\"params\":{"
                                     "\"location\":\"W\",\"zone\":\"z\"}}"),
                         0);
        assert_int_equal(code_of(fd, "{\"id\":1,\"method\":\"channel.set\",\"params\":{"
                                     "\"channel\":\"web\",\"locations\":[\"W\"]}}"),
                         0);
        client_stock_set(fd, "S", "W", k == 0 ? 10 : 3);
    }
    /* The same order_id in both: two holds, no idempotency conflict. */
    char ids[2][64];
    for (int k = 0; k < 2; k++) {
        cJSON *r = client_callf(fds[k],
                                "{\"id\":1,\"method\":\"reserve\",\"params\":{\"order_id\":\"o-1\","
                                "\"channel\":\"web\",\"items\":[{\"sku\":\"S\",\"quantity\":%d}]}}",
                                k == 0 ? 4 : 2);
        assert_int_equal(resp_error_code(r), 0);
        snprintf(ids[k], sizeof ids[k], "%s", json_str(resp_result(r), "reservation_id"));
        cJSON_Delete(r);
    }
    struct row ra = stock_row(a, "S", "W"), rb = stock_row(b, "S", "W");
    assert_true(ra.on_hand == 10 && ra.reserved == 4 && ra.available == 6);
    assert_true(rb.on_hand == 3 && rb.reserved == 2 && rb.available == 1);
    /* Neither reads, commits or releases the other's reservation. */
    char line[256];
    static const char *const methods[] = {"reservation.get", "commit", "release", "extend"};
    for (size_t m = 0; m < 4; m++) {
        snprintf(line, sizeof line,
                 "{\"id\":1,\"method\":\"%s\",\"params\":{\"reservation_id\":\"%s\"%s}}",
                 methods[m], ids[0], m == 3 ? ",\"ttl_ms\":60000" : "");
        assert_int_equal(code_of(b, line), 1002);
    }
    ra = stock_row(a, "S", "W");
    assert_true(ra.reserved == 4);
    /* Each has one location and its own channel. */
    cJSON *r = client_call(b, "{\"id\":1,\"method\":\"location.list\"}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(resp_result(r),
                                                                          "locations")),
                     1);
    cJSON_Delete(r);
    assert_int_equal(code_of(b, "{\"id\":1,\"method\":\"channel.get\",\"params\":{\"channel\":"
                                "\"web\"}}"),
                     0);
    /* A third tenant sees nothing of theirs. */
    int c = tenant_conn(i, 3);
    struct row rc = stock_row(c, "S", "W");
    assert_true(rc.on_hand == 0 && rc.reserved == 0);
    assert_int_equal(code_of(c, "{\"id\":1,\"method\":\"channel.get\",\"params\":{\"channel\":"
                                "\"web\"}}"),
                     1005);

    /* In Redis: every key carries one of the two tags, both have data, and
     * the stock of each is where its tag says. */
    redisReply *keys = harness_redis(&H, "KEYS *");
    int of[2] = {0, 0};
    for (size_t k = 0; k < keys->elements; k++) {
        const char *key = keys->element[k]->str;
        if (strncmp(key, "{t0001}:", 8) == 0)
            of[0]++;
        else if (strncmp(key, "{t0002}:", 8) == 0)
            of[1]++;
        else
            fail_msg("key %s is of neither tenant", key);
    }
    freeReplyObject(keys);
    assert_true(of[0] >= 5 && of[0] == of[1]);
    redisReply *v = harness_redis(&H, "HGET {t0001}:stock:S W:on_hand");
    assert_string_equal(v->str, "10");
    freeReplyObject(v);
    v = harness_redis(&H, "HGET {t0002}:stock:S W:on_hand");
    assert_string_equal(v->str, "3");
    freeReplyObject(v);
    close(a);
    close(b);
    close(c);
}

/* --- auth ------------------------------------------------------------------ */

static void test_auth(void **state)
{
    (void)state;
    int i = main_stockd();
    int fd = client_connect(H.stockd[i].port);
    assert_int_equal(code_of(fd, "{\"id\":1,\"method\":\"ping\"}"), 0);
    assert_int_equal(code_of(fd, "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"S\"}}"),
                     1006);
    assert_int_equal(code_of(fd, "{\"id\":1,\"method\":\"no.such\"}"), 1006);
    assert_int_equal(code_of(fd, "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"tok\"}}"),
                     1006);
    for (int t = 5; t <= 6; t++) {
        int own = tenant_conn(i, t);
        client_stock_set(own, "S", "W", t);
        close(own);
    }
    cJSON *r = client_callf(fd, "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
                            token_of(5));
    assert_string_equal(json_str(resp_result(r), "tenant"), "t0005");
    cJSON_Delete(r);
    /* Another tenant's token: 1006, and the connection stays t0005's. */
    r = client_callf(fd, "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
                     token_of(6));
    assert_int_equal(resp_error_code(r), 1006);
    cJSON_Delete(r);
    assert_int_equal(stock_row(fd, "S", "W").on_hand, 5);
    assert_int_equal(code_of(fd, "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"x\"}}"),
                     1006);
    assert_int_equal(stock_row(fd, "S", "W").on_hand, 5);
    close(fd);

    /* Not authenticated within --auth-timeout-ms: closed, as with a token. */
    char path[512];
    harness_write_file("two", "a tok-a\nb tok-b\n", path, sizeof path);
    const char *args[] = {"--tenants-file", path, "--auth-timeout-ms", "200", NULL};
    int k = harness_stockd(&(struct stockd_opts){.args = args});
    fd = client_connect(H.stockd[k].port);
    assert_true(client_wait_closed(fd, 5000));
    close(fd);
    harness_signal_stockd(k, SIGTERM);
    int status = harness_reap_stockd(k);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* --- metrics ----------------------------------------------------------------- */

static void test_metrics(void **state)
{
    (void)state;
    int i = main_stockd();
    int fd = tenant_conn(i, 8);
    client_stock_set(fd, "M", "L", 3);
    for (int k = 0; k < 3; k++)
        code_of(fd, "{\"id\":1,\"method\":\"reserve\",\"params\":{\"items\":[{\"sku\":\"M\","
                    "\"quantity\":2}],\"locations\":[\"L\"]}}");
    code_of(fd, "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"wrong\"}}");
    int anon = client_connect(H.stockd[i].port);
    code_of(anon, "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"M\"}}");
    close(anon);
    char *body = NULL;
    assert_int_equal(harness_http_get(H.stockd[i].http_port, "/metrics", &body), 200);
    static const struct {
        const char *series;
        double value;
    } want[] = {
        {"stockd_tenant_requests_total{tenant=\"t0008\",method=\"auth\",code=\"0\"}", 1},
        {"stockd_tenant_requests_total{tenant=\"t0008\",method=\"auth\",code=\"1006\"}", 1},
        {"stockd_tenant_requests_total{tenant=\"t0008\",method=\"stock.set\",code=\"0\"}", 1},
        {"stockd_tenant_requests_total{tenant=\"t0008\",method=\"reserve\",code=\"0\"}", 1},
        {"stockd_tenant_requests_total{tenant=\"t0008\",method=\"reserve\",code=\"1001\"}", 2},
        {"stockd_tenant_requests_total{tenant=\"t0008\",method=\"stock.get\",code=\"1006\"}", -1},
        {"stockd_tenant_requests_total{tenant=\"t0009\",method=\"auth\",code=\"0\"}", -1},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (metric_value(body, want[k].series) != want[k].value)
            fail_msg("%s is %g, not %g", want[k].series, metric_value(body, want[k].series),
                     want[k].value);
    /* A request before auth is no tenant's. */
    assert_null(strstr(body, "method=\"stock.get\",code=\"1006\""));
    free(body);
    close(fd);
}

/* --- stockctl ------------------------------------------------------------------ */

static void test_stockctl(void **state)
{
    (void)state;
    int i = main_stockd(), port = H.stockd[i].port;
    int fd = tenant_conn(i, 11);
    client_stock_set(fd, "K", "L", 11);
    close(fd);
    struct run r = ctl_at(port, "--tenant-token %s --json stock get K", token_of(11));
    expect_status(&r, 0);
    expect_in(&r, r.out, "\"on_hand\":11");
    run_free(&r);
    /* The variable; another tenant sees no stock of K; a flag wins. */
    char env[64];
    snprintf(env, sizeof env, "STOCKCTL_TENANT_TOKEN=%s", token_of(12));
    r = ctl_env_at(env, port, "--json stock get K");
    expect_status(&r, 0);
    expect_in(&r, r.out, "\"locations\":[]");
    run_free(&r);
    r = ctl_env_at(env, port, "--tenant-token %s --json stock get K", token_of(11));
    expect_status(&r, 0);
    expect_in(&r, r.out, "\"on_hand\":11");
    run_free(&r);
    /* A wrong token: stockd refuses (exit 1); both flags: a usage error. */
    r = ctl_at(port, "--tenant-token nope stock get K");
    expect_status(&r, 1);
    expect_in(&r, r.err, "auth: error 1006 unauthorized");
    run_free(&r);
    r = ctl_at(port, "--tenant-token a --token b stock get K");
    expect_status(&r, 2);
    expect_in(&r, r.err, "give --token or --tenant-token, not both");
    run_free(&r);
}

/* --- refused at start ---------------------------------------------------------- */

static void test_bad_files(void **state)
{
    (void)state;
    static const struct {
        const char *text; /* NULL: no such file */
        const char *extra; /* another flag, with the path of a file holding "x" */
        const char *message;
    } cases[] = {
        {NULL, NULL, "--tenants-file: cannot read "},
        {"", NULL, "no tenant in the file"},
        {"# nobody\n", NULL, "no tenant in the file"},
        {"a SECRET-1\nb\n", NULL, ":2: expected '<tenant> <token>'"},
        {"a SECRET-1\nb:c SECRET-2\n", NULL, ":2: the tenant must be an identifier"},
        {"a SECRET-1\nb SECRET-1\n", NULL, ":2: tenant 'b' has the token of tenant 'a' (line 1)"},
        {"a SECRET-1\nb SECRET-2\na SECRET-3\n", NULL, ":3: tenant 'a' is declared already on line 1"},
        {"a SECRET-1\n", "--auth-token-file", "cannot be used with --auth-token-file"},
        {"a SECRET-1\n", "--webhook-url", "cannot be used with --webhook-url"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[512], other[512];
        char name[32];
        snprintf(name, sizeof name, "bad-%zu", c);
        if (cases[c].text != NULL)
            harness_write_file(name, cases[c].text, path, sizeof path);
        else
            snprintf(path, sizeof path, "%s/no-such-file", H.dir);
        harness_write_file("other", "x\n", other, sizeof other);
        const char *args[8] = {"--tenants-file", path};
        int n = 2;
        if (cases[c].extra != NULL && strcmp(cases[c].extra, "--webhook-url") == 0) {
            args[n++] = "--webhook-url";
            args[n++] = "http://127.0.0.1:9/";
            args[n++] = "--webhook-secret-file";
            args[n++] = other;
        } else if (cases[c].extra != NULL) {
            args[n++] = cases[c].extra;
            args[n++] = other;
        }
        args[n] = NULL;
        int i = harness_stockd(&(struct stockd_opts){.args = args, .no_wait = true});
        int status = harness_reap_stockd(i);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
            fail_msg("case %zu: stockd ended with status %d, not exit 2", c, status);
        if (harness_log_count(i, cases[c].message) != 1)
            fail_msg("case %zu: the log does not say '%s'", c, cases[c].message);
        if (harness_log_count(i, "SECRET") != 0)
            fail_msg("case %zu: the log shows a token", c);
    }
}

int main(void)
{
    /* The sweeper's window comes first, while no other stockd runs. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_sweeper_many_tenants, harness_flush_setup),
        cmocka_unit_test_setup(test_expire_due_next, harness_flush_setup),
        cmocka_unit_test_setup(test_isolation, harness_flush_setup),
        cmocka_unit_test_setup(test_auth, harness_flush_setup),
        cmocka_unit_test_setup(test_metrics, harness_flush_setup),
        cmocka_unit_test_setup(test_stockctl, harness_flush_setup),
        cmocka_unit_test(test_bad_files),
    };
    return harness_run("tenants", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
