/* Integration test harness (see harness.h). */
#include "harness.h"

#include "buf.h" /* xmalloc and friends */
#include "cluster_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long a process may take to become ready: STOCKD_TEST_READY_MS, or 15 s. */
static long long ready_timeout_ms(void)
{
    const char *v = getenv("STOCKD_TEST_READY_MS");
    return v != NULL && atoll(v) > 0 ? atoll(v) : 15000;
}
#define READY_TIMEOUT_MS ready_timeout_ms()

struct harness H;
const char *const *harness_redis_args;
static struct harness *registered[8];
static int run_n_stockd;
static const char *const *run_args;
static int stop_failures;
static int clients[MAX_STOCKDS];
static struct cluster the_cluster; /* H's, in cluster mode */


static void stop_all(void)
{
    for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++)
        if (registered[i])
            (void)harness_stop(registered[i]);
}

void harness_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "harness: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    stop_all();
    exit(1);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A short pause between readiness probes (never used to order events). */
static void probe_pause(void)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        harness_die("cannot bind a probe socket: %s", strerror(errno));
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

pid_t harness_spawn(char *const argv[], const char *log_path)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        harness_die("fork: %s", strerror(errno));
    if (pid == 0) {
        /* If the test program dies (killed by a timeout), so does this. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setpgid(0, 0);
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static bool exited(pid_t pid)
{
    int st;
    return waitpid(pid, &st, WNOHANG) == pid;
}

/* A signal (a ctest timeout, Ctrl-C) ends the test program: take every
 * process it started along, with async-signal-safe calls only. */
static void on_fatal_signal(int sig)
{
    for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++) {
        struct harness *h = registered[i];
        if (h == NULL)
            continue;
        for (int k = 0; k < MAX_STOCKDS; k++)
            if (h->stockd[k].pid > 0) {
                kill(-h->stockd[k].pid, SIGKILL); /* its process group (valgrind, sh) */
                kill(h->stockd[k].pid, SIGKILL);
            }
        if (h->redis_pid > 0)
            kill(h->redis_pid, SIGKILL);
        if (h->cluster)
            cl_kill_all_from_signal(h->cluster);
        if (h->dir[0] != '\0') {
            /* Its temp dir too (fork and execve are async-signal-safe). */
            char *const argv[] = {"rm", "-rf", h->dir, NULL};
            char *const envp[] = {NULL};
            pid_t rm = fork();
            if (rm == 0) {
                execve("/bin/rm", argv, envp);
                _exit(127);
            }
            if (rm > 0)
                waitpid(rm, NULL, 0);
        }
    }
    _exit(128 + sig);
}

static void do_register(struct harness *h)
{
    for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++)
        if (registered[i] == h)
            return;
    for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++)
        if (registered[i] == NULL) {
            registered[i] = h;
            break;
        }
    static bool hooked;
    if (!hooked) {
        atexit(stop_all);
        static const int fatal[] = {SIGTERM, SIGINT, SIGHUP, SIGALRM, SIGQUIT};
        for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
            signal(fatal[i], on_fatal_signal);
        hooked = true;
    }
}

/* Starts redis-server on h->redis_port (0: a free port) and connects the
 * inspection client. Returns false when the port was taken meanwhile. */
static bool launch_redis(struct harness *h)
{
    char port[16], log[512];
    snprintf(port, sizeof port, "%d", h->redis_port);
    snprintf(log, sizeof log, "%s/redis.log", h->dir);
    char *argv[48] = {"redis-server", "--port", port,    "--bind",      "127.0.0.1", "--save",
                      "",             "--dir",  h->dir,  "--daemonize", "no"};
    int n = 11;
    bool aof = false;
    for (int i = 0; harness_redis_args && harness_redis_args[i] && n < 46; i++) {
        aof |= strcmp(harness_redis_args[i], "--appendonly") == 0;
        argv[n++] = (char *)harness_redis_args[i];
    }
    if (!aof) {
        argv[n++] = "--appendonly";
        argv[n++] = "no";
    }
    argv[n] = NULL;
    h->redis_pid = harness_spawn(argv, log);
    long long deadline = now_ms() + READY_TIMEOUT_MS;
    while (now_ms() < deadline) {
        if (exited(h->redis_pid)) {
            h->redis_pid = 0;
            return false;
        }
        struct timeval tv = {1, 0};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", h->redis_port, tv);
        if (c != NULL && c->err == 0) {
            redisReply *r = redisCommand(c, "PING");
            bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
            if (r)
                freeReplyObject(r);
            if (ok) {
                h->redis = c;
                return true;
            }
        }
        if (c)
            redisFree(c);
        probe_pause();
    }
    harness_die("redis-server did not become ready (see %s)", log);
}

/* A fresh h with its temp dir, registered for the cleanups. */
static void make_dir(struct harness *h)
{
    memset(h, 0, sizeof *h);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(h->dir, sizeof h->dir, "%s/stockd-test-XXXXXX", tmp);
    if (mkdtemp(h->dir) == NULL)
        harness_die("mkdtemp: %s", strerror(errno));
    do_register(h);
}

bool harness_cluster_mode(void)
{
    const char *v = getenv("STOCKD_TEST_CLUSTER");
    return v != NULL && strcmp(v, "1") == 0;
}

void harness_skip_in_cluster(const char *why)
{
    if (!harness_cluster_mode())
        return;
    printf("skipped in cluster mode: %s\n", why);
    fflush(stdout);
    skip();
}

void harness_start_cluster(struct harness *h)
{
    make_dir(h);
    h->cluster = &the_cluster;
    cl_start(h->cluster, h->dir);
    int m = cl_master_of_slot(h->cluster, cl_slot_of_tag("inv"));
    if (m < 0)
        harness_die("no master owns the slot of {inv}");
    h->redis_port = h->cluster->node[m].port;
    struct timeval tv = {5, 0};
    h->redis = redisConnectWithTimeout("127.0.0.1", h->redis_port, tv);
    if (h->redis == NULL || h->redis->err)
        harness_die("cannot connect to the master of {inv} on port %d", h->redis_port);
}

void harness_start_redis(struct harness *h)
{
    make_dir(h);
    for (int attempt = 0; attempt < 5; attempt++) {
        h->redis_port = free_port();
        if (launch_redis(h))
            return;
    }
    harness_die("could not start redis-server");
}

/* The inspection connection, and redis-server when the harness runs one. */
static void end_redis(struct harness *h)
{
    if (h->redis) {
        redisFree(h->redis);
        h->redis = NULL;
    }
    if (h->redis_pid > 0) {
        kill(h->redis_pid, SIGKILL);
        waitpid(h->redis_pid, NULL, 0);
        h->redis_pid = 0;
    }
}

void harness_kill_redis(struct harness *h)
{
    if (h->cluster)
        harness_die("harness_kill_redis: not in cluster mode (skip the test there)");
    end_redis(h);
}

void harness_restart_redis(struct harness *h)
{
    if (h->cluster)
        harness_die("harness_restart_redis: not in cluster mode (skip the test there)");
    end_redis(h);
    if (!launch_redis(h))
        harness_die("could not restart redis-server on port %d", h->redis_port);
}

void harness_signal_redis(struct harness *h, int sig)
{
    if (h->cluster)
        harness_die("harness_signal_redis: not in cluster mode (skip the test there)");
    if (h->redis_pid > 0)
        kill(h->redis_pid, sig);
}

void harness_wait_redis_up(int port, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int fd = client_connect(port);
    for (;;) {
        cJSON *r = client_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}");
        bool up = strcmp(json_str(resp_result(r), "redis"), "up") == 0;
        cJSON_Delete(r);
        if (up)
            break;
        if (now_ms() > deadline)
            harness_die("stockd on port %d never reported redis up", port);
        probe_pause();
    }
    close(fd);
}

/* Writes the end of path to stderr. */
static void print_log_tail(const char *path);

int harness_stockd(const struct stockd_opts *opts)
{
    static const struct stockd_opts defaults;
    struct harness *h = &H;
    if (opts == NULL)
        opts = &defaults;
    if (h->n_stockd >= MAX_STOCKDS)
        harness_die("too many stockd processes");
    struct stockd_proc *p = &h->stockd[h->n_stockd];
    memset(p, 0, sizeof *p);
    const char *bin = getenv("STOCKD_BIN") ? getenv("STOCKD_BIN") : STOCKD_BIN;
    char url[400];
    if (opts->redis_url)
        snprintf(url, sizeof url, "%s", opts->redis_url);
    else if (h->cluster)
        cl_url(h->cluster, 0, url, sizeof url);
    else
        snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", h->redis_port);
    char log_path[sizeof p->log_path];
    snprintf(log_path, sizeof log_path, "%.300s/stockd-%d.log", h->dir, h->n_stockd);
    memcpy(p->log_path, log_path, sizeof log_path);

    char *argv[80];
    int n = 0;
    char mount[1200];
    if (opts->hosts_file) {
        /* Its own mount namespace, where the file is /etc/hosts; the shell
         * then becomes stockd (exec), so the pid is stockd's. */
        snprintf(mount, sizeof mount, "mount --bind '%s' /etc/hosts && exec \"$0\" \"$@\"",
                 opts->hosts_file);
        argv[n++] = "unshare";
        argv[n++] = "-m";
        argv[n++] = "sh";
        argv[n++] = "-c";
        argv[n++] = mount;
    }
    /* STOCKD_VALGRIND=1: every stockd under memcheck; any error or definite
     * leak makes it exit 99, which harness_stop reports. */
    if (getenv("STOCKD_VALGRIND") != NULL) {
        argv[n++] = "valgrind";
        argv[n++] = "-q";
        argv[n++] = "--error-exitcode=99";
        argv[n++] = "--leak-check=full";
        argv[n++] = "--errors-for-leak-kinds=definite";
    }
    argv[n++] = (char *)bin;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--redis";
    argv[n++] = url;
    argv[n++] = "--http"; /* many stockds at once: each its own free port */
    argv[n++] = "127.0.0.1:0";
    for (int i = 0; opts->args && opts->args[i] && n < 78; i++)
        argv[n++] = (char *)opts->args[i];
    argv[n] = NULL;
    p->pid = harness_spawn(argv, p->log_path);
    /* Counted at once, so that a failure from here on stops it too. */
    int index = h->n_stockd++;
    if (opts->no_wait)
        return index;

    long long deadline = now_ms() + READY_TIMEOUT_MS;
    while (p->port == 0 || p->http_port == 0) {
        if (now_ms() > deadline || exited(p->pid)) {
            p->pid = exited(p->pid) ? 0 : p->pid;
            print_log_tail(p->log_path);
            harness_die("stockd did not start listening (see %s)", p->log_path);
        }
        FILE *f = fopen(p->log_path, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f)) {
            const char *at = strstr(line, "listening on 127.0.0.1:");
            if (at)
                p->port = atoi(at + strlen("listening on 127.0.0.1:"));
            const char *http = strstr(line, "metrics on http://127.0.0.1:");
            if (http)
                p->http_port = atoi(http + strlen("metrics on http://127.0.0.1:"));
        }
        if (f)
            fclose(f);
        if (p->port == 0 || p->http_port == 0)
            probe_pause();
    }
    /* Listening is not ready: ready is when ping says Redis is up. */
    if (!opts->listening_only)
        harness_wait_redis_up(p->port, (int)(deadline - now_ms()));
    return index;
}

static void print_log_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    static char tail[8192];
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n == sizeof tail - 1) {
            memmove(tail, tail + 1024, n - 1024);
            n -= 1024;
        }
        tail[n++] = (char)c;
    }
    tail[n] = '\0';
    fclose(f);
    fprintf(stderr, "---- end of %s ----\n%s\n----\n", path, tail);
}

int harness_stop(struct harness *h)
{
    int bad = 0;
    for (int i = 0; i < h->n_stockd; i++) {
        if (h->stockd[i].pid > 0) {
            int status = 0;
            kill(h->stockd[i].pid, SIGTERM);
            long long give_up = now_ms() + 30000;
            while (waitpid(h->stockd[i].pid, &status, WNOHANG) == 0) {
                if (now_ms() > give_up) {
                    fprintf(stderr, "harness: stockd %d did not stop in 30 s\n", i);
                    kill(-h->stockd[i].pid, SIGKILL);
                    kill(h->stockd[i].pid, SIGKILL);
                    waitpid(h->stockd[i].pid, &status, 0);
                    status = -1;
                    break;
                }
                probe_pause();
            }
            h->stockd[i].pid = 0;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "harness: stockd %d ended badly (status 0x%x)\n", i, status);
                print_log_tail(h->stockd[i].log_path);
                bad++;
            }
        }
    }
    h->n_stockd = 0;
    end_redis(h);
    if (h->cluster) {
        cl_stop(h->cluster);
        h->cluster = NULL;
    }
    if (h->dir[0] && !getenv("STOCKD_KEEP_TEST_DIR")) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not remove %s\n", h->dir);
        h->dir[0] = '\0';
    }
    for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++)
        if (registered[i] == h)
            registered[i] = NULL;
    return bad;
}

redisReply *harness_redis(struct harness *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(h->redis, fmt, ap);
    va_end(ap);
    if (r == NULL)
        harness_die("redis command failed: %s", h->redis->errstr);
    /* In a cluster, a key of another slot: on the node that owns it. */
    for (int hop = 0; h->cluster && hop < 5 && r->type == REDIS_REPLY_ERROR; hop++) {
        bool ask = strncmp(r->str, "ASK ", 4) == 0;
        if (!ask && strncmp(r->str, "MOVED ", 6) != 0)
            break;
        const char *colon = strrchr(r->str, ':');
        int node = colon ? cl_index_of_port(h->cluster, atoi(colon + 1)) : -1;
        if (node < 0)
            harness_die("redirected to an unknown node: %s", r->str);
        freeReplyObject(r);
        if (ask)
            freeReplyObject(cl_must(h->cluster, node, "ASKING"));
        redisContext *c = cl_ctx(h->cluster, node);
        if (c == NULL)
            harness_die("cluster node %d does not answer", node);
        va_start(ap, fmt);
        r = redisvCommand(c, fmt, ap);
        va_end(ap);
        if (r == NULL)
            harness_die("redis command failed on cluster node %d: %s", node, c->errstr);
    }
    return r;
}

long long harness_now_ms(void)
{
    return now_ms();
}

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif
#ifndef ASAN_BUILD
#define ASAN_BUILD 0
#endif

bool harness_memory_run(void)
{
    return ASAN_BUILD || getenv("STOCKD_VALGRIND") != NULL;
}

long long harness_redis_time_ms(struct harness *h)
{
    redisReply *t = harness_redis(h, "TIME");
    long long ms = atoll(t->element[0]->str) * 1000 + atoll(t->element[1]->str) / 1000;
    freeReplyObject(t);
    return ms;
}

void harness_wait_redis_time(struct harness *h, long long ms)
{
    long long deadline = now_ms() + READY_TIMEOUT_MS;
    while (harness_redis_time_ms(h) <= ms) {
        if (now_ms() > deadline)
            harness_die("Redis's clock did not reach %lld", ms);
        probe_pause();
    }
}

void harness_write_file(const char *name, const char *text, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", H.dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "harness: cannot write %s\n", path);
        exit(1);
    }
}

char *harness_read_all(FILE *f)
{
    size_t len = 0, cap = 65536;
    char *s = xmalloc(cap);
    size_t n;
    while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096)
            s = xrealloc(s, cap *= 2);
    }
    s[len] = '\0';
    return s;
}

void harness_flush(struct harness *h)
{
    if (h->cluster)
        cl_flush(h->cluster);
    else
        freeReplyObject(harness_redis(h, "FLUSHALL"));
}

int harness_free_port(void)
{
    return free_port();
}

/* --- running a group ---------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if (harness_cluster_mode())
        harness_start_cluster(&H);
    else
        harness_start_redis(&H);
    for (int i = 0; i < run_n_stockd; i++)
        harness_stockd(&(struct stockd_opts){.args = run_args});
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_STOCKDS; i++)
        if (clients[i] > 0) {
            close(clients[i]);
            clients[i] = 0;
        }
    stop_failures = harness_stop(&H);
    return stop_failures;
}

void harness_signal_stockd(int i, int sig)
{
    if (H.stockd[i].pid > 0)
        kill(H.stockd[i].pid, sig);
}

void harness_wait_log(int i, const char *needle, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        FILE *f = fopen(H.stockd[i].log_path, "r");
        char line[2048];
        bool found = false;
        while (f && !found && fgets(line, sizeof line, f))
            found = strstr(line, needle) != NULL;
        if (f)
            fclose(f);
        if (found)
            return;
        if (now_ms() > deadline)
            harness_die("stockd %d never logged '%s'", i, needle);
        probe_pause();
    }
}

int harness_reap_stockd(int i)
{
    int status = 0;
    if (H.stockd[i].pid > 0)
        waitpid(H.stockd[i].pid, &status, 0);
    H.stockd[i].pid = 0;
    if (clients[i] > 0) {
        close(clients[i]);
        clients[i] = 0;
    }
    return status;
}

/* Tests of the v1 suite that make no sense on a Redis Cluster, skipped by
 * its cluster variants (with the reason printed). */
static const struct {
    const char *group, *test, *why;
} cluster_skips[] = {
    {"batch", "test_batch_deadline",
     "SIGSTOP of the master makes the cluster fail it over (node timeout 1 s) before the "
     "request deadline, and the stopped node then runs the calls it had read as a stale master"},
};

static void skipped_in_cluster(void **state)
{
    harness_skip_in_cluster(*state);
}

int harness_run(const char *name, const struct CMUnitTest *tests, size_t n_tests, int n_stockd,
                const char *const *args)
{
    struct CMUnitTest *run = xcalloc(n_tests + 1, sizeof *run);
    memcpy(run, tests, n_tests * sizeof *run);
    for (size_t i = 0; i < n_tests && harness_cluster_mode(); i++)
        for (size_t k = 0; k < sizeof cluster_skips / sizeof cluster_skips[0]; k++)
            if (strcmp(cluster_skips[k].group, name) == 0 &&
                strcmp(cluster_skips[k].test, tests[i].name) == 0)
                run[i] = (struct CMUnitTest){.name = tests[i].name,
                                             .test_func = skipped_in_cluster,
                                             .initial_state = (void *)cluster_skips[k].why};
    /* Room for the tests' own many connections. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    run_n_stockd = n_stockd;
    run_args = args;
    int failed = _cmocka_run_group_tests(name, run, n_tests, group_setup, group_teardown);
    free(run);
    /* cmocka reports a failed group teardown but does not count it. */
    return failed != 0 || stop_failures != 0;
}

int harness_flush_setup(void **state)
{
    (void)state;
    harness_flush(&H);
    return 0;
}

int harness_client(int i)
{
    if (i < 0 || i >= H.n_stockd)
        harness_die("no stockd %d", i);
    if (clients[i] <= 0)
        clients[i] = client_connect(H.stockd[i].port);
    return clients[i];
}
