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
#define CALL_TIMEOUT_MS 10000

struct harness H;
const char *const *harness_redis_args;
static struct harness *registered[8];
static int run_n_stockd;
static const char *const *run_args;
static int stop_failures;
static int clients[MAX_STOCKDS];
static struct cluster the_cluster; /* H's, in cluster mode */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void stop_all(void)
{
    for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++)
        if (registered[i])
            (void)harness_stop(registered[i]);
}

static void die(const char *fmt, ...)
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
        die("cannot bind a probe socket: %s", strerror(errno));
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
        die("fork: %s", strerror(errno));
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
    die("redis-server did not become ready (see %s)", log);
}

/* A fresh h with its temp dir, registered for the cleanups. */
static void make_dir(struct harness *h)
{
    memset(h, 0, sizeof *h);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(h->dir, sizeof h->dir, "%s/stockd-test-XXXXXX", tmp);
    if (mkdtemp(h->dir) == NULL)
        die("mkdtemp: %s", strerror(errno));
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
        die("no master owns the slot of {inv}");
    h->redis_port = h->cluster->node[m].port;
    struct timeval tv = {5, 0};
    h->redis = redisConnectWithTimeout("127.0.0.1", h->redis_port, tv);
    if (h->redis == NULL || h->redis->err)
        die("cannot connect to the master of {inv} on port %d", h->redis_port);
}

void harness_start_redis(struct harness *h)
{
    make_dir(h);
    for (int attempt = 0; attempt < 5; attempt++) {
        h->redis_port = free_port();
        if (launch_redis(h))
            return;
    }
    die("could not start redis-server");
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
        die("harness_kill_redis: not in cluster mode (skip the test there)");
    end_redis(h);
}

void harness_restart_redis(struct harness *h)
{
    if (h->cluster)
        die("harness_restart_redis: not in cluster mode (skip the test there)");
    end_redis(h);
    if (!launch_redis(h))
        die("could not restart redis-server on port %d", h->redis_port);
}

void harness_signal_redis(struct harness *h, int sig)
{
    if (h->cluster)
        die("harness_signal_redis: not in cluster mode (skip the test there)");
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
            die("stockd on port %d never reported redis up", port);
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
        die("too many stockd processes");
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
            die("stockd did not start listening (see %s)", p->log_path);
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
        die("redis command failed: %s", h->redis->errstr);
    /* In a cluster, a key of another slot: on the node that owns it. */
    for (int hop = 0; h->cluster && hop < 5 && r->type == REDIS_REPLY_ERROR; hop++) {
        bool ask = strncmp(r->str, "ASK ", 4) == 0;
        if (!ask && strncmp(r->str, "MOVED ", 6) != 0)
            break;
        const char *colon = strrchr(r->str, ':');
        int node = colon ? cl_index_of_port(h->cluster, atoi(colon + 1)) : -1;
        if (node < 0)
            die("redirected to an unknown node: %s", r->str);
        freeReplyObject(r);
        if (ask)
            freeReplyObject(cl_must(h->cluster, node, "ASKING"));
        redisContext *c = cl_ctx(h->cluster, node);
        if (c == NULL)
            die("cluster node %d does not answer", node);
        va_start(ap, fmt);
        r = redisvCommand(c, fmt, ap);
        va_end(ap);
        if (r == NULL)
            die("redis command failed on cluster node %d: %s", node, c->errstr);
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
            die("Redis's clock did not reach %lld", ms);
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

/* --- clients ----------------------------------------------------------- */

struct rbuf {
    char *data;
    size_t len, cap;
};
static struct rbuf rbufs[8192];

static struct rbuf *rbuf_of(int fd)
{
    if (fd < 0 || (size_t)fd >= sizeof rbufs / sizeof rbufs[0])
        die("fd %d out of range", fd);
    return &rbufs[fd];
}

/* One attempt: the fd, or -1 with errno set. */
static int try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rbuf_of(fd)->len = 0;
    return fd;
}

int client_connect(int port)
{
    int fd = try_connect(port);
    if (fd < 0)
        die("connect to %d: %s", port, strerror(errno));
    return fd;
}

int client_connect_retry(int port, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int fd = try_connect(port);
        if (fd >= 0)
            return fd;
        if (now_ms() > deadline)
            die("nothing accepted on port %d in %d ms", port, timeout_ms);
    }
}

int harness_free_port(void)
{
    return free_port();
}

void client_send(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("send: %s", strerror(errno));
        data += n;
        len -= (size_t)n;
    }
}

void client_sends(int fd, const char *s)
{
    client_send(fd, s, strlen(s));
}

char *client_readline(int fd, int timeout_ms)
{
    struct rbuf *b = rbuf_of(fd);
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        char *nl = b->len ? memchr(b->data, '\n', b->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - b->data);
            char *line = malloc(n + 1);
            memcpy(line, b->data, n);
            line[n] = '\0';
            memmove(b->data, nl + 1, b->len - n - 1);
            b->len -= n + 1;
            return line;
        }
        long long left = deadline - now_ms();
        if (left <= 0)
            return NULL;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if (b->cap - b->len < 65536) {
            b->cap = b->cap ? b->cap * 2 : 131072;
            b->data = xrealloc(b->data, b->cap);
        }
        ssize_t n = recv(fd, b->data + b->len, b->cap - b->len, 0);
        if (n <= 0)
            return NULL;
        b->len += (size_t)n;
    }
}

char **client_exchange(int fd, const char *data, size_t len, int n_lines, int timeout_ms)
{
    struct rbuf *b = rbuf_of(fd);
    char **lines = xcalloc((size_t)n_lines + 1, sizeof *lines);
    int got = 0;
    size_t sent = 0;
    long long deadline = now_ms() + timeout_ms;
    while (got < n_lines) {
        char *nl;
        while (got < n_lines && b->len > 0 && (nl = memchr(b->data, '\n', b->len)) != NULL) {
            size_t n = (size_t)(nl - b->data);
            lines[got] = xmalloc(n + 1);
            memcpy(lines[got], b->data, n);
            lines[got][n] = '\0';
            memmove(b->data, nl + 1, b->len - n - 1);
            b->len -= n + 1;
            got++;
        }
        if (got == n_lines)
            break;
        long long left = deadline - now_ms();
        if (left <= 0)
            die("client_exchange: %d of %d lines in %d ms (%zu of %zu bytes sent)", got, n_lines,
                timeout_ms, sent, len);
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0)};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if ((p.revents & POLLOUT) && sent < len) {
            ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                die("client_exchange: send: %s", strerror(errno));
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            if (b->cap - b->len < 65536) {
                b->cap = b->cap ? b->cap * 2 : 131072;
                b->data = xrealloc(b->data, b->cap);
            }
            ssize_t n = recv(fd, b->data + b->len, b->cap - b->len, MSG_DONTWAIT);
            if (n == 0)
                die("client_exchange: closed after %d of %d lines", got, n_lines);
            if (n > 0)
                b->len += (size_t)n;
        }
    }
    return lines;
}

void client_free_lines(char **lines, int n_lines)
{
    for (int i = 0; i < n_lines; i++)
        free(lines[i]);
    free(lines);
}

bool client_wait_closed(int fd, int timeout_ms)
{
    struct rbuf *b = rbuf_of(fd);
    long long deadline = now_ms() + timeout_ms;
    char tmp[4096];
    while (now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
            continue;
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            return false;
    }
    (void)b;
    return false;
}

cJSON *client_call(int fd, const char *request)
{
    client_sends(fd, request);
    client_sends(fd, "\n");
    char *line = client_readline(fd, CALL_TIMEOUT_MS);
    if (line == NULL)
        die("no response to %s", request);
    cJSON *j = cJSON_Parse(line);
    if (j == NULL)
        die("response is not JSON: %s", line);
    free(line);
    return j;
}

cJSON *client_callf(int fd, const char *fmt, ...)
{
    char req[65536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req, sizeof req, fmt, ap);
    va_end(ap);
    return client_call(fd, req);
}

int resp_error_code(const cJSON *resp)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
    if (e == NULL)
        return 0;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    return cJSON_IsNumber(c) ? c->valueint : -1;
}

const char *resp_error_reason(const cJSON *resp)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "data");
    return json_str(d, "reason");
}

const cJSON *resp_result(const cJSON *resp)
{
    return cJSON_GetObjectItemCaseSensitive(resp, "result");
}

long long json_int(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -999999;
}

const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

void client_stock_set(int fd, const char *sku, const char *location, long long on_hand)
{
    cJSON *r = client_callf(fd,
                            "{\"id\":1,\"method\":\"stock.set\",\"params\":{\"sku\":\"%s\","
                            "\"location\":\"%s\",\"on_hand\":%lld}}",
                            sku, location, on_hand);
    if (resp_error_code(r) != 0)
        die("stock.set %s %s failed", sku, location);
    cJSON_Delete(r);
}

int harness_ledger_count(const char *type, const char *field, const char *value, bool prefix)
{
    redisReply *r = harness_redis(&H, "XRANGE {inv}:events - +");
    size_t vlen = strlen(value);
    int n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        const char *t = "", *v = "";
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, "type") == 0)
                t = f->element[k + 1]->str;
            else if (strcmp(f->element[k]->str, field) == 0)
                v = f->element[k + 1]->str;
        }
        n += strcmp(t, type) == 0 &&
             (prefix ? strncmp(v, value, vlen) == 0 : strcmp(v, value) == 0);
    }
    freeReplyObject(r);
    return n;
}

long long harness_holds_left(void)
{
    redisReply *z = harness_redis(&H, "ZCARD {inv}:expiry");
    long long left = z->integer;
    freeReplyObject(z);
    char cursor[32] = "0";
    do {
        redisReply *r = harness_redis(&H, "SCAN %s MATCH {inv}:holds:* COUNT 1000", cursor);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            z = harness_redis(&H, "ZCARD %s", r->element[1]->element[i]->str);
            left += z->integer;
            freeReplyObject(z);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return left;
}

void harness_wait_no_holds(int timeout_ms, void (*between)(void))
{
    long long give_up = now_ms() + timeout_ms;
    for (;;) {
        long long left = harness_holds_left();
        if (left == 0)
            return;
        if (now_ms() > give_up)
            die("%lld holds never ended", left);
        if (between)
            between();
    }
}

struct row stock_row(int fd, const char *sku, const char *location)
{
    cJSON *r = client_callf(fd,
                            "{\"id\":1,\"method\":\"stock.get\",\"params\":{\"sku\":\"%s\","
                            "\"locations\":[\"%s\"]}}",
                            sku, location);
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(resp_result(r), "locations");
    const cJSON *row = cJSON_GetArrayItem(locs, 0);
    if (row == NULL)
        die("stock.get %s %s returned no row", sku, location);
    struct row out = {json_int(row, "on_hand"), json_int(row, "reserved"),
                      json_int(row, "available")};
    cJSON_Delete(r);
    return out;
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
            die("stockd %d never logged '%s'", i, needle);
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
        die("no stockd %d", i);
    if (clients[i] <= 0)
        clients[i] = client_connect(H.stockd[i].port);
    return clients[i];
}

/* --- logs, memory and HTTP ---------------------------------------------- */

int harness_log_count(int i, const char *needle)
{
    FILE *f = fopen(H.stockd[i].log_path, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

int harness_log_lines(int i)
{
    FILE *f = fopen(H.stockd[i].log_path, "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

long harness_rss_kb(int i)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)H.stockd[i].pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

int harness_http_raw(int port, const char *request, char **body)
{
    int fd = client_connect(port);
    client_sends(fd, request);
    size_t cap = 1 << 16, len = 0;
    char *resp = xmalloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        if (len + 4096 > cap)
            resp = xrealloc(resp, cap *= 2);
        ssize_t n = recv(fd, resp + len, cap - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    resp[len] = '\0';
    int status = 0;
    sscanf(resp, "HTTP/1.1 %d", &status);
    const char *sep = strstr(resp, "\r\n\r\n");
    if (body)
        *body = strdup(sep ? sep + 4 : "");
    free(resp);
    return status;
}

int harness_http_get(int port, const char *path, char **body)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: stockd\r\n\r\n", path);
    return harness_http_raw(port, req, body);
}

double metric_value(const char *text, const char *series)
{
    const char *p = text;
    size_t n = strlen(series);
    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return atof(p + n + 1);
        p += n;
    }
    return -1;
}

double harness_metric(int i, const char *series)
{
    char *body = NULL;
    if (harness_http_get(H.stockd[i].http_port, "/metrics", &body) != 200)
        die("GET /metrics of stockd %d failed", i);
    double v = metric_value(body, series);
    free(body);
    return v;
}
