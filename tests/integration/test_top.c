/* Integration: `stockctl top`, the live terminal view, against a real
 * stockd (with an auth token and --http) and Redis. Under tmux: the pane is
 * captured until it shows the live numbers while reserves run, and they are
 * checked against JSON-RPC answers (the holds) and the harness (Redis's
 * address); q, Ctrl-C and SIGTERM each end the view with status 0 and the
 * terminal as it was (main screen, cursor shown, canonical mode and echo);
 * a resize redraws the view to the new size; a stockd that cannot be
 * reached is shown and retried until it answers again. --once and the
 * usage errors run without tmux. Every wait polls up to a deadline; every
 * test ends by killing its tmux server, also when it fails. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "stockctl_util.h"

#define TOKEN "t0p-s3cret-token"
#define N_SKUS 3
#define N_HOLDS 12 /* over the N_SKUS skus, one unit each */

static const char *const skus[N_SKUS] = {"TOP-A", "TOP-B", "TOP-C"};

/* The test program's own tmux server (tmux -L), so that nothing of the
 * user's or another test's is touched; its socket is in the harness's temp
 * dir (TMUX_TMPDIR), which goes with the rest. */
static char sock[64];

/* Deadlines: stockd under valgrind or a sanitizer answers slowly. */
static int wait_ms(void)
{
    return harness_memory_run() ? 60000 : 20000;
}

static void pause_a_little(void)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* --- stockd ------------------------------------------------------------- */

/* The stockd of the group (stockd 0, with the token), started by the first
 * test and authenticated on the harness's connection. */
static int top_stockd(void)
{
    if (H.n_stockd == 0) {
        char path[512];
        harness_write_file("token", TOKEN "\n", path, sizeof path);
        const char *args[] = {"--auth-token-file", path, NULL};
        harness_stockd(&(struct stockd_opts){.args = args});
        cJSON *r =
            client_callf(harness_client(0),
                         "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"" TOKEN "\"}}");
        assert_int_equal(resp_error_code(r), 0);
        cJSON_Delete(r);
    }
    return 0;
}

/* Puts stock on the skus and makes N_HOLDS holds of one unit at L1 with a
 * long deadline, then checks them by JSON-RPC: every reservation held, one
 * allocation each, and the stock's reserved counts adding up to N_HOLDS.
 * Returns the number of held allocations that JSON-RPC reports. */
static int make_holds(void)
{
    int fd = harness_client(top_stockd());
    for (int s = 0; s < N_SKUS; s++)
        client_stock_set(fd, skus[s], "L1", 100);
    char ids[N_HOLDS][160];
    for (int k = 0; k < N_HOLDS; k++) {
        cJSON *r =
            client_callf(fd,
                         "{\"id\":2,\"method\":\"reserve\",\"params\":{\"order_id\":\"top-%d\","
                         "\"items\":[{\"sku\":\"%s\",\"quantity\":1}],\"locations\":[\"L1\"],"
                         "\"ttl_ms\":600000}}",
                         k, skus[k % N_SKUS]);
        assert_int_equal(resp_error_code(r), 0);
        snprintf(ids[k], sizeof ids[k], "%s", json_str(resp_result(r), "reservation_id"));
        cJSON_Delete(r);
    }
    int held = 0;
    for (int k = 0; k < N_HOLDS; k++) {
        cJSON *r = client_callf(fd,
                                "{\"id\":3,\"method\":\"reservation.get\",\"params\":"
                                "{\"reservation_id\":\"%s\"}}",
                                ids[k]);
        assert_int_equal(resp_error_code(r), 0);
        assert_string_equal(json_str(resp_result(r), "status"), "held");
        held += cJSON_GetArraySize(member(resp_result(r), "allocations"));
        cJSON_Delete(r);
    }
    long long reserved = 0;
    for (int s = 0; s < N_SKUS; s++)
        reserved += stock_row(fd, skus[s], "L1").reserved;
    assert_int_equal(held, N_HOLDS);
    assert_int_equal(reserved, N_HOLDS);
    return held;
}

/* Load while the view runs: reserves of a sku none of which is on hand,
 * answered out_of_stock, which count as reserves and errors and leave the
 * holds as they are. */
static void reserve_load(void)
{
    int fd = harness_client(0);
    client_stock_set(fd, "TOP-NONE", "L1", 0);
    for (int k = 0; k < 5; k++) {
        cJSON *r =
            client_callf(fd, "{\"id\":4,\"method\":\"reserve\",\"params\":{\"items\":"
                             "[{\"sku\":\"TOP-NONE\",\"quantity\":1}],\"locations\":[\"L1\"]}}");
        assert_int_equal(resp_error_code(r), 1001);
        cJSON_Delete(r);
    }
}

/* --- tmux --------------------------------------------------------------- */

/* Runs a tmux command on the test's server, output discarded; returns its
 * exit status. */
static int tmux(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int tmux(const char *fmt, ...)
{
    char args[2048], cmd[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "tmux -L %s %s >/dev/null 2>&1", sock, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A tmux command's output (free it). */
static char *tmux_out(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "tmux -L %s %s 2>/dev/null", sock, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *s = harness_read_all(f);
    pclose(f);
    return s;
}

static void tmux_kill(void)
{
    if (sock[0] != '\0')
        tmux("kill-server");
}

/* A teardown for every test: the tmux server goes, however the test
 * ended, and a stockd stopped by a test runs again. */
static int top_teardown(void **state)
{
    (void)state;
    tmux_kill();
    if (H.n_stockd > 0)
        harness_signal_stockd(0, SIGCONT);
    return 0;
}

static void path_in_dir(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", H.dir, name);
}

/* Starts `stockctl top ARGS` in a detached 120x40 session "top", through a
 * wrapper that writes stockctl's pid (top.pid), runs it, then writes the
 * terminal's settings (top.stty) and its exit status (top.status, last)
 * and waits for a line, so that the pane can still be looked at. A
 * watchdog kills the tmux server should this program die without its
 * teardown (a ctest timeout). */
static void top_start(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void top_start(const char *fmt, ...)
{
    char args[1024], script[512], file[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    static const char *const outputs[] = {"top.pid", "top.stty", "top.status"};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        path_in_dir(file, sizeof file, outputs[i]);
        unlink(file);
    }
    char text[1024];
    snprintf(text, sizeof text,
             "dir=$1; shift\n"
             "trap : INT TERM\n" /* the wrapper outlives the Ctrl-C meant for stockctl */
             "(while kill -0 %d; do sleep 1; done; tmux -L %s kill-server) "
             ">/dev/null 2>&1 </dev/null &\n"
             "sh -c 'echo $$ >\"$0/top.pid\"; exec \"$@\"' \"$dir\" \"$@\"\n"
             "st=$?\n"
             "stty -a >\"$dir/top.stty\"\n"
             "echo $st >\"$dir/top.status.new\" && mv \"$dir/top.status.new\" \"$dir/top.status\"\n"
             "read line\n",
             (int)getpid(), sock);
    harness_write_file("top.sh", text, script, sizeof script);
    setenv("TMUX_TMPDIR", H.dir, 1);
    const char *vg = getenv("STOCKCTL_VALGRIND") != NULL
                         ? "valgrind -q --leak-check=full --show-leak-kinds=all "
                           "--errors-for-leak-kinds=all --error-exitcode=99 "
                         : "";
    assert_int_equal(tmux("new-session -d -s top -x 120 -y 40 'sh %s %s %s%s top %s'", script,
                          H.dir, vg, STOCKCTL_BIN, args),
                     0);
}

/* Waits until the pane shows every one of the NULL-terminated needles;
 * returns the screen (free it). Fails the test with the last screen. */
static char *wait_screen(const char *needle, ...)
{
    long long deadline = harness_now_ms() + wait_ms();
    for (;;) {
        char *screen = tmux_out("capture-pane -p -t top");
        bool all = true;
        va_list ap;
        va_start(ap, needle);
        for (const char *n = needle; n != NULL && all; n = va_arg(ap, const char *))
            all = strstr(screen, n) != NULL;
        va_end(ap);
        if (all)
            return screen;
        if (harness_now_ms() > deadline) {
            print_error("the pane never showed '%s' (and the rest):\n%s\n", needle, screen);
            free(screen);
            fail();
        }
        free(screen);
        pause_a_little();
    }
}

/* Waits until the pane's terminal is in the view (alternate screen,
 * cursor hidden) or out of it (main screen, cursor shown). */
static void wait_terminal(bool in_view)
{
    const char *want = in_view ? "1 0\n" : "0 1\n";
    long long deadline = harness_now_ms() + wait_ms();
    for (;;) {
        char *s = tmux_out("display -p -t top '#{alternate_on} #{cursor_flag}'");
        bool ok = strcmp(s, want) == 0;
        if (!ok && harness_now_ms() > deadline)
            print_error("alternate screen and cursor: '%s', want '%s'\n", s, want);
        free(s);
        if (ok)
            return;
        assert_true(harness_now_ms() <= deadline);
        pause_a_little();
    }
}

/* The contents of a file in the harness's dir, waited for (free it). */
static char *wait_file(const char *name)
{
    char path[512];
    path_in_dir(path, sizeof path, name);
    long long deadline = harness_now_ms() + wait_ms();
    FILE *f;
    while ((f = fopen(path, "r")) == NULL) {
        if (harness_now_ms() > deadline)
            print_error("%s never appeared\n", path);
        assert_true(harness_now_ms() <= deadline);
        pause_a_little();
    }
    char *s = harness_read_all(f);
    fclose(f);
    return s;
}

/* After the view was told to end: stockctl exited 0, the terminal is as it
 * was (canonical mode, echo, main screen, cursor shown), and the session
 * ends once the wrapper has its line. */
static void expect_clean_exit(void)
{
    char *status = wait_file("top.status");
    if (strcmp(status, "0\n") != 0)
        print_error("stockctl top exited %s", status);
    assert_string_equal(status, "0\n");
    free(status);
    char *stty = wait_file("top.stty");
    if (strstr(stty, " icanon ") == NULL || strstr(stty, " echo ") == NULL)
        print_error("the terminal was left as:\n%s", stty);
    assert_non_null(strstr(stty, " icanon "));
    assert_non_null(strstr(stty, " echo "));
    assert_null(strstr(stty, "-icanon"));
    assert_null(strstr(stty, "-echo "));
    free(stty);
    wait_terminal(false);
    assert_int_equal(tmux("send-keys -t top Enter"), 0);
    long long deadline = harness_now_ms() + wait_ms();
    while (tmux("has-session -t top") == 0) {
        assert_true(harness_now_ms() <= deadline);
        pause_a_little();
    }
}

/* --- reading the screen ------------------------------------------------------ */

/* The line of screen that begins with prefix (up to its end), or "". */
static const char *screen_line(const char *screen, const char *prefix, char *out, size_t n)
{
    out[0] = '\0';
    for (const char *p = screen; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            snprintf(out, n, "%.*s", (int)len, p);
            break;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    return out;
}

/* What the test reads off a frame. */
struct frame {
    double reserves_per_s; /* -1: not shown */
    int holds, skus;       /* -1: not shown */
    bool redis_up_at_master;
    bool out_of_stock_shown;
};

static struct frame read_frame(const char *screen)
{
    struct frame f = {-1, -1, -1, false, false};
    char l[512], master[64];
    if (sscanf(screen_line(screen, "reserves/s ", l, sizeof l), "reserves/s %lf",
               &f.reserves_per_s) != 1)
        f.reserves_per_s = -1;
    if (sscanf(screen_line(screen, "holds ", l, sizeof l), "holds %d live in %d skus", &f.holds,
               &f.skus) != 2)
        f.holds = f.skus = -1;
    snprintf(master, sizeof master, " master 127.0.0.1:%d ", H.redis_port);
    screen_line(screen, "redis ", l, sizeof l);
    f.redis_up_at_master = strncmp(l, "redis       up ", 15) == 0 && strstr(l, master) != NULL;
    f.out_of_stock_shown = strstr(screen, "1001  out_of_stock") != NULL;
    return f;
}

/* --- the tests ------------------------------------------------------------ */

/* The live numbers while reserves run, then q. */
static void test_live_view_and_q(void **state)
{
    (void)state;
    int held = make_holds();
    top_start("--http 127.0.0.1:%d --token %s --interval-ms 200", H.stockd[0].http_port, TOKEN);
    long long deadline = harness_now_ms() + wait_ms();
    struct frame f;
    char *screen;
    for (;;) {
        reserve_load();
        screen = tmux_out("capture-pane -p -t top");
        f = read_frame(screen);
        if (f.reserves_per_s > 0 && f.holds == held && f.skus == N_SKUS && f.redis_up_at_master &&
            f.out_of_stock_shown)
            break;
        if (harness_now_ms() > deadline) {
            print_error("the view never showed reserves/s > 0, %d holds in %d skus, Redis up at "
                        "127.0.0.1:%d and out_of_stock errors:\n%s\n",
                        held, N_SKUS, H.redis_port, screen);
            fail();
        }
        free(screen);
        pause_a_little();
    }
    /* The rest of the frame is there too, with numbers where stockd has
     * them (the reserves' latency, measured since they ran). */
    assert_non_null(strstr(screen, "stockd " STOCKD_VERSION " at 127.0.0.1:"));
    assert_non_null(strstr(screen, "   ready\n"));
    char l[512];
    assert_non_null(strstr(screen_line(screen, "requests/s ", l, sizeof l), "errors/s"));
    screen_line(screen, "  reserve ", l, sizeof l);
    double p50, p90, p99;
    assert_int_equal(sscanf(l, "  reserve %lf %lf %lf", &p50, &p90, &p99), 3);
    assert_true(p50 <= p90 && p90 <= p99);
    assert_non_null(strstr(screen, "\nin flight "));
    assert_non_null(strstr(screen, "\nsweeper     expired/s "));
    assert_non_null(strstr(screen, "  oldest    "));
    assert_non_null(strstr(screen, "q: quit"));
    free(screen);

    wait_terminal(true);
    assert_int_equal(tmux("send-keys -t top q"), 0);
    expect_clean_exit();
}

/* Ctrl-C (SIGINT from the terminal) and SIGTERM end the view as q does. */
static void test_ctrl_c_and_sigterm(void **state)
{
    (void)state;
    top_stockd();
    char master[64];
    snprintf(master, sizeof master, "master 127.0.0.1:%d ", H.redis_port);

    top_start("--http 127.0.0.1:%d --token %s --interval-ms 200", H.stockd[0].http_port, TOKEN);
    free(wait_screen("redis       up ", master, NULL));
    wait_terminal(true);
    assert_int_equal(tmux("send-keys -t top C-c"), 0);
    expect_clean_exit();

    top_start("--http 127.0.0.1:%d --interval-ms 200", H.stockd[0].http_port);
    free(wait_screen("redis       up ", "holds       give --token to see them", NULL));
    wait_terminal(true);
    char *pid = wait_file("top.pid");
    assert_int_equal(kill((pid_t)atoi(pid), SIGTERM), 0);
    free(pid);
    expect_clean_exit();
}

/* A resize redraws the view to the new size. The view refreshes only once
 * an hour here, so only the redraw on SIGWINCH can bring back what a
 * smaller window cut off. */
static void test_resize(void **state)
{
    (void)state;
    top_stockd();
    char master[64];
    snprintf(master, sizeof master, "master 127.0.0.1:%d ", H.redis_port);
    top_start("--http 127.0.0.1:%d --token %s --interval-ms 3600000", H.stockd[0].http_port, TOKEN);
    free(wait_screen(master, "\nholds       ", NULL));

    assert_int_equal(tmux("resize-window -t top -x 40 -y 8"), 0);
    char *small = wait_screen("stockd " STOCKD_VERSION " at 127.0.0.1:", NULL);
    assert_null(strstr(small, master));
    assert_null(strstr(small, "holds "));
    free(small);

    assert_int_equal(tmux("resize-window -t top -x 120 -y 40"), 0);
    free(wait_screen(master, "\nholds       ", "q: quit", NULL));
    assert_int_equal(tmux("send-keys -t top q"), 0);
    expect_clean_exit();
}

/* A stockd that cannot be reached is shown, and retried: one that never
 * listened, and one stopped and continued under the view. */
static void test_unreachable(void **state)
{
    (void)state;
    top_stockd();
    int dead_fd;
    int dead = dead_port(&dead_fd);
    char why[128];
    snprintf(why, sizeof why, "stockd unreachable: cannot connect to 127.0.0.1:%d: ", dead);

    struct run r = ctl("top --once --http 127.0.0.1:%d", dead);
    expect_status(&r, 3);
    assert_ptr_equal(strstr(r.out, why), r.out);
    expect_in(&r, r.err, why);
    run_free(&r);

    top_start("--http 127.0.0.1:%d --interval-ms 200 --timeout-ms 1000", dead);
    free(wait_screen(why, "q: quit   retrying every 200 ms", NULL));
    assert_int_equal(tmux("send-keys -t top q"), 0);
    expect_clean_exit();
    close(dead_fd);

    /* Stopped, stockd still accepts connections (the kernel does) but
     * answers nothing: the view says so, and shows stockd again once it
     * runs. */
    top_start("--http 127.0.0.1:%d --interval-ms 200 --timeout-ms 1000", H.stockd[0].http_port);
    free(wait_screen("redis       up ", NULL));
    harness_signal_stockd(0, SIGSTOP);
    free(wait_screen("stockd unreachable: no answer within 1000 ms", NULL));
    harness_signal_stockd(0, SIGCONT);
    free(wait_screen("redis       up ", NULL));
    assert_int_equal(tmux("send-keys -t top q"), 0);
    expect_clean_exit();
}

/* --once: one plain frame for scripts; and the usage errors. */
static void test_once_and_usage(void **state)
{
    (void)state;
    int held = make_holds();
    int http = H.stockd[0].http_port;
    char holds[64], master[64];
    snprintf(holds, sizeof holds, "\nholds       %d live in %d skus\n", held, N_SKUS);
    snprintf(master, sizeof master, " master 127.0.0.1:%d ", H.redis_port);

    struct run r = ctl("top --once --http 127.0.0.1:%d --token %s", http, TOKEN);
    expect_status(&r, 0);
    assert_ptr_equal(strstr(r.out, "stockd " STOCKD_VERSION " at 127.0.0.1:"), r.out);
    expect_in(&r, r.out, "\nredis       up ");
    expect_in(&r, r.out, master);
    expect_in(&r, r.out, holds);
    expect_in(&r, r.out, "\nreserves/s ");
    expect_in(&r, r.out, "\nlatency ms ");
    assert_null(strchr(r.out, '\033')); /* plain text: no escape sequence */
    assert_null(strstr(r.out, "q: quit"));
    assert_string_equal(r.err, "");
    run_free(&r);

    /* The address and the token from the environment. */
    char env[256];
    snprintf(env, sizeof env, "STOCKCTL_HTTP=127.0.0.1:%d STOCKD_AUTH_TOKEN=%s", http, TOKEN);
    r = ctl_env_at(env, H.stockd[0].port, "top --once");
    expect_status(&r, 0);
    expect_in(&r, r.out, holds);
    run_free(&r);

    /* Without a token the holds are not asked for; with a wrong one stockd
     * refuses them (exit 1), and the rest of the frame is there. */
    r = ctl("top --once --http 127.0.0.1:%d", http);
    expect_status(&r, 0);
    expect_in(&r, r.out, "\nholds       give --token to see them\n");
    run_free(&r);
    r = ctl("top --once --http 127.0.0.1:%d --token wrong-token", http);
    expect_status(&r, 1);
    expect_in(&r, r.out, "\nholds       error 1006 unauthorized");
    expect_in(&r, r.out, "\nredis       up ");
    run_free(&r);

    /* Usage errors (exit 2), before anything is asked. */
    static const struct {
        const char *args, *says;
    } bad[] = {
        {"top", "standard output is not"}, /* this run's stdout is a file */
        {"top --once --http nohost", "--http 'nohost' must be HOST:PORT"},
        {"top --once --http 127.0.0.1:0", "must be HOST:PORT"},
        {"top --once --http ::1:9400", "must be HOST:PORT"},
        {"top --once --interval-ms 5", "--interval-ms must be"},
        {"top --once --json", "--json does not apply to top"},
        {"top --once extra", "too many arguments"},
        {"stock get X --once", "option --once does not apply here"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = ctl("%s", bad[i].args);
        expect_status(&r, 2);
        expect_in(&r, r.err, bad[i].says);
        assert_string_equal(r.out, "");
        run_free(&r);
    }

    /* The help lists the command and its options. */
    r = ctl("--help");
    expect_status(&r, 0);
    expect_in(&r, r.out, "  top [--http HOST:PORT] [--interval-ms N] [--once]\n");
    expect_in(&r, r.out, "  --http HOST:PORT  top: ");
    run_free(&r);
    r = ctl("top --help");
    expect_status(&r, 0);
    expect_in(&r, r.out, "usage: stockctl [OPTIONS] top [--http HOST:PORT]");
    expect_in(&r, r.out, "  --once ");
    run_free(&r);
}

int main(void)
{
    snprintf(sock, sizeof sock, "stockd-top-%d", (int)getpid());
    unsetenv("TMUX");
    unsetenv("STOCKCTL_HTTP");
    unsetenv("STOCKCTL_TENANT_TOKEN");
    atexit(tmux_kill);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_live_view_and_q, harness_flush_setup, top_teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_c_and_sigterm, harness_flush_setup, top_teardown),
        cmocka_unit_test_setup_teardown(test_resize, harness_flush_setup, top_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, harness_flush_setup, top_teardown),
        cmocka_unit_test_setup_teardown(test_once_and_usage, harness_flush_setup, top_teardown),
    };
    /* Each run says which address and token it uses. The one stockd (with
     * a token) is started by the first test. */
    unsetenv("STOCKD_AUTH_TOKEN");
    unsetenv("STOCKCTL_HOST");
    unsetenv("STOCKCTL_PORT");
    unsetenv("STOCKCTL_TIMEOUT_MS");
    return harness_run("stockctl_top", tests, sizeof tests / sizeof tests[0], 0, NULL);
}
