/* Integration: the harness itself. However a test program ends, no
 * redis-server or stockd it started is left running: a failed assertion, a
 * harness failure while a stockd is still starting (die), a fatal signal
 * (a ctest timeout sends one), or SIGKILL. Each way is played by a child
 * run of this same program; the parent then looks for survivors in /proc,
 * by the child's unique temp dir (redis-server's --dir) and a unique
 * namespace given to its stockd. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static const char *scenario; /* in a child: which way to end */
static char marker[64];      /* in a child: its stockd's namespace */
static char report[512];     /* in a child: where to write H.dir */

static void child_test(void **state)
{
    (void)state;
    FILE *f = fopen(report, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", H.dir);
    fclose(f);
    const char *args[] = {"--namespace", marker, NULL};
    if (strcmp(scenario, "die") == 0) {
        /* The harness gives up while this stockd is still starting. */
        char url[64];
        snprintf(url, sizeof url, "redis://127.0.0.1:%d", harness_free_port());
        harness_stockd(&(struct stockd_opts){.args = args, .redis_url = url});
        fail_msg("harness_stockd came back from a stockd that never reached Redis");
    }
    harness_stockd(&(struct stockd_opts){.args = args});
    if (strcmp(scenario, "assert") == 0)
        fail_msg("a deliberate failure");
    if (strcmp(scenario, "term") == 0)
        raise(SIGTERM);
    if (strcmp(scenario, "kill") == 0)
        raise(SIGKILL);
    fail_msg("unknown scenario %s", scenario);
}

static int run_child(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(child_test)};
    return harness_run("harness child", tests, 1, 0, NULL);
}

/* The pids whose command line holds needle (this process excluded). */
static int survivors(const char *needle, const char *needle2)
{
    int found = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid())
            continue;
        char path[64], stat_line[512], cmd[8192];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        bool zombie = fgets(stat_line, sizeof stat_line, f) && strstr(stat_line, ") Z ") != NULL;
        fclose(f);
        if (zombie)
            continue; /* dead, waiting for its new parent to reap it */
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        if (strstr(cmd, needle) || strstr(cmd, needle2)) {
            fprintf(stderr, "survivor %d: %s\n", pid, cmd);
            found++;
        }
    }
    if (d)
        closedir(d);
    return found;
}

static void play(const char *how, bool want_signal, int sig)
{
    char mark[64], file[128], dir[512] = "";
    snprintf(mark, sizeof mark, "harness-probe-%d-%s", (int)getpid(), how);
    snprintf(file, sizeof file, "/tmp/stockd-harness-probe-%d-%s", (int)getpid(), how);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("STOCKD_HARNESS_CHILD", how, 1);
        setenv("STOCKD_HARNESS_MARKER", mark, 1);
        setenv("STOCKD_HARNESS_REPORT", file, 1);
        setenv("STOCKD_TEST_READY_MS", "1500", 1);
        /* Its deliberate failures would read as this program's own. */
        if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
            _exit(126);
        execl("/proc/self/exe", "itest_harness", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (want_signal) {
        assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig));
    } else {
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    }
    FILE *f = fopen(file, "r");
    assert_non_null(f);
    assert_non_null(fgets(dir, sizeof dir, f));
    fclose(f);
    unlink(file);
    dir[strcspn(dir, "\n")] = '\0';
    assert_true(strlen(dir) > 10);
    /* SIGKILL from the kernel (a dead parent) is delivered, not awaited. */
    long long give_up = harness_now_ms() + 10000;
    int left;
    while ((left = survivors(mark, dir)) > 0 && harness_now_ms() < give_up)
        usleep(20000);
    assert_int_equal(left, 0);
    if (sig != SIGKILL) {
        /* Its temp dir went too (nothing can run after SIGKILL). */
        assert_true(access(dir, F_OK) != 0);
    } else {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
}

static void test_failed_assertion(void **state)
{
    (void)state;
    play("assert", false, 0);
}

static void test_harness_gives_up_while_stockd_starts(void **state)
{
    (void)state;
    play("die", false, 0);
}

static void test_fatal_signal(void **state)
{
    (void)state;
    play("term", true, SIGTERM);
}

static void test_killed_outright(void **state)
{
    (void)state;
    play("kill", true, SIGKILL);
}

int main(void)
{
    scenario = getenv("STOCKD_HARNESS_CHILD");
    if (scenario != NULL) {
        snprintf(marker, sizeof marker, "%s", getenv("STOCKD_HARNESS_MARKER"));
        snprintf(report, sizeof report, "%s", getenv("STOCKD_HARNESS_REPORT"));
        return run_child();
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_assertion),
        cmocka_unit_test(test_harness_gives_up_while_stockd_starts),
        cmocka_unit_test(test_fatal_signal),
        cmocka_unit_test(test_killed_outright),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
