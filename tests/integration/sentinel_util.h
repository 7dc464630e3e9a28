/* A replicated Redis for the failover tests: a master, replicas that follow
 * it (--replicaof) and, when asked, three sentinels watching it, each a
 * real redis-server on a free loopback port with its own config file, data
 * dir and log under the harness's temp dir. Every process is started with
 * harness_spawn, so none outlives the test program. */
#ifndef STOCKD_TEST_SENTINEL_UTIL_H
#define STOCKD_TEST_SENTINEL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#define SG_NODES_MAX 3
#define SG_SENTINELS_MAX 3
#define SG_MASTER_NAME "mymaster"
/* Sentinel's down-after-milliseconds. Not less: after a switch, a sentinel
 * reconnects to the new master only a second after its last attempt at the
 * old one, yet counts the new master's silence from the switch; below about
 * 1.1 s it finds the new master down at once and fails over again. */
#define SG_DOWN_AFTER_MS 1500

struct sg_node {
    pid_t pid; /* 0: not running */
    int port;
    bool stopped; /* SIGSTOPped by the test: never talked to */
    char dir[400];
    char conf[460];
    char log[460];
    redisContext *ctx; /* the test's own connection, opened on first use */
};

struct sg_opts {
    int replicas;                  /* replicas of the master, 0..SG_NODES_MAX-1 */
    bool sentinels;                /* three sentinels, quorum 2 */
    bool aof;                      /* appendonly, appendfsync always */
    const char *user, *password;   /* an ACL user that the data nodes require (their
                                    * default user is off): replicas, sentinels and
                                    * the test log in as it; NULL: no auth */
    const char *sentinel_password; /* requirepass of the sentinels; NULL: none */
    int down_after_ms;             /* sentinel down-after-milliseconds; 0: SG_DOWN_AFTER_MS */
};

struct sgroup {
    struct sg_opts opts;
    char dir[300];
    struct sg_node node[SG_NODES_MAX]; /* data nodes; node[0] starts as the master */
    int n_nodes;
    struct sg_node sentinel[SG_SENTINELS_MAX];
    int n_sentinels;
    int master; /* index of the master as the group last saw it */
};

/* Starts the group in a fresh dir under the harness's and waits until it
 * is ready: every replica's link to the master is up and, with sentinels,
 * each of them names the master, sees every replica and the two other
 * sentinels. A group still running from an earlier test is stopped first.
 * Fails the test when it cannot. */
void sg_start(struct sgroup *g, const struct sg_opts *opts);
/* The group g as it runs, when it was started with the same opts and is
 * whole (every node and sentinel running, see sg_wait_healthy); else
 * sg_start. Tests that leave the group whole let the next one skip the
 * start. */
void sg_reuse_or_start(struct sgroup *g, const struct sg_opts *opts);
/* Kills every process of the group (SIGKILL: nothing to flush). */
void sg_stop(struct sgroup *g);

/* "redis+sentinel://[userinfo@]127.0.0.1:<s1>,...,/mymaster" (userinfo may
 * be NULL), into buf. */
const char *sg_sentinel_url(const struct sgroup *g, const char *userinfo, char *buf, size_t n);
/* "redis://127.0.0.1:<master port>/0", into buf. */
const char *sg_direct_url(const struct sgroup *g, char *buf, size_t n);

/* A command on data node i (its kept connection, logged in). NULL when the
 * node does not answer; the caller frees the reply. */
redisReply *sg_node_cmd(struct sgroup *g, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, failing the test when the node does not answer or answers an
 * error. */
redisReply *sg_node_must(struct sgroup *g, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A command on sentinel s; NULL when it does not answer. */
redisReply *sg_sentinel_cmd(struct sgroup *g, int s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The kept connection to data node i, for pipelining (NULL when it does not
 * answer). */
redisContext *sg_node_ctx(struct sgroup *g, int i);

/* The port of the master that sentinel s names; -1 when it does not
 * answer. */
int sg_sentinel_master_port(struct sgroup *g, int s);
/* The data node on port, or -1. */
int sg_index_of_port(const struct sgroup *g, int port);
/* The first element of ROLE on data node i ("master", "slave"), "" when it
 * does not answer. */
const char *sg_role(struct sgroup *g, int i, char *buf, size_t n);

/* kill -9 of data node i. */
void sg_kill(struct sgroup *g, int i);
/* kill -9 of sentinel s. */
void sg_kill_sentinel(struct sgroup *g, int s);
/* SIGSTOP / SIGCONT of data node i. */
void sg_signal(struct sgroup *g, int i, int sig);
/* SIGSTOP / SIGCONT of sentinel s (a stopped one is left out of the waits). */
void sg_signal_sentinel(struct sgroup *g, int s, int sig);
/* Starts data node i again (same port, same dir) as a replica of the
 * current master, and waits until it answers. */
void sg_restart_replica(struct sgroup *g, int i);

/* When every sentinel that runs names one master other than node old, and
 * ROLE on that node says master: records and returns its index; else -1.
 * Does not wait. */
int sg_agreed_master(struct sgroup *g, int old);
/* Waits until every sentinel that runs names one master other than node
 * old, and ROLE on that node says master; records and returns its index.
 * Fails the test after timeout_ms. */
int sg_wait_new_master(struct sgroup *g, int old, int timeout_ms);
/* Waits until the group is whole again around g->master: every running
 * replica's link to it is up, the master lists them online and they
 * acknowledge a write (WAIT); every sentinel names it, has no failover in
 * progress, sees the other sentinels and each running replica, neither
 * down nor disconnected. Fails the test after timeout_ms. */
void sg_wait_healthy(struct sgroup *g, int timeout_ms);

/* Calls of a command on data node i since its start (INFO commandstats,
 * e.g. "evalsha", "wait"); 0 when it has none; -1 when the node does not
 * answer. */
long long sg_cmd_calls(struct sgroup *g, int i, const char *command);
/* A field of INFO on data node i ("master_link_status"), into buf; "" when
 * absent. */
const char *sg_info(struct sgroup *g, int i, const char *field, char *buf, size_t n);
/* Whether CLIENT LIST on data node i shows a client named name. */
bool sg_has_client(struct sgroup *g, int i, const char *name);

/* Stops stockd i of the harness (SIGTERM) and fails the test, with the end
 * of its log, unless it exits 0. */
void sg_stop_stockd(int i);
/* The last lines of a log, to stderr (what a failing test shows). */
void sg_print_tail(const char *path, int lines);
/* The stockd_redis_master_info series naming node i, into buf. */
const char *sg_master_series(const struct sgroup *g, int i, const char *mode, char *buf, size_t n);

#endif
