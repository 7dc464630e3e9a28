/* The Redis side (see store.h). Calls are ops on two queues:
 *
 *   waiting: queued while the link connects, not yet given to hiredis
 *            (they go out, in order, the moment it is up)
 *   sent:    given to hiredis, in the order hiredis will call back (Redis
 *            answers a connection in order)
 *
 *   store_eval --link up--> sent --reply / NULL--> fn(data, outcome)
 *        |  \--connecting--> waiting --up--> sent
 *        |                      \--round failed, or deadline--> NOT_SENT
 *        +--link down--> -1 (refused at once)
 *
 * One deadline timer watches both queues. A waiting op past its deadline
 * ends NOT_SENT. A sent op past its deadline ends UNKNOWN (it may still
 * run) and is forgotten: it keeps its place in `sent`, and its late reply
 * is dropped. A busy Redis is not a stuck one: the connection is dropped
 * only when Redis has answered nothing at all for --redis-stuck-ms while
 * calls wait (the watch timer; when nothing waits, it sends a PING now and
 * then, so that a dead peer is found before a request needs it). Before
 * hiredis then ends every sent op with a NULL reply, the queue is
 * classified: ops whose bytes still sit in hiredis's output buffer never
 * left this process (NOT_SENT), the others may have run (UNKNOWN). A
 * NOSCRIPT reply (script cache flushed) loads the script and resends the
 * same bytes, once.
 *
 * Coalescing (store_eval_batched): calls of a batch script gather in one
 * op until the end of the loop iteration (a check and a prepare handle:
 * after the I/O callbacks, and before the loop would block), --batch-max
 * calls, or any other call, which sends the gathered op first so that
 * calls still reach Redis in the order they were made. A lone call is
 * sent in the iteration it was made in, as at once as any other. The op
 * ends each of its calls with its own element of the reply. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/sds.h>
#include <uv.h>

#include "closer.h"
#include "link.h"
#include "log.h"
#include "queue.h"

struct op {
    struct queue node; /* in sent, waiting or spare */
    struct store *store;
    store_fn fn;       /* NULL for the store's own (a script reload) */
    void *data;
    uint64_t deadline;
    uint64_t sent_at;  /* uv_now when given to hiredis */
    bool forgotten;    /* answered UNKNOWN at its deadline; its reply is dropped */
    struct buf cmd; /* owned: the RESP bytes, kept for a NOSCRIPT resend */
    int script;     /* enum script_id, or -1 for plain commands */
    bool retried;
    enum store_outcome fail; /* what a NULL reply means; STORE_REPLY: not yet classified */
    struct member {          /* a batch's calls (fn is NULL then), in order */
        store_fn fn;
        void *data;
    } *members; /* owned */
    size_t n_members, members_cap;
};

/* The batch being gathered: calls of one script that share their fixed
 * KEYS and ARGV (the head), each with its own segment of both. */
struct batch {
    struct op *op;                   /* NULL while nothing gathers */
    struct buf head_keys, head_argv; /* owned, RESP: the head */
    struct buf keys, argv;           /* owned, RESP: the calls' segments */
    int n_head_keys, n_head_argv, n_keys, n_argv;
    struct buf probe; /* owned, RESP: a new call's head, to compare */
};

struct store {
    uv_loop_t *loop;
    const struct config *cfg;
    struct metrics *metrics;
    struct link *link;
    redisAsyncContext *ac; /* the link's while it is up, else NULL */
    struct queue sent, waiting, spare;
    uv_timer_t deadline_timer;
    uint64_t armed_at;      /* when deadline_timer fires, while it is active */
    uv_timer_t watch_timer; /* stuck detection and idle PINGs */
    uint64_t last_reply_at; /* uv_now of Redis's latest reply of any kind */
    struct late {           /* the ops a deadline pass answers, after marking them */
        store_fn fn;
        void *data;
    } *late;
    size_t late_cap;
    bool closing;
    struct closer closer;
    void (*on_closed)(void *);
    void *on_closed_data;
    struct log_repeat log_noscript;
    struct batch batch;
    uv_check_t batch_check;     /* sends the batch after the I/O callbacks */
    uv_prepare_t batch_prepare; /* and before the loop blocks */
};

/* --- ops ---------------------------------------------------------------- */

static struct op *op_get(struct store *s)
{
    struct queue *q = queue_first(&s->spare);
    struct op *op;
    if (q != NULL) {
        queue_remove(q);
        op = queue_data(q, struct op, node);
        buf_reset(&op->cmd);
    } else {
        op = xcalloc(1, sizeof *op);
        queue_init(&op->node);
        op->store = s;
    }
    op->retried = false;
    op->forgotten = false;
    op->n_members = 0;
    op->fail = STORE_REPLY;
    op->script = -1;
    return op;
}

static void op_put(struct store *s, struct op *op)
{
    assert(!queue_linked(&op->node));
    if (op->cmd.cap > 65536)
        buf_free(&op->cmd);
    queue_insert_head(&s->spare, &op->node);
}

/* Ends an op with a reply or an outcome: its fn, or each call of a batch
 * with its own element of the reply (the whole reply when it is not one
 * element per call: an error reply of the batch goes to every call). An op
 * is ended once; it is on no queue meanwhile, so the calls' functions may
 * make new calls. */
static void op_end(struct op *op, const redisReply *r, enum store_outcome outcome)
{
    if (op->n_members == 0) {
        if (op->fn)
            op->fn(op->data, r, outcome);
        return;
    }
    size_t n = op->n_members;
    op->n_members = 0;
    bool split = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == n;
    for (size_t i = 0; i < n; i++)
        op->members[i].fn(op->members[i].data, split ? r->element[i] : r, outcome);
}

static struct op *head_of(const struct queue *q)
{
    struct queue *first = queue_first(q);
    return first ? queue_data(first, struct op, node) : NULL;
}

/* Marks what a NULL reply will mean for each sent op: the newest ops whose
 * bytes all still sit in hiredis's output buffer never left this process. */
static void classify_sent(struct store *s, const redisAsyncContext *ac)
{
    size_t unsent = ac != NULL ? sdslen(ac->c.obuf) : 0;
    for (struct queue *q = s->sent.prev; q != &s->sent; q = q->prev) {
        struct op *op = queue_data(q, struct op, node);
        if (op->fail != STORE_REPLY)
            continue;
        if (unsent >= op->cmd.len) {
            unsent -= op->cmd.len;
            op->fail = STORE_NOT_SENT;
        } else {
            unsent = 0;
            op->fail = STORE_UNKNOWN;
        }
    }
}

/* --- deadlines ------------------------------------------------------------ */

static void on_deadline(uv_timer_t *t);

/* The earliest deadline of an op still waiting for its answer: the head
 * of `waiting` (those grow with arrival), and any op of `sent` not
 * forgotten (a request's later call keeps the request's deadline, so
 * `sent` is not in deadline order). */
static void arm_deadline(struct store *s)
{
    struct op *w = head_of(&s->waiting);
    uint64_t at = w ? w->deadline : UINT64_MAX;
    for (struct queue *q = queue_first(&s->sent); q != NULL && q != &s->sent; q = q->next) {
        struct op *op = queue_data(q, struct op, node);
        if (!op->forgotten && op->deadline < at)
            at = op->deadline;
    }
    if (at == UINT64_MAX) {
        uv_timer_stop(&s->deadline_timer);
        return;
    }
    uint64_t now = uv_now(s->loop);
    s->armed_at = at;
    uv_timer_start(&s->deadline_timer, on_deadline, at > now ? at - now : 0, 0);
}

/* Makes the timer fire no later than at. */
static void arm_for(struct store *s, uint64_t at)
{
    if (!uv_is_active((uv_handle_t *)&s->deadline_timer) || at < s->armed_at) {
        uint64_t now = uv_now(s->loop);
        s->armed_at = at;
        uv_timer_start(&s->deadline_timer, on_deadline, at > now ? at - now : 0, 0);
    }
}

/* Ends an op that never reached hiredis. */
static void end_unsent(struct store *s, struct op *op)
{
    queue_remove(&op->node);
    op_end(op, NULL, STORE_NOT_SENT);
    op_put(s, op);
}

static void on_deadline(uv_timer_t *t)
{
    struct store *s = t->data;
    uint64_t now = uv_now(s->loop);
    struct op *op;
    while ((op = head_of(&s->waiting)) != NULL && op->deadline <= now)
        end_unsent(s, op);
    /* Sent ops past their deadline: marked first, answered after, so that
     * whatever an answer sets off (even the close of the store) finds them
     * forgotten already. */
    size_t n = 0;
    for (struct queue *q = queue_first(&s->sent); q != NULL && q != &s->sent; q = q->next) {
        op = queue_data(q, struct op, node);
        if (op->forgotten || op->deadline > now)
            continue;
        op->forgotten = true;
        for (size_t i = 0; i < op->n_members; i++) {
            s->late = xgrow(s->late, &s->late_cap, n + 1, sizeof *s->late);
            s->late[n++] = (struct late){op->members[i].fn, op->members[i].data};
        }
        op->n_members = 0;
        if (op->fn == NULL)
            continue;
        s->late = xgrow(s->late, &s->late_cap, n + 1, sizeof *s->late);
        s->late[n++] = (struct late){op->fn, op->data};
        op->fn = NULL;
    }
    for (size_t i = 0; i < n; i++)
        s->late[i].fn(s->late[i].data, NULL, STORE_UNKNOWN);
    if (!s->closing)
        arm_deadline(s);
}

/* Every redis_stuck_ms / 4: drops a connection on which Redis has answered
 * nothing for redis_stuck_ms while calls wait; PINGs an idle one. */
static void send_ping(struct store *s);

static void on_watch(uv_timer_t *t)
{
    struct store *s = t->data;
    if (s->ac == NULL || s->closing)
        return;
    uint64_t now = uv_now(s->loop), stuck = (uint64_t)s->cfg->redis_stuck_ms;
    struct op *head = head_of(&s->sent);
    if (head != NULL) {
        uint64_t since = head->sent_at > s->last_reply_at ? head->sent_at : s->last_reply_at;
        if (now - since >= stuck) {
            classify_sent(s, s->ac);
            link_drop(s->link, "Redis answered nothing while calls waited (stuck or unreachable)");
        }
    } else if (now - s->last_reply_at >= stuck / 2) {
        send_ping(s);
    }
}

/* --- sending -------------------------------------------------------------- */

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* Gives op (its cmd formatted) to hiredis. Returns false when hiredis
 * refuses (the context is going away); then op is on no queue. */
static bool send_op(struct store *s, struct op *op)
{
    /* hiredis 0.14 reads the byte after a formatted command's first
     * argument to see whether another follows: for a one-word command
     * (PING) that is one past the end, so it must be a NUL. */
    if (s->ac == NULL ||
        redisAsyncFormattedCommand(s->ac, on_reply, op, buf_cstr(&op->cmd), op->cmd.len) !=
            REDIS_OK)
        return false;
    op->sent_at = uv_now(s->loop);
    queue_insert_tail(&s->sent, &op->node);
    if (!op->forgotten)
        arm_for(s, op->deadline);
    return true;
}

static void load_script(struct store *s, int id)
{
    struct op *op = op_get(s);
    op->fn = NULL;
    op->deadline = uv_now(s->loop) + (uint64_t)s->cfg->request_timeout_ms;
    resp_header(&op->cmd, 3);
    resp_bulk(&op->cmd, "SCRIPT", 6);
    resp_bulk(&op->cmd, "LOAD", 4);
    resp_bulk(&op->cmd, scripts[id].body, scripts[id].len);
    if (!send_op(s, op))
        op_put(s, op);
}

static void send_ping(struct store *s)
{
    struct op *op = op_get(s);
    op->fn = NULL;
    op->deadline = uv_now(s->loop) + (uint64_t)s->cfg->redis_stuck_ms;
    op->forgotten = true; /* nobody waits for it: only the watch does */
    resp_header(&op->cmd, 1);
    resp_bulk(&op->cmd, "PING", 4);
    if (!send_op(s, op))
        op_put(s, op);
}

static bool is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct op *op = privdata;
    struct store *s = op->store;
    redisReply *reply = r;

    if (reply == NULL && op->fail == STORE_REPLY) {
        /* The first NULL reply of a disconnect that hiredis noticed itself
         * (Redis closed or reset the connection): sort the sent ops into
         * sent and never sent while hiredis's output buffer still says so. */
        classify_sent(s, ac);
    }
    if (head_of(&s->sent) != op) {
        /* Redis answers in order; anything else is a bug worth a crash. */
        log_error("redis: reply out of order");
        abort();
    }
    queue_remove(&op->node);
    if (reply != NULL)
        s->last_reply_at = uv_now(s->loop);
    if (queue_empty(&s->sent) && queue_empty(&s->waiting))
        uv_timer_stop(&s->deadline_timer);

    if (reply != NULL && op->script >= 0 && !op->retried && !op->forgotten && is_noscript(reply)) {
        /* The script cache was flushed (SCRIPT FLUSH, a failover, a restart):
         * load the script and resend the same bytes, once. Redis runs the
         * load before the resend: one connection is answered in order. */
        op->retried = true;
        log_repeat(&s->log_noscript, LOG_WARN, "redis: NOSCRIPT for %s, reloading",
                   scripts[op->script].name);
        load_script(s, op->script);
        if (send_op(s, op))
            return;
        reply = NULL;
        op->fail = STORE_NOT_SENT; /* the first try did not run either */
    }
    op_end(op, reply, reply == NULL ? op->fail : STORE_REPLY);
    op_put(s, op);
}

/* A batch is sent once its calls' own arguments pass this many bytes, so
 * that one script call never keeps Redis long from other clients. */
#define BATCH_BYTES 65536

/* Starts "EVALSHA sha nkeys" of a call with nargs arguments in all. */
static void resp_evalsha(struct buf *b, int script, int nkeys, int nargs)
{
    resp_header(b, (size_t)nargs + 3);
    resp_bulk(b, "EVALSHA", 7);
    resp_bulk(b, scripts[script].sha1, 40);
    char nk[12];
    int nkl = snprintf(nk, sizeof nk, "%d", nkeys);
    resp_bulk(b, nk, (size_t)nkl);
}

/* Queues a formatted op until the link is up, within its deadline. */
static void wait_for_link(struct store *s, struct op *op)
{
    queue_insert_tail(&s->waiting, &op->node);
    arm_for(s, op->deadline);
}

/* Gives a formatted op to hiredis, or to the waiting queue while the link
 * connects. Returns -1 when it can go neither way (the op is put back). */
static int dispatch(struct store *s, struct op *op, enum link_state st)
{
    if (st != LINK_UP) {
        wait_for_link(s, op);
        return 0;
    }
    if (send_op(s, op))
        return 0;
    op_put(s, op);
    return -1;
}

/* The state calls are taken in: -1 when they are refused at once. */
static int accepting(const struct store *s, uint64_t deadline, enum link_state *st)
{
    *st = s->closing ? LINK_CLOSING : link_state(s->link);
    if (*st == LINK_DOWN || *st == LINK_CLOSING)
        return -1;
    if (deadline <= uv_now(s->loop))
        return -1; /* too late to start: never sent */
    return 0;
}

/* Sends the batch gathered so far, if any. */
static void batch_flush(struct store *s)
{
    struct batch *b = &s->batch;
    struct op *op = b->op;
    if (op == NULL)
        return;
    b->op = NULL;
    uv_check_stop(&s->batch_check);
    uv_prepare_stop(&s->batch_prepare);
    struct buf *c = &op->cmd;
    buf_reserve(c, b->head_keys.len + b->keys.len + b->head_argv.len + b->argv.len + 100);
    resp_evalsha(c, op->script, b->n_head_keys + b->n_keys,
                 b->n_head_keys + b->n_keys + b->n_head_argv + b->n_argv);
    buf_append(c, b->head_keys.data, b->head_keys.len);
    buf_append(c, b->keys.data, b->keys.len);
    buf_append(c, b->head_argv.data, b->head_argv.len);
    buf_append(c, b->argv.data, b->argv.len);
    s->metrics->redis_batches++;
    s->metrics->redis_batched_calls += op->n_members;
    enum link_state st = s->closing ? LINK_CLOSING : link_state(s->link);
    if (st == LINK_UP && send_op(s, op))
        return;
    if (st == LINK_UP || st == LINK_CONNECTING) {
        /* Connecting, or refused by hiredis (its context is going: the link
         * reports the loss next): its calls were taken, so the op waits for
         * the next connection. */
        wait_for_link(s, op);
        return;
    }
    /* The link went down since the calls were made (only the loop's own
     * callbacks and store_close get here): never sent. */
    op_end(op, NULL, STORE_NOT_SENT);
    op_put(s, op);
}

static void on_batch_check(uv_check_t *h)
{
    batch_flush(h->data);
}

static void on_batch_prepare(uv_prepare_t *h)
{
    batch_flush(h->data);
}

int store_eval_batched(struct store *s, enum script_id id, int nkeys, int head_keys, int head_argv,
                       const struct args *a, uint64_t deadline, store_fn fn, void *data)
{
    assert(head_keys <= nkeys && nkeys + head_argv <= a->n);
    enum link_state st;
    if (accepting(s, deadline, &st) != 0)
        return -1;
    struct batch *b = &s->batch;
    buf_reset(&b->probe);
    args_resp(a, &b->probe, 0, head_keys);
    size_t split = b->probe.len;
    args_resp(a, &b->probe, nkeys, nkeys + head_argv);
    if (b->op != NULL &&
        (b->op->script != (int)id || split != b->head_keys.len ||
         b->probe.len - split != b->head_argv.len ||
         memcmp(b->probe.data, b->head_keys.data, split) != 0 ||
         memcmp(b->probe.data + split, b->head_argv.data, b->head_argv.len) != 0))
        batch_flush(s); /* another script or head: a batch of its own */
    if (b->op == NULL) {
        b->op = op_get(s);
        b->op->script = (int)id;
        b->op->fn = NULL;
        b->op->deadline = deadline;
        buf_reset(&b->head_keys);
        buf_reset(&b->head_argv);
        buf_reset(&b->keys);
        buf_reset(&b->argv);
        buf_append(&b->head_keys, b->probe.data, split);
        buf_append(&b->head_argv, b->probe.data + split, b->probe.len - split);
        b->n_head_keys = head_keys;
        b->n_head_argv = head_argv;
        b->n_keys = b->n_argv = 0;
        uv_check_start(&s->batch_check, on_batch_check);
        uv_prepare_start(&s->batch_prepare, on_batch_prepare);
    }
    struct op *op = b->op;
    args_resp(a, &b->keys, head_keys, nkeys);
    args_resp(a, &b->argv, nkeys + head_argv, a->n);
    b->n_keys += nkeys - head_keys;
    b->n_argv += a->n - nkeys - head_argv;
    op->members = xgrow(op->members, &op->members_cap, op->n_members + 1, sizeof *op->members);
    op->members[op->n_members++] = (struct member){fn, data};
    if (deadline < op->deadline)
        op->deadline = deadline; /* a batch times out with its earliest call */
    if (op->n_members >= (size_t)s->cfg->batch_max || b->keys.len + b->argv.len > BATCH_BYTES)
        batch_flush(s);
    return 0;
}

/* Formats and queues one call: EVALSHA sha nkeys args... for a script, or
 * the args as they are for a plain command (script < 0). A batch gathered
 * so far goes first: calls reach Redis in the order they were made. */
static int submit(struct store *s, int script, int nkeys, const struct args *a, uint64_t deadline,
                  store_fn fn, void *data)
{
    enum link_state st;
    if (accepting(s, deadline, &st) != 0)
        return -1;
    batch_flush(s);
    struct op *op = op_get(s);
    op->fn = fn;
    op->data = data;
    op->script = script;
    op->deadline = deadline;
    struct buf *b = &op->cmd;
    buf_reserve(b, a->bytes.len + (size_t)a->n * 16 + 80);
    if (script >= 0)
        resp_evalsha(b, script, nkeys, a->n);
    else
        resp_header(b, (size_t)a->n);
    args_resp(a, b, 0, a->n);
    return dispatch(s, op, st);
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

enum store_health store_health(const struct store *s)
{
    switch (s->closing ? LINK_CLOSING : link_state(s->link)) {
    case LINK_UP:
        return STORE_UP;
    case LINK_CONNECTING:
        return STORE_CONNECTING;
    default:
        return STORE_DOWN;
    }
}

/* --- the link's events ---------------------------------------------------- */

static void on_link_up(void *data, redisAsyncContext *ac)
{
    struct store *s = data;
    assert(s->ac == NULL && queue_empty(&s->sent));
    s->ac = ac;
    s->last_reply_at = uv_now(s->loop);
    /* What waited for the connection goes out now, in order. */
    struct queue waiting;
    queue_init(&waiting);
    queue_move_all(&s->waiting, &waiting);
    struct queue *q;
    while ((q = queue_first(&waiting)) != NULL) {
        struct op *op = queue_data(q, struct op, node);
        queue_remove(q);
        if (!send_op(s, op)) {
            op_end(op, NULL, STORE_NOT_SENT);
            op_put(s, op);
        }
    }
}

static void on_link_lost(void *data)
{
    struct store *s = data;
    /* hiredis has ended every sent op before telling the link. */
    assert(queue_empty(&s->sent));
    s->ac = NULL;
}

static void on_link_failed(void *data)
{
    struct store *s = data;
    struct op *op;
    while ((op = head_of(&s->waiting)) != NULL)
        end_unsent(s, op);
}

static const struct link_events link_events = {on_link_up, on_link_lost, on_link_failed};

/* --- creation and teardown --------------------------------------------- */

struct store *store_new(struct uv_loop_s *loop, const struct config *cfg, struct metrics *m)
{
    struct store *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->cfg = cfg;
    s->metrics = m;
    queue_init(&s->sent);
    queue_init(&s->waiting);
    queue_init(&s->spare);
    uv_timer_init(loop, &s->deadline_timer);
    s->deadline_timer.data = s;
    uv_timer_init(loop, &s->watch_timer);
    s->watch_timer.data = s;
    uv_check_init(loop, &s->batch_check);
    s->batch_check.data = s;
    uv_prepare_init(loop, &s->batch_prepare);
    s->batch_prepare.data = s;
    buf_init(&s->batch.head_keys);
    buf_init(&s->batch.head_argv);
    buf_init(&s->batch.keys);
    buf_init(&s->batch.argv);
    buf_init(&s->batch.probe);
    s->link = link_new(loop, cfg, m, &link_events, s);
    return s;
}

void store_start(struct store *s)
{
    uint64_t every = (uint64_t)s->cfg->redis_stuck_ms / 4;
    uv_timer_start(&s->watch_timer, on_watch, every, every);
    link_start(s->link);
}

static void store_free(void *data)
{
    struct store *s = data;
    struct queue *q;
    assert(queue_empty(&s->sent) && queue_empty(&s->waiting));
    while ((q = queue_first(&s->spare)) != NULL) {
        struct op *op = queue_data(q, struct op, node);
        queue_remove(q);
        buf_free(&op->cmd);
        free(op->members);
        free(op);
    }
    buf_free(&s->batch.head_keys);
    buf_free(&s->batch.head_argv);
    buf_free(&s->batch.keys);
    buf_free(&s->batch.argv);
    buf_free(&s->batch.probe);
    log_repeat_done(&s->log_noscript);
    free(s->late);
    void (*done)(void *) = s->on_closed;
    void *done_data = s->on_closed_data;
    free(s);
    done(done_data);
}

static void on_link_closed(void *data)
{
    struct store *s = data;
    s->link = NULL;
    closer_release(&s->closer);
}

void store_close(struct store *s, void (*done)(void *), void *data)
{
    s->on_closed = done;
    s->on_closed_data = data;
    s->closing = true;
    closer_begin(&s->closer, store_free, s);
    batch_flush(s); /* closing: its calls end never sent */
    struct op *op;
    while ((op = head_of(&s->waiting)) != NULL)
        end_unsent(s, op);
    if (s->ac != NULL)
        classify_sent(s, s->ac);
    s->ac = NULL;
    /* Closing the link frees the connection: hiredis ends every sent op. */
    closer_hold(&s->closer);
    link_close(s->link, on_link_closed, s);
    closer_close(&s->closer, (uv_handle_t *)&s->deadline_timer);
    closer_close(&s->closer, (uv_handle_t *)&s->watch_timer);
    closer_close(&s->closer, (uv_handle_t *)&s->batch_check);
    closer_close(&s->closer, (uv_handle_t *)&s->batch_prepare);
    closer_end(&s->closer);
}
