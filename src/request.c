/* The request kernel (see request.h): lifecycle, admission, auth, the one
 * place where a store outcome becomes an answer, and the one place where a
 * request is answered.
 *
 *   request_start -> RUNNING --handler--> CALLING --reply--> RUNNING -> ...
 *                       +--> DONE (result or error; on_done runs once)
 *
 * A request that is RUNNING when its handler or reply function returns was
 * left unfinished: settle() answers it -32603. */
#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "store.h"
#include "tenants.h"

struct request_pool {
    struct store *store;
    const struct config *cfg;
    struct metrics *metrics;
    const request_handler_fn *handlers; /* by method */
    struct tenants *tenants;             /* borrowed; NULL: one namespace */
    request_hold_fn on_hold;             /* the sweeper's hint; NULL: none */
    void *on_hold_data;
    struct limits limits;
    struct args args;    /* reused for every call: the store copies them */
    struct queue spare;  /* requests back from their connections */
    unsigned char rnd[4096]; /* random bytes, refilled in bulk */
    size_t rnd_pos;
    struct request_scratch scratch;
    struct log_repeat log_oom, log_refused, log_internal, log_auth;
};

/* --- answering ---------------------------------------------------------- */

static void answer(struct request *req)
{
    assert(req->state == REQ_RUNNING);
    struct metrics *m = req->pool->metrics;
    if (req->rpc.id.kind == RPC_ID_NONE)
        buf_reset(&req->out); /* a notification is executed, never answered */
    req->state = REQ_DONE;
    if (req->on_end != NULL) {
        req->on_end(req);
        req->on_end = NULL;
    }
    m->inflight--;
    assert(m->inflight >= 0);
    metrics_request(m, req->method, req->error, req->started_ns);
    if (req->tenant != NULL)
        tenants_count(req->tenant, req->method, req->error);
    req->on_done(req);
}

struct buf *request_result(struct request *req)
{
    assert(req->state == REQ_RUNNING && req->out.len == 0);
    rpc_write_result_begin(&req->out, &req->rpc.id);
    return &req->out;
}

void request_finish(struct request *req)
{
    rpc_write_result_end(&req->out);
    answer(req);
}

void request_fail(struct request *req, const struct rpc_error *err)
{
    req->error = err->id;
    buf_reset(&req->out);
    rpc_write_error(&req->out, &req->rpc.id, err);
    answer(req);
}

void request_fail_with(struct request *req, enum error_id e)
{
    struct rpc_error err;
    rpc_error_set(&err, e);
    request_fail(req, &err);
}

/* " (tenant=<t>)" for a log line about a request of a tenant, else "":
 * printed with "%s%s%s". */
#define TENANT_TAG(req)                                                                            \
    (req)->tenant ? " (tenant=" : "", (req)->tenant ? (req)->tenant->name : "",                    \
        (req)->tenant ? ")" : ""

static void internal(struct request *req, enum internal_kind kind, const char *what)
{
    struct request_pool *pool = req->pool;
    pool->metrics->internal_errors[kind]++;
    log_repeat(&pool->log_internal, LOG_ERROR, "internal error in %s%s%s%s: %s",
               method_name(req->method), TENANT_TAG(req), what);
    request_fail_with(req, E_INTERNAL);
}

void request_fail_broken(struct request *req, struct str why)
{
    struct request_pool *pool = req->pool;
    pool->metrics->internal_errors[INTERNAL_REDIS_ERROR]++;
    log_repeat(&pool->log_internal, LOG_ERROR, "redis: %s%s%s%s found bad data: %.*s",
               method_name(req->method), TENANT_TAG(req), (int)(why.n > 300 ? 300 : why.n),
               why.p);
    request_fail_with(req, E_INTERNAL);
}

/* After a handler or a reply function: the request must be answered, or
 * waiting for a call. */
static void settle(struct request *req, bool bad_reply)
{
    if (req->state != REQ_RUNNING)
        return;
    if (bad_reply)
        internal(req, INTERNAL_MALFORMED, "a script reply of a shape its contract does not allow");
    else
        internal(req, INTERNAL_UNFINISHED, "the request was left unanswered");
}

/* --- the store's outcomes ----------------------------------------------- */

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Redis errors that mean "not done, try again later" rather than a bug. */
static bool transient_redis_error(const char *msg)
{
    static const char *const prefixes[] = {"LOADING",    "BUSY",     "READONLY", "MASTERDOWN",
                                           "NOREPLICAS", "CLUSTERDOWN", "TRYAGAIN", "NOAUTH",
                                           "MISCONF"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (has_prefix(msg, prefixes[i]))
            return true;
    return false;
}

static void redis_error(struct request *req, const redisReply *r)
{
    struct request_pool *pool = req->pool;
    const char *what = method_name(req->method);
    if (has_prefix(r->str, "OOM")) {
        /* maxmemory reached with noeviction: Redis refused the script's
         * first write, and scripts write only after every check, so nothing
         * was done. */
        pool->metrics->redis_oom_total++;
        pool->metrics->redis_oom_at_ns = metrics_now_ns();
        log_repeat(&pool->log_oom, LOG_WARN,
                   "redis: out of memory (maxmemory reached): %s%s%s%s answered 2004 storage_full",
                   what, TENANT_TAG(req));
        request_fail_with(req, E_STORAGE_FULL);
    } else if (transient_redis_error(r->str)) {
        log_repeat(&pool->log_refused, LOG_WARN, "redis: %s%s%s%s refused: %s", what,
                   TENANT_TAG(req), r->str);
        request_fail_with(req, E_UNAVAILABLE);
    } else {
        pool->metrics->internal_errors[INTERNAL_REDIS_ERROR]++;
        log_repeat(&pool->log_internal, LOG_ERROR, "redis: %s%s%s%s failed: %s", what,
                   TENANT_TAG(req), r->str);
        request_fail_with(req, E_INTERNAL);
    }
}

/* The single entry point of every reply to a request's call. */
static void on_outcome(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct request *req = data;
    assert(req->state == REQ_CALLING);
    req->state = REQ_RUNNING;
    request_reply_fn fn = req->on_reply;
    req->on_reply = NULL;
    switch (outcome) {
    case STORE_NOT_SENT:
        request_fail_with(req, E_UNAVAILABLE);
        return;
    case STORE_UNKNOWN:
        request_fail_with(req, E_TIMEOUT);
        return;
    case STORE_NOT_REPLICATED:
        request_fail_with(req, E_REPLICATION);
        return;
    case STORE_REPLY:
        break;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        redis_error(req, r);
        return;
    }
    struct reply rd;
    if (req->n_status > 0)
        reply_script(&rd, r, req->n_status);
    else
        reply_plain(&rd, r);
    if (!rd.bad)
        fn(req, &rd);
    settle(req, rd.bad);
}

/* The request waits for a call that fn will read (n_status 0: a plain
 * command). */
static void await_call(struct request *req, int n_status, request_reply_fn fn)
{
    assert(req->state == REQ_RUNNING && fn != NULL);
    req->on_reply = fn;
    req->n_status = n_status;
    req->state = REQ_CALLING;
}

/* rc of the store's call: refused (Redis known down) is 2001 at once. */
static void sent(struct request *req, int rc)
{
    if (rc != 0) {
        req->state = REQ_RUNNING;
        request_fail_with(req, E_UNAVAILABLE);
    }
}

void request_call(struct request *req, enum script_id script, int nkeys, int n_status,
                  request_reply_fn fn)
{
    assert(n_status > 0);
    struct request_pool *pool = req->pool;
    await_call(req, n_status, fn);
    sent(req, store_eval(pool->store, script, nkeys, &pool->args, req->deadline, on_outcome, req));
}

void request_call_batched(struct request *req, enum script_id script, int nkeys, int head_keys,
                          int head_argv, int n_status, request_reply_fn fn)
{
    assert(n_status > 0);
    struct request_pool *pool = req->pool;
    await_call(req, n_status, fn);
    sent(req, store_eval_batched(pool->store, script, nkeys, head_keys, head_argv, &pool->args,
                                 req->deadline, on_outcome, req));
}

void request_command(struct request *req, request_reply_fn fn)
{
    struct request_pool *pool = req->pool;
    await_call(req, 0, fn);
    sent(req, store_command(pool->store, &pool->args, req->deadline, on_outcome, req));
}

void request_renew_deadline(struct request *req)
{
    req->deadline = store_now(req->pool->store) + (uint64_t)req->pool->cfg->request_timeout_ms;
}

/* --- the pool and its shared parts ------------------------------------- */

const struct ident *request_ns(const struct request *req)
{
    /* With tenants, only ping and auth run without one, and they touch no
     * key. */
    assert(req->tenant != NULL || req->pool->tenants == NULL);
    return req->tenant != NULL ? &req->tenant->ident : &req->pool->cfg->ns;
}

void request_note_hold(struct request *req, long long ttl_ms)
{
    struct request_pool *pool = req->pool;
    if (pool->on_hold != NULL && req->tenant != NULL && ttl_ms >= 0)
        pool->on_hold(pool->on_hold_data, req->tenant,
                      req->started_ns / 1000000u + (uint64_t)ttl_ms);
}

const struct config *request_cfg(const struct request *req)
{
    return req->pool->cfg;
}

struct metrics *request_metrics(const struct request *req)
{
    return req->pool->metrics;
}

struct args *request_args(struct request *req)
{
    args_reset(&req->pool->args);
    return &req->pool->args;
}

struct request_scratch *request_scratch(const struct request *req)
{
    return &req->pool->scratch;
}

void request_on_end(struct request *req, void (*fn)(struct request *req))
{
    req->on_end = fn;
}

void *request_ctx(struct request *req, size_t size)
{
    assert(size <= sizeof req->ctx.bytes);
    (void)size;
    return req->ctx.bytes;
}

/* Random bytes come from getrandom in bulk; the alphabet is base64 with '.'
 * and '_' (identifier bytes, and never '-', so an id is never mistaken for
 * an option on a command line). */
void request_random_id(struct request *req, char out[REQUEST_ID_LEN + 1])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
    struct request_pool *pool = req->pool;
    if (pool->rnd_pos + 16 > sizeof pool->rnd) {
        size_t got = 0;
        while (got < sizeof pool->rnd) {
            ssize_t n = getrandom(pool->rnd + got, sizeof pool->rnd - got, 0);
            if (n < 0 && errno != EINTR) {
                log_error("getrandom failed: %s", strerror(errno));
                abort();
            }
            if (n > 0)
                got += (size_t)n;
        }
        pool->rnd_pos = 0;
    }
    const unsigned char *r = pool->rnd + pool->rnd_pos;
    unsigned acc = 0;
    int bits = 0, n = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | r[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = b64[(acc >> bits) & 63];
        }
    }
    out[n++] = b64[(acc << (6 - bits)) & 63]; /* the last 2 bits */
    out[n] = '\0';
    assert(n == REQUEST_ID_LEN);
    /* Used bytes are wiped so no id can be read back from memory later. */
    memset(pool->rnd + pool->rnd_pos, 0, 16);
    pool->rnd_pos += 16;
}

struct request_pool *request_pool_new(struct store *store,
                                      const struct config *cfg, struct metrics *m,
                                      const request_handler_fn *handlers)
{
    struct request_pool *pool = xcalloc(1, sizeof *pool);
    pool->handlers = handlers;
    pool->store = store;
    pool->cfg = cfg;
    pool->metrics = m;
    pool->limits.max_items = (unsigned)cfg->max_items;
    pool->limits.default_ttl_ms = cfg->default_ttl_ms;
    args_init(&pool->args);
    queue_init(&pool->spare);
    pool->rnd_pos = sizeof pool->rnd; /* empty: filled on first use */
    return pool;
}

void request_pool_tenants(struct request_pool *pool, struct tenants *ts)
{
    pool->tenants = ts;
}

void request_pool_on_hold(struct request_pool *pool, request_hold_fn fn, void *data)
{
    pool->on_hold = fn;
    pool->on_hold_data = data;
}

bool request_auth_required(const struct request_pool *pool)
{
    return pool->tenants != NULL || pool->cfg->auth_token[0] != '\0';
}

static void request_destroy(struct request *req)
{
    rpc_request_free(&req->rpc);
    buf_free(&req->out);
    free(req->loc_storage);
    free(req->item_storage);
    free(req);
}

void request_pool_free(struct request_pool *pool)
{
    struct queue *q;
    while ((q = queue_first(&pool->spare)) != NULL) {
        queue_remove(q);
        request_destroy(queue_data(q, struct request, node));
    }
    log_repeat_done(&pool->log_oom);
    log_repeat_done(&pool->log_refused);
    log_repeat_done(&pool->log_internal);
    log_repeat_done(&pool->log_auth);
    args_free(&pool->args);
    free(pool->scratch.res.allocs);
    free(pool->scratch.res.shortages);
    free(pool->scratch.rows);
    free(pool->scratch.strs);
    free(pool->scratch.idents);
    free(pool->scratch.locs);
    buf_free(&pool->scratch.json);
    free(pool);
}

struct request *request_get(struct request_pool *pool, void *owner, request_done_fn on_done)
{
    struct queue *q = queue_first(&pool->spare);
    struct request *req;
    if (q != NULL) {
        queue_remove(q);
        req = queue_data(q, struct request, node);
    } else {
        req = xcalloc(1, sizeof *req);
        buf_init(&req->out);
        queue_init(&req->node);
        req->pool = pool;
    }
    assert(req->state == REQ_IDLE && req->out.len == 0);
    req->owner = owner;
    req->on_done = on_done;
    req->method = METHOD_COUNT;
    req->rpc.id.kind = RPC_ID_NULL;
    return req;
}

void request_put(struct request *req)
{
    struct request_pool *pool = req->pool;
    assert(req->state == REQ_DONE || req->state == REQ_IDLE);
    assert(!queue_linked(&req->node));
    rpc_request_free(&req->rpc);
    buf_reset(&req->out);
    if (req->out.cap > 16384)
        buf_free(&req->out); /* do not keep a huge response's buffer around */
    req->state = REQ_IDLE;
    req->owner = NULL;
    req->session = NULL;
    req->tenant = NULL;
    queue_insert_head(&pool->spare, &req->node); /* the warmest first */
}

/* --- starting ----------------------------------------------------------- */

static void begin(struct request *req, struct session *session)
{
    struct request_pool *pool = req->pool;
    assert(req->state == REQ_IDLE);
    pool->metrics->inflight++;
    req->session = session;
    /* The tenant is the request's from now on, whatever the connection
     * does meanwhile. */
    req->tenant = session != NULL ? session->tenant : NULL;
    req->started_ns = metrics_now_ns();
    req->error = E_NONE;
    req->method = METHOD_COUNT;
    req->on_reply = NULL;
    req->on_end = NULL;
    req->deadline = store_now(pool->store) + (uint64_t)pool->cfg->request_timeout_ms;
    memset(&req->ctx, 0, sizeof req->ctx);
    req->state = REQ_RUNNING;
}

void request_refuse(struct request *req, const struct rpc_error *err)
{
    begin(req, NULL);
    request_fail(req, err);
}

void request_start(struct request *req, struct session *session, const char *line, size_t len)
{
    struct request_pool *pool = req->pool;
    struct rpc_error err;
    begin(req, session);
    if (rpc_decode(line, len, &req->rpc, &err) != 0) {
        request_fail(req, &err);
        return;
    }
    /* Before authentication, everything but the open methods (ping, auth)
     * is 1006, an unknown method too: nothing is told about the rest. */
    int m = method_lookup(req->rpc.method);
    if (m >= 0 && (method_flags((enum method_id)m) & M_INTERNAL) != 0 && !session->internal)
        m = -1; /* the status page's own: not on the wire */
    bool open = m >= 0 && (method_flags((enum method_id)m) & M_OPEN) != 0;
    if (!open && request_auth_required(pool) && !session->authenticated) {
        request_fail_with(req, E_UNAUTHORIZED);
        return;
    }
    if (m < 0) {
        request_fail_with(req, E_METHOD_NOT_FOUND);
        return;
    }
    req->method = (enum method_id)m;
    /* Load shedding: the count includes this request. A connection's own
     * pipeline is bounded by back-pressure instead (conn.c). */
    if (!open && pool->metrics->inflight > pool->cfg->max_inflight) {
        request_fail_with(req, E_OVERLOADED);
        return;
    }
    if (req->loc_storage == NULL) {
        req->loc_storage = xcalloc(MAX_LOCATIONS, sizeof *req->loc_storage);
        req->item_storage = xcalloc(pool->limits.max_items, sizeof *req->item_storage);
    }
    req->params.locations = req->loc_storage;
    req->params.items = req->item_storage;
    if (params_validate(req->method, req->rpc.params, &pool->limits, &req->params, &err) != 0) {
        request_fail(req, &err);
        return;
    }
    assert(req->method < METHOD_COUNT && pool->handlers[req->method] != NULL);
    pool->handlers[req->method](req);
    settle(req, false);
}

/* --- the methods of the kernel: ping and auth --------------------------- */

void request_ping(struct request *req)
{
    result_pong(request_result(req), store_health(req->pool->store) == STORE_UP);
    request_finish(req);
}

static void auth_refused(struct request *req, const char *message)
{
    struct rpc_error err;
    rpc_error_set(&err, E_UNAUTHORIZED);
    err.message = message;
    request_fail(req, &err);
}

/* With tenants: the token picks the tenant, and a connection's first
 * tenant is its tenant for good (a wrong token, or another tenant's, is
 * 1006 and changes nothing). */
static void auth_tenant(struct request *req)
{
    struct request_pool *pool = req->pool;
    struct tenant *t = tenants_find(pool->tenants, req->params.token.p, req->params.token.n);
    struct tenant *had = req->session != NULL ? req->session->tenant : req->tenant;
    if (t == NULL || (had != NULL && t != had)) {
        pool->metrics->auth_failures++;
        if (t == NULL)
            log_repeat(&pool->log_auth, LOG_WARN,
                       "auth: a client sent a wrong token%s%s%s (%llu since start)",
                       TENANT_TAG(req), (unsigned long long)pool->metrics->auth_failures);
        else
            log_repeat(&pool->log_auth, LOG_WARN,
                       "auth: a connection of tenant=%s sent the token of tenant=%s (%llu since "
                       "start)",
                       had->name, t->name, (unsigned long long)pool->metrics->auth_failures);
        auth_refused(req, t == NULL ? "Wrong token."
                                    : "This connection is authenticated as another tenant.");
        return;
    }
    if (req->session != NULL) {
        req->session->tenant = t;
        req->session->authenticated = true;
    }
    req->tenant = t; /* the auth itself counts for its tenant */
    struct buf *out = request_result(req);
    buf_appends(out, "{\"authenticated\":true,\"tenant\":\"");
    buf_append(out, t->ident.s.p, t->ident.s.n); /* an identifier: nothing to escape */
    buf_appends(out, "\"}");
    request_finish(req);
}

int request_session_auth(struct request_pool *pool, struct session *s, struct str token)
{
    struct tenant *t = NULL;
    const char *want = pool->cfg->auth_token;
    bool ok = pool->tenants != NULL
                  ? (t = tenants_find(pool->tenants, token.p, token.n)) != NULL
                  : want[0] != '\0' && token_equal(want, strlen(want), token.p, token.n);
    if (!ok) {
        pool->metrics->auth_failures++;
        log_repeat(&pool->log_auth, LOG_WARN,
                   "auth: a status page request sent a wrong token (%llu since start)",
                   (unsigned long long)pool->metrics->auth_failures);
        return -1;
    }
    s->tenant = t;
    s->authenticated = true;
    return 0;
}

void request_auth(struct request *req)
{
    struct request_pool *pool = req->pool;
    if (pool->tenants != NULL) {
        auth_tenant(req);
        return;
    }
    const char *want = pool->cfg->auth_token;
    struct str got = req->params.token;
    if (want[0] != '\0' && !token_equal(want, strlen(want), got.p, got.n)) {
        pool->metrics->auth_failures++;
        log_repeat(&pool->log_auth, LOG_WARN, "auth: a client sent a wrong token (%llu since start)",
                   (unsigned long long)pool->metrics->auth_failures);
        if (req->session != NULL)
            req->session->authenticated = false;
        auth_refused(req, "Wrong token.");
        return;
    }
    if (req->session != NULL)
        req->session->authenticated = true;
    buf_appends(request_result(req), "{\"authenticated\":true}");
    request_finish(req);
}
