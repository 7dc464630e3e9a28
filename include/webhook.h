/* Webhook delivery: every entry of the stock-events stream {ns}:stock-events
 * is POSTed, signed, to each --webhook-url, at least once, in stream order
 * per (sku, location). Each URL has a consumer group on the stream shared
 * by every replica (webhook_group_name), so an event goes to one replica,
 * unless that replica dies and another takes its entries over.
 *
 * Delivery never stands in the way of a reservation: it has its own two
 * Redis connections (one only waits for new entries with a blocking XREAD,
 * the other carries the small calls), reads only while its bounded queue
 * has room, keeps a bounded number of POSTs in flight, starts at most
 * --webhook-max-rate of them a second (so that a burst of events leaves
 * the loop's CPU to the reservations), and adds nothing to the request
 * path. webhook.c and webhook_group.c are its two halves (see
 * webhook_group.h); docs/webhooks.md tells the whole story. */
#ifndef STOCKD_WEBHOOK_H
#define STOCKD_WEBHOOK_H

#include "config.h"
#include "contract.h"
#include "metrics.h"

/* lua/webhook_read.lua: the next entries for this replica: first those a
 * silent replica left (XAUTOCLAIM, while a claim pass is on), then new ones
 * (XREADGROUP), and the stream's last id. Creates the group when missing. */
#define WEBHOOK_READ_KEYS(X) X(WEBHOOK_READ_K_STREAM)
#define WEBHOOK_READ_ARGV(X)                                                                       \
    X(WEBHOOK_READ_A_GROUP)                                                                        \
    X(WEBHOOK_READ_A_CONSUMER)                                                                     \
    X(WEBHOOK_READ_A_COUNT) X(WEBHOOK_READ_A_CLAIM_IDLE) X(WEBHOOK_READ_A_CLAIM_FROM)
#define WEBHOOK_READ_STATUS(X) X(WEBHOOK_READ_ST_OK) X(WEBHOOK_READ_ST_CREATED)

/* lua/webhook_check.lua: for each (chain, prev): is prev finished for the
 * group (its cursor has reached it, or it is pending no more)? */
#define WEBHOOK_CHECK_KEYS(X) X(WEBHOOK_CHECK_K_STREAM) X(WEBHOOK_CHECK_K_CURSOR)
#define WEBHOOK_CHECK_ARGV(X) X(WEBHOOK_CHECK_A_GROUP)
#define WEBHOOK_CHECK_STATUS(X) X(WEBHOOK_CHECK_ST_OK)

/* lua/webhook_ack.lua: XACK of delivered entries, and their chains'
 * cursors moved up to them, in one step. */
#define WEBHOOK_ACK_KEYS(X) X(WEBHOOK_ACK_K_STREAM) X(WEBHOOK_ACK_K_CURSOR)
#define WEBHOOK_ACK_ARGV(X) X(WEBHOOK_ACK_A_GROUP)
#define WEBHOOK_ACK_STATUS(X) X(WEBHOOK_ACK_ST_OK)

/* lua/webhook_dead.lua: one entry given up: XADD to the dead-letter
 * stream, XACK, cursor, in one step; GONE when it is pending no more. */
#define WEBHOOK_DEAD_KEYS(X)                                                                       \
    X(WEBHOOK_DEAD_K_STREAM) X(WEBHOOK_DEAD_K_DEAD) X(WEBHOOK_DEAD_K_CURSOR)
#define WEBHOOK_DEAD_ARGV(X)                                                                       \
    X(WEBHOOK_DEAD_A_GROUP)                                                                        \
    X(WEBHOOK_DEAD_A_MAXLEN)                                                                       \
    X(WEBHOOK_DEAD_A_ID) X(WEBHOOK_DEAD_A_CHAIN) X(WEBHOOK_DEAD_A_URL) X(WEBHOOK_DEAD_A_ATTEMPTS)  \
        X(WEBHOOK_DEAD_A_ERROR)
#define WEBHOOK_DEAD_STATUS(X) X(WEBHOOK_DEAD_ST_OK) X(WEBHOOK_DEAD_ST_GONE)

/* lua/webhook_lease.lua: for each id this replica holds: still its own
 * (claimed again with the given idle time), another's, or pending no more. */
#define WEBHOOK_LEASE_KEYS(X) X(WEBHOOK_LEASE_K_STREAM)
#define WEBHOOK_LEASE_ARGV(X)                                                                      \
    X(WEBHOOK_LEASE_A_GROUP) X(WEBHOOK_LEASE_A_CONSUMER) X(WEBHOOK_LEASE_A_IDLE)
#define WEBHOOK_LEASE_STATUS(X) X(WEBHOOK_LEASE_ST_OK)
/* Per id, after the status. */
enum { WEBHOOK_LEASE_KEPT = 0, WEBHOOK_LEASE_LOST = 1, WEBHOOK_LEASE_GONE = 2 };

/* lua/webhook_stats.lua: the group's backlog for the metrics, Redis's
 * clock, and the removal of long-silent consumers that hold nothing. */
#define WEBHOOK_STATS_KEYS(X) X(WEBHOOK_STATS_K_STREAM)
#define WEBHOOK_STATS_ARGV(X)                                                                      \
    X(WEBHOOK_STATS_A_GROUP) X(WEBHOOK_STATS_A_CONSUMER) X(WEBHOOK_STATS_A_REAP_IDLE)
#define WEBHOOK_STATS_STATUS(X) X(WEBHOOK_STATS_ST_OK)

enum { WEBHOOK_READ_KEYS(CONTRACT_ENUM) WEBHOOK_READ_K_FIXED };
enum { WEBHOOK_READ_ARGV(CONTRACT_ENUM) WEBHOOK_READ_A_FIXED };
enum { WEBHOOK_READ_STATUS(CONTRACT_ENUM) WEBHOOK_READ_STATUSES };
enum { WEBHOOK_CHECK_KEYS(CONTRACT_ENUM) WEBHOOK_CHECK_K_FIXED };
enum { WEBHOOK_CHECK_ARGV(CONTRACT_ENUM) WEBHOOK_CHECK_A_FIXED };
enum { WEBHOOK_CHECK_STATUS(CONTRACT_ENUM) WEBHOOK_CHECK_STATUSES };
enum { WEBHOOK_ACK_KEYS(CONTRACT_ENUM) WEBHOOK_ACK_K_FIXED };
enum { WEBHOOK_ACK_ARGV(CONTRACT_ENUM) WEBHOOK_ACK_A_FIXED };
enum { WEBHOOK_ACK_STATUS(CONTRACT_ENUM) WEBHOOK_ACK_STATUSES };
enum { WEBHOOK_DEAD_KEYS(CONTRACT_ENUM) WEBHOOK_DEAD_K_FIXED };
enum { WEBHOOK_DEAD_ARGV(CONTRACT_ENUM) WEBHOOK_DEAD_A_FIXED };
enum { WEBHOOK_DEAD_STATUS(CONTRACT_ENUM) WEBHOOK_DEAD_STATUSES };
enum { WEBHOOK_LEASE_KEYS(CONTRACT_ENUM) WEBHOOK_LEASE_K_FIXED };
enum { WEBHOOK_LEASE_ARGV(CONTRACT_ENUM) WEBHOOK_LEASE_A_FIXED };
enum { WEBHOOK_LEASE_STATUS(CONTRACT_ENUM) WEBHOOK_LEASE_STATUSES };
enum { WEBHOOK_STATS_KEYS(CONTRACT_ENUM) WEBHOOK_STATS_K_FIXED };
enum { WEBHOOK_STATS_ARGV(CONTRACT_ENUM) WEBHOOK_STATS_A_FIXED };
enum { WEBHOOK_STATS_STATUS(CONTRACT_ENUM) WEBHOOK_STATS_STATUSES };

/* Most entries in one read, check, ack or lease call: each call keeps
 * Redis well under a millisecond. */
#define WEBHOOK_BATCH 200

struct webhook;
struct uv_loop_s;

/* The deliverer for cfg's webhook URLs (at least one; the secret loaded).
 * The config and metrics are borrowed and must outlive it. NULL when
 * libcurl cannot start (the reason logged). */
struct webhook *webhook_new(struct uv_loop_s *loop, const struct config *cfg, struct metrics *m);
/* Connects to Redis and starts delivering. */
void webhook_start(struct webhook *w);
/* Stops delivering: POSTs in flight are abandoned, the entries this replica
 * holds are handed back (made claimable by other replicas at once), the
 * connections close; then done(data) runs and the deliverer is freed. */
void webhook_close(struct webhook *w, void (*done)(void *), void *data);

#endif
