/* Requests: from one decoded line to its response line. The service decodes
 * the envelope, validates params into a struct, turns each method into one
 * script call (keys and arguments), and turns the script's reply into a
 * result or an error. The connection that read the line only sees the
 * finished response in request->out. */
#ifndef STOCKD_SERVICE_H
#define STOCKD_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "metrics.h"
#include "rpc.h"
#include "store.h"
#include "sweeper.h"
#include "validate.h"

/* What the service keeps per client connection. Owned by the connection;
 * requests point to it until the connection goes. */
struct session {
    bool authenticated;
    unsigned long inflight; /* requests handed in and not done */
};

struct request;
/* Called once when a request has its response (or needs none). */
typedef void (*request_done_fn)(struct request *req);

struct request {
    struct request *next;  /* in the owner's queue */
    void *owner;           /* the connection; NULL once it has gone */
    struct session *session; /* the connection's; NULL once it has gone */
    struct service *svc;
    request_done_fn on_done;
    bool done;
    struct buf out;        /* owned: the response line, empty for notifications */
    struct rpc_request rpc; /* owned parse tree */
    enum method_id method;
    bool method_known;     /* method holds the request's method */
    struct params params;
    struct ident *loc_storage;    /* owned, MAX_LOCATIONS entries */
    struct line_item *item_storage; /* owned, max_items entries */
    uint64_t deadline;     /* uv_now() ms */
    uint64_t started_ns;   /* metrics_now_ns() when read */
    enum error_id error;   /* what it was answered with, E_NONE for a result */
    int stage;             /* which call of a multi-call method is in flight */
    int tries;
    char new_id[33];       /* a reserve's fresh reservation id */
    char bound_id[IDENT_MAX + 1]; /* a replayed reserve's existing id */
    struct sweep_waiter waiter; /* a reserve waiting for a sweep */
    struct audit_state *audit;  /* owned: stock.audit's progress, NULL otherwise */
};

struct service;

/* The store, sweeper, config and metrics are borrowed and must outlive the
 * service. */
struct service *service_new(struct store *store, struct sweeper *sweeper,
                            const struct config *cfg, struct metrics *m);
void service_free(struct service *svc);

/* A request object (from a free list) owned by the caller until it is handed
 * to service_handle_line, and again after on_done. */
struct request *service_request_new(struct service *svc, void *owner, request_done_fn on_done);
void service_request_free(struct service *svc, struct request *req);

/* Handles one line for the connection whose session is given.
 * req->on_done(req) is called exactly once: maybe before this returns
 * (errors, ping, auth, overload), maybe later (Redis). now is uv_now(). */
void service_handle_line(struct service *svc, struct request *req, struct session *session,
                         const char *line, size_t len, uint64_t now);

/* Writes a whole error response into req->out and completes it: for errors
 * found outside the service (request too large, overloaded). */
void service_fail(struct request *req, const struct rpc_error *err);

/* True for a request whose effect happens in a later call than its first
 * (commit, release): the caller holds back the requests after it, so that
 * effects follow request order. */
bool service_request_is_barrier(const struct request *req);

/* Requests handed in and not yet done, across all connections. */
unsigned long service_inflight(const struct service *svc);
/* Failed auth attempts since start. */
unsigned long long service_auth_failures(const struct service *svc);

#endif
