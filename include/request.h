/* The request kernel: the life of one request from its line to its answer.
 *
 *   request_start: decode the envelope, find the method, auth, admission,
 *   validate the params, run the method's handler (from the table the pool
 *   was given: dispatch.c).
 *
 * A handler (in its family's file) builds a script call with request_args
 * and request_call, and its reply function reads the reply and answers
 * with request_result + request_finish, or request_fail. Every path ends in
 * exactly one answer: after a handler or a reply function returns, the
 * request must be answered or waiting for a call; anything else is a bug that the kernel answers -32603, logs and
 * counts, so a connection is never stuck behind a request that nobody will
 * finish. The Redis side's outcomes map to codes here and only here:
 * never sent 2001, outcome unknown 2002, Redis out of memory 2004. */
#ifndef STOCKD_REQUEST_H
#define STOCKD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "buf.h"
#include "config.h"
#include "metrics.h"
#include "methods.h"
#include "queue.h"
#include "reply.h"
#include "result.h"
#include "rpc.h"
#include "scripts.h"
#include "validate.h"

struct tenant;
struct tenants;

/* What the kernel keeps per client connection. Owned by the connection;
 * requests point to it until the connection goes. */
struct session {
    bool authenticated;
    /* With tenants: the tenant of the connection's first successful auth,
     * fixed from then on (borrowed from the pool's tenants); NULL before. */
    struct tenant *tenant;
    /* The status page's session (src/ui_api.c): may run M_INTERNAL methods. */
    bool internal;
};

enum request_state {
    REQ_IDLE,    /* not started, or back in the pool */
    REQ_RUNNING, /* inside a handler or a reply function */
    REQ_CALLING, /* waiting for a store call */
    REQ_DONE,    /* answered: out holds the response line (empty for a notification) */
};

struct request;
struct request_pool;
/* Runs a method: builds its first call, or answers at once. */
typedef void (*request_handler_fn)(struct request *req);
/* Called once, when a request is answered. */
typedef void (*request_done_fn)(struct request *req);
/* Reads the reply of a call (rd is bad when its shape is wrong; see reply.h). */
typedef void (*request_reply_fn)(struct request *req, struct reply *rd);

/* Room for a family's own per-request state (REQUEST_CTX). */
#define REQUEST_CTX_SIZE 192

struct request {
    struct queue node;         /* in the owner's queue */
    void *owner;               /* the connection; NULL once it has gone */
    struct session *session;   /* the connection's; NULL once it has gone */
    struct tenant *tenant;     /* the session's when the request started (borrowed); NULL
                                * without tenants, and before auth */
    struct request_pool *pool;
    request_done_fn on_done;
    enum request_state state;
    struct buf out;            /* owned: the response line */
    struct rpc_request rpc;    /* owned parse tree */
    enum method_id method;     /* METHOD_COUNT until known */
    struct params params;      /* borrows from rpc */
    struct ident *loc_storage; /* owned, MAX_LOCATIONS entries */
    struct line_item *item_storage; /* owned, max_items entries */
    uint64_t deadline;         /* store_now() ms */
    uint64_t started_ns;       /* metrics_now_ns() when read */
    enum error_id error;       /* what it was answered with, E_NONE for a result */
    request_reply_fn on_reply; /* the reader of the call in flight */
    void (*on_end)(struct request *req); /* runs once when it is answered (request_on_end) */
    int n_status;              /* the statuses of the script in flight; 0: a plain command */
    union {
        max_align_t align;
        void *p;
        unsigned char bytes[REQUEST_CTX_SIZE];
    } ctx; /* the family's state (REQUEST_CTX); zeroed at start */
};

struct store;

/* handlers[m] runs method m (dispatch.h has the table; the kernel knows no
 * family). The store, config, metrics and handlers are borrowed and must
 * outlive the pool. */
struct request_pool *request_pool_new(struct store *store,
                                      const struct config *cfg, struct metrics *m,
                                      const request_handler_fn *handlers);
/* Frees the pool and the spare requests; requests still out must have been
 * put back. */
void request_pool_free(struct request_pool *pool);
/* Turns tenants on (--tenants-file): auth picks a tenant by its token and
 * every method but ping and auth needs one (1006); a request's keys carry
 * its tenant's tag (request_ns) and it is counted for its tenant. ts is
 * borrowed and must outlive the pool; call before the first request. */
void request_pool_tenants(struct request_pool *pool, struct tenants *ts);
/* With tenants, fn(data, tenant, due_ms) runs for each hold a request of
 * the tenant made, due_ms no later than its deadline on metrics_now_ns()'s
 * clock in ms (the sweeper's hint). data is borrowed. */
typedef void (*request_hold_fn)(void *data, struct tenant *t, uint64_t due_ms);
void request_pool_on_hold(struct request_pool *pool, request_hold_fn fn, void *data);
/* True when clients must auth before any method but ping and auth: an auth
 * token is configured, or tenants are. */
bool request_auth_required(const struct request_pool *pool);
/* Authenticates a session from outside a request (the status page's bearer
 * token) with the check the auth method makes, counted and logged the same
 * way when it fails. With tenants, the token's tenant becomes the
 * session's. Returns 0, or -1 for a wrong token (the session unchanged). */
int request_session_auth(struct request_pool *pool, struct session *s, struct str token);

/* A request (reused from the pool) owned by the caller until it is started,
 * and again after on_done. */
struct request *request_get(struct request_pool *pool, void *owner, request_done_fn on_done);
/* Gives a request back to the pool (its response is forgotten). */
void request_put(struct request *req);

/* Runs the line as a request for the connection whose session is given.
 * req->on_done(req) is called exactly once: maybe before this returns
 * (errors, ping, auth, overload), maybe later (Redis). */
void request_start(struct request *req, struct session *session, const char *line, size_t len);
/* Answers err for a line that was never run (too large, not finished in
 * time): counted as a request of unknown method. */
void request_refuse(struct request *req, const struct rpc_error *err);

static inline bool request_done(const struct request *req)
{
    return req->state == REQ_DONE;
}

/* --- for handlers and reply functions ---------------------------------- */

/* The namespace of every key of the request: its tenant's name with
 * tenants, else the configured namespace. The config and metrics of the
 * request's pool. */
const struct ident *request_ns(const struct request *req);
const struct config *request_cfg(const struct request *req);
struct metrics *request_metrics(const struct request *req);

/* The shared argument builder, emptied; hand it to request_call. */
struct args *request_args(struct request *req);
/* Calls a script with the builder's arguments (the first nkeys are KEYS);
 * fn reads its reply, which must carry one of the script's n_status
 * statuses. Never sent (Redis known down): answered 2001 at once. */
void request_call(struct request *req, enum script_id script, int nkeys, int n_status,
                  request_reply_fn fn);
/* request_call for a batch script (contract.h): the builder holds one
 * call, laid out as a batch of one (head_keys fixed KEYS, the call's keys,
 * head_argv fixed ARGV, the call's argv). The store coalesces it with the
 * calls of the same script made in this loop iteration; fn reads this
 * call's own element of the batch's reply. */
void request_call_batched(struct request *req, enum script_id script, int nkeys, int head_keys,
                          int head_argv, int n_status, request_reply_fn fn);
/* Sends the builder's arguments as a plain, read-only command. */
void request_command(struct request *req, request_reply_fn fn);
/* Gives the request a fresh deadline for its next call (a method of many
 * calls bounds each one, not the sum). */
void request_renew_deadline(struct request *req);


/* Starts the result: returns the response buffer, to which the caller
 * appends one JSON value, then calls request_finish. */
struct buf *request_result(struct request *req);
void request_finish(struct request *req);
void request_fail(struct request *req, const struct rpc_error *err);
void request_fail_with(struct request *req, enum error_id e);
/* Answers -32603 for a script that found its data not as stockd writes it
 * (why says what), and logs it. */
void request_fail_broken(struct request *req, struct str why);

/* Scratch arrays for decoding one reply, shared by every request (a reply is
 * read and answered within one callback). Grown as needed. */
struct request_scratch {
    struct reservation_scratch res;
    struct stock_row *rows;
    size_t rows_cap;
    struct str *strs;
    size_t strs_cap;
    struct ident *idents;
    size_t idents_cap;
    struct location_rec *locs;
    size_t locs_cap;
    struct buf json; /* a JSON value built from a reply (reset before use) */
};
struct request_scratch *request_scratch(const struct request *req);

/* 128 random bits as 22 identifier characters (never starting with '-'). */
#define REQUEST_ID_LEN 22
void request_random_id(struct request *req, char out[REQUEST_ID_LEN + 1]);

/* The request made a hold of ttl_ms (deadline - created_at): tells the
 * pool's hold hook (request_pool_on_hold), if any. */
void request_note_hold(struct request *req, long long ttl_ms);

/* Runs fn(req) once when req is answered, however that happens (a family
 * whose state holds memory frees it there). */
void request_on_end(struct request *req, void (*fn)(struct request *req));

/* The family's per-request state, in req->ctx (checked to fit). */
void *request_ctx(struct request *req, size_t size);
#define REQUEST_CTX(req, type) ((type *)request_ctx((req), sizeof(type)))

/* The kernel's own methods (methods.h): ping and auth. */
void request_ping(struct request *req);
void request_auth(struct request *req);

#endif
