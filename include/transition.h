/* Transitions of reservations, plan then act: commit, release, extend,
 * update and transfer (one reservation, for a request) and expire (a
 * batch, for the sweeper). A script must be given every key it touches,
 * and which keys a transition touches (the order binding, the stock of
 * each sku held) is written in the reservation records; so a transition is
 * two calls:
 *
 *   reservation_plan   read-only: each reservation's order_id and skus
 *   commit | release | extend | expire   the change, given exactly those keys; it
 *                      checks the records again, so a record that moved in
 *                      between is handled by the script, never by a guess
 *
 * The caller sends the calls (the request kernel, or the store for the
 * sweeper) and feeds every reply to transition_reply. */
#ifndef STOCKD_TRANSITION_H
#define STOCKD_TRANSITION_H

#include <stdbool.h>

#include "args.h"
#include "contract.h"
#include "ident.h"
#include "reply.h"
#include "result.h"
#include "scripts.h"
#include "validate.h"

/* lua/reservation_plan.lua: KEYS are the {ns}:res:<id> of the
 * reservations. */
#define RESERVATION_PLAN_KEYS(X)
#define RESERVATION_PLAN_ARGV(X) X(RESERVATION_PLAN_A_BUDGET)
#define RESERVATION_PLAN_STATUS(X) X(RESERVATION_PLAN_ST_OK)

/* The layout that the acts share. After the fixed KEYS: {ns}:res:<id_i>
 * for i = 1..k, then {ns}:order:<order_id_i> (the res key itself when the
 * reservation has no order_id), then {ns}:stock:<sku_j> for the m distinct
 * skus of its lines (held, or short in a partial hold), then
 * {ns}:holds:<sku_j> for the same skus; update's act goes on with
 * {ns}:channel:<channel> and {ns}:rules:<channel> of the reservation's
 * channel. After the fixed ARGV (K is k): id_1..id_k, then m and
 * sku_1..sku_m; then update's u and (sku, quantity) x u, the items; or
 * transfer's sku, from, to and quantity ('' for all). REASON is release's,
 * TTL extend's; BUDGET: expire gives back at most this many allocations
 * per call (a request's own hold is done whole). STOCK_EVENTS is the
 * stream of stock-level events that the acts which change available
 * append to, capped at MAXLEN like the ledger (lua/lib/common.lua,
 * stock_events). Each script ignores the arguments that are not its own. */
#define TRANSITION_KEYS(X)                                                                         \
    X(TRANSITION_K_EXPIRY) X(TRANSITION_K_EVENTS) X(TRANSITION_K_QUARANTINE) X(TRANSITION_K_DUE)   \
    X(TRANSITION_K_LOCATIONS) X(TRANSITION_K_STOCK_EVENTS)
#define TRANSITION_ARGV(X)                                                                         \
    X(TRANSITION_A_RETENTION)                                                                      \
    X(TRANSITION_A_MAXLEN) X(TRANSITION_A_REASON) X(TRANSITION_A_TTL) X(TRANSITION_A_BUDGET)        \
    X(TRANSITION_A_K)

/* lua/commit.lua (k = 1) */
#define COMMIT_KEYS(X) TRANSITION_KEYS(X)
#define COMMIT_ARGV(X) TRANSITION_ARGV(X)
#define COMMIT_STATUS(X)                                                                           \
    X(COMMIT_ST_COMMITTED) X(COMMIT_ST_NOT_FOUND) X(COMMIT_ST_EXPIRED) X(COMMIT_ST_RELEASED)       \
    X(COMMIT_ST_KEYS_MISSING)

/* lua/release.lua (k = 1) */
#define RELEASE_KEYS(X) TRANSITION_KEYS(X)
#define RELEASE_ARGV(X) TRANSITION_ARGV(X)
#define RELEASE_STATUS(X)                                                                          \
    X(RELEASE_ST_RELEASED) X(RELEASE_ST_RESTOCKED) X(RELEASE_ST_EXPIRED) X(RELEASE_ST_UNCHANGED)   \
    X(RELEASE_ST_NOT_FOUND) X(RELEASE_ST_KEYS_MISSING)

/* lua/extend.lua (k = 1) */
#define EXTEND_KEYS(X) TRANSITION_KEYS(X)
#define EXTEND_ARGV(X) TRANSITION_ARGV(X)
#define EXTEND_STATUS(X)                                                                           \
    X(EXTEND_ST_EXTENDED) X(EXTEND_ST_NOT_FOUND) X(EXTEND_ST_EXPIRED) X(EXTEND_ST_COMMITTED)       \
    X(EXTEND_ST_RELEASED) X(EXTEND_ST_KEYS_MISSING)

/* lua/update.lua (k = 1) */
#define UPDATE_KEYS(X) TRANSITION_KEYS(X)
#define UPDATE_ARGV(X) TRANSITION_ARGV(X)
#define UPDATE_STATUS(X)                                                                           \
    X(UPDATE_ST_UPDATED) X(UPDATE_ST_UNCHANGED) X(UPDATE_ST_NOT_FOUND) X(UPDATE_ST_NOT_HELD)       \
    X(UPDATE_ST_NOT_A_LINE) X(UPDATE_ST_NO_LINE_LEFT) X(UPDATE_ST_SHORT) X(UPDATE_ST_KEYS_MISSING)

/* lua/transfer.lua (k = 1) */
#define TRANSFER_KEYS(X) TRANSITION_KEYS(X)
#define TRANSFER_ARGV(X) TRANSITION_ARGV(X)
#define TRANSFER_STATUS(X)                                                                         \
    X(TRANSFER_ST_MOVED) X(TRANSFER_ST_UNCHANGED) X(TRANSFER_ST_NOT_FOUND) X(TRANSFER_ST_NOT_HELD) \
    X(TRANSFER_ST_NOT_A_LINE) X(TRANSFER_ST_NOT_AT) X(TRANSFER_ST_SHORT)                          \
    X(TRANSFER_ST_KEYS_MISSING)

/* lua/expire.lua (k = 1..SWEEP_BATCH) */
#define EXPIRE_KEYS(X) TRANSITION_KEYS(X)
#define EXPIRE_ARGV(X) TRANSITION_ARGV(X)
#define EXPIRE_STATUS(X) X(EXPIRE_ST_OK) X(EXPIRE_ST_KEYS_MISSING)

enum { RESERVATION_PLAN_KEYS(CONTRACT_ENUM) RESERVATION_PLAN_K_FIXED };
enum { RESERVATION_PLAN_ARGV(CONTRACT_ENUM) RESERVATION_PLAN_A_FIXED };
enum { RESERVATION_PLAN_STATUS(CONTRACT_ENUM) RESERVATION_PLAN_STATUSES };
enum { TRANSITION_KEYS(CONTRACT_ENUM) TRANSITION_K_FIXED };
enum { TRANSITION_ARGV(CONTRACT_ENUM) TRANSITION_A_FIXED };
enum { COMMIT_STATUS(CONTRACT_ENUM) COMMIT_STATUSES };
enum { RELEASE_STATUS(CONTRACT_ENUM) RELEASE_STATUSES };
enum { EXTEND_STATUS(CONTRACT_ENUM) EXTEND_STATUSES };
enum { EXPIRE_STATUS(CONTRACT_ENUM) EXPIRE_STATUSES };
enum { UPDATE_STATUS(CONTRACT_ENUM) UPDATE_STATUSES };
enum { TRANSFER_STATUS(CONTRACT_ENUM) TRANSFER_STATUSES };

enum transition_kind {
    TRANSITION_COMMIT,
    TRANSITION_RELEASE,
    TRANSITION_EXTEND,
    TRANSITION_EXPIRE,
    TRANSITION_UPDATE,
    TRANSITION_TRANSFER,
};

/* What the act answered. */
struct transition_result {
    int status;             /* a COMMIT_ST_, RELEASE_ST_ or EXPIRE_ST_ status */
    bool has_reservation;   /* commit, release: the status carries the reservation */
    struct reservation res; /* borrowed from the reply */
    long long expired;      /* expire: holds this call finished */
    bool more;              /* expire: the budget ran out; due work is left */
    /* expire: records that could not be read, moved aside: n pairs (id,
     * why) in rd from index EXPIRE_QUARANTINED_AT. */
    long long quarantined;
    struct reply *rd; /* also update's and transfer's statuses without a reservation */
};

#define EXPIRE_QUARANTINED_AT 4

struct transition;
/* Sends one call with t->args (the first nkeys are KEYS); its reply, of one
 * of n_status statuses, must come back through transition_reply. */
typedef void (*transition_send_fn)(struct transition *t, enum script_id script, int nkeys,
                                   int n_status);
/* The act's reply, decoded. */
typedef void (*transition_done_fn)(struct transition *t, const struct transition_result *res);

/* One transition in progress; embedded in its caller's state. Everything it
 * points to is borrowed and must live until done runs. */
struct transition {
    enum transition_kind kind;
    const struct ident *ns;
    const struct ident *ids; /* the reservations */
    int k;
    int k_act;               /* of them, those the act takes: the expire's plan reads
                              * records up to its budget of allocations */
    struct str reason;       /* release: recorded on the reservation; else empty */
    long long retention_s, ledger_maxlen;
    long long ttl_ms;        /* extend: the new time to live */
    const struct params *params; /* update: items; transfer: sku, from, to, quantity */
    long long budget;        /* expire: allocations per call (plan and act); 0: no limit */
    struct args *args;       /* the builder of each call */
    struct ident **skus;     /* scratch for the distinct skus (grown; the caller frees) */
    size_t *skus_cap;
    struct reservation_scratch *res_scratch; /* for the reservation's arrays */
    transition_send_fn send;
    transition_done_fn done;
    void *data;              /* the caller's */
    bool acting;             /* the plan is answered: the next reply is the act's */
    int tries;               /* plans made */
};

/* Sends the plan. */
void transition_start(struct transition *t);
/* Takes the reply to the last call t sent. Returns 0 when it sent the act
 * or ran done, or -1 when the reply broke the contract (rd is bad; nothing
 * was sent and done did not run). */
int transition_reply(struct transition *t, struct reply *rd);

#endif
