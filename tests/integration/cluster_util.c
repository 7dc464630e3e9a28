/* A real Redis Cluster for the tests (see cluster_util.h): starts, the
 * cluster's own view of itself, master failures and added masters (slot
 * moves: cluster_move.c). */
#include "cluster_util.h"

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

#include "buf.h" /* xmalloc and friends */
#include "harness.h"

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

static void drop_ctx(struct cl_node *n)
{
    if (n->ctx) {
        redisFree(n->ctx);
        n->ctx = NULL;
    }
}

/* A connection to a node (logged in when the cluster has a password);
 * NULL when it does not answer. */
static redisContext *open_ctx(const struct cluster *cl, int port)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c == NULL || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    struct timeval call = {5, 0}; /* a stuck node fails the call, not the test's clock */
    redisSetTimeout(c, call);
    redisReply *r =
        cl->password[0] ? redisCommand(c, "AUTH %s", cl->password) : redisCommand(c, "PING");
    bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

redisContext *cl_ctx(struct cluster *c, int i)
{
    struct cl_node *n = &c->node[i];
    if (n->pid <= 0)
        return NULL;
    if (n->ctx == NULL)
        n->ctx = open_ctx(c, n->port);
    return n->ctx;
}

static redisReply *node_vcmd(struct cluster *c, int i, const char *fmt, va_list ap)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *ctx = cl_ctx(c, i);
        if (ctx == NULL)
            return NULL;
        va_list copy;
        va_copy(copy, ap);
        redisReply *r = redisvCommand(ctx, fmt, copy);
        va_end(copy);
        if (r != NULL)
            return r;
        drop_ctx(&c->node[i]); /* broken: once more on a new connection */
    }
    return NULL;
}

redisReply *cl_cmd(struct cluster *c, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = node_vcmd(c, i, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *cl_must(struct cluster *c, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = node_vcmd(c, i, fmt, ap);
    va_end(ap);
    if (r == NULL)
        fail_msg("cluster node %d (port %d) did not answer %s", i, c->node[i].port, fmt);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("cluster node %d (port %d) answered %s to %s", i, c->node[i].port, r->str, fmt);
    return r;
}

int cl_index_of_port(const struct cluster *c, int port)
{
    for (int i = 0; i < c->n_nodes; i++)
        if (c->node[i].port == port)
            return i;
    return -1;
}

/* "MOVED 3999 127.0.0.1:6381" or "ASK ...": the node it names, or -1. */
static int redirect_target(const struct cluster *c, const char *err)
{
    const char *colon = strrchr(err, ':');
    return colon ? cl_index_of_port(c, atoi(colon + 1)) : -1;
}

redisReply *cl_key_cmd(struct cluster *c, const char *key, const char *fmt, ...)
{
    int at = cl_master_of_slot(c, cl_slot_of_key(key));
    bool asking = false;
    for (int hop = 0; hop < 5 && at >= 0; hop++) {
        if (asking) {
            redisReply *a = cl_cmd(c, at, "ASKING");
            if (a)
                freeReplyObject(a);
        }
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = node_vcmd(c, at, fmt, ap);
        va_end(ap);
        if (r == NULL || r->type != REDIS_REPLY_ERROR ||
            (strncmp(r->str, "MOVED ", 6) != 0 && strncmp(r->str, "ASK ", 4) != 0))
            return r;
        asking = strncmp(r->str, "ASK ", 4) == 0;
        at = redirect_target(c, r->str);
        freeReplyObject(r);
    }
    return NULL;
}

/* --- slots ----------------------------------------------------------------- */

static unsigned crc16_xmodem(const char *p, size_t n)
{
    unsigned crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned)(unsigned char)p[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    return crc;
}

unsigned cl_slot_of_tag(const char *tag)
{
    return crc16_xmodem(tag, strlen(tag)) & (CL_SLOTS - 1);
}

unsigned cl_slot_of_key(const char *key)
{
    size_t n = strlen(key);
    const char *open = memchr(key, '{', n);
    if (open) {
        const char *close = memchr(open + 1, '}', n - (size_t)(open + 1 - key));
        if (close && close > open + 1)
            return crc16_xmodem(open + 1, (size_t)(close - open - 1)) & (CL_SLOTS - 1);
    }
    return crc16_xmodem(key, n) & (CL_SLOTS - 1);
}

int cl_master_of_slot(struct cluster *c, unsigned slot)
{
    for (int i = 0; i < c->n_nodes; i++) {
        if (c->node[i].pid <= 0)
            continue;
        redisReply *r = cl_cmd(c, i, "CLUSTER SLOTS");
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            if (r)
                freeReplyObject(r);
            continue;
        }
        int owner = -1;
        for (size_t k = 0; k < r->elements; k++) {
            const redisReply *e = r->element[k];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 3)
                continue;
            if ((long long)slot >= e->element[0]->integer &&
                (long long)slot <= e->element[1]->integer)
                owner = cl_index_of_port(c, (int)e->element[2]->element[1]->integer);
        }
        freeReplyObject(r);
        return owner;
    }
    return -1;
}

bool cl_is_master(struct cluster *c, int i)
{
    redisReply *r = cl_cmd(c, i, "ROLE");
    bool m = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
             r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0;
    if (r)
        freeReplyObject(r);
    return m;
}

int cl_masters(struct cluster *c, int *out)
{
    int n = 0;
    for (int i = 0; i < c->n_nodes; i++)
        if (c->node[i].pid > 0 && cl_is_master(c, i))
            out[n++] = i;
    return n;
}

const char *cl_tag_on(struct cluster *c, const char *base, int master, char *buf, size_t n)
{
    snprintf(buf, n, "%s", base);
    for (int k = 1; k < 10000; k++) {
        if (cl_master_of_slot(c, cl_slot_of_tag(buf)) == master)
            return buf;
        snprintf(buf, n, "%s%d", base, k);
    }
    fail_msg("no tag %s<n> hashes to node %d", base, master);
    return buf;
}

/* --- the cluster's view of itself --------------------------------------------- */

static char *copy_str(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int index_of_id(const struct cluster *c, const char *id)
{
    for (int i = 0; i < c->n_nodes; i++)
        if (c->node[i].id[0] && strcmp(c->node[i].id, id) == 0)
            return i;
    return -1;
}

/* What node i thinks the cluster is, as a canonical string into out (slot
 * owners and the masters of running replicas); false, with why, when node
 * i is not settled (no answer, state not ok, a slot in migration, a
 * running node flagged failing or in handshake). */
static bool node_view(struct cluster *c, int i, char *out, size_t n, char *why, size_t wn)
{
    redisReply *info = cl_cmd(c, i, "CLUSTER INFO");
    bool ok = info && info->type == REDIS_REPLY_STRING && strstr(info->str, "cluster_state:ok");
    if (info)
        freeReplyObject(info);
    if (!ok) {
        snprintf(why, wn, "node %d (port %d) does not say cluster_state:ok", i, c->node[i].port);
        return false;
    }
    redisReply *r = cl_cmd(c, i, "CLUSTER NODES");
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        if (r)
            freeReplyObject(r);
        snprintf(why, wn, "node %d does not answer CLUSTER NODES", i);
        return false;
    }
    char *text = copy_str(r->str);
    freeReplyObject(r);
    char *lines[64];
    int nl = 0;
    bool settled = true;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && nl < 64;
         line = strtok_r(NULL, "\n", &save)) {
        char id[48], addr[128], flags[128], master[48];
        int used = 0;
        if (sscanf(line, "%47s %127s %127s %47s %*s %*s %*s %*s%n", id, addr, flags, master,
                   &used) < 4)
            continue;
        int node = index_of_id(c, id);
        bool running = node >= 0 && c->node[node].pid > 0;
        if (strchr(line, '[')) {
            snprintf(why, wn, "node %d sees a slot in migration", i);
            settled = false;
        }
        if (running &&
            (strstr(flags, "fail") || strstr(flags, "handshake") || strstr(flags, "noaddr"))) {
            snprintf(why, wn, "node %d flags node %d %s", i, node, flags);
            settled = false;
        }
        char entry[2048];
        if (strstr(flags, "master") && (running || line[used] != '\0'))
            snprintf(entry, sizeof entry, "M %s%s", id, line + used);
        else if (strstr(flags, "slave") && running)
            snprintf(entry, sizeof entry, "S %s %s", id, master);
        else
            continue;
        lines[nl++] = copy_str(entry);
    }
    qsort(lines, (size_t)nl, sizeof *lines, compare_str);
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < nl; k++) {
        len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s\n", lines[k]);
        free(lines[k]);
    }
    free(text);
    return settled;
}

/* Whether every running replica's link to its master is up, and each
 * master's replicas acknowledge a write within 100 ms (after a full copy a
 * master counts a replica for WAIT only once its first REPLCONF ACK came,
 * up to a second later; the write is a PUBLISH, no key). */
static bool replicas_linked(struct cluster *c, char *why, size_t wn)
{
    /* Replicas first: a replica whose link is up is one its master
     * lists, so the masters' WAIT below counts it. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < c->n_nodes; i++) {
            if (c->node[i].pid <= 0)
                continue;
            /* A replica by the cluster's word (its own line in CLUSTER
             * NODES), which a restarted node knows from nodes.conf before
             * its replication has even started. */
            redisReply *r = cl_cmd(c, i, "CLUSTER NODES");
            const char *me = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "myself,") : NULL;
            bool replica = me && strncmp(me, "myself,slave", 12) == 0;
            if (r)
                freeReplyObject(r);
            r = cl_cmd(c, i, "INFO replication");
            replica |= r && r->type == REDIS_REPLY_STRING && strstr(r->str, "role:slave");
            bool up = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:up");
            const char *cs =
                r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "connected_slaves:") : NULL;
            int replicas = !replica && cs ? atoi(cs + strlen("connected_slaves:")) : 0;
            if (r)
                freeReplyObject(r);
            if (pass == 0 && replica && !up) {
                snprintf(why, wn, "replica %d (port %d) is not linked to its master", i,
                         c->node[i].port);
                return false;
            }
            if (pass == 1 && replicas > 0) {
                freeReplyObject(cl_must(c, i, "PUBLISH cl-probe 1"));
                r = cl_must(c, i, "WAIT %d 100", replicas);
                bool acked = r->integer >= replicas;
                freeReplyObject(r);
                if (!acked) {
                    snprintf(why, wn, "the replicas of master %d do not acknowledge writes yet", i);
                    return false;
                }
            }
        }
    return true;
}

bool cl_settled(struct cluster *c, char *why, size_t wn)
{
    static char first[16384], view[16384];
    int seen = 0;
    for (int i = 0; i < c->n_nodes; i++) {
        if (c->node[i].pid <= 0)
            continue;
        if (!node_view(c, i, seen ? view : first, sizeof view, why, wn))
            return false;
        if (seen++ && strcmp(first, view) != 0) {
            snprintf(why, wn, "node %d sees the slots or replicas otherwise than the others", i);
            return false;
        }
    }
    return replicas_linked(c, why, wn);
}

void cl_wait_ok(struct cluster *c, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    char why[300];
    while (!cl_settled(c, why, sizeof why)) {
        if (harness_now_ms() > deadline)
            fail_msg("the cluster did not settle in %d ms: %s", timeout_ms, why);
        probe_pause();
    }
}

void cl_flush(struct cluster *c)
{
    for (int i = 0; i < c->n_nodes; i++)
        if (c->node[i].pid > 0 && cl_is_master(c, i))
            freeReplyObject(cl_must(c, i, "FLUSHALL"));
}

/* --- processes ---------------------------------------------------------------- */

/* Starts node n on its ports and waits until it answers; false when it
 * ended first (a port was taken meanwhile). */
static bool launch(const struct cluster *c, struct cl_node *n)
{
    drop_ctx(n);
    char port[16], bus[16], timeout[16];
    snprintf(port, sizeof port, "%d", n->port);
    snprintf(bus, sizeof bus, "%d", n->bus_port);
    snprintf(timeout, sizeof timeout, "%d", CL_NODE_TIMEOUT_MS);
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--protected-mode", "no",
                    "--dir", n->dir, "--daemonize", "no", "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf", "--cluster-port", bus,
                    "--cluster-node-timeout", timeout, "--appendonly", "no", "--save", "",
                    /* A replica's full copy at once, not after 5 s. */
                    "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                    /* DEBUG DIGEST for the tests that compare data sets. */
                    "--enable-debug-command", "local", NULL, NULL, NULL, NULL, NULL};
    if (c->password[0]) {
        /* Its clients and its replication both need it. */
        size_t k = sizeof argv / sizeof argv[0] - 5;
        argv[k++] = "--requirepass";
        argv[k++] = (char *)c->password;
        argv[k++] = "--masterauth";
        argv[k++] = (char *)c->password;
    }
    n->pid = harness_spawn(argv, n->log);
    long long deadline = harness_now_ms() + 15000;
    while (harness_now_ms() < deadline) {
        if (has_exited(n->pid)) {
            n->pid = 0;
            return false;
        }
        n->ctx = open_ctx(c, n->port);
        if (n->ctx)
            return true;
        probe_pause();
    }
    fail_msg("redis-server did not answer on port %d (see %s)", n->port, n->log);
    return false;
}

static void start_node(struct cluster *c, int i)
{
    struct cl_node *n = &c->node[i];
    char dir[sizeof n->dir], log[sizeof n->log]; /* (not built in place: they overlap c) */
    snprintf(dir, sizeof dir, "%.300s/node%d", c->dir, i);
    snprintf(log, sizeof log, "%s/redis.log", dir);
    memcpy(n->dir, dir, sizeof dir);
    memcpy(n->log, log, sizeof log);
    if (mkdir(n->dir, 0755) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", n->dir, strerror(errno));
    for (int attempt = 0; attempt < 5; attempt++) {
        n->port = harness_free_port();
        n->bus_port = harness_free_port();
        if (n->bus_port != n->port && launch(c, n))
            return;
        unlink(n->log);
    }
    fail_msg("could not start cluster node %d", i);
}

void cl_start(struct cluster *c, const char *parent_dir)
{
    cl_start_auth(c, parent_dir, NULL);
}

void cl_start_auth(struct cluster *c, const char *parent_dir, const char *password)
{
    static int seq;
    memset(c, 0, sizeof *c);
    snprintf(c->password, sizeof c->password, "%s", password ? password : "");
    snprintf(c->dir, sizeof c->dir, "%.280s/cluster-%d", parent_dir, seq++);
    if (mkdir(c->dir, 0755) != 0)
        fail_msg("mkdir %s: %s", c->dir, strerror(errno));
    c->n_nodes = CL_NODES;
    for (int i = 0; i < CL_NODES; i++)
        start_node(c, i);
    char addrs[CL_NODES][32];
    char *argv[CL_NODES + 12] = {"redis-cli", "--cluster", "create"};
    int k = 3;
    if (c->password[0]) {
        argv[k++] = "-a";
        argv[k++] = c->password;
        argv[k++] = "--no-auth-warning";
    }
    for (int i = 0; i < CL_NODES; i++) {
        snprintf(addrs[i], sizeof addrs[i], "127.0.0.1:%d", c->node[i].port);
        argv[k++] = addrs[i];
    }
    argv[k++] = "--cluster-replicas";
    argv[k++] = "1";
    argv[k++] = "--cluster-yes";
    argv[k] = NULL;
    char log[400];
    snprintf(log, sizeof log, "%s/create.log", c->dir);
    pid_t cli = harness_spawn(argv, log);
    int st = 0;
    waitpid(cli, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        FILE *f = fopen(log, "r");
        char *text = f ? harness_read_all(f) : NULL;
        if (f)
            fclose(f);
        fprintf(stderr, "---- %s ----\n%s\n----\n", log, text ? text : "");
        free(text);
        fail_msg("redis-cli --cluster create failed (status 0x%x)", st);
    }
    for (int i = 0; i < c->n_nodes; i++) {
        redisReply *r = cl_must(c, i, "CLUSTER MYID");
        snprintf(c->node[i].id, sizeof c->node[i].id, "%s", r->str);
        freeReplyObject(r);
    }
    cl_wait_ok(c, 30000);
}

void cl_stop(struct cluster *c)
{
    for (int i = 0; i < c->n_nodes; i++)
        cl_kill(c, i);
}

void cl_kill_all_from_signal(const struct cluster *c)
{
    for (int i = 0; i < c->n_nodes; i++)
        if (c->node[i].pid > 0)
            kill(c->node[i].pid, SIGKILL);
}

void cl_kill(struct cluster *c, int i)
{
    struct cl_node *n = &c->node[i];
    drop_ctx(n);
    if (n->pid > 0) {
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
        n->pid = 0;
    }
}

const char *cl_url(const struct cluster *c, int seeds, char *buf, size_t n)
{
    if (seeds <= 0 || seeds > c->n_nodes)
        seeds = c->n_nodes;
    size_t len = (size_t)snprintf(buf, n, "redis+cluster://");
    for (int i = 0; i < seeds && len < n; i++)
        len +=
            (size_t)snprintf(buf + len, n - len, "%s127.0.0.1:%d", i ? "," : "", c->node[i].port);
    return buf;
}

int cl_wait_promoted(struct cluster *c, int old, unsigned slot, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    int m;
    while ((m = cl_master_of_slot(c, slot)) < 0 || m == old || !cl_is_master(c, m)) {
        if (harness_now_ms() > deadline)
            fail_msg("no replica of node %d took slot %u over in %d ms", old, slot, timeout_ms);
        probe_pause();
    }
    cl_wait_ok(c, (int)(deadline - harness_now_ms()) + 5000);
    return m;
}

void cl_launch(struct cluster *c, int i)
{
    cl_kill(c, i);
    if (!launch(c, &c->node[i]))
        fail_msg("cluster node %d could not start again on port %d (see %s)", i, c->node[i].port,
                 c->node[i].log);
}

void cl_restart(struct cluster *c, int i, int timeout_ms)
{
    cl_launch(c, i);
    cl_wait_ok(c, timeout_ms);
}

int cl_add_master(struct cluster *c, int timeout_ms)
{
    if (c->n_nodes == CL_NODES_MAX)
        fail_msg("no room for another cluster node");
    int i = c->n_nodes++;
    start_node(c, i);
    redisReply *r = cl_must(c, i, "CLUSTER MYID");
    snprintf(c->node[i].id, sizeof c->node[i].id, "%s", r->str);
    freeReplyObject(r);
    freeReplyObject(
        cl_must(c, 0, "CLUSTER MEET 127.0.0.1 %d %d", c->node[i].port, c->node[i].bus_port));
    cl_wait_ok(c, timeout_ms);
    return i;
}
