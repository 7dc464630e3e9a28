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
#include "rpc.h"
#include "store.h"
#include "validate.h"

struct request;
/* Called once when a request has its response (or needs none). */
typedef void (*request_done_fn)(struct request *req);

struct request {
    struct request *next;  /* in the owner's queue */
    void *owner;           /* the connection; NULL once it has gone */
    struct service *svc;
    request_done_fn on_done;
    bool done;
    struct buf out;        /* owned: the response line, empty for notifications */
    struct rpc_request rpc; /* owned parse tree */
    enum method_id method;
    struct params params;
    struct ident *loc_storage;    /* owned, MAX_LOCATIONS entries */
    struct line_item *item_storage; /* owned, max_items entries */
    uint64_t deadline;     /* uv_now() ms */
    char new_id[33];       /* a reserve's fresh reservation id */
    char bound_id[IDENT_MAX + 1]; /* a replayed reserve's existing id */
};

struct service;

/* The store and config are borrowed and must outlive the service. */
struct service *service_new(struct store *store, const struct config *cfg);
void service_free(struct service *svc);

/* A request object (from a free list) owned by the caller until it is handed
 * to service_handle_line, and again after on_done. */
struct request *service_request_new(struct service *svc, void *owner, request_done_fn on_done);
void service_request_free(struct service *svc, struct request *req);

/* Handles one line. req->on_done(req) is called exactly once: maybe before
 * this returns (errors, ping), maybe later (Redis). now is uv_now(). */
void service_handle_line(struct service *svc, struct request *req, const char *line, size_t len,
                         uint64_t now);

/* Writes a whole error response into req->out and completes it: for errors
 * found outside the service (request too large, overloaded). */
void service_fail(struct request *req, const struct rpc_error *err);

/* Requests handed in and not yet done, across all connections. */
unsigned long service_inflight(const struct service *svc);

#endif
