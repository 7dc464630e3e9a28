/* Integration test harness: starts a real redis-server and real stockd
 * processes on free ports in a temp dir, waits for each to be ready, talks
 * to them over TCP, and tears everything down. No process outlives the
 * test program however it ends: a failed assertion or die() stops them from
 * atexit, a signal (a ctest timeout) from a handler, and a test program that
 * is killed outright takes them along (each child asks the kernel for
 * SIGKILL when its parent dies). */
#ifndef STOCKD_TEST_HARNESS_H
#define STOCKD_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#define MAX_STOCKDS 40

struct cluster; /* cluster_util.h */

struct stockd_proc {
    pid_t pid;
    int port;
    int http_port; /* health, readiness, metrics */
    char log_path[512];
};

struct harness {
    char dir[256];
    pid_t redis_pid;
    int redis_port;
    redisContext *redis;     /* a direct connection for inspection */
    struct cluster *cluster; /* cluster mode: the Redis Cluster (else NULL); redis_port and
                              * redis are then the master of the slot of "{inv}" */
    struct stockd_proc stockd[MAX_STOCKDS];
    int n_stockd;
};

/* The harness of the running test group (see harness_run). */
extern struct harness H;

/* Runs a cmocka group around a fresh Redis and n_stockd stockd processes
 * started with args (NULL-terminated, may be NULL), stopped afterwards.
 * Returns the program's exit status: non-zero when a test failed or a
 * stockd did not exit cleanly when stopped. In cluster mode (see
 * harness_cluster_mode) the Redis is a Redis Cluster of three masters and
 * three replicas, and stockd reaches it with --redis redis+cluster://. */
int harness_run(const char *name, const struct CMUnitTest *tests, size_t n_tests, int n_stockd,
                const char *const *args);
/* A per-test setup that empties Redis. */
int harness_flush_setup(void **state);

/* Cluster mode: the environment has STOCKD_TEST_CLUSTER=1 (the ctest
 * variants labelled `cluster` of the v1 suite). */
bool harness_cluster_mode(void);
/* In cluster mode, prints why the running test makes no sense on a
 * cluster and skips it (cmocka counts it skipped); else does nothing. */
void harness_skip_in_cluster(const char *why);
/* Starts the harness's Redis as a Redis Cluster (cluster_util.h) in a
 * fresh temp dir: H.cluster, and H.redis on the master of "{inv}". */
void harness_start_cluster(struct harness *h);

/* How to start one stockd. Zeroed fields mean the defaults. */
struct stockd_opts {
    const char *const *args; /* extra flags, NULL-terminated (may be NULL) */
    bool listening_only;     /* wait until it listens, not until ping says redis up (for a
                              * stockd that cannot reach Redis, or a test of its start) */
    const char *hosts_file;  /* run it with this file as its /etc/hosts (a private mount
                              * namespace: needs root and unshare(1)) */
    const char *redis_url;   /* instead of the harness's Redis */
    bool no_wait;            /* return as soon as it is started: the caller waits for what
                              * it needs (its ports are then only known if args set them) */
};

/* The one way to start a stockd: against the harness's Redis (or
 * opts->redis_url), on free ports, stopped with the rest. opts may be NULL.
 * Returns its index in H.stockd. */
int harness_stockd(const struct stockd_opts *opts);
/* A connection to stockd i of H, opened on first use and kept. */
int harness_client(int i);

/* Extra redis-server flags for every start (e.g. AOF), NULL-terminated;
 * set before harness_run. */
extern const char *const *harness_redis_args;

/* Sends a signal to stockd i. */
void harness_signal_stockd(int i, int sig);
/* Waits until stockd i's log holds needle; fails after timeout_ms. */
void harness_wait_log(int i, const char *needle, int timeout_ms);
/* How many lines of stockd i's log hold needle. */
int harness_log_count(int i, const char *needle);
/* Lines in stockd i's log. */
int harness_log_lines(int i);
/* Waits for stockd i to end and returns its wait status; the harness does
 * not stop or check it again. */
int harness_reap_stockd(int i);
/* stockd i's resident memory (VmRSS), in kB; -1 when unknown. */
long harness_rss_kb(int i);

/* HTTP on a stockd's --http port: the status of GET path, with the body in
 * *body (malloc'd; may be NULL). */
int harness_http_get(int port, const char *path, char **body);
/* Raw bytes to an HTTP port, read until it closes: the status, the body. */
int harness_http_raw(int port, const char *request, char **body);
/* The value of one sample ("name{labels}") in an exposition; -1 if absent. */
double metric_value(const char *text, const char *series);
/* The same, read from stockd i's /metrics now. */
double harness_metric(int i, const char *series);

/* Starts redis-server (no persistence) in a fresh temp dir. Aborts the test
 * program with a message when it cannot. */
void harness_start_redis(struct harness *h);
/* Kills redis-server with SIGKILL (no shutdown, like a crash). Not in
 * cluster mode (the test program ends with a message). */
void harness_kill_redis(struct harness *h);
/* Starts redis-server again on the same port and waits until it answers.
 * Not in cluster mode (the test program ends with a message). */
void harness_restart_redis(struct harness *h);
/* Sends a signal to redis-server (SIGSTOP, SIGCONT). Not in cluster mode. */
void harness_signal_redis(struct harness *h, int sig);
/* Waits until stockd's ping reports redis up; fails the test program after
 * timeout_ms. */
void harness_wait_redis_up(int port, int timeout_ms);
/* Everything the harness started: stockd first (SIGTERM, then SIGKILL if it
 * has not ended in 30 s), then Redis. Returns the number of stockd
 * processes that did not exit with status 0 (a crash, a hang, or a
 * sanitizer report in a sanitizer build), after printing the end of their
 * logs: group teardowns return it, so the run fails. */
int harness_stop(struct harness *h);

/* Writes text to the file name in the harness's temp dir (a token file, a
 * config) and puts its path in path[n]. */
void harness_write_file(const char *name, const char *text, char *path, size_t n);

/* Reads f to its end into a NUL-terminated malloc'd string (free it). */
char *harness_read_all(FILE *f);

/* Runs a Redis command on the inspection connection; the caller frees the
 * reply with freeReplyObject. In cluster mode a MOVED or ASK reply is
 * followed to the node it names (keys of another namespace). */
redisReply *harness_redis(struct harness *h, const char *fmt, ...);
/* Milliseconds on the Redis server's clock (TIME), the clock of deadlines. */
long long harness_redis_time_ms(struct harness *h);
/* Waits until Redis's clock has passed ms. */
void harness_wait_redis_time(struct harness *h, long long ms);
/* Milliseconds on this machine's monotonic clock. */
/* Starts argv (found on PATH when argv[0] has no slash) in its own process
 * group, stdout and stderr appended to log_path; the child dies with the
 * test program. Returns its pid; a failed fork ends the program. */
pid_t harness_spawn(char *const argv[], const char *log_path);
long long harness_now_ms(void);
/* Ends the test program with a message on stderr, after stopping every
 * process the harness started. */
void harness_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* True in CI's memory runs: stockd under valgrind (STOCKD_VALGRIND), or
 * this build with AddressSanitizer. They look for memory errors, not for
 * volume: a test may then do less of what it repeats. */
bool harness_memory_run(void);
/* FLUSHALL (on every master in cluster mode), for a clean slate between
 * tests. */
void harness_flush(struct harness *h);

/* A blocking client connection to 127.0.0.1:port. Returns the fd. */
int client_connect(int port);
/* The same, retried until the port accepts (a server that is starting);
 * fails the test after timeout_ms. */
int client_connect_retry(int port, int timeout_ms);
/* A port that was free a moment ago. */
int harness_free_port(void);
void client_send(int fd, const char *data, size_t len);
void client_sends(int fd, const char *s);
/* Reads one line (without "\n") into a malloc'd string, waiting at most
 * timeout_ms. Returns NULL on EOF or timeout. */
char *client_readline(int fd, int timeout_ms);
/* Writes len bytes while reading n_lines lines, as a pipelining client
 * must (a server that applies back-pressure stops reading a client that
 * does not read its answers). Returns the lines (each and the array
 * malloc'd; free with client_free_lines); fails the test when they do not
 * all arrive within timeout_ms. */
char **client_exchange(int fd, const char *data, size_t len, int n_lines, int timeout_ms);
void client_free_lines(char **lines, int n_lines);
/* True when the peer closed the connection within timeout_ms (no more data). */
bool client_wait_closed(int fd, int timeout_ms);

/* Sends one request line and parses the one response line. The caller
 * frees the result with cJSON_Delete. Fails the test on timeout. */
cJSON *client_call(int fd, const char *request);
/* Same, with a printf format for the request. */
cJSON *client_callf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Shortcuts into a response: error.code (0 when it is a result), and a
 * path of member names into result (e.g. "allocations"). */
int resp_error_code(const cJSON *resp);
const char *resp_error_reason(const cJSON *resp);
const cJSON *resp_result(const cJSON *resp);
long long json_int(const cJSON *obj, const char *name);
const char *json_str(const cJSON *obj, const char *name);

/* A stock row read back through stock.get with one location. */
struct row {
    long long on_hand, reserved, available;
};
struct row stock_row(int fd, const char *sku, const char *location);
/* stock.set of on_hand at (sku, location); fails the test if refused. */
void client_stock_set(int fd, const char *sku, const char *location, long long on_hand);

/* Entries of the ledger {inv}:events of this type whose field `field` is
 * value (starts with it, when prefix). */
int harness_ledger_count(const char *type, const char *field, const char *value, bool prefix);
/* The allocations still held in namespace {inv}: the members of its holds
 * indexes, and the ids in its expiry index (holds made before the due
 * index). */
long long harness_holds_left(void);
/* Waits until harness_holds_left() is 0 (every hold committed, released or
 * expired), calling between() (may be NULL) on each look; fails the test
 * after timeout_ms. */
void harness_wait_no_holds(int timeout_ms, void (*between)(void));

#endif
