/* Webhook delivery through real stockd processes, against a real
 * redis-server and a real HTTP receiver (webhook_receiver.c): the signed
 * POST and its body, a retry that carries the same event id, /readyz's
 * warning, a replica killed mid-delivery whose event another replica
 * delivers, the order per (sku, location) across two replicas, reserves
 * beside a receiver that never answers (the p99 with and without it,
 * reported), reserves beside a burst delivered with the default
 * --webhook-max-rate and without a limit (reported), the arrivals a rate
 * allows and the waits it counts, the dead letters after the maximum age,
 * Redis restarted under the deliverer, bad options, and an event of a real
 * reserve. Events are appended by XADD in the stream's format (the scripts
 * append the same), except in the last test. The scripts on their own are
 * test_webhook_scripts.c's. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "webhook_load.h"
#include "webhook_receiver.h"
#include "webhook_util.h"

/* CI's memory runs (valgrind, ASan) send less: they look for memory
 * errors, not for throughput. */
static bool memory_run(void)
{
    return harness_memory_run();
}

/* Waits until the receiver has n requests and the group nothing pending
 * (each delivered entry acknowledged); fails after WAIT_MS. */
static void wait_delivered(struct receiver *rc, size_t n, const char *group)
{
    wait_received(rc, n);
    wait_nothing_pending(group);
}

/* x carries the signature of its body with SECRET. */
static void expect_signed(const struct received *x)
{
    char hex[65], sig[80];
    hmac_hex(x->body, x->body_len, hex);
    snprintf(sig, sizeof sig, "sha256=%s", hex);
    assert_string_equal(x->signature, sig);
}

/* --- the signed POST ---------------------------------------------------------- */

static void test_signed_post(void **state)
{
    (void)state;
    struct receiver *rc = receiver_start();
    char group[32], id[64];
    int s = start_stockd_group(rc, NULL, group);
    xadd(NULL, "low_stock", "SKU-1", "DC/east", 4, 5, "reserve", "R-77", "", id);
    wait_received(rc, 1);
    struct received x = receiver_get(rc, 0);
    assert_string_equal(x.method, "POST");
    assert_string_equal(x.path, "/hooks/stock");
    assert_string_equal(x.content_type, "application/json");
    assert_string_equal(x.event_id, id);
    /* The body, byte for byte, and its signature with the secret. */
    char want[512];
    snprintf(want, sizeof want,
             "{\"id\":\"%s\",\"type\":\"low_stock\",\"sku\":\"SKU-1\",\"location\":\"DC/east\","
             "\"available\":4,\"threshold\":5,\"cause\":\"reserve\",\"reservation\":\"R-77\","
             "\"at\":%lld}",
             id, atoll(id));
    assert_string_equal(x.body, want);
    expect_signed(&x);
    cJSON *j = cJSON_Parse(x.body);
    assert_non_null(j);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "available")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "at")));
    cJSON_Delete(j);
    received_free(&x);
    /* Acknowledged, the chain's cursor moved, and nothing sent twice. */
    wait_nothing_pending(group);
    redisReply *c =
        harness_redis(&H, "HGET {inv}:stock-events:cursor:%s %s", group, "SKU-1\tDC/east");
    assert_int_equal(c->type, REDIS_REPLY_STRING);
    assert_string_equal(c->str, id);
    freeReplyObject(c);
    assert_int_equal(receiver_count(rc), 1);
    assert_int_equal(metric(s, "stockd_webhook_delivered_total{url=\"0\"}"), 1);
    /* The default rate's bucket (100 tokens) had one for the one POST. */
    assert_int_equal(metric(s, "stockd_webhook_rate_limited_total"), 0);
    char info[96];
    snprintf(info, sizeof info, "stockd_webhook_info{url=\"0\",group=\"%s\"}", group);
    assert_int_equal(metric(s, info), 1);
    stop_stockd_and_receiver(s, rc);
}

/* --- a retry carries the same event ------------------------------------------------ */

static void test_retry_same_event(void **state)
{
    (void)state;
    struct receiver *rc = receiver_start();
    static const int script[] = {500, 200};
    receiver_script(rc, script, 2);
    static const char *const extra[] = {"--webhook-backoff-ms", "50", NULL};
    char group[32], id[64];
    int s = start_stockd_group(rc, extra, group);
    xadd(NULL, "out_of_stock", "A", "L1", 0, 0, "commit", "", "", id);
    wait_delivered(rc, 2, group);
    struct received a = receiver_get(rc, 0), b = receiver_get(rc, 1);
    assert_int_equal(a.status, 500);
    assert_int_equal(b.status, 200);
    assert_string_equal(a.event_id, id);
    assert_string_equal(b.event_id, id);
    assert_string_equal(a.body, b.body);
    assert_string_equal(a.signature, b.signature);
    received_free(&a);
    received_free(&b);
    assert_int_equal(receiver_count(rc), 2);
    assert_int_equal(metric(s, "stockd_webhook_retried_total{url=\"0\"}"), 1);
    assert_int_equal(metric(s, "stockd_webhook_delivered_total{url=\"0\"}"), 1);
    assert_int_equal(metric(s, "stockd_webhook_consecutive_failures{url=\"0\"}"), 0);
    stop_stockd_and_receiver(s, rc);
}

/* --- /readyz: a warning while failing, never not ready ------------------------------- */

static bool readyz_warns(int s, int *status)
{
    char *body = NULL;
    *status = harness_http_get(H.stockd[s].http_port, "/readyz", &body);
    bool warns = body != NULL && strstr(body, "warning: webhook 0") != NULL &&
                 strstr(body, "is failing") != NULL;
    free(body);
    return warns;
}

static void test_readyz_warns_while_failing(void **state)
{
    (void)state;
    struct receiver *rc = receiver_start();
    receiver_default(rc, 503);
    static const char *const extra[] = {"--webhook-backoff-ms", "20", "--webhook-backoff-max-ms",
                                        "100", NULL};
    char group[32], id[64];
    int s = start_stockd_group(rc, extra, group);
    int status;
    assert_false(readyz_warns(s, &status));
    assert_int_equal(status, 200);
    xadd(NULL, "low_stock", "W", "L", 1, 2, "adjust", "", "", id);
    long long deadline = harness_now_ms() + WAIT_MS;
    while (!readyz_warns(s, &status))
        if (harness_now_ms() > deadline)
            fail_msg("/readyz never warned of the failing receiver");
    assert_int_equal(status, 200); /* ready all the same */
    assert_true(receiver_count(rc) >= 3);
    receiver_default(rc, 204);
    wait_nothing_pending(group);
    deadline = harness_now_ms() + WAIT_MS;
    while (readyz_warns(s, &status))
        if (harness_now_ms() > deadline)
            fail_msg("/readyz still warns after a delivery");
    assert_int_equal(status, 200);
    stop_stockd_and_receiver(s, rc);
}

/* --- a replica killed mid-delivery ---------------------------------------------------- */

static pid_t consumer_pid(const char *group)
{
    redisReply *r = harness_redis(&H, "XPENDING %s %s - + 10", STREAM, group);
    pid_t pid = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        const char *name = r->element[0]->element[1]->str;
        const char *dash = strrchr(name, '-');
        pid = dash ? (pid_t)atol(dash + 1) : 0;
    }
    freeReplyObject(r);
    return pid;
}

static void test_replica_killed_mid_delivery(void **state)
{
    (void)state;
    struct receiver *rc = receiver_start();
    static const int script[] = {RECEIVER_HOLD};
    receiver_script(rc, script, 1); /* the first POST is never answered */
    static const char *const extra[] = {"--webhook-lease-ms", "1000", NULL};
    char group[32], id[64];
    int a = start_stockd(rc, extra, false);
    int b = start_stockd_group(rc, extra, group);
    xadd(NULL, "back_in_stock", "K", "L9", 3, 0, "release", "R-9", "", id);
    wait_received(rc, 1);
    pid_t owner = consumer_pid(group);
    int victim = H.stockd[a].pid == owner ? a : H.stockd[b].pid == owner ? b : -1;
    if (victim < 0)
        fail_msg("the pending entry's consumer (pid %d) is neither stockd", (int)owner);
    int survivor = victim == a ? b : a;
    harness_signal_stockd(victim, SIGKILL);
    assert_true(WIFSIGNALED(harness_reap_stockd(victim)));
    /* The survivor takes the silent replica's entry over after the lease. */
    wait_received(rc, 2);
    struct received first = receiver_get(rc, 0), again = receiver_get(rc, 1);
    assert_string_equal(first.event_id, id);
    assert_string_equal(again.event_id, id);
    assert_string_equal(first.body, again.body);
    assert_int_equal(again.status, 200);
    received_free(&first);
    received_free(&again);
    wait_nothing_pending(group);
    assert_int_equal(metric(survivor, "stockd_webhook_delivered_total{url=\"0\"}"), 1);
    printf("kill -9 mid-delivery: the other replica delivered %s\n", id);
    stop_stockd(survivor);
    receiver_release(rc);
    receiver_stop(rc);
}

/* --- order per (sku, location) across two replicas ------------------------------------- */

#define CHAINS 8

static void test_order_across_replicas(void **state)
{
    (void)state;
    int n_events = memory_run() ? 160 : 1200;
    struct receiver *rc = receiver_start();
    receiver_every(rc, 5, 500); /* one request in five fails: retries in the middle */
    static const char *const extra[] = {"--webhook-queue",
                                        "20",
                                        "--webhook-backoff-ms",
                                        "10",
                                        "--webhook-backoff-max-ms",
                                        "50",
                                        NULL};
    char group[32];
    int a = start_stockd(rc, extra, false);
    int b = start_stockd_group(rc, extra, group);
    char(*ids)[64] = calloc((size_t)n_events, 64);
    int *chain_of = calloc((size_t)n_events, sizeof *chain_of);
    char last[CHAINS][64];
    memset(last, 0, sizeof last);
    unsigned seed = 12345;
    for (int k = 0; k < n_events; k++) {
        seed = seed * 1103515245u + 12345u;
        int c = (int)((seed >> 16) % CHAINS);
        char sku[16], loc[16];
        snprintf(sku, sizeof sku, "S%d", c % 4);
        snprintf(loc, sizeof loc, "L%d", c / 4);
        xadd(NULL, k % 2 ? "out_of_stock" : "back_in_stock", sku, loc, k % 2 ? 0 : 1, 0, "reserve",
             "", last[c], ids[k]);
        snprintf(last[c], sizeof last[c], "%s", ids[k]);
        chain_of[k] = c;
    }
    /* Every event delivered (by the metrics: the group has nothing pending
     * before its first read as well), then acknowledged. */
    long long deadline = harness_now_ms() + WAIT_MS;
    while (metric(a, "stockd_webhook_delivered_total{url=\"0\"}") +
               metric(b, "stockd_webhook_delivered_total{url=\"0\"}") <
           n_events)
        if (harness_now_ms() > deadline)
            fail_msg("not every event was delivered");
    wait_nothing_pending(group);
    /* Every event answered 2xx once, and per chain in stream order. */
    size_t n = receiver_count(rc);
    int *next = calloc(CHAINS, sizeof *next); /* per chain: how many it has delivered */
    int delivered = 0;
    for (size_t i = 0; i < n; i++) {
        struct received x = receiver_get(rc, i);
        if (x.status == 200) {
            int k = 0;
            while (k < n_events && strcmp(ids[k], x.event_id) != 0)
                k++;
            if (k == n_events)
                fail_msg("an unknown event id %s", x.event_id);
            int c = chain_of[k];
            /* The chain's next event in stream order must be this one. */
            int seen = 0, want = -1;
            for (int j = 0; j < n_events && want < 0; j++)
                if (chain_of[j] == c && seen++ == next[c])
                    want = j;
            if (want != k)
                fail_msg("chain %d: %s delivered where %s was due", c, x.event_id,
                         want >= 0 ? ids[want] : "nothing");
            next[c]++;
            delivered++;
        }
        received_free(&x);
    }
    assert_int_equal(delivered, n_events);
    double da = metric(a, "stockd_webhook_delivered_total{url=\"0\"}");
    double db = metric(b, "stockd_webhook_delivered_total{url=\"0\"}");
    printf("order: %d events on %d chains, %zu POSTs, replicas delivered %.0f and %.0f\n", n_events,
           CHAINS, n, da, db);
    assert_int_equal((int)(da + db), n_events);
    assert_true(da > 0 && db > 0); /* both replicas took part */
    free(ids);
    free(chain_of);
    free(next);
    stop_stockd(a);
    stop_stockd_and_receiver(b, rc);
}

/* --- reserves beside a receiver that never answers -------------------------------------- */

static void test_dead_receiver_never_delays_reserves(void **state)
{
    (void)state;
    int n = memory_run() ? 300 : 3000;
    int events = memory_run() ? 300 : 5000;
    struct receiver *rc = receiver_start();
    receiver_default(rc, RECEIVER_HOLD); /* accepts, reads, never answers */
    static const char *const extra[] = {"--webhook-timeout-ms",
                                        "600000",
                                        "--webhook-queue",
                                        "200",
                                        "--webhook-max-inflight",
                                        "16",
                                        NULL};
    char group[32], id[64];
    int s = start_stockd_group(rc, extra, group);
    int fd = client_connect(H.stockd[s].port);
    client_stock_set(fd, "P", "L", 1000000000);
    long long before50, before99, with50, with99;
    reserve_latency(fd, n, "before", &before50, &before99);
    for (int k = 0; k < events; k++)
        xadd(NULL, "low_stock", "Q", "L", k, 10, "reserve", "", "", id);
    /* The receiver holds every place in flight, and the queue is full. */
    long long deadline = harness_now_ms() + WAIT_MS;
    while (metric(s, "stockd_webhook_in_flight{url=\"0\"}") != 16 ||
           metric(s, "stockd_webhook_queued{url=\"0\"}") != 200)
        if (harness_now_ms() > deadline)
            fail_msg("the deliverer never filled its places: %.0f in flight, %.0f queued",
                     metric(s, "stockd_webhook_in_flight{url=\"0\"}"),
                     metric(s, "stockd_webhook_queued{url=\"0\"}"));
    reserve_latency(fd, n, "with", &with50, &with99);
    assert_int_equal(receiver_count(rc), 16); /* nothing beyond the in-flight limit */
    assert_int_equal(metric(s, "stockd_webhook_in_flight{url=\"0\"}"), 16);
    printf("reserve latency over %d sequential reserves: p50 %lld us, p99 %lld us without "
           "webhook traffic; p50 %lld us, p99 %lld us beside a receiver that never answers "
           "(16 POSTs hanging, 200 events queued, %d appended)\n",
           n, before50, before99, with50, with99, events);
    close(fd);
    stop_stockd(s);
    receiver_release(rc);
    receiver_stop(rc);
}

/* --- throughput, with reserves beside it ------------------------------------------------ */

/* Reserves beside a burst of events delivered to a receiver that answers
 * at once: with the default --webhook-max-rate (enough events to outlast
 * the bench), and without a limit. The figures are reported, not
 * asserted (they depend on the machine); asserted are every event arriving
 * once, and no POST waiting for a token without a limit. */
static void test_throughput(void **state)
{
    (void)state;
    double bench_s = memory_run() ? 2 : 4;
    throughput_run(NULL, memory_run() ? 1000 : 6000, bench_s);
    throughput_run("0", memory_run() ? 1000 : 50000, bench_s);
}

/* --- the rate limit ------------------------------------------------------------------ */

/* --webhook-max-rate 50 (a burst of 5): 300 events appended at once reach
 * the receiver no faster than the bucket allows, and the POSTs that had to
 * wait for a token are counted. The bound is a lower one,
 * counted from the append (before the first POST can start, so a slow POST
 * can never fail it): the k-th arrival comes no earlier than (k - 5) / 50 s
 * after it, less 5 % and 2 ms for the clocks (libuv's may be a coarse one,
 * a ms behind; the receiver's is read in whole ms). */
static void test_rate_limit(void **state)
{
    (void)state;
    enum { RATE = 50, BURST = 5, EVENTS = 300 };
    struct receiver *rc = receiver_start();
    static const char *const extra[] = {"--webhook-max-rate", "50", NULL};
    char group[32], id[64];
    int s = start_stockd_group(rc, extra, group);
    /* One event first: a connection is open, and the bucket full again
     * (a token back every 20 ms) before the burst. */
    xadd(NULL, "low_stock", "W", "L", 1, 2, "adjust", "", "", id);
    wait_delivered(rc, 1, group);
    assert_int_equal(metric(s, "stockd_webhook_rate_limited_total"), 0); /* a token was there */
    struct timespec pause = {0, 200 * 1000000};
    nanosleep(&pause, NULL);
    long long t0 = harness_now_ms();
    append_burst(EVENTS);
    wait_delivered(rc, 1 + EVENTS, group);
    assert_int_equal(receiver_count(rc), 1 + EVENTS);
    expect_burst_once(rc, EVENTS);
    /* POSTs waited for tokens, each counted once however many pumps and
     * wake-ups its wait took: every POST was answered 200 at once, so no
     * event was ready twice, and there are at most as many waits as events. */
    double waits = metric(s, "stockd_webhook_rate_limited_total");
    if (waits < 1 || waits > EVENTS)
        fail_msg("%.0f waits for a token counted for %d events at %d/s", waits, EVENTS, RATE);
    long long *at = calloc(EVENTS, sizeof *at);
    for (size_t i = 1; i <= EVENTS; i++) {
        struct received x = receiver_get(rc, i);
        at[i - 1] = x.at_ms;
        assert_int_equal(x.status, 200);
        received_free(&x);
    }
    qsort(at, EVENTS, sizeof *at, cmp_ll);
    double tightest = 1e9;
    for (int k = 1; k <= EVENTS; k++) {
        double bound = 0.95 * (k - BURST) * 1000.0 / RATE - 2;
        double got = (double)(at[k - 1] - t0);
        if (got < bound)
            fail_msg("arrival %d came %.0f ms after the append, before the %.0f ms the rate "
                     "allows",
                     k, got, bound);
        if (k > BURST && got - bound < tightest)
            tightest = got - bound;
    }
    double span = (double)(at[EVENTS - 1] - at[0]) / 1000.0;
    printf("rate limit: %d events at --webhook-max-rate %d delivered in %.2f s from the first "
           "arrival (%.1f/s after the burst of %d); the closest to the bound was %.0f ms above "
           "it; %.0f waits for a token\n",
           EVENTS, RATE, span, (EVENTS - BURST) / span, BURST, tightest, waits);
    free(at);
    stop_stockd_and_receiver(s, rc);
}

/* --- dead letters ------------------------------------------------------------------- */

static void test_dead_letter_after_max_age(void **state)
{
    (void)state;
    struct receiver *rc = receiver_start();
    receiver_default(rc, 500);
    static const char *const extra[] = {"--webhook-max-age-s",
                                        "1",
                                        "--webhook-backoff-ms",
                                        "50",
                                        "--webhook-backoff-max-ms",
                                        "200",
                                        NULL};
    char group[32], old_id[64], fresh[64], explicit_id[64];
    int s = start_stockd_group(rc, extra, group);
    /* An event a minute old when it arrives: given up before any attempt. */
    snprintf(explicit_id, sizeof explicit_id, "%lld-1", harness_redis_time_ms(&H) - 60000);
    xadd(explicit_id, "low_stock", "D", "L", 2, 3, "adjust", "", "", old_id);
    /* A fresh one, refused for a second: given up after its attempts. */
    xadd(NULL, "out_of_stock", "D", "L", 0, 0, "reserve", "R-5", old_id, fresh);
    long long deadline = harness_now_ms() + WAIT_MS;
    for (;;) {
        redisReply *len = harness_redis(&H, "XLEN %s", DEAD);
        long long n = len->integer;
        freeReplyObject(len);
        if (n == 2)
            break;
        if (harness_now_ms() > deadline)
            fail_msg("%lld dead letters, expected 2", n);
    }
    wait_nothing_pending(group);
    redisReply *r = harness_redis(&H, "XRANGE %s - +", DEAD);
    assert_int_equal(r->elements, 2);
    const redisReply *d0 = r->element[0]->element[1], *d1 = r->element[1]->element[1];
    assert_string_equal(field(d0, "id"), old_id);
    assert_string_equal(field(d0, "type"), "low_stock");
    assert_string_equal(field(d0, "sku"), "D");
    assert_string_equal(field(d0, "location"), "L");
    assert_string_equal(field(d0, "available"), "2");
    assert_string_equal(field(d0, "threshold"), "3");
    assert_string_equal(field(d0, "cause"), "adjust");
    assert_string_equal(field(d0, "url"), webhook_url);
    assert_string_equal(field(d0, "attempts"), "0");
    assert_non_null(strstr(field(d0, "last_error"), "max-age"));
    assert_string_equal(field(d1, "id"), fresh);
    assert_string_equal(field(d1, "reservation"), "R-5");
    assert_string_equal(field(d1, "prev"), old_id);
    assert_true(atoi(field(d1, "attempts")) >= 1);
    assert_string_equal(field(d1, "last_error"), "HTTP 500");
    freeReplyObject(r);
    /* The old one was never POSTed; the fresh one was, and only it. */
    size_t n = receiver_count(rc);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        struct received x = receiver_get(rc, i);
        assert_string_equal(x.event_id, fresh);
        received_free(&x);
    }
    assert_int_equal(metric(s, "stockd_webhook_dead_lettered_total{url=\"0\"}"), 2);
    printf("dead letters: %s given up unsent, %s after %zu attempts\n", old_id, fresh, n);
    stop_stockd_and_receiver(s, rc);
}

/* --- Redis restarted under the deliverer ---------------------------------------------- */

/* Waits until stockd s's series reads want; fails saying why after WAIT_MS. */
static void wait_metric(int s, const char *series, double want, const char *why)
{
    long long deadline = harness_now_ms() + WAIT_MS;
    while (metric(s, series) != want)
        if (harness_now_ms() > deadline)
            fail_msg("%s", why);
}

static void test_redis_restart(void **state)
{
    (void)state;
    struct receiver *rc = receiver_start();
    char group[32], id[64];
    int s = start_stockd_group(rc, NULL, group);
    wait_metric(s, "stockd_webhook_redis_up", 1, "the deliverer's connections never came up");
    harness_kill_redis(&H);
    wait_metric(s, "stockd_webhook_redis_up", 0, "the deliverer never saw Redis go");
    harness_restart_redis(&H);
    /* A fresh Redis: the group comes back (created anew), then events flow. */
    wait_group(group);
    xadd(NULL, "back_in_stock", "R", "L", 5, 0, "adjust", "", "", id);
    wait_received(rc, 1);
    struct received x = receiver_get(rc, 0);
    assert_string_equal(x.event_id, id);
    received_free(&x);
    wait_nothing_pending(group);
    harness_wait_redis_up(H.stockd[s].port, WAIT_MS);
    stop_stockd_and_receiver(s, rc);
}

/* --- bad options: a clear message, exit 2 ------------------------------------------------ */

static void test_bad_options(void **state)
{
    (void)state;
    char empty[512], missing[600];
    harness_write_file("empty-secret", "\n", empty, sizeof empty);
    snprintf(missing, sizeof missing, "%s/no-such-secret", H.dir);
    const struct {
        const char *args[8];
        const char *says;
    } cases[] = {
        {{"--webhook-url", "http://127.0.0.1:1/x", NULL},
         "--webhook-url needs --webhook-secret-file"},
        {{"--webhook-url", "http://127.0.0.1:1/x", "--webhook-secret-file", missing, NULL},
         "cannot read --webhook-secret-file"},
        {{"--webhook-url", "http://127.0.0.1:1/x", "--webhook-secret-file", empty, NULL},
         "--webhook-secret-file must hold one secret"},
        {{"--webhook-url", "gopher://h/x", "--webhook-secret-file", empty, NULL},
         "webhook URL 1 is not an http:// or https:// URL"},
        {{"--webhook-timeout-ms", "0", NULL},
         "--webhook-timeout-ms must be a whole number from 100 to 600000"},
        {{"--webhook-backoff-ms", "100", "--webhook-backoff-max-ms", "10", NULL},
         "must not be below --webhook-backoff-ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int k = harness_stockd(&(struct stockd_opts){.args = cases[i].args, .no_wait = true});
        int status = harness_reap_stockd(k);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
            fail_msg("case %zu: exit status 0x%x, expected 2", i, status);
        if (harness_log_count(k, cases[i].says) != 1)
            fail_msg("case %zu: the log lacks '%s'", i, cases[i].says);
    }
}

/* --- an event of a real reserve ------------------------------------------------------------- */

static void test_reserve_crossing_is_posted(void **state)
{
    (void)state;
    struct receiver *rc = receiver_start();
    char group[32];
    int s = start_stockd_group(rc, NULL, group);
    int fd = client_connect(H.stockd[s].port);
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"E\","
                               "\"location\":\"L\",\"on_hand\":10,\"low_stock_threshold\":5}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    r = client_call(fd, "{\"id\":2,\"method\":\"reserve\",\"params\":{\"order_id\":\"e-1\","
                        "\"items\":[{\"sku\":\"E\",\"quantity\":6}],\"locations\":[\"L\"]}}");
    assert_int_equal(resp_error_code(r), 0);
    char rid[128];
    snprintf(rid, sizeof rid, "%s", json_str(resp_result(r), "reservation_id"));
    cJSON_Delete(r);
    /* Setting 10 units brought the location back in stock; the reserve of
     * 6 took it to 4, through its threshold of 5. */
    wait_delivered(rc, 2, group);
    struct received x = receiver_get(rc, 0);
    cJSON *j = cJSON_Parse(x.body);
    assert_non_null(j);
    assert_string_equal(json_str(j, "type"), "back_in_stock");
    assert_string_equal(json_str(j, "cause"), "set");
    assert_int_equal(json_int(j, "available"), 10);
    cJSON_Delete(j);
    received_free(&x);
    x = receiver_get(rc, 1);
    j = cJSON_Parse(x.body);
    assert_non_null(j);
    assert_string_equal(json_str(j, "type"), "low_stock");
    assert_string_equal(json_str(j, "sku"), "E");
    assert_string_equal(json_str(j, "location"), "L");
    assert_int_equal(json_int(j, "available"), 4);
    assert_int_equal(json_int(j, "threshold"), 5);
    assert_string_equal(json_str(j, "cause"), "reserve");
    assert_string_equal(json_str(j, "reservation"), rid);
    assert_string_equal(json_str(j, "id"), x.event_id);
    expect_signed(&x);
    cJSON_Delete(j);
    received_free(&x);
    assert_int_equal(receiver_count(rc), 2); /* one event per crossing */
    close(fd);
    stop_stockd_and_receiver(s, rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_signed_post, harness_flush_setup),
        cmocka_unit_test_setup(test_retry_same_event, harness_flush_setup),
        cmocka_unit_test_setup(test_readyz_warns_while_failing, harness_flush_setup),
        cmocka_unit_test_setup(test_replica_killed_mid_delivery, harness_flush_setup),
        cmocka_unit_test_setup(test_order_across_replicas, harness_flush_setup),
        cmocka_unit_test_setup(test_dead_receiver_never_delays_reserves, harness_flush_setup),
        cmocka_unit_test_setup(test_throughput, harness_flush_setup),
        cmocka_unit_test_setup(test_rate_limit, harness_flush_setup),
        cmocka_unit_test_setup(test_dead_letter_after_max_age, harness_flush_setup),
        cmocka_unit_test_setup(test_redis_restart, harness_flush_setup),
        cmocka_unit_test_setup(test_bad_options, harness_flush_setup),
        cmocka_unit_test_setup(test_reserve_crossing_is_posted, harness_flush_setup),
    };
    return harness_run("webhook", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
