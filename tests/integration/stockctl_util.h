/* Running stockctl as a process in the stockctl integration tests
 * (test_stockctl.c, test_stockctl_holds.c): the runner and what it
 * captured, checks of its exit code and output, and small readings of
 * Redis and of stockctl's tables. Every check fails the running cmocka
 * test, with stockctl's output printed. */
#ifndef STOCKD_TEST_STOCKCTL_UTIL_H
#define STOCKD_TEST_STOCKCTL_UTIL_H

#include <stddef.h>

#include "harness.h"

/* What one run of stockctl did. */
struct run {
    int status; /* exit code, or -1 when it did not exit normally */
    char *out;  /* owned: everything on stdout */
    char *err;  /* owned: everything on stderr */
};

/* Runs `ENV stockctl --port PORT ARGS` through the shell (env is a list of
 * VAR=value words, may be ""; args are shell words, quoted by the caller),
 * with stdin from /dev/null. With STOCKCTL_VALGRIND set, every run is under
 * memcheck and an error or a leak makes it exit 99. Free with run_free. */
struct run ctl_env_at(const char *env, int port, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same without environment, at a port, or at stockd 0 of the harness. */
#define ctl_at(port, ...) ctl_env_at("", port, __VA_ARGS__)
#define ctl(...) ctl_env_at("", H.stockd[0].port, __VA_ARGS__)

/* Frees what r owns. */
void run_free(struct run *r);

/* Fails the test with stockctl's output when its exit code is not want. */
void expect_status(const struct run *r, int want);

/* Fails the test with stockctl's output when text does not hold needle. */
void expect_in(const struct run *r, const char *text, const char *needle);

/* A set-up step at stockd 0 that must succeed (exit 0). */
#define ctl_ok(...)                                                                                \
    do {                                                                                           \
        struct run ok_ = ctl(__VA_ARGS__);                                                         \
        expect_status(&ok_, 0);                                                                    \
        run_free(&ok_);                                                                            \
    } while (0)

/* Runs args at stockd 0 and expects a refusal by stockd: exit 1, nothing on
 * stdout, and stderr holding each of the NULL-terminated needles. */
void expect_refused(const char *args, ...);

/* Parses stockctl's --json stdout: exactly one line holding one object.
 * The caller frees it with cJSON_Delete. */
cJSON *json_out(const struct run *r);

/* Runs `--json ARGS` at stockd 0, which must succeed, and returns its
 * result (free with cJSON_Delete). */
cJSON *ctl_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs `--json ARGS` at stockd 0 and expects a refusal by stockd: exit 1,
 * nothing on stdout, and on stderr the error object, which it returns
 * (free with cJSON_Delete). */
cJSON *ctl_json_refused(const char *args);

/* The number of keys in the harness's Redis. */
long long dbsize(void);

/* A port on which nothing listens: bound (so nobody else gets it) but never
 * listening, so a connect is refused. The caller closes *fd. */
int dead_port(int *fd);

/* Reads up to max numbers into v from the first line of text that starts
 * with prefix, after the prefix; returns how many. Fails the test when no
 * line starts with prefix. */
int line_numbers(const char *text, const char *prefix, long long *v, int max);

/* The text of r's stdout after marker, which must be there. */
const char *after(const struct run *r, const char *marker);

/* The member name of o (case-sensitive), NULL when absent. */
const cJSON *member(const cJSON *o, const char *name);

/* The result of method with this params object, byte for byte as stockd
 * sends it, read on the harness's connection to stockd 0, with a newline:
 * what --json prints. The caller frees it. */
char *raw_result(const char *method, const char *params);

/* Runs the cmocka group name against one stockd (with --http on a free
 * port), after clearing the environment stockctl reads: the tests choose
 * the token, host and port themselves. Returns harness_run's status. */
int stockctl_run_tests(const char *name, const struct CMUnitTest *tests, size_t n_tests);

#endif
