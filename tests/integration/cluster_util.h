/* A real Redis Cluster for the tests: three masters and three replicas,
 * each a redis-server with --cluster-enabled on free loopback ports (its
 * client port and its bus port both picked free), made a cluster by
 * `redis-cli --cluster create`, in a dir under the harness's temp dir.
 * Every process is started with harness_spawn, so none outlives the test
 * program. Besides starting and stopping it: the master of a slot, a live
 * move of one slot to another master (the way redis-cli reshards:
 * IMPORTING/MIGRATING, MIGRATE in chunks, SETSLOT NODE), and kill -9 of a
 * master with the wait for its replica's promotion. */
#ifndef STOCKD_TEST_CLUSTER_UTIL_H
#define STOCKD_TEST_CLUSTER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#define CL_NODES 6     /* nodes of a new cluster */
#define CL_NODES_MAX 8 /* with the masters added later */
#define CL_MASTERS 3
#define CL_SLOTS 16384
/* cluster-node-timeout: a killed master is failed over in about 2-3 s. */
#define CL_NODE_TIMEOUT_MS 1000

struct cl_node {
    pid_t pid; /* 0: not running */
    int port, bus_port;
    char id[48]; /* its cluster node id, once the cluster is made */
    char dir[400];
    char log[460];
    redisContext *ctx; /* the test's own connection, opened on first use */
};

struct cluster {
    char dir[300];
    char password[64]; /* requirepass and masterauth of every node; "": none */
    struct cl_node node[CL_NODES_MAX];
    int n_nodes;
};

/* Starts six nodes in a fresh dir under parent_dir, makes them a cluster of
 * three masters with one replica each, and waits until every node says
 * cluster_state:ok and all agree on the slots and the replicas (see
 * cl_wait_ok). Fails the test program (fail_msg) when it cannot. */
void cl_start(struct cluster *c, const char *parent_dir);
/* The same with a password (requirepass and masterauth) on every node;
 * the test's own connections and MIGRATE log in with it. */
void cl_start_auth(struct cluster *c, const char *parent_dir, const char *password);
/* Kills every node (SIGKILL: nothing to flush). Idempotent. */
void cl_stop(struct cluster *c);
/* Sends SIGKILL to every node, with async-signal-safe calls only (from a
 * fatal signal's handler). */
void cl_kill_all_from_signal(const struct cluster *c);

/* "redis+cluster://127.0.0.1:<p0>,...,127.0.0.1:<p5>" into buf: every node
 * a seed. seeds: how many, the first nodes (0: all). */
const char *cl_url(const struct cluster *c, int seeds, char *buf, size_t n);

/* A command on node i (its kept connection). NULL when the node does not
 * answer; the caller frees the reply. */
redisReply *cl_cmd(struct cluster *c, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, failing the test when the node does not answer or answers an
 * error. */
redisReply *cl_must(struct cluster *c, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The kept connection to node i (NULL when it does not answer). */
redisContext *cl_ctx(struct cluster *c, int i);
/* A command on whichever master holds key's slot now, following MOVED (a
 * key being migrated is followed with ASKING). NULL when none answers. */
redisReply *cl_key_cmd(struct cluster *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The hash slot of a hash tag (its bytes without braces): CRC16-XMODEM
 * & 16383, computed here, independently of stockd's. */
unsigned cl_slot_of_tag(const char *tag);
/* The hash slot of a key by Redis's rule (the first non-empty {...}). */
unsigned cl_slot_of_key(const char *key);
/* The node that owns slot as the first running node sees it (CLUSTER
 * SLOTS), or -1. */
int cl_master_of_slot(struct cluster *c, unsigned slot);
/* The node on port, or -1. */
int cl_index_of_port(const struct cluster *c, int port);
/* Whether node i says it is a master (ROLE). */
bool cl_is_master(struct cluster *c, int i);
/* The running masters, into out[CL_NODES_MAX]; returns how many. */
int cl_masters(struct cluster *c, int *out);
/* A hash tag, base or base followed by a number, whose slot the node
 * master owns, into buf. */
const char *cl_tag_on(struct cluster *c, const char *base, int master, char *buf, size_t n);

/* Waits until every running node says cluster_state:ok and they all see
 * the same owner of every slot and the same master of every running
 * replica, with no slot importing or migrating. Fails the test after
 * timeout_ms, naming what is not settled. */
void cl_wait_ok(struct cluster *c, int timeout_ms);
/* FLUSHALL on every running master. */
void cl_flush(struct cluster *c);

/* A live move of one slot, done a chunk at a time so that a test can keep
 * a load running between the steps. */
struct cl_move {
    unsigned slot;
    int from, to;   /* nodes */
    int chunk;      /* keys per MIGRATE */
    int keys_moved; /* so far */
    int steps;      /* MIGRATE calls so far */
    bool done;
};
/* Marks the slot IMPORTING on `to` and MIGRATING on its owner. */
void cl_move_begin(struct cluster *c, struct cl_move *m, unsigned slot, int to, int chunk);
/* Moves up to m->chunk keys of the slot (GETKEYSINSLOT, MIGRATE ... KEYS);
 * when none is left, gives the slot to `to` on every master (SETSLOT NODE:
 * target, source, then the others) and sets m->done. Returns m->done.
 * Fails the test on an error reply. */
bool cl_move_step(struct cluster *c, struct cl_move *m);
/* Moves one key of the slot now (MIGRATE ... KEYS key), whatever the
 * chunks do: a test can leave a slot half moved. */
void cl_move_key(struct cluster *c, struct cl_move *m, const char *key);
/* Moves every key left (chunks of m->chunk) but does not give the slot
 * away: the slot stays MIGRATING on its owner with all its keys on the
 * target (where ASK sends the calls). */
void cl_move_all_keys(struct cluster *c, struct cl_move *m);
/* cl_move_begin, steps until done, and cl_wait_ok. */
void cl_move_slot(struct cluster *c, unsigned slot, int to, int chunk);

/* Starts a new node, empty, on free ports and has the cluster meet it: a
 * master with no slot (move some to it). Waits until every node knows it
 * (cl_wait_ok); returns its index. */
int cl_add_master(struct cluster *c, int timeout_ms);

/* kill -9 of node i. */
void cl_kill(struct cluster *c, int i);
/* After master old, the owner of slot, was killed: waits until another
 * node owns slot and says it is a master, and the cluster is ok and agreed
 * (cl_wait_ok); returns that node. Fails the test after timeout_ms. */
int cl_wait_promoted(struct cluster *c, int old, unsigned slot, int timeout_ms);
/* Starts node i again (same port, dir and nodes.conf): it rejoins as a
 * replica. Waits until its link to its master is up and cl_wait_ok. */
void cl_restart(struct cluster *c, int i, int timeout_ms);
/* The same without the wait: returns once the node answers. */
void cl_launch(struct cluster *c, int i);
/* One look at what cl_wait_ok waits for: true when settled, else false
 * with the reason in why. */
bool cl_settled(struct cluster *c, char *why, size_t n);

#endif
