/* Integration: the limits that keep one client from hurting the others,
 * and auth. Each test starts the stockd it needs, with small limits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "buf.h" /* xmalloc */

static const char *const get_req = "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}";

static int start(const char *const *args)
{
    return H.stockd[harness_stockd(&(struct stockd_opts){.args = args})].port;
}

static int code_of_line(int fd)
{
    char *line = client_readline(fd, 10000);
    assert_non_null(line);
    cJSON *r = cJSON_Parse(line);
    free(line);
    assert_non_null(r);
    int code = resp_error_code(r);
    cJSON_Delete(r);
    return code;
}

static void test_auth(void **state)
{
    (void)state;
    char path[512];
    /* With an editor's trailing newline. */
    harness_write_file("token", "correct-horse-battery\n", path, sizeof path);
    const char *args[] = {"--auth-token-file", path, NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = client_connect(H.stockd[i].port);

    /* ping needs no auth; everything else does. */
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"ping\"}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 1006);
    assert_string_equal(resp_error_reason(r), "unauthorized");
    cJSON_Delete(r);
    /* A wrong token, then one that is a prefix of the right one. */
    static const char *const wrong[] = {"nope", "correct-horse-batter", "correct-horse-battery "};
    for (size_t k = 0; k < 3; k++) {
        r = client_callf(fd, "{\"id\":2,\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
                         wrong[k]);
        assert_int_equal(resp_error_code(r), 1006);
        cJSON_Delete(r);
        r = client_call(fd, get_req);
        assert_int_equal(resp_error_code(r), 1006);
        cJSON_Delete(r);
    }
    r = client_call(fd, "{\"id\":3,\"method\":\"auth\",\"params\":{\"token\":"
                        "\"correct-horse-battery\"}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    /* Auth belongs to the connection. */
    int other = client_connect(H.stockd[i].port);
    r = client_call(other, get_req);
    assert_int_equal(resp_error_code(r), 1006);
    cJSON_Delete(r);
    close(other);
    close(fd);

    /* Failures are counted, and logged without the token: the first at
     * once, the repeats as one summary line per window (so a client that
     * hammers auth cannot flood the log). */
    FILE *log = fopen(H.stockd[i].log_path, "r");
    assert_non_null(log);
    char line[1024];
    int failures = 0;
    while (fgets(line, sizeof line, log)) {
        assert_null(strstr(line, "correct-horse"));
        assert_null(strstr(line, "nope"));
        failures += strstr(line, "wrong token") != NULL;
    }
    fclose(log);
    assert_int_equal(failures, 1);
    assert_int_equal(harness_metric(i, "stockd_auth_failures_total"), 3);
}

static void test_connection_cap(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-connections", "5", NULL};
    int s = harness_stockd(&(struct stockd_opts){.args = args});
    int port = H.stockd[s].port;
    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = client_connect(port);
        cJSON *r = client_call(fds[i], "{\"id\":1,\"method\":\"ping\"}");
        assert_int_equal(resp_error_code(r), 0);
        cJSON_Delete(r);
    }
    int extra = client_connect(port);
    assert_int_equal(code_of_line(extra), 2003);
    assert_true(client_wait_closed(extra, 5000));
    close(extra);
    /* A place frees up when a connection goes: once stockd has seen it go
     * (by its own count; a client that reconnects as fast as it is refused
     * can keep stockd accepting before it reads that close), the next
     * connection is served. */
    close(fds[0]);
    long long give_up = harness_now_ms() + 10000;
    while (harness_metric(s, "stockd_client_connections") != 4 &&
           harness_now_ms() < give_up)
        poll(NULL, 0, 10);
    assert_true(harness_metric(s, "stockd_client_connections") == 4);
    int fd = client_connect(port);
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"ping\"}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    close(fd);
    for (int i = 1; i < 5; i++)
        close(fds[i]);
}

/* A connection's pipeline is bounded by back-pressure, never by refusal:
 * with Redis stopped nothing finishes, so exactly --max-pipeline requests
 * are read and sent (they time out, 2002), the rest wait unread in the
 * socket until those are answered, and then wait for the reconnect within
 * their own deadline (2001: never sent). None is refused with 2003, and
 * all are answered in order, the ping last. */
static void test_pipeline_back_pressure(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-pipeline", "4", "--request-timeout-ms", "500", NULL};
    int port = start(args);
    int fd = client_connect(port);
    harness_signal_redis(&H, SIGSTOP);
    for (int i = 0; i < 10; i++)
        client_sends(fd, "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}\n");
    client_sends(fd, "{\"id\":1,\"method\":\"ping\"}\n");
    for (int i = 0; i < 10; i++) {
        int code = code_of_line(fd);
        if (i < 4)
            assert_int_equal(code, 2002);
        else if (code != 2001 && code != 2002)
            fail_msg("request %d answered %d, expected 2001 or 2002 (never 2003)", i, code);
    }
    assert_int_equal(code_of_line(fd), 0); /* ping is never refused */
    harness_signal_redis(&H, SIGCONT);
    harness_wait_redis_up(port, 15000);
    close(fd);
}

/* 5,000 reserves pipelined at once on one connection with a pipeline of
 * 16: every one is held, answered in order, and stockd's memory does not
 * grow with the depth of the client's pipeline. */
static void test_deep_pipeline_bounded(void **state)
{
    (void)state;
    enum { N = 5000 };
    static const char *const args[] = {"--max-pipeline", "16", NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = client_connect(H.stockd[i].port);
    client_stock_set(fd, "DEEP", "L", N);
    size_t cap = (size_t)N * 160, len = 0;
    char *all = xmalloc(cap);
    for (int k = 1; k <= N; k++)
        len += (size_t)snprintf(all + len, cap - len,
                                "{\"id\":%d,\"method\":\"reserve\",\"params\":{\"items\":[{"
                                "\"sku\":\"DEEP\",\"quantity\":1}],\"locations\":[\"L\"]}}\n",
                                k);
    long before = harness_rss_kb(i);
    char **lines = client_exchange(fd, all, len, N, 120000);
    long after = harness_rss_kb(i);
    free(all);
    for (int k = 1; k <= N; k++) {
        cJSON *r = cJSON_Parse(lines[k - 1]);
        assert_non_null(r);
        if (json_int(r, "id") != k || resp_error_code(r) != 0)
            fail_msg("answer %d: %s", k, lines[k - 1]);
        cJSON_Delete(r);
    }
    client_free_lines(lines, N);
    struct row row = stock_row(fd, "DEEP", "L");
    assert_int_equal(row.reserved, N);
    assert_int_equal(row.available, 0);
    printf("%d pipelined reserves: stockd RSS %ld -> %ld kB\n", N, before, after);
    /* Under ASan (quarantine) or valgrind RSS says nothing about what is
     * live; the release build shows it. */
#if !defined(__SANITIZE_ADDRESS__)
    if (getenv("STOCKD_VALGRIND") == NULL)
        assert_true(before > 0 && after - before < 16 * 1024);
#endif
    close(fd);
}

static void test_process_inflight_cap(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-inflight", "6", "--request-timeout-ms", "500", NULL};
    int port = start(args);
    int a = client_connect(port), b = client_connect(port);
    harness_signal_redis(&H, SIGSTOP);
    for (int i = 0; i < 5; i++)
        client_sends(a, "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}\n");
    /* a's five are in (the first read their line): wait for one answer
     * from b's ping, which follows them, before b sends its own. */
    cJSON *r = client_call(b, "{\"id\":9,\"method\":\"ping\"}");
    cJSON_Delete(r);
    for (int i = 0; i < 5; i++)
        client_sends(b, "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}\n");
    for (int i = 0; i < 5; i++)
        assert_int_equal(code_of_line(a), 2002);
    for (int i = 0; i < 5; i++)
        assert_int_equal(code_of_line(b), i < 1 ? 2002 : 2003);
    harness_signal_redis(&H, SIGCONT);
    harness_wait_redis_up(port, 15000);
    close(a);
    close(b);
}

/* A client that sends and never reads is not read from either: stockd's
 * memory stays bounded and the others are served. */
static void test_client_that_does_not_read(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-output-bytes", "65536", NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int port = H.stockd[i].port;
    long before = harness_rss_kb(i);
    int hog = client_connect(port);
    int small = 4096;
    setsockopt(hog, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    fcntl(hog, F_SETFL, fcntl(hog, F_GETFL) | O_NONBLOCK);
    const char *req = "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"A\"}}\n";
    size_t len = strlen(req);
    /* Send until the kernel buffers are full: stockd stopped reading. How
     * long stockd takes to answer what it read first depends on the
     * machine (a sanitizer build under load takes many seconds), so the
     * only bound is one against a hang. */
    long long sent = 0, give_up = harness_now_ms() + 120000;
    int stuck = 0;
    while (stuck < 50 && harness_now_ms() < give_up) {
        ssize_t n = send(hog, req, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = hog, .events = POLLOUT};
            stuck += poll(&p, 1, 20) == 0;
            continue;
        }
        assert_true(n > 0);
        sent += n;
        stuck = 0;
    }
    assert_int_equal(stuck, 50);
    /* Others are served promptly meanwhile. */
    int fd = client_connect(port);
    long long t0 = harness_now_ms();
    cJSON *r = client_call(fd, get_req);
    assert_int_equal(resp_error_code(r), 0);
    assert_true(harness_now_ms() - t0 < 1000);
    cJSON_Delete(r);
    long after = harness_rss_kb(i);
    printf("client that does not read: %lld bytes sent, stockd RSS %ld -> %ld kB\n", sent, before,
           after);
    /* Under ASan (quarantine) or valgrind RSS says nothing; the stalled
     * sender above already shows that stockd stopped reading. */
#if !defined(__SANITIZE_ADDRESS__)
    if (getenv("STOCKD_VALGRIND") == NULL)
        assert_true(after - before < 32 * 1024);
#endif
    close(fd);
    close(hog);
}

/* Large answers asked for and never read: 600 stock.get lines of a sku at
 * 1,000 locations (about 100 kB each) in one write. stockd holds at most
 * about the output budget plus an answer, not 60 MB; the answers all come,
 * in order, once the client reads. */
static void test_large_answers_stay_in_budget(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-output-bytes", "1048576", NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    int fd = client_connect(H.stockd[i].port);
    for (int l = 0; l < 1000; l += 100) {
        char cmd[4096];
        int n = snprintf(cmd, sizeof cmd, "HSET {inv}:stock:WIDE");
        for (int k = l; k < l + 100; k++)
            n += snprintf(cmd + n, sizeof cmd - (size_t)n, " LOCATION-%d:on_hand 12345", k);
        redisReply *x = redisCommand(H.redis, cmd);
        assert_true(x != NULL && x->type == REDIS_REPLY_INTEGER);
        freeReplyObject(x);
    }
    long before = harness_rss_kb(i);
    int hog = client_connect(H.stockd[i].port);
    static char lines[600 * 64];
    size_t len = 0;
    for (int k = 0; k < 600; k++)
        len += (size_t)snprintf(lines + len, sizeof lines - len,
                                "{\"id\":%d,\"method\":\"stock.get\",\"params\":{\"sku\":\"WIDE\"}}\n",
                                k);
    assert_int_equal(send(hog, lines, len, MSG_NOSIGNAL), (ssize_t)len);
    /* stockd answers what the budget allows, then waits: its request count
     * stops growing (well below 600), which a later call on another
     * connection, answered after those, shows. */
    long most = 0;
    double served = -1, now_served;
    long long until = harness_now_ms() + 10000;
    for (;;) {
        cJSON_Delete(client_call(fd, "{\"id\":1,\"method\":\"ping\"}"));
        long rss = harness_rss_kb(i);
        most = rss > most ? rss : most;
        now_served = harness_metric(i, "stockd_requests_total{method=\"stock.get\",code=\"0\",reason=\"ok\"}");
        if (now_served == served && now_served > 0)
            break;
        served = now_served;
        if (harness_now_ms() > until)
            fail_msg("stock.get answers kept coming: %.0f", now_served);
    }
    printf("large answers unread: %.0f of 600 answered, stockd RSS %ld -> %ld kB\n", served, before,
           most);
    assert_true(served < 600);
#if !defined(__SANITIZE_ADDRESS__)
    if (getenv("STOCKD_VALGRIND") == NULL)
        assert_true(most - before < 8 * 1024);
#endif
    /* Reading resumes them: all 600, in order. */
    for (int k = 0; k < 600; k++) {
        char *line = client_readline(hog, 30000);
        if (line == NULL)
            fail_msg("answer %d did not come", k);
        cJSON *r = cJSON_Parse(line);
        assert_int_equal(json_int(r, "id"), k);
        assert_int_equal(resp_error_code(r), 0);
        cJSON_Delete(r);
        free(line);
    }
    close(hog);
    close(fd);
}

/* With auth on, a connection must authenticate in time, pings or not; a
 * client that never takes its answers is closed once its write makes no
 * progress for --write-timeout-ms; before auth, an unknown method is 1006
 * like any other. */
static void test_unauthenticated_and_unread_connections_closed(void **state)
{
    (void)state;
    char path[512];
    harness_write_file("token2", "s3cret\n", path, sizeof path);
    const char *args[] = {"--auth-token-file", path,     "--auth-timeout-ms", "400",
                          "--write-timeout-ms", "400", "--max-output-bytes", "4096", NULL};
    int i = harness_stockd(&(struct stockd_opts){.args = args});
    /* The auth deadline runs from the accept: the clock starts before the
     * connect (a slow first answer, under valgrind, eats into it). */
    long long t0 = harness_now_ms();
    int fd = client_connect(H.stockd[i].port);
    cJSON *r = client_call(fd, "{\"id\":1,\"method\":\"no.such.method\"}");
    assert_int_equal(resp_error_code(r), 1006);
    cJSON_Delete(r);
    /* Pings do not keep it: closed after the auth deadline. */
    char *line;
    for (;;) {
        client_sends(fd, "{\"id\":2,\"method\":\"ping\"}\n");
        line = client_readline(fd, 2000);
        if (line == NULL)
            break;
        free(line);
        if (harness_now_ms() - t0 > 3000)
            fail_msg("an unauthenticated connection stayed open");
    }
    assert_true(harness_now_ms() - t0 >= 400);
    close(fd);

    /* Authenticated, it stays; a client that never reads is closed. */
    int hog = client_connect(H.stockd[i].port);
    r = client_call(hog, "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"s3cret\"}}");
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    int small = 4096;
    setsockopt(hog, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    fcntl(hog, F_SETFL, fcntl(hog, F_GETFL) | O_NONBLOCK);
    /* Pings with a 2,000-byte id: answers large enough to fill the
     * socket buffers soon, so that stockd's write stops moving. */
    static char ping[2100];
    char id[2001];
    memset(id, 'p', 2000);
    id[2000] = '\0';
    snprintf(ping, sizeof ping, "{\"id\":\"%s\",\"method\":\"ping\"}\n", id);
    /* Wait for stockd to close it, by its own count. The reset stockd's
     * close sends is no prompt signal to a sender: a client whose receive
     * queue is far over its (shrunk) buffer can miss it and learn of the
     * close only from a later window probe, seconds of back-off away. */
    long long give_up = harness_now_ms() + 20000;
    double open = 1;
    while (open > 0 && harness_now_ms() < give_up) {
        ssize_t n = send(hog, ping, strlen(ping), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            break; /* reset by stockd, and the reset arrived */
        if (n < 0) {
            struct pollfd p = {.fd = hog, .events = POLLOUT};
            poll(&p, 1, 50);
            open = harness_metric(i, "stockd_client_connections");
        }
    }
    assert_true(harness_metric(i, "stockd_client_connections") == 0);
    /* And the client sees the end: what was written before comes, then
     * the end of the connection (as soon as it reads, its window opens and
     * the closed port answers with a reset). */
    fcntl(hog, F_SETFL, fcntl(hog, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(hog, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static char sink[65536];
    ssize_t got;
    while ((got = recv(hog, sink, sizeof sink, 0)) > 0)
        ;
    assert_true(got == 0 || errno == ECONNRESET);
    close(hog);
}

/* A ping that may find the connection closed: true when it was answered
 * (and the answer is a result). */
static bool try_ping(int fd)
{
    static const char line[] = "{\"id\":1,\"method\":\"ping\"}\n";
    if (send(fd, line, sizeof line - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof line - 1))
        return false;
    char *answer = client_readline(fd, 10000);
    if (answer == NULL)
        return false;
    cJSON *r = cJSON_Parse(answer);
    free(answer);
    assert_non_null(r);
    assert_int_equal(resp_error_code(r), 0);
    cJSON_Delete(r);
    return true;
}

/* Pings busy every ~100 ms for ms (once at least; sent: when the previous
 * ping went), while the idle timeout is 300 ms. Returns
 * true when every ping was answered; false when stockd closed busy after
 * this process itself was held up for more than 150 ms between two pings
 * (a loaded machine: the connection really was idle, for stockd's
 * clock). A close after a shorter gap fails the test. */
static bool keep_busy(int busy, int idle, long long ms, long long *sent)
{
    long long t0 = harness_now_ms();
    for (bool first = true; first || harness_now_ms() - t0 < ms; first = false) {
        long long now = harness_now_ms();
        if (!try_ping(busy)) {
            if (now - *sent > 150) {
                print_message("this process was held up %lld ms between two pings: again\n",
                              now - *sent);
                return false;
            }
            fail_msg("stockd closed a connection that sent a line every %lld ms or less "
                     "(idle timeout 300 ms)", now - *sent);
        }
        *sent = now;
        struct pollfd p = {.fd = idle, .events = POLLIN};
        poll(&p, 1, 100);
    }
    return true;
}

static void test_idle_connection_closed(void **state)
{
    (void)state;
    static const char *const args[] = {"--idle-timeout-ms", "300", NULL};
    int port = start(args);
    for (int attempt = 1;; attempt++) {
        if (attempt > 5)
            fail_msg("held up in every attempt: the machine is too loaded for this test");
        int idle = client_connect(port), busy = client_connect(port);
        /* The busy one keeps talking, past several idle timeouts; the idle
         * one is closed meanwhile, and the busy one still answered after. */
        long long sent = harness_now_ms();
        bool ok = keep_busy(busy, idle, 1200, &sent);
        if (ok) {
            assert_true(client_wait_closed(idle, 5000));
            ok = keep_busy(busy, idle, 0, &sent);
        }
        close(idle);
        close(busy);
        if (ok)
            break;
    }
}

static void test_slowloris_closed(void **state)
{
    (void)state;
    static const char *const args[] = {"--line-timeout-ms", "300", NULL};
    int port = start(args);
    int slow = client_connect(port), fine = client_connect(port);
    const char *req = "{\"id\":1,\"method\":\"ping\"}";
    long long t0 = harness_now_ms();
    bool closed = false;
    for (size_t k = 0; !closed && harness_now_ms() - t0 < 5000; k = (k + 1) % strlen(req)) {
        /* One byte every 50 ms: the line never ends in time. */
        if (send(slow, req + k, 1, MSG_NOSIGNAL) < 0)
            closed = true;
        cJSON *r = client_call(fine, "{\"id\":2,\"method\":\"ping\"}");
        assert_int_equal(resp_error_code(r), 0);
        cJSON_Delete(r);
        struct pollfd p = {.fd = slow, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            char *line = client_readline(slow, 1000);
            if (line != NULL) {
                assert_non_null(strstr(line, "not finished in time"));
                free(line);
            }
            closed = client_wait_closed(slow, 1000);
        }
    }
    assert_true(closed);
    assert_true(harness_now_ms() - t0 < 2000);
    close(slow);
    close(fine);
}

/* A line left unfinished behind a full pipeline is timed too: its clock
 * starts when the lines before it are framed, although its bytes were read
 * while framing waited. */
static void test_unfinished_line_behind_full_pipeline(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-pipeline", "2", "--line-timeout-ms", "300", NULL};
    int port = start(args);
    int fd = client_connect(port);
    /* One write: 40 pings, then the start of a line that never ends. */
    char batch[4096];
    size_t len = 0;
    for (int k = 1; k <= 40; k++)
        len += (size_t)snprintf(batch + len, sizeof batch - len,
                                "{\"id\":%d,\"method\":\"ping\"}\n", k);
    snprintf(batch + len, sizeof batch - len, "{\"id\":41,\"meth");
    client_sends(fd, batch);
    for (int k = 1; k <= 40; k++) {
        char *line = client_readline(fd, 5000);
        assert_non_null(line);
        cJSON *r = cJSON_Parse(line);
        assert_non_null(r);
        assert_int_equal(resp_error_code(r), 0);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(r, "id")->valueint, k);
        cJSON_Delete(r);
        free(line);
    }
    /* Before the idle timeout (300 s) by far. */
    char *line = client_readline(fd, 10000);
    assert_non_null(line);
    assert_non_null(strstr(line, "not finished in time"));
    free(line);
    assert_true(client_wait_closed(fd, 5000));
    close(fd);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* p99 of n round trips of a working client, in microseconds. */
static long long p99_us(int fd, int n)
{
    long long *t = calloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        cJSON *r = client_call(fd, get_req);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_int_equal(resp_error_code(r), 0);
        cJSON_Delete(r);
        t[i] = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_ll);
    long long p = t[n * 99 / 100];
    free(t);
    return p;
}

static void test_thousand_idle_and_a_slowloris(void **state)
{
    (void)state;
    enum { IDLE = 1000 };
    static const char *const args[] = {"--max-connections", "1003", NULL};
    int port = start(args);
    int fd = client_connect(port);
    long long base = p99_us(fd, 300);

    int idle[IDLE];
    for (int i = 0; i < IDLE; i++)
        idle[i] = client_connect(port);
    int slow = client_connect(port);
    client_sends(slow, "{\"id\":1,\"meth");
    /* The cap: 1000 idle, the slowloris and the worker make 1002; one more
     * fits, the next is refused. */
    int last = client_connect(port);
    int refused = client_connect(port);
    assert_int_equal(code_of_line(refused), 2003);
    close(refused);

    long long loaded = p99_us(fd, 300);
    printf("working client p99: %lld us alone, %lld us with %d idle connections and a "
           "slowloris\n",
           base, loaded, IDLE);
    /* The figure is for the reader; its target lives in the benchmarks
     * (a timed assertion fails on a loaded machine). What must hold here:
     * the worker was served throughout (p99_us checks every answer), and
     * the idle connections were kept and still work. */
    for (int i = 0; i < IDLE; i += IDLE / 4 - 1) {
        cJSON *r = client_call(idle[i], "{\"id\":7,\"method\":\"ping\"}");
        assert_int_equal(resp_error_code(r), 0);
        cJSON_Delete(r);
    }
    for (int i = 0; i < IDLE; i++)
        close(idle[i]);
    close(slow);
    close(last);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_connection_cap),
        cmocka_unit_test(test_pipeline_back_pressure),
        cmocka_unit_test(test_deep_pipeline_bounded),
        cmocka_unit_test(test_process_inflight_cap),
        cmocka_unit_test(test_large_answers_stay_in_budget),
        cmocka_unit_test(test_unauthenticated_and_unread_connections_closed),
        cmocka_unit_test(test_client_that_does_not_read),
        cmocka_unit_test(test_idle_connection_closed),
        cmocka_unit_test(test_slowloris_closed),
        cmocka_unit_test(test_unfinished_line_behind_full_pipeline),
        cmocka_unit_test(test_thousand_idle_and_a_slowloris),
    };
    return harness_run("limits", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
