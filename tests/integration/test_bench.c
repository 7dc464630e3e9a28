/* Integration: a short smoke run of stockd-bench against a real stockd, for
 * every workload. It asserts only what stockd-bench checks itself, the
 * books: the units it was told it holds and sold are what stockd's counts
 * say (its exit status). Throughput is for bench/compare, not for tests. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "harness.h"

static void test_every_workload_keeps_the_books(void **state)
{
    (void)state;
    static const char *const workloads[] = {"hot", "uniform", "multi", "commit", "release"};
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "%s --port %d -c 8 -d 4 --duration 0.5 --workload %s --skus 20 --json",
                 STOCKD_BENCH_BIN, H.stockd[0].port, workloads[i]);
        int status = system(cmd);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("stockd-bench --workload %s: status 0x%x", workloads[i], status);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_every_workload_keeps_the_books, harness_flush_setup),
    };
    return harness_run("bench", tests, sizeof tests / sizeof tests[0], 1, NULL);
}
