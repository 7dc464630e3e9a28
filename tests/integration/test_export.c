/* Integration: stockd-export against a real redis-server (with AOF, so that
 * a restart keeps the ledger), a real stockd and a real PostgreSQL started
 * here. 100,000 movements (some made by stockd, the rest written in the
 * ledger's format straight to the stream) land in the table exactly, row
 * by row, with the export throughput and stockd's reserve throughput in
 * the same run; kill -9 at five random points and restarts leave the table
 * equal to the stream (no gap, no duplicate); PostgreSQL and Redis stopped
 * under it: it waits, says so once, keeps /metrics up, and resumes;
 * SIGTERM exits 0, also while PostgreSQL is away; entries trimmed before
 * they were exported are reported as gaps with their ids (bounds, or exact
 * ids for entries trimmed while pending), counted, and the rest goes on.
 * CI's memory runs (harness_memory_run: valgrind, ASan): a tenth of the
 * volume (they look for memory errors). STOCKD_TEST_SEED: the kill points
 * and the entries (default: the time, printed). */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export_pg.h"
#include "export_proc.h"
#include "harness.h"

static struct export_pg PG;
static int stop_failures;
static unsigned seed;

static bool memory_run(void)
{
    return harness_memory_run();
}

static long long scaled(long long n)
{
    return memory_run() ? n / 10 : n;
}

static long long xlen(void)
{
    redisReply *r = harness_redis(&H, "XLEN %s", EXPORT_LEDGER_KEY);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static long long table_rows(PGconn *c, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return export_pg_number(c, sql);
}

/* The id of the stream's first (first) or last entry. */
static void edge_id(bool first, char *out, size_t n)
{
    redisReply *r = harness_redis(&H, first ? "XRANGE %s - + COUNT 1" : "XREVRANGE %s + - COUNT 1",
                                  EXPORT_LEDGER_KEY);
    assert_int_equal(r->elements, 1);
    snprintf(out, n, "%s", r->element[0]->element[0]->str);
    freeReplyObject(r);
}

/* Waits until the exporter has looked and found nothing left: its counters
 * then include every batch before (each turn updates them before the
 * next one reads). */
static void wait_settled(const struct export_proc *p)
{
    long long deadline = harness_now_ms() + 10000;
    while (export_metric(p, "stockd_export_lag_entries") != 0) {
        if (harness_now_ms() > deadline)
            fail_msg("stockd_export_lag_entries never came to 0 (see %s)", p->log_path);
        poll(NULL, 0, 10);
    }
}

static bool exited_zero(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A request with the params written with ' for " (for readability), which
 * must succeed. */
static void call_ok(int fd, const char *method, const char *params, char *out_id)
{
    char p[2048], line[2300];
    snprintf(p, sizeof p, "%s", params);
    for (char *c = p; *c; c++)
        if (*c == '\'')
            *c = '"';
    snprintf(line, sizeof line, "{\"id\":1,\"method\":\"%s\",\"params\":%s}", method, p);
    cJSON *r = client_call(fd, line);
    if (resp_error_code(r) != 0)
        fail_msg("%s refused: %s", method, line);
    if (out_id)
        snprintf(out_id, 64, "%s", json_str(resp_result(r), "reservation_id"));
    cJSON_Delete(r);
}

/* Movements of every kind stockd makes, through stockd. */
static void stockd_movements(void)
{
    int fd = harness_client(0);
    char a[64], b[64];
    call_ok(fd, "stock.set", "{'sku':'MUG','location':'wh-east','on_hand':100}", NULL);
    call_ok(fd, "stock.set", "{'sku':'TEE','location':'wh-east','on_hand':50}", NULL);
    call_ok(fd, "channel.set", "{'channel':'web','locations':['wh-east']}", NULL);
    call_ok(fd, "stock.adjust",
            "{'sku':'MUG','location':'wh-east','delta':-3,'reason':'r\xc3\xa9\x63\x65ption PO-88'}",
            NULL);
    call_ok(fd, "reserve",
            "{'order_id':'o-1','channel':'web','items':[{'sku':'MUG','quantity':2},"
            "{'sku':'TEE','quantity':1}]}",
            a);
    call_ok(fd, "reserve",
            "{'order_id':'o-2','channel':'web','items':[{'sku':'TEE','quantity':4}]}", b);
    char params[200];
    snprintf(params, sizeof params, "{'reservation_id':'%s'}", a);
    call_ok(fd, "commit", params, NULL);
    snprintf(params, sizeof params, "{'reservation_id':'%s','reason':'customer cancelled'}", b);
    call_ok(fd, "release", params, NULL);
    snprintf(params, sizeof params, "{'reservation_id':'%s'}", a);
    call_ok(fd, "release", params, NULL); /* a restock */
}

/* stockd-bench's reserves per second against stockd 0 for secs, on its own
 * catalogue (prefix: the bench checks its books against it). */
static double reserve_throughput(double secs, const char *prefix)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "%s --port %d -c 16 -d 8 --duration %.1f --workload hot --skus 50 --prefix %s --json",
             STOCKD_BENCH_BIN, H.stockd[0].port, secs, prefix);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *out = harness_read_all(f);
    int st = pclose(f);
    const char *rps = strstr(out, "\"rps\":");
    double v = rps ? atof(rps + 6) : -1;
    if (!exited_zero(st) || v <= 0)
        fail_msg("stockd-bench: status 0x%x: %s", st, out);
    free(out);
    return v;
}

/* --- 100,000 movements ------------------------------------------------------ */

static void test_every_movement_lands_once(void **state)
{
    (void)state;
    PGconn *c = export_pg_connect(&PG);
    stockd_movements();
    assert_true(xlen() >= 8);
    /* stockd's reserves with no exporter running, for comparison. */
    double alone = reserve_throughput(memory_run() ? 0.5 : 2.0, "alone");
    long long from_stockd = xlen();
    long long want = scaled(100000);
    if (memory_run() && from_stockd >= want)
        want = from_stockd + want / 10; /* an ASan stockd may pass a tenth alone */
    assert_true(from_stockd < want);
    export_add_entries(want - from_stockd, seed);
    long long total = xlen();
    assert_int_equal(total, want);

    struct export_proc p;
    long long t0 = harness_now_ms();
    export_start(&p, &PG, "volume", NULL);
    export_wait_caught_up(120000);
    long long export_ms = harness_now_ms() - t0;
    wait_settled(&p);
    assert_int_equal(table_rows(c, "volume"), total);
    assert_int_equal(export_compare(c, "volume", true), total);
    assert_int_equal(export_metric(&p, "stockd_export_rows_total"), total);
    assert_int_equal(export_metric(&p, "stockd_export_rows_duplicate_total"), 0);
    assert_int_equal(export_metric(&p, "stockd_export_gaps_total"), 0);
    assert_int_equal(export_metric(&p, "stockd_export_errors_total{kind=\"malformed\"}"), 0);
    assert_true(export_metric(&p, "stockd_export_batches_total") >= (double)total / 1000);
    char last[64];
    edge_id(false, last, sizeof last);
    assert_int_equal(export_metric(&p, "stockd_export_lag_seconds"), 0);
    assert_int_equal(export_metric(&p, "stockd_export_last_exported_timestamp_seconds"),
                     atoll(last) / 1000);

    /* stockd's reserves while the exporter follows them live. */
    double reserves = reserve_throughput(memory_run() ? 0.5 : 2.0, "live");
    long long t1 = harness_now_ms();
    export_wait_caught_up(60000);
    long long live = xlen() - total;
    long long caught_up_ms = harness_now_ms() - t1;
    assert_true(live > 0);
    assert_int_equal(export_compare(c, "volume", true), total + live);
    int st = export_stop(&p);
    assert_true(exited_zero(st));
    printf("export: %lld rows in %lld ms = %.0f rows/s (batches of 1000, COPY then INSERT ... "
           "SELECT); stockd reserves (stockd-bench hot, 16 connections x 8): %.0f/s with the "
           "exporter following its %lld ledger entries live (%lld ms behind at the end), %.0f/s "
           "before the exporter ran\n",
           total, export_ms, total * 1000.0 / (double)(export_ms ? export_ms : 1), reserves, live,
           caught_up_ms, alone);
    PQfinish(c);
}

/* --- kill -9 ------------------------------------------------------------------ */

static void test_kill_9_at_random_points(void **state)
{
    (void)state;
    PGconn *c = export_pg_connect(&PG);
    long long first = scaled(40000);
    export_add_entries(first, seed + 1);
    srand(seed);
    long long pending_rewritten = 0;
    long long last_count = 0;
    /* INSERT ... VALUES here: the other tests run the default, COPY. */
    static const char *const args[] = {"--insert", "values", NULL};
    for (int kill_no = 0; kill_no < 5; kill_no++) {
        struct export_proc p;
        export_start(&p, &PG, "crash", args);
        /* Kill it at a random point ahead of where it is, while it works. */
        long long total = xlen();
        long long ahead = total - last_count - 1;
        long long target = last_count + 1 + (ahead > 0 ? rand() % ahead : 0);
        long long deadline = harness_now_ms() + 60000;
        long long now_rows = 0;
        /* A failed first connection leaves no table yet: wait for it. */
        while (export_pg_number(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'crash'") ==
                   0 ||
               (now_rows = table_rows(c, "crash")) < target) {
            if (harness_now_ms() > deadline)
                fail_msg("the exporter never reached %lld rows", target);
            poll(NULL, 0, 1); /* a probe's pace: the exporter needs the cores */
        }
        export_kill(&p);
        char *line = export_log_line(&p, "pending entries of");
        if (line) {
            pending_rewritten += atoll(strstr(line, "wrote ") + 6);
            free(line);
        }
        last_count = table_rows(c, "crash");
        printf("kill -9 number %d at %lld rows (target %lld of %lld)\n", kill_no + 1, now_rows,
               target, total);
        /* The ledger grows while the exporter is dead. */
        export_add_entries(scaled(2000), seed + 10 + (unsigned)kill_no);
    }
    struct export_proc p;
    export_start(&p, &PG, "crash", args);
    export_wait_caught_up(120000);
    wait_settled(&p);
    long long total = xlen();
    assert_int_equal(export_compare(c, "crash", true), total);
    assert_int_equal(export_metric(&p, "stockd_export_gaps_total"), 0);
    char *line = export_log_line(&p, "pending entries of");
    if (line) {
        pending_rewritten += atoll(strstr(line, "wrote ") + 6);
        free(line);
    }
    redisReply *pend = harness_redis(&H, "XPENDING %s %s", EXPORT_LEDGER_KEY, EXPORT_GROUP);
    assert_int_equal(pend->element[0]->integer, 0);
    freeReplyObject(pend);
    assert_true(exited_zero(export_stop(&p)));
    printf("kill -9: %lld entries, table equal to the stream after 5 kills; %lld pending "
           "entries written again at restarts (seed %u)\n",
           total, pending_rewritten, seed);
    PQfinish(c);
}

/* --- PostgreSQL and Redis away ------------------------------------------------- */

static void test_waits_for_postgresql_and_redis(void **state)
{
    (void)state;
    PGconn *c = export_pg_connect(&PG);
    export_add_entries(scaled(30000), seed + 2);
    struct export_proc p;
    export_start(&p, &PG, "restart", NULL);
    export_wait_metric(&p, "stockd_export_rows_total", (double)scaled(3000), 60000);
    PQfinish(c);

    /* PostgreSQL crashes mid-export. */
    export_pg_stop(&PG, true);
    export_add_entries(scaled(2000), seed + 3);
    export_wait_metric(&p, "stockd_export_errors_total{kind=\"postgresql\"}", 4, 30000);
    assert_int_equal(export_metric(&p, "stockd_export_postgresql_up"), 0);
    assert_int_equal(export_metric(&p, "stockd_export_redis_up"), 1);
    /* The lag keeps being read from Redis while it waits. */
    export_wait_metric(&p, "stockd_export_lag_entries", (double)scaled(2000), 10000);
    assert_true(export_metric(&p, "stockd_export_lag_seconds") > 0);
    char *body = NULL;
    assert_int_equal(harness_http_get(p.http_port, "/readyz", &body), 503);
    assert_non_null(strstr(body, "postgresql down"));
    free(body);
    assert_int_equal(harness_http_get(p.http_port, "/healthz", NULL), 200);
    /* Said once, however many attempts failed. */
    assert_int_equal(export_log_count(&p, "postgresql: "), 2); /* connected, then down */
    assert_int_equal(export_log_count(&p, "retrying with backoff"), 1);
    export_pg_start(&PG);
    export_wait_caught_up(60000);
    c = export_pg_connect(&PG);
    long long total = xlen();
    assert_int_equal(export_compare(c, "restart", true), total);
    export_wait_log(&p, "postgresql: working again", 10000);
    assert_int_equal(harness_http_get(p.http_port, "/readyz", NULL), 200);
    PQfinish(c);

    /* Redis dies, and comes back with its AOF. */
    harness_kill_redis(&H);
    export_wait_metric(&p, "stockd_export_errors_total{kind=\"redis\"}", 4, 30000);
    assert_int_equal(export_metric(&p, "stockd_export_redis_up"), 0);
    assert_int_equal(export_log_count(&p, "redis: "), 2); /* connected, then failing */
    harness_restart_redis(&H);
    export_add_entries(scaled(1000), seed + 4);
    export_wait_caught_up(60000);
    export_wait_log(&p, "redis: working again", 10000);
    c = export_pg_connect(&PG);
    total = xlen();
    assert_int_equal(export_compare(c, "restart", true), total);
    assert_int_equal(export_metric(&p, "stockd_export_gaps_total"), 0);
    PQfinish(c);

    /* SIGTERM while PostgreSQL is away: no batch in hand, exit 0 at once. */
    export_pg_stop(&PG, false);
    export_add_entries(10, seed + 5);
    double errors = export_metric(&p, "stockd_export_errors_total{kind=\"postgresql\"}");
    export_wait_metric(&p, "stockd_export_errors_total{kind=\"postgresql\"}", errors + 1, 30000);
    long long t0 = harness_now_ms();
    int st = export_stop(&p);
    long long stop_ms = harness_now_ms() - t0;
    assert_true(exited_zero(st));
    export_pg_start(&PG);
    printf("postgresql and redis restarts: %lld entries, table equal to the stream; SIGTERM "
           "while postgresql was down: exit 0 in %lld ms\n",
           total, stop_ms);
}

/* --- gaps ---------------------------------------------------------------------- */

static void test_trimmed_entries_are_reported(void **state)
{
    (void)state;
    PGconn *c = export_pg_connect(&PG);
    export_add_entries(3000, seed + 6);
    struct export_proc p;
    export_start(&p, &PG, "gap", NULL);
    export_wait_caught_up(60000);
    assert_true(exited_zero(export_stop(&p)));
    char exported[64], kept[64], text[256];
    edge_id(false, exported, sizeof exported);

    /* 5,000 more while it is stopped, and the ledger trimmed to 1,000:
     * 4,000 never exported. */
    export_add_entries(5000, seed + 7);
    freeReplyObject(harness_redis(&H, "XTRIM %s MAXLEN = 1000", EXPORT_LEDGER_KEY));
    edge_id(true, kept, sizeof kept);
    export_start(&p, &PG, "gap", NULL);
    export_wait_log(&p, "ledger gap: 4000 entries", 30000);
    char *line = export_log_line(&p, "ledger gap: 4000 entries");
    snprintf(text, sizeof text, "after %s and before %s", exported, kept);
    assert_non_null(strstr(line, text));
    assert_non_null(strstr(line, " error ")); /* loudly */
    free(line);
    export_wait_caught_up(60000);
    wait_settled(&p);
    assert_int_equal(export_log_count(&p, "ledger gap"), 1);
    assert_int_equal(export_metric(&p, "stockd_export_gaps_total"), 1);
    assert_int_equal(export_metric(&p, "stockd_export_gap_entries_total"), 4000);
    /* The rest went on, and the group's count was corrected. */
    assert_int_equal(export_compare(c, "gap", false), 1000);
    assert_int_equal(table_rows(c, "gap"), 3000 + 1000);
    assert_true(exited_zero(export_stop(&p)));

    /* Entries read and not yet written when the exporter died (pending),
     * then trimmed: their ids are known exactly. And entries pending for
     * another consumer name are taken over and written. */
    export_add_entries(10, seed + 8);
    redisReply *r = harness_redis(&H, "XREADGROUP GROUP %s export COUNT 4 STREAMS %s >",
                                  EXPORT_GROUP, EXPORT_LEDGER_KEY);
    const redisReply *got = r->element[0]->element[1];
    char lost_first[64], lost_last[64];
    snprintf(lost_first, sizeof lost_first, "%s", got->element[0]->element[0]->str);
    snprintf(lost_last, sizeof lost_last, "%s", got->element[3]->element[0]->str);
    freeReplyObject(r);
    freeReplyObject(harness_redis(&H, "XREADGROUP GROUP %s old-name COUNT 2 STREAMS %s >",
                                  EXPORT_GROUP, EXPORT_LEDGER_KEY));
    freeReplyObject(harness_redis(&H, "XTRIM %s MAXLEN = 6", EXPORT_LEDGER_KEY));
    export_start(&p, &PG, "gap", NULL);
    export_wait_caught_up(30000);
    wait_settled(&p);
    export_wait_log(&p, "trimmed while pending", 10000);
    line = export_log_line(&p, "trimmed while pending");
    snprintf(text, sizeof text, "4 entries of %s were trimmed while pending", EXPORT_LEDGER_KEY);
    assert_non_null(strstr(line, text));
    snprintf(text, sizeof text, "first %s, last %s (exact ids)", lost_first, lost_last);
    assert_non_null(strstr(line, text));
    free(line);
    assert_int_equal(export_metric(&p, "stockd_export_gaps_total"), 1);
    assert_int_equal(export_metric(&p, "stockd_export_gap_entries_total"), 4);
    assert_int_equal(export_compare(c, "gap", false), 6);
    assert_int_equal(table_rows(c, "gap"), 4000 + 6);
    assert_true(exited_zero(export_stop(&p)));
    PQfinish(c);
}

/* A ledger trimmed before there was any group, and entries stockd never
 * writes: reported, counted, and written with NULL where unusable. */
static void test_trimmed_before_the_group_and_odd_entries(void **state)
{
    (void)state;
    PGconn *c = export_pg_connect(&PG);
    export_add_entries(100, seed + 9);
    freeReplyObject(harness_redis(&H, "XTRIM %s MAXLEN = 40", EXPORT_LEDGER_KEY));
    char first[64];
    edge_id(true, first, sizeof first);
    redisReply *r = harness_redis(&H,
                                  "XADD %s * type adjust sku MUG location wh-east quantity 12abc "
                                  "reservation %s reason %b colour red",
                                  EXPORT_LEDGER_KEY, "", "bad \xff byte", (size_t)10);
    char odd[64];
    snprintf(odd, sizeof odd, "%s", r->str);
    freeReplyObject(r);
    struct export_proc p;
    export_start(&p, &PG, "odd", NULL);
    export_wait_caught_up(30000);
    wait_settled(&p);
    char *line = export_log_line(&p, "trimmed before the export group existed");
    assert_non_null(line);
    char text[160];
    snprintf(text, sizeof text, "ledger gap: 60 entries");
    assert_non_null(strstr(line, text));
    snprintf(text, sizeof text, "before %s", first);
    assert_non_null(strstr(line, text));
    free(line);
    assert_int_equal(export_metric(&p, "stockd_export_gap_entries_total"), 60);
    assert_int_equal(table_rows(c, "odd"), 41);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM odd WHERE stream_id = '%s' AND type = 'adjust' AND sku = 'MUG' "
             "AND quantity IS NULL AND reservation IS NULL AND reason IS NULL",
             odd);
    assert_int_equal(export_pg_number(c, sql), 1);
    assert_int_equal(export_metric(&p, "stockd_export_errors_total{kind=\"malformed\"}"), 1);
    snprintf(text, sizeof text, "ledger entry %s", odd);
    assert_int_equal(export_log_count(&p, text), 1);
    assert_true(exited_zero(export_stop(&p)));
    PQfinish(c);
}

/* --- the group --------------------------------------------------------------- */

static void stop_everything(void)
{
    export_kill_all();
    export_pg_stop(&PG, true);
}

static int group_setup(void **state)
{
    (void)state;
    harness_start_redis(&H);
    harness_stockd(NULL);
    export_pg_init(&PG);
    export_pg_start(&PG);
    /* After the harness's own: runs before it, while the dir is there. */
    atexit(stop_everything);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    export_kill_all();
    export_pg_stop(&PG, false);
    stop_failures = harness_stop(&H);
    return stop_failures;
}

static int test_setup(void **state)
{
    (void)state;
    harness_flush(&H);
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    export_kill_all();
    if (PG.pid == 0) /* a test that failed while PostgreSQL was stopped */
        export_pg_start(&PG);
    return 0;
}

int main(void)
{
    const char *s = getenv("STOCKD_TEST_SEED");
    seed = s && strcmp(s, "random") != 0 ? (unsigned)atoll(s) : (unsigned)time(NULL);
    printf("export: seed %u (STOCKD_TEST_SEED=%u replays it)\n", seed, seed);
    /* The ledger must survive a Redis restart. */
    static const char *const redis_args[] = {"--appendonly", "yes", "--appendfsync", "always",
                                             NULL};
    harness_redis_args = redis_args;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_movement_lands_once, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_kill_9_at_random_points, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_waits_for_postgresql_and_redis, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_trimmed_entries_are_reported, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_trimmed_before_the_group_and_odd_entries, test_setup,
                                        test_teardown),
    };
    int failed = _cmocka_run_group_tests("export", tests, sizeof tests / sizeof tests[0],
                                         group_setup, group_teardown);
    return failed != 0 || stop_failures != 0;
}
