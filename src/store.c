/* The Redis side (see store.h).
 *
 * Connection states:
 *
 *   DOWN --retry timer--> RESOLVING --uv_getaddrinfo--> CONNECTING
 *     ^                                                     |
 *     |                                        hiredis onConnect(OK)
 *     |                                                     v
 *     +---- any failure, timeout or disconnect ------- HANDSHAKE
 *     |                                                     |
 *     |                        AUTH, SELECT, SCRIPT LOAD... all answered
 *     |                                                     v
 *     +-------------------------------------------------- UP
 *
 * Only UP accepts calls. Every command sent is an op in one FIFO, in the
 * order hiredis will call back (Redis answers a connection in order):
 *
 *   head (oldest, sent first) -> ... -> tail (newest, maybe still unsent)
 *
 * The deadline timer watches the head only: if the oldest op is late, Redis
 * is stuck, so the connection is dropped. Before hiredis then calls every
 * pending callback with a NULL reply, the FIFO is classified: ops whose bytes
 * are still in hiredis's output buffer were never sent (-E_UNAVAILABLE), the
 * others may have run (-E_TIMEOUT). A NOSCRIPT reply (script cache flushed)
 * loads the script and resends the same bytes once. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/sds.h>

#include "log.h"
#include "rpc.h"
#include "uvredis.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 5000

struct op {
    struct op *next;
    store_fn fn;
    void *data;
    uint64_t deadline;
    struct buf cmd; /* owned: the RESP bytes, kept for a NOSCRIPT resend */
    int script;     /* enum script_id, or -1 for internal commands */
    bool retried;
    int fail_err; /* what a NULL reply means for this op; 0: not classified */
};

enum store_state { ST_DOWN, ST_RESOLVING, ST_CONNECTING, ST_HANDSHAKE, ST_UP, ST_CLOSING };

struct store {
    uv_loop_t *loop;
    const struct config *cfg;
    struct metrics *metrics;
    enum store_state state;
    redisAsyncContext *ac; /* owned by hiredis once connecting; NULL when down */
    struct op *head, *tail;
    struct op *spare; /* free list, reused to avoid an allocation per call */
    uv_timer_t deadline_timer;
    uv_timer_t retry_timer; /* reconnect backoff, and the connect deadline */
    uv_getaddrinfo_t gai;
    unsigned attempts;
    int handshake_pending;
    bool handshake_failed;
    int open_handles;
    void (*on_closed)(void *);
    void *on_closed_data;
};

/* --- arguments --------------------------------------------------------- */

void args_init(struct args *a)
{
    buf_init(&a->bytes);
    a->v = NULL;
    a->n = a->cap = 0;
}

void args_free(struct args *a)
{
    buf_free(&a->bytes);
    free(a->v);
    args_init(a);
}

void args_reset(struct args *a)
{
    buf_reset(&a->bytes);
    a->n = 0;
}

static void args_push(struct args *a, size_t off)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = xrealloc(a->v, (size_t)a->cap * sizeof *a->v);
    }
    a->v[a->n].off = off;
    a->v[a->n].len = a->bytes.len - off;
    a->n++;
}

void args_add(struct args *a, const char *p, size_t n)
{
    size_t off = a->bytes.len;
    buf_append(&a->bytes, p, n);
    args_push(a, off);
}

void args_add_int(struct args *a, long long v)
{
    size_t off = a->bytes.len;
    buf_append_int(&a->bytes, v);
    args_push(a, off);
}

void args_add_ident(struct args *a, const struct ident *id)
{
    args_add(a, id->p, id->n);
}

void args_add_key(struct args *a, const struct ident *ns, enum key_kind kind,
                  const struct ident *id)
{
    size_t off = a->bytes.len;
    keys_build(&a->bytes, ns, kind, id);
    args_push(a, off);
}

/* --- RESP formatting --------------------------------------------------- */

static void resp_count(struct buf *b, char kind, size_t n)
{
    buf_appendc(b, kind);
    buf_append_int(b, (long long)n);
    buf_append(b, "\r\n", 2);
}

static void resp_arg(struct buf *b, const char *p, size_t n)
{
    resp_count(b, '$', n);
    buf_append(b, p, n);
    buf_append(b, "\r\n", 2);
}

static void resp_args(struct buf *b, int argc, const char **argv)
{
    resp_count(b, '*', (size_t)argc);
    for (int i = 0; i < argc; i++)
        resp_arg(b, argv[i], strlen(argv[i]));
}

/* --- the op FIFO ------------------------------------------------------- */

static struct op *op_get(struct store *s)
{
    struct op *op = s->spare;
    if (op != NULL) {
        s->spare = op->next;
        buf_reset(&op->cmd);
    } else {
        op = xcalloc(1, sizeof *op);
    }
    op->next = NULL;
    op->retried = false;
    op->fail_err = 0;
    op->script = -1;
    return op;
}

static void op_put(struct store *s, struct op *op)
{
    if (op->cmd.cap > 65536)
        buf_free(&op->cmd);
    op->next = s->spare;
    s->spare = op;
}

static void fifo_push(struct store *s, struct op *op)
{
    op->next = NULL;
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
}

static struct op *fifo_pop(struct store *s)
{
    struct op *op = s->head;
    if (op) {
        s->head = op->next;
        if (s->head == NULL)
            s->tail = NULL;
    }
    return op;
}

/* Marks what a NULL reply will mean for each pending op: the newest ops whose
 * bytes all still sit in hiredis's output buffer never left this process. */
static void classify_pending(struct store *s)
{
    size_t unsent = s->ac ? sdslen(s->ac->c.obuf) : 0;
    size_t n = 0;
    for (struct op *op = s->head; op; op = op->next)
        n++;
    struct op **v = xmalloc((n ? n : 1) * sizeof *v);
    size_t i = 0;
    for (struct op *op = s->head; op; op = op->next)
        v[i++] = op;
    while (i > 0) {
        struct op *op = v[--i];
        if (op->fail_err != 0)
            continue;
        if (unsent >= op->cmd.len) {
            unsent -= op->cmd.len;
            op->fail_err = -E_UNAVAILABLE;
        } else {
            unsent = 0;
            op->fail_err = -E_TIMEOUT;
        }
    }
    free(v);
}

/* --- connection lifecycle ----------------------------------------------- */

static void start_connect(struct store *s);

static void on_retry(uv_timer_t *t)
{
    start_connect(t->data);
}

static void schedule_retry(struct store *s)
{
    s->metrics->redis_up = false;
    if (s->state == ST_CLOSING)
        return;
    s->state = ST_DOWN;
    unsigned shift = s->attempts < 10 ? s->attempts : 10;
    uint64_t delay = (uint64_t)BACKOFF_MIN_MS << shift;
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    /* Jitter, so that many replicas do not reconnect in lockstep. */
    delay = delay / 2 + (uint64_t)rand() % (delay / 2 + 1);
    s->attempts++;
    uv_timer_start(&s->retry_timer, on_retry, delay, 0);
}

/* Drops the connection (timeout, handshake failure). hiredis answers every
 * pending op with a NULL reply; a context that had connected then calls
 * on_disconnect, which schedules the reconnect; for one that never connected
 * it is done here. Inside a hiredis callback the free is deferred by hiredis
 * until the callback returns. */
static void drop_connection(struct store *s, const char *why)
{
    redisAsyncContext *ac = s->ac;
    if (ac == NULL)
        return;
    bool connected = (ac->c.flags & REDIS_CONNECTED) != 0;
    log_warn("redis: dropping the connection: %s", why);
    classify_pending(s);
    if (s->state != ST_CLOSING)
        s->state = ST_DOWN;
    redisAsyncFree(ac);
    if (!connected) {
        s->ac = NULL;
        schedule_retry(s);
    }
}

static void on_deadline(uv_timer_t *t)
{
    struct store *s = t->data;
    struct op *head = s->head;
    if (head == NULL)
        return;
    uint64_t now = uv_now(s->loop);
    if (head->deadline > now) {
        uv_timer_start(&s->deadline_timer, on_deadline, head->deadline - now, 0);
        return;
    }
    drop_connection(s, "a request passed its deadline (Redis stuck or unreachable)");
}

static void arm_deadline(struct store *s, uint64_t deadline)
{
    if (uv_is_active((uv_handle_t *)&s->deadline_timer))
        return;
    uint64_t now = uv_now(s->loop);
    uv_timer_start(&s->deadline_timer, on_deadline, deadline > now ? deadline - now : 0, 0);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* Queues op (its cmd already formatted). Returns 0 or -1 when hiredis
 * refuses (disconnecting); then the op is not queued. */
static int send_op(struct store *s, struct op *op)
{
    if (redisAsyncFormattedCommand(s->ac, on_reply, op, op->cmd.data, op->cmd.len) != REDIS_OK)
        return -1;
    fifo_push(s, op);
    arm_deadline(s, op->deadline);
    return 0;
}

static void internal_command(struct store *s, store_fn fn, int script, int argc,
                             const char **argv)
{
    struct op *op = op_get(s);
    op->fn = fn;
    op->data = s;
    op->script = script;
    op->deadline = uv_now(s->loop) + (uint64_t)s->cfg->request_timeout_ms;
    resp_args(&op->cmd, argc, argv);
    if (send_op(s, op) != 0)
        op_put(s, op);
}

static void handshake_step_done(struct store *s, bool ok)
{
    if (!ok)
        s->handshake_failed = true;
    if (--s->handshake_pending > 0 || s->state != ST_HANDSHAKE)
        return;
    if (s->handshake_failed) {
        drop_connection(s, "the handshake failed");
        return;
    }
    s->state = ST_UP;
    s->attempts = 0;
    s->metrics->redis_up = true;
    s->metrics->redis_connects++;
    log_info("redis: connected, %d scripts loaded", SCRIPT_COUNT);
}

static bool reply_ok(const redisReply *r, int err)
{
    return err == 0 && r != NULL && r->type != REDIS_REPLY_ERROR;
}

static void on_auth_reply(void *data, const redisReply *r, int err)
{
    struct store *s = data;
    if (!reply_ok(r, err) && r != NULL)
        log_error("redis: AUTH failed: %s", r->type == REDIS_REPLY_ERROR ? r->str : "?");
    handshake_step_done(s, reply_ok(r, err));
}

static void on_select_reply(void *data, const redisReply *r, int err)
{
    struct store *s = data;
    if (!reply_ok(r, err) && r != NULL)
        log_error("redis: SELECT %d failed: %s", s->cfg->redis.db,
                  r->type == REDIS_REPLY_ERROR ? r->str : "?");
    handshake_step_done(s, reply_ok(r, err));
}

static void on_policy_reply(void *data, const redisReply *r, int err)
{
    struct store *s = data;
    if (reply_ok(r, err) && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        if (strcmp(r->element[1]->str, "noeviction") != 0)
            log_warn("redis: maxmemory-policy is '%s', not 'noeviction': Redis may evict stock "
                     "keys under memory pressure, which creates or destroys units. Set "
                     "maxmemory-policy noeviction.",
                     r->element[1]->str);
    } else if (err == 0) {
        log_warn("redis: could not read maxmemory-policy (CONFIG GET refused); make sure it is "
                 "noeviction");
    }
    /* Not fatal: the warning is the point. */
    handshake_step_done(s, err == 0);
}

static void on_load_reply(void *data, const redisReply *r, int err)
{
    struct store *s = data;
    bool ok = reply_ok(r, err) && r->type == REDIS_REPLY_STRING;
    if (err == 0 && !ok)
        log_error("redis: SCRIPT LOAD failed: %s",
                  r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    handshake_step_done(s, ok);
}

static void load_script(struct store *s, int id, store_fn fn)
{
    const char *argv[] = {"SCRIPT", "LOAD", scripts[id].body};
    struct op *op = op_get(s);
    op->fn = fn;
    op->data = s;
    op->deadline = uv_now(s->loop) + (uint64_t)s->cfg->request_timeout_ms;
    resp_count(&op->cmd, '*', 3);
    resp_arg(&op->cmd, argv[0], 6);
    resp_arg(&op->cmd, argv[1], 4);
    resp_arg(&op->cmd, scripts[id].body, scripts[id].len);
    if (send_op(s, op) != 0)
        op_put(s, op);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct store *s = ac->data;
    uv_timer_stop(&s->retry_timer);
    if (status != REDIS_OK) {
        log_warn("redis: connect failed: %s", ac->errstr ? ac->errstr : "unknown error");
        /* hiredis frees the context after this callback. */
        s->ac = NULL;
        schedule_retry(s);
        return;
    }
    s->state = ST_HANDSHAKE;
    s->handshake_pending = 0;
    s->handshake_failed = false;
    const struct redis_url *u = &s->cfg->redis;
    if (u->password[0] != '\0') {
        s->handshake_pending++;
        if (u->user[0] != '\0')
            internal_command(s, on_auth_reply, -1, 3,
                             (const char *[]){"AUTH", u->user, u->password});
        else
            internal_command(s, on_auth_reply, -1, 2, (const char *[]){"AUTH", u->password});
    }
    if (u->db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", u->db);
        s->handshake_pending++;
        internal_command(s, on_select_reply, -1, 2, (const char *[]){"SELECT", db});
    }
    s->handshake_pending++;
    internal_command(s, on_policy_reply, -1, 3,
                     (const char *[]){"CONFIG", "GET", "maxmemory-policy"});
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        s->handshake_pending++;
        load_script(s, i, on_load_reply);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct store *s = ac->data;
    (void)status;
    if (s->ac == ac)
        s->ac = NULL;
    s->metrics->redis_disconnects++;
    s->metrics->redis_up = false;
    if (s->state == ST_CLOSING)
        return;
    bool why = ac->errstr != NULL && ac->errstr[0] != '\0';
    log_warn("redis: disconnected%s%s", why ? ": " : "", why ? ac->errstr : "");
    schedule_retry(s);
}

static void on_connect_deadline(uv_timer_t *t)
{
    struct store *s = t->data;
    if (s->state == ST_CONNECTING)
        drop_connection(s, "connect timed out");
}

static void connect_to(struct store *s, const char *ip, int port, const char *unix_path)
{
    redisAsyncContext *ac =
        unix_path ? redisAsyncConnectUnix(unix_path) : redisAsyncConnect(ip, port);
    if (ac == NULL || ac->err) {
        log_warn("redis: cannot connect: %s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(s);
        return;
    }
    if (uvredis_attach(ac, s->loop) != 0) {
        redisAsyncFree(ac);
        schedule_retry(s);
        return;
    }
    ac->data = s;
    s->ac = ac;
    s->state = ST_CONNECTING;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    uv_timer_start(&s->retry_timer, on_connect_deadline, (uint64_t)s->cfg->request_timeout_ms,
                   0);
}

static void store_free(struct store *s);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct store *s = req->data;
    s->open_handles--;
    if (s->state == ST_CLOSING) {
        uv_freeaddrinfo(res);
        if (s->open_handles == 0)
            store_free(s);
        return;
    }
    if (status != 0 || res == NULL) {
        log_warn("redis: cannot resolve %s: %s", s->cfg->redis.host, uv_strerror(status));
        uv_freeaddrinfo(res);
        schedule_retry(s);
        return;
    }
    char ip[64] = "";
    if (res->ai_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)res->ai_addr, ip, sizeof ip);
    else
        uv_ip4_name((struct sockaddr_in *)res->ai_addr, ip, sizeof ip);
    uv_freeaddrinfo(res);
    connect_to(s, ip, s->cfg->redis.port, NULL);
}

static void start_connect(struct store *s)
{
    if (s->state == ST_CLOSING)
        return;
    const struct redis_url *u = &s->cfg->redis;
    if (u->unix_path[0] != '\0') {
        connect_to(s, NULL, 0, u->unix_path);
        return;
    }
    /* hiredis resolves names with blocking getaddrinfo; resolve on libuv's
     * thread pool first and hand hiredis a numeric address. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    char port[8];
    snprintf(port, sizeof port, "%d", u->port);
    s->state = ST_RESOLVING;
    s->gai.data = s;
    if (uv_getaddrinfo(s->loop, &s->gai, on_resolved, u->host, port, &hints) != 0)
        schedule_retry(s);
    else
        s->open_handles++;
}

/* --- calls ------------------------------------------------------------- */

static bool is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct store *s = ac->data;
    struct op *op = privdata;
    redisReply *reply = r;

    if (reply == NULL && op->fail_err == 0) {
        /* The first NULL reply of a disconnect that hiredis noticed itself
         * (Redis closed or reset the connection): sort the pending ops into
         * sent and never sent while hiredis's output buffer still says so. */
        classify_pending(s);
        if (s->state != ST_CLOSING)
            s->state = ST_DOWN;
    }
    if (fifo_pop(s) != op) {
        /* Redis answers in order; anything else is a bug worth a crash. */
        log_error("redis: reply out of order");
        abort();
    }
    if (s->head == NULL)
        uv_timer_stop(&s->deadline_timer);

    if (reply != NULL && op->script >= 0 && !op->retried && is_noscript(reply)) {
        /* The script cache was flushed (SCRIPT FLUSH, a failover, a restart):
         * load the script and resend the same bytes, once. Redis runs the
         * load before the resend: one connection is answered in order. */
        op->retried = true;
        log_warn("redis: NOSCRIPT for %s, reloading", scripts[op->script].name);
        load_script(s, op->script, NULL);
        if (send_op(s, op) == 0)
            return;
        reply = NULL;
        op->fail_err = -E_UNAVAILABLE;
    }

    if (op->fn)
        op->fn(op->data, reply, reply == NULL ? op->fail_err : 0);
    op_put(s, op);
}

/* Formats and queues one call: EVALSHA sha nkeys args... for a script, or
 * the args as they are for a plain command (script < 0). */
static int submit(struct store *s, int script, int nkeys, const struct args *a, uint64_t deadline,
                  store_fn fn, void *data)
{
    if (s->state != ST_UP || s->ac == NULL)
        return -E_UNAVAILABLE;
    struct op *op = op_get(s);
    op->fn = fn;
    op->data = data;
    op->script = script;
    op->deadline = deadline;
    struct buf *b = &op->cmd;
    buf_reserve(b, a->bytes.len + (size_t)a->n * 16 + 80);
    if (script >= 0) {
        resp_count(b, '*', (size_t)a->n + 3);
        resp_arg(b, "EVALSHA", 7);
        resp_arg(b, scripts[script].sha1, 40);
        char nk[12];
        int nkl = snprintf(nk, sizeof nk, "%d", nkeys);
        resp_arg(b, nk, (size_t)nkl);
    } else {
        resp_count(b, '*', (size_t)a->n);
    }
    for (int i = 0; i < a->n; i++)
        resp_arg(b, a->bytes.data + a->v[i].off, a->v[i].len);
    if (send_op(s, op) != 0) {
        op_put(s, op);
        return -E_UNAVAILABLE;
    }
    return 0;
}

int store_eval(struct store *s, enum script_id id, int nkeys, const struct args *a,
               uint64_t deadline, store_fn fn, void *data)
{
    return submit(s, (int)id, nkeys, a, deadline, fn, data);
}

int store_command(struct store *s, const struct args *a, uint64_t deadline, store_fn fn,
                  void *data)
{
    return submit(s, -1, 0, a, deadline, fn, data);
}

uint64_t store_now(const struct store *s)
{
    return uv_now(s->loop);
}

bool store_is_up(const struct store *s)
{
    return s->state == ST_UP;
}

/* --- creation and teardown --------------------------------------------- */

struct store *store_new(uv_loop_t *loop, const struct config *cfg, struct metrics *m)
{
    struct store *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->cfg = cfg;
    s->metrics = m;
    s->state = ST_DOWN;
    uv_timer_init(loop, &s->deadline_timer);
    uv_timer_init(loop, &s->retry_timer);
    s->deadline_timer.data = s;
    s->retry_timer.data = s;
    s->open_handles = 2;
    return s;
}

void store_start(struct store *s)
{
    start_connect(s);
}

static void store_free(struct store *s)
{
    while (s->spare) {
        struct op *op = s->spare;
        s->spare = op->next;
        buf_free(&op->cmd);
        free(op);
    }
    void (*done)(void *) = s->on_closed;
    void *data = s->on_closed_data;
    free(s);
    if (done)
        done(data);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct store *s = h->data;
    if (--s->open_handles == 0)
        store_free(s);
}

void store_close(struct store *s, void (*done)(void *), void *data)
{
    s->on_closed = done;
    s->on_closed_data = data;
    s->state = ST_CLOSING;
    if (s->ac != NULL) {
        redisAsyncContext *ac = s->ac;
        classify_pending(s);
        s->ac = NULL;
        redisAsyncFree(ac);
    }
    if (s->open_handles == 3) {
        /* A name lookup is running; it cannot be closed, only waited for. */
        uv_cancel((uv_req_t *)&s->gai);
    }
    uv_close((uv_handle_t *)&s->deadline_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->retry_timer, on_handle_closed);
}
