/* What the load tests of test_webhook.c measure with (see webhook_load.h). */
#include "webhook_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "webhook_util.h"

int cmp_ll(const void *x, const void *y)
{
    long long a = *(const long long *)x, b = *(const long long *)y;
    return (a > b) - (a < b);
}

void reserve_latency(int fd, int n, const char *tag, long long *p50, long long *p99)
{
    long long *us = calloc((size_t)n, sizeof *us);
    for (int k = 0; k < n; k++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cJSON *r = client_callf(fd,
                                "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"order_id\":"
                                "\"%s-%d\",\"items\":[{\"sku\":\"P\",\"quantity\":1}],"
                                "\"locations\":[\"L\"]}}",
                                k, tag, k);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (resp_error_code(r) != 0)
            fail_msg("reserve %s-%d failed: %d", tag, k, resp_error_code(r));
        cJSON_Delete(r);
        us[k] = (t1.tv_sec - t0.tv_sec) * 1000000ll + (t1.tv_nsec - t0.tv_nsec) / 1000;
    }
    qsort(us, (size_t)n, sizeof *us, cmp_ll);
    *p50 = us[n / 2];
    *p99 = us[n * 99 / 100];
    free(us);
}

/* Runs stockd-bench (hot reserves) against stockd i for seconds; returns
 * its reserves per second. Started with popen: the caller works meanwhile
 * and collects it with bench_end. */
static FILE *bench_start(int i, double seconds)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s --port %d -c 16 -d 4 --duration %.1f --workload hot --json",
             STOCKD_BENCH_BIN, H.stockd[i].port, seconds);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    return f;
}

static double bench_end(FILE *f)
{
    char *out = harness_read_all(f);
    int status = pclose(f);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("stockd-bench failed (0x%x): %s", status, out);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    double rps = cJSON_GetObjectItemCaseSensitive(j, "rps")->valuedouble;
    cJSON_Delete(j);
    free(out);
    return rps;
}

void append_burst(int n)
{
    for (int k = 0; k < n; k++)
        redisAppendCommand(H.redis,
                           "XADD %s * type low_stock sku T%d location L available %d threshold "
                           "10 cause reserve reservation r-%d prev %s",
                           STREAM, k % 1000, k % 10, k, "");
    for (int k = 0; k < n; k++) {
        redisReply *r = NULL;
        assert_int_equal(redisGetReply(H.redis, (void **)&r), REDIS_OK);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        freeReplyObject(r);
    }
}

void expect_burst_once(struct receiver *rc, int n)
{
    size_t total = receiver_count(rc), ours = 0;
    char(*ids)[64] = calloc(total, 64);
    for (size_t i = 0; i < total; i++) {
        struct received x = receiver_get(rc, i);
        snprintf(ids[i], 64, "%s", x.event_id);
        ours += strstr(x.body, "\"reservation\":\"r-") != NULL;
        received_free(&x);
    }
    qsort(ids, total, 64, (int (*)(const void *, const void *))strcmp);
    for (size_t i = 1; i < total; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("event %s delivered twice", ids[i]);
    free(ids);
    assert_int_equal(ours, n);
}

/* CPU seconds pid has used so far (user and system), from /proc. */
static double cpu_s(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *p = strrchr(line, ')');
    unsigned long long utime = 0, stime = 0;
    /* After the name: state, then ten fields, then utime and stime. */
    static const char *fmt = "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu";
    if (p == NULL || sscanf(p + 2, fmt, &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

void throughput_run(const char *rate, int n, double bench_s)
{
    struct receiver *rc = receiver_start(); /* 200 at once */
    const char *extra[] = {
        "--webhook-queue", "5000", "--webhook-max-inflight", "64", NULL, NULL, NULL};
    if (rate != NULL) {
        extra[4] = "--webhook-max-rate";
        extra[5] = rate;
    }
    char group[32];
    int s = start_stockd_group(rc, extra, group);
    double c0 = cpu_s(H.stockd[s].pid), r0 = cpu_s(H.redis_pid);
    double alone = bench_end(bench_start(s, bench_s));
    double c1 = cpu_s(H.stockd[s].pid), r1 = cpu_s(H.redis_pid);
    FILE *bench = bench_start(s, bench_s);
    long long t0 = harness_now_ms();
    append_burst(n);
    long long appended = harness_now_ms();
    size_t in_window = 0;
    bool window_read = false;
    double c2 = 0, r2 = 0; /* the CPU used by the end of the bench's window */
    long long window_end = 0;
    long long deadline = t0 + 120000;
    while (receiver_count(rc) < (size_t)n) { /* at least n: ours, maybe the bench's */
        if (!window_read && harness_now_ms() - t0 >= (long long)(bench_s * 1000)) {
            in_window = receiver_count(rc);
            window_read = true;
            c2 = cpu_s(H.stockd[s].pid);
            r2 = cpu_s(H.redis_pid);
            window_end = harness_now_ms();
        }
        if (harness_now_ms() > deadline)
            fail_msg("%zu of %d events delivered", receiver_count(rc), n);
        receiver_wait(rc, (size_t)n, 50);
    }
    wait_nothing_pending(group);
    long long done = harness_now_ms(); /* every event delivered and acknowledged */
    if (!window_read) {
        in_window = (size_t)n;
        long long left = t0 + (long long)(bench_s * 1000) - done;
        if (left > 0) {
            struct timespec ts = {left / 1000, (left % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
        c2 = cpu_s(H.stockd[s].pid);
        r2 = cpu_s(H.redis_pid);
        window_end = harness_now_ms();
    }
    double beside = bench_end(bench);
    expect_burst_once(rc, n);
    /* Without a limit no POST ever waits for a token. With the default the
     * count is only reported: a stockd slowed down enough (valgrind) starts
     * its POSTs no faster than the bucket fills. */
    double waits = metric(s, "stockd_webhook_rate_limited_total");
    if (rate != NULL && strcmp(rate, "0") == 0)
        assert_int_equal(waits, 0);
    double secs = (double)(done - t0) / 1000.0, window = (double)(window_end - t0) / 1000.0;
    printf("throughput, --webhook-max-rate %s: %d events appended in %.2f s and delivered in "
           "%.2f s: %.0f events/s (%zu in the first %.0f s); reserves %.0f/s alone, %.0f/s "
           "beside the delivery (%.0f %%); CPU of a core, alone and beside: stockd %.0f %% and "
           "%.0f %%, Redis %.0f %% and %.0f %%; %.0f waits for a token\n",
           rate != NULL ? rate : "1000 (default)", n, (double)(appended - t0) / 1000.0, secs,
           n / secs, in_window, bench_s, alone, beside, 100.0 * beside / alone,
           100.0 * (c1 - c0) / bench_s, 100.0 * (c2 - c1) / window, 100.0 * (r1 - r0) / bench_s,
           100.0 * (r2 - r1) / window, waits);
    stop_stockd_and_receiver(s, rc);
}
