/* A replicated Redis for the failover tests (see sentinel_util.h): config
 * files, starts, readiness, and the waits on Sentinel's own view. */
#include "sentinel_util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* The group of the running test, stopped when another starts: a test that
 * fails half way leaves its group for the next start to end. */
static struct sgroup *running;

/* A short pause between probes of a condition (never to order events). */
static void probe_pause(void)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static bool has_exited(pid_t pid)
{
    int st;
    return waitpid(pid, &st, WNOHANG) == pid;
}

static void drop_ctx(struct sg_node *n)
{
    if (n->ctx) {
        redisFree(n->ctx);
        n->ctx = NULL;
    }
}

/* A connection to a node, logged in as the group says; NULL when it does
 * not answer. */
static redisContext *open_ctx(const struct sgroup *g, const struct sg_node *n, bool sentinel)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", n->port, tv);
    if (c == NULL || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    /* A stuck node fails the call instead of hanging the test. */
    struct timeval call = {5, 0};
    redisSetTimeout(c, call);
    redisReply *r = NULL;
    if (sentinel && g->opts.sentinel_password)
        r = redisCommand(c, "AUTH %s", g->opts.sentinel_password);
    else if (!sentinel && g->opts.user)
        r = redisCommand(c, "AUTH %s %s", g->opts.user, g->opts.password);
    else
        r = redisCommand(c, "PING");
    bool ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (r)
        freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static redisReply *node_vcmd(struct sgroup *g, struct sg_node *n, bool sentinel, const char *fmt,
                             va_list ap)
{
    if (n->pid <= 0 || n->stopped)
        return NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (n->ctx == NULL)
            n->ctx = open_ctx(g, n, sentinel);
        if (n->ctx == NULL)
            return NULL;
        va_list copy;
        va_copy(copy, ap);
        redisReply *r = redisvCommand(n->ctx, fmt, copy);
        va_end(copy);
        if (r != NULL)
            return r;
        drop_ctx(n); /* broken: once more on a new connection */
    }
    return NULL;
}

redisReply *sg_node_cmd(struct sgroup *g, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = node_vcmd(g, &g->node[i], false, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *sg_node_must(struct sgroup *g, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = node_vcmd(g, &g->node[i], false, fmt, ap);
    va_end(ap);
    if (r == NULL)
        fail_msg("redis node %d (port %d) did not answer %s", i, g->node[i].port, fmt);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("redis node %d (port %d) answered %s to %s", i, g->node[i].port, r->str, fmt);
    return r;
}

redisReply *sg_sentinel_cmd(struct sgroup *g, int s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = node_vcmd(g, &g->sentinel[s], true, fmt, ap);
    va_end(ap);
    return r;
}

redisContext *sg_node_ctx(struct sgroup *g, int i)
{
    struct sg_node *n = &g->node[i];
    if (n->pid <= 0 || n->stopped)
        return NULL;
    if (n->ctx == NULL)
        n->ctx = open_ctx(g, n, false);
    return n->ctx;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        fail_msg("cannot write %s: %s", path, strerror(errno));
}

static void write_data_conf(const struct sgroup *g, const struct sg_node *n)
{
    char text[4096];
    int len = snprintf(text, sizeof text,
                       "bind 127.0.0.1\nport %d\ndir %s\ndaemonize no\nprotected-mode no\n"
                       "save \"\"\nappendonly %s\nappendfsync always\n"
                       /* A replica that needs a full copy gets it at once, not
                        * after the default 5 s wait for more replicas. */
                       "repl-diskless-sync yes\nrepl-diskless-sync-delay 0\n",
                       n->port, n->dir, g->opts.aof ? "yes" : "no");
    if (g->opts.user)
        snprintf(text + len, sizeof text - (size_t)len,
                 "user default off\nuser %s on >%s ~* &* +@all\nmasteruser %s\nmasterauth %s\n",
                 g->opts.user, g->opts.password, g->opts.user, g->opts.password);
    write_text(n->conf, text);
}

static void write_sentinel_conf(const struct sgroup *g, const struct sg_node *n)
{
    int down = g->opts.down_after_ms > 0 ? g->opts.down_after_ms : SG_DOWN_AFTER_MS;
    char text[4096];
    int len = snprintf(text, sizeof text,
                       "bind 127.0.0.1\nport %d\ndir %s\ndaemonize no\nprotected-mode no\n"
                       "sentinel monitor %s 127.0.0.1 %d 2\n"
                       "sentinel down-after-milliseconds %s %d\n"
                       /* Short: a split vote is tried again after twice this. */
                       "sentinel failover-timeout %s 3000\n"
                       "sentinel parallel-syncs %s 2\n",
                       n->port, n->dir, SG_MASTER_NAME, g->node[g->master].port, SG_MASTER_NAME,
                       down, SG_MASTER_NAME, SG_MASTER_NAME);
    if (g->opts.user)
        len += snprintf(text + len, sizeof text - (size_t)len,
                        "sentinel auth-user %s %s\nsentinel auth-pass %s %s\n", SG_MASTER_NAME,
                        g->opts.user, SG_MASTER_NAME, g->opts.password);
    if (g->opts.sentinel_password)
        snprintf(text + len, sizeof text - (size_t)len, "requirepass %s\n",
                 g->opts.sentinel_password);
    write_text(n->conf, text);
}

/* Starts one node and waits until it answers; false when it ended first
 * (its port was taken meanwhile). replica_of: the master's port, or 0. */
static bool launch(struct sgroup *g, struct sg_node *n, bool sentinel, int replica_of)
{
    drop_ctx(n);
    n->stopped = false;
    if (sentinel)
        write_sentinel_conf(g, n);
    else
        write_data_conf(g, n);
    char master_port[16];
    snprintf(master_port, sizeof master_port, "%d", replica_of);
    char *argv[8] = {"redis-server", n->conf};
    int k = 2;
    if (sentinel)
        argv[k++] = "--sentinel";
    if (replica_of > 0) {
        argv[k++] = "--replicaof";
        argv[k++] = "127.0.0.1";
        argv[k++] = master_port;
    }
    argv[k] = NULL;
    n->pid = harness_spawn(argv, n->log);
    long long deadline = harness_now_ms() + 15000;
    while (harness_now_ms() < deadline) {
        if (has_exited(n->pid)) {
            n->pid = 0;
            return false;
        }
        n->ctx = open_ctx(g, n, sentinel);
        if (n->ctx)
            return true;
        probe_pause();
    }
    fail_msg("redis-server did not answer on port %d (see %s)", n->port, n->log);
    return false;
}

static void start_node(struct sgroup *g, struct sg_node *n, const char *name, bool sentinel,
                       int replica_of)
{
    snprintf(n->dir, sizeof n->dir, "%s/%s", g->dir, name);
    if (mkdir(n->dir, 0755) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", n->dir, strerror(errno));
    snprintf(n->conf, sizeof n->conf, "%s/redis.conf", n->dir);
    snprintf(n->log, sizeof n->log, "%s/redis.log", n->dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        n->port = harness_free_port();
        if (launch(g, n, sentinel, replica_of))
            return;
    }
    fail_msg("could not start redis-server for %s", name);
}

static long long info_int(struct sgroup *g, int i, const char *field)
{
    char buf[64];
    const char *v = sg_info(g, i, field, buf, sizeof buf);
    return *v ? atoll(v) : -1;
}

/* A field of a flat reply (SENTINEL MASTER, one entry of SENTINEL
 * REPLICAS): name, value, name, value... */
static const char *pair_field(const redisReply *r, const char *name)
{
    for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k + 1 < r->elements; k += 2)
        if (r->element[k]->type == REDIS_REPLY_STRING && strcmp(r->element[k]->str, name) == 0)
            return r->element[k + 1]->type == REDIS_REPLY_STRING ? r->element[k + 1]->str : "";
    return "";
}

static bool running_node(const struct sg_node *n)
{
    return n->pid > 0 && !n->stopped;
}

/* Replicas that data node i, a master, lists as state=online. */
static int online_replicas(struct sgroup *g, int i)
{
    redisReply *r = sg_node_cmd(g, i, "INFO replication");
    int n = 0;
    for (const char *p = r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
         p && (p = strstr(p, ",state=online,")) != NULL; p++)
        n++;
    if (r)
        freeReplyObject(r);
    return n;
}

/* How many replicas acknowledge a write on master i within 100 ms: after
 * a diskless copy the master streams to a replica, and so counts it for
 * WAIT, only once that replica's first REPLCONF ACK came (up to 1 s). The
 * write is a PUBLISH: replicated, and no key of stockd's. */
static long long acked_by(struct sgroup *g, int i, int replicas)
{
    redisReply *r = sg_node_cmd(g, i, "PUBLISH sg-probe 1");
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    r = sg_node_cmd(g, i, "WAIT %d 100", replicas);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

/* Why the group is not whole yet, into why; true when it is. */
static bool group_whole(struct sgroup *g, char *why, size_t n)
{
    int m = g->master;
    int replicas = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (i == m || !running_node(&g->node[i]))
            continue;
        replicas++;
        char buf[64];
        if (strcmp(sg_info(g, i, "master_link_status", buf, sizeof buf), "up") != 0 ||
            info_int(g, i, "master_port") != g->node[m].port) {
            snprintf(why, n, "node %d is not a synced replica of node %d", i, m);
            return false;
        }
    }
    if (info_int(g, m, "connected_slaves") != replicas || online_replicas(g, m) != replicas) {
        snprintf(why, n, "master %d does not list %d replicas online", m, replicas);
        return false;
    }
    if (replicas > 0 && acked_by(g, m, replicas) != replicas) {
        snprintf(why, n, "the replicas of master %d do not acknowledge writes yet", m);
        return false;
    }
    for (int s = 0; s < g->n_sentinels; s++) {
        if (!running_node(&g->sentinel[s]))
            continue;
        if (sg_sentinel_master_port(g, s) != g->node[m].port) {
            snprintf(why, n, "sentinel %d does not name node %d", s, m);
            return false;
        }
        redisReply *r = sg_sentinel_cmd(g, s, "SENTINEL MASTER %s", SG_MASTER_NAME);
        bool ok = strcmp(pair_field(r, "flags"), "master") == 0;
        int others = atoi(pair_field(r, "num-other-sentinels"));
        if (r)
            freeReplyObject(r);
        if (!ok || others < g->n_sentinels - 1) {
            snprintf(why, n, "sentinel %d: master not settled or sentinels unseen", s);
            return false;
        }
        r = sg_sentinel_cmd(g, s, "SENTINEL REPLICAS %s", SG_MASTER_NAME);
        int healthy = 0;
        for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
            /* Reachable and not down in its eyes: a candidate for the next
             * failover. (Its INFO of a replica, where the link status comes
             * from, may be 10 s old; it reads it every second once the
             * master is down, before it picks one.) */
            const redisReply *e = r->element[k];
            int idx = sg_index_of_port(g, atoi(pair_field(e, "port")));
            if (idx >= 0 && idx != m && running_node(&g->node[idx]) &&
                strcmp(pair_field(e, "flags"), "slave") == 0)
                healthy++;
        }
        if (r)
            freeReplyObject(r);
        if (healthy != replicas) {
            snprintf(why, n, "sentinel %d sees %d of %d replicas healthy", s, healthy, replicas);
            return false;
        }
    }
    return true;
}

void sg_wait_healthy(struct sgroup *g, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    char why[200];
    while (!group_whole(g, why, sizeof why)) {
        if (harness_now_ms() > deadline)
            fail_msg("the redis group never became whole: %s", why);
        probe_pause();
    }
}

void sg_start(struct sgroup *g, const struct sg_opts *opts)
{
    if (running)
        sg_stop(running);
    memset(g, 0, sizeof *g);
    g->opts = *opts;
    static int seq;
    snprintf(g->dir, sizeof g->dir, "%s/group-%d", H.dir, seq++);
    if (mkdir(g->dir, 0755) != 0)
        fail_msg("mkdir %s: %s", g->dir, strerror(errno));
    running = g;
    g->n_nodes = 1 + opts->replicas;
    start_node(g, &g->node[0], "node0", false, 0);
    for (int i = 1; i < g->n_nodes; i++) {
        char name[32];
        snprintf(name, sizeof name, "node%d", i);
        start_node(g, &g->node[i], name, false, g->node[0].port);
    }
    /* Replicas first, linked: a sentinel learns them from the master's
     * INFO, which it reads at once and then only every 10 s. */
    if (opts->sentinels) {
        long long deadline = harness_now_ms() + 15000;
        for (int i = 1; i < g->n_nodes; i++) {
            char buf[64];
            while (strcmp(sg_info(g, i, "master_link_status", buf, sizeof buf), "up") != 0) {
                if (harness_now_ms() > deadline)
                    fail_msg("replica %d never linked to the master", i);
                probe_pause();
            }
        }
        g->n_sentinels = SG_SENTINELS_MAX;
        for (int s = 0; s < g->n_sentinels; s++) {
            char name[32];
            snprintf(name, sizeof name, "sentinel%d", s);
            start_node(g, &g->sentinel[s], name, true, 0);
        }
    }
    sg_wait_healthy(g, 20000);
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_opts(const struct sg_opts *a, const struct sg_opts *b)
{
    return a->replicas == b->replicas && a->sentinels == b->sentinels && a->aof == b->aof &&
           same_str(a->user, b->user) && same_str(a->password, b->password) &&
           same_str(a->sentinel_password, b->sentinel_password) &&
           a->down_after_ms == b->down_after_ms;
}

void sg_reuse_or_start(struct sgroup *g, const struct sg_opts *opts)
{
    if (running == g && same_opts(&g->opts, opts)) {
        /* Whole again within a few seconds (a failover of the last test
         * settling): reused; else started afresh. */
        long long deadline = harness_now_ms() + 5000;
        char why[200];
        bool alive = true;
        for (int i = 0; i < g->n_nodes; i++)
            alive &= g->node[i].pid > 0 && !g->node[i].stopped;
        for (int s = 0; s < g->n_sentinels; s++)
            alive &= g->sentinel[s].pid > 0 && !g->sentinel[s].stopped;
        snprintf(why, sizeof why, "a node or sentinel is not running");
        while (alive && harness_now_ms() < deadline) {
            if (g->n_sentinels > 0 && sg_agreed_master(g, -1) < 0)
                snprintf(why, sizeof why, "the sentinels do not agree on a master");
            else if (group_whole(g, why, sizeof why))
                return;
            probe_pause();
        }
        printf("redis group started again: %s\n", why);
    }
    sg_start(g, opts);
}

void sg_stop(struct sgroup *g)
{
    struct sg_node *all[SG_NODES_MAX + SG_SENTINELS_MAX];
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        all[n++] = &g->node[i];
    for (int s = 0; s < g->n_sentinels; s++)
        all[n++] = &g->sentinel[s];
    for (int k = 0; k < n; k++) {
        drop_ctx(all[k]);
        if (all[k]->pid > 0) {
            kill(all[k]->pid, SIGKILL);
            waitpid(all[k]->pid, NULL, 0);
            all[k]->pid = 0;
        }
    }
    if (running == g)
        running = NULL;
}

const char *sg_sentinel_url(const struct sgroup *g, const char *userinfo, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "redis+sentinel://%s%s", userinfo ? userinfo : "",
                                  userinfo ? "@" : "");
    for (int s = 0; s < g->n_sentinels && len < n; s++)
        len += (size_t)snprintf(buf + len, n - len, "%s127.0.0.1:%d", s ? "," : "",
                                g->sentinel[s].port);
    if (len < n)
        snprintf(buf + len, n - len, "/%s", SG_MASTER_NAME);
    return buf;
}

const char *sg_direct_url(const struct sgroup *g, char *buf, size_t n)
{
    snprintf(buf, n, "redis://127.0.0.1:%d/0", g->node[g->master].port);
    return buf;
}

int sg_sentinel_master_port(struct sgroup *g, int s)
{
    redisReply *r = sg_sentinel_cmd(g, s, "SENTINEL GET-MASTER-ADDR-BY-NAME %s", SG_MASTER_NAME);
    int port = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING)
        port = atoi(r->element[1]->str);
    if (r)
        freeReplyObject(r);
    return port;
}

int sg_index_of_port(const struct sgroup *g, int port)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->node[i].port == port)
            return i;
    return -1;
}

const char *sg_role(struct sgroup *g, int i, char *buf, size_t n)
{
    redisReply *r = sg_node_cmd(g, i, "ROLE");
    snprintf(buf, n, "%s",
             r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                     r->element[0]->type == REDIS_REPLY_STRING
                 ? r->element[0]->str
                 : "");
    if (r)
        freeReplyObject(r);
    return buf;
}

void sg_kill(struct sgroup *g, int i)
{
    struct sg_node *n = &g->node[i];
    drop_ctx(n);
    if (n->pid > 0) {
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
        n->pid = 0;
    }
    n->stopped = false;
}

void sg_kill_sentinel(struct sgroup *g, int s)
{
    struct sg_node *n = &g->sentinel[s];
    drop_ctx(n);
    if (n->pid > 0) {
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
        n->pid = 0;
    }
}

void sg_signal(struct sgroup *g, int i, int sig)
{
    struct sg_node *n = &g->node[i];
    if (n->pid <= 0)
        fail_msg("node %d is not running", i);
    if (sig == SIGSTOP)
        drop_ctx(n); /* its replies would be late: a new connection after SIGCONT */
    kill(n->pid, sig);
    n->stopped = sig == SIGSTOP;
}

void sg_signal_sentinel(struct sgroup *g, int s, int sig)
{
    struct sg_node *n = &g->sentinel[s];
    if (n->pid <= 0)
        fail_msg("sentinel %d is not running", s);
    if (sig == SIGSTOP)
        drop_ctx(n);
    kill(n->pid, sig);
    n->stopped = sig == SIGSTOP;
}

void sg_restart_replica(struct sgroup *g, int i)
{
    sg_kill(g, i);
    if (!launch(g, &g->node[i], false, g->node[g->master].port))
        fail_msg("node %d could not start again on port %d (see %s)", i, g->node[i].port,
                 g->node[i].log);
}

int sg_agreed_master(struct sgroup *g, int old)
{
    int agreed = -1;
    for (int s = 0; s < g->n_sentinels; s++) {
        if (!running_node(&g->sentinel[s]))
            continue;
        int idx = sg_index_of_port(g, sg_sentinel_master_port(g, s));
        if (idx < 0 || idx == old || (agreed >= 0 && idx != agreed))
            return -1;
        agreed = idx;
    }
    char role[16];
    if (agreed < 0 || strcmp(sg_role(g, agreed, role, sizeof role), "master") != 0)
        return -1;
    g->master = agreed;
    return agreed;
}

int sg_wait_new_master(struct sgroup *g, int old, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    int m;
    while ((m = sg_agreed_master(g, old)) < 0) {
        if (harness_now_ms() > deadline)
            fail_msg("the sentinels never agreed on a master other than node %d", old);
        probe_pause();
    }
    return m;
}

long long sg_cmd_calls(struct sgroup *g, int i, const char *command)
{
    redisReply *r = sg_node_cmd(g, i, "INFO commandstats");
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    char needle[80];
    snprintf(needle, sizeof needle, "\ncmdstat_%s:calls=", command);
    const char *at = strstr(r->str, needle);
    long long calls = at ? atoll(at + strlen(needle)) : 0;
    freeReplyObject(r);
    return calls;
}

const char *sg_info(struct sgroup *g, int i, const char *field, char *buf, size_t n)
{
    buf[0] = '\0';
    redisReply *r = sg_node_cmd(g, i, "INFO");
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        if (r)
            freeReplyObject(r);
        return buf;
    }
    char needle[80];
    snprintf(needle, sizeof needle, "\n%s:", field);
    const char *at = strstr(r->str, needle);
    if (at) {
        at += strlen(needle);
        size_t len = strcspn(at, "\r\n");
        snprintf(buf, n, "%.*s", (int)len, at);
    }
    freeReplyObject(r);
    return buf;
}

bool sg_has_client(struct sgroup *g, int i, const char *name)
{
    redisReply *r = sg_node_must(g, i, "CLIENT LIST");
    char needle[80];
    snprintf(needle, sizeof needle, " name=%s ", name);
    bool found = r->type == REDIS_REPLY_STRING && strstr(r->str, needle) != NULL;
    freeReplyObject(r);
    return found;
}

void sg_print_tail(const char *path, int lines)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char *all = harness_read_all(f);
    fclose(f);
    size_t len = strlen(all);
    const char *start = all + len;
    for (int k = 0; k <= lines && start > all; start--)
        k += start[-1] == '\n';
    fprintf(stderr, "---- end of %s ----\n%s\n----\n", path, start);
    free(all);
}

void sg_stop_stockd(int i)
{
    char log[sizeof H.stockd[i].log_path];
    memcpy(log, H.stockd[i].log_path, sizeof log);
    pid_t pid = H.stockd[i].pid;
    harness_signal_stockd(i, SIGTERM);
    /* A drain waits for Redis at most the request timeout: 15 s is a hang. */
    long long give_up = harness_now_ms() + 15000;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (harness_now_ms() > give_up) {
            sg_print_tail(log, 40);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            harness_reap_stockd(i);
            fail_msg("stockd %d did not end in 15 s after SIGTERM", i);
        }
        probe_pause();
    }
    harness_reap_stockd(i); /* the harness's records; the pid is gone already */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        sg_print_tail(log, 40);
        fail_msg("stockd %d ended with status 0x%x", i, status);
    }
}

const char *sg_master_series(const struct sgroup *g, int i, const char *mode, char *buf, size_t n)
{
    snprintf(buf, n, "stockd_redis_master_info{address=\"127.0.0.1:%d\",mode=\"%s\"}",
             g->node[i].port, mode);
    return buf;
}
