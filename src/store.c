/* The Redis side (see store.h). Calls are ops on three queues:
 *
 *   waiting: queued while the link connects, not yet given to hiredis
 *            (they go out, in order, the moment it is up)
 *   sent:    given to hiredis, in the order hiredis will call back (Redis
 *            answers a connection in order)
 *   held:    --durability only: writes Redis has answered, kept until the
 *            WAIT sent after them answers (store_wait.c)
 *
 *   store_eval --link up--> sent --reply / NULL--> fn(data, outcome)
 *        |  \--connecting--> waiting --up--> sent      |
 *        |                      |      a write's reply  +--> held --WAIT's reply--> fn
 *        |                      \--round failed, or deadline--> NOT_SENT
 *        +--link down--> -1 (refused at once)
 *
 * One deadline timer watches the queues. A waiting op past its deadline
 * ends NOT_SENT. A sent op past its deadline ends UNKNOWN (it may still
 * run) and is forgotten: it keeps its place in `sent`, and its late reply
 * is dropped. A held op past its deadline ends UNKNOWN and leaves `held`.
 * A busy Redis is not a stuck one: the connection is dropped only when
 * Redis has answered nothing at all for --redis-stuck-ms while calls wait
 * (beyond the timeout of a WAIT at the head: the watch timer; when nothing
 * waits, it sends a PING now and then, so that a dead peer is found before
 * a request needs it). Before hiredis then ends every sent op with a NULL
 * reply, the queue is classified: ops whose bytes still sit in hiredis's
 * output buffer never left this process (NOT_SENT), the others may have
 * run (UNKNOWN). A NOSCRIPT reply (script cache flushed) loads the script
 * and resends the same bytes, once. A READONLY reply in Sentinel mode
 * (the master became a replica) drops the connection the same way.
 *
 * At the end of each loop iteration (a check and a prepare handle: after
 * the I/O callbacks, and before the loop would block) a flush sends the
 * batch being gathered (store_batch.c), then a WAIT if writes went out
 * that none covers and none is in flight (store_wait.c): at most one WAIT
 * per iteration, however many requests wrote.
 *
 * With --durability, reads (READS scripts, plain commands) go to a second
 * store of their own, with its own connection and no WAIT: Redis runs
 * nothing else of a connection while one of its WAITs waits, and a read
 * must not wait for replicas. A read made while a write of the same client
 * is still in flight may then run before it. */
#include "store_ops.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/sds.h>

#include "cluster.h"
#include "replies.h"

/* --- ops ---------------------------------------------------------------- */

struct op *store_op_get(struct store *s)
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
    op->writes = false;
    op->is_wait = false;
    op->held = NULL;
    op->n_members = 0;
    op->fail = STORE_REPLY;
    op->script = -1;
    return op;
}

void store_op_put(struct store *s, struct op *op)
{
    assert(!queue_linked(&op->node) && op->held == NULL);
    if (op->cmd.cap > 65536)
        buf_free(&op->cmd);
    queue_insert_head(&s->spare, &op->node);
}

/* Ends an op with a reply or an outcome: its fn, or each call of a batch
 * with its own element of the reply (the whole reply when it is not one
 * element per call: an error reply of the batch goes to every call). An op
 * is ended once; it is on no queue meanwhile, so the calls' functions may
 * make new calls. */
void store_op_end(struct op *op, const redisReply *r, enum store_outcome outcome)
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

struct op *store_first(const struct queue *q)
{
    struct queue *first = queue_first(q);
    return first ? queue_data(first, struct op, node) : NULL;
}

/* Marks what a NULL reply will mean for each sent op: the newest ops whose
 * bytes all still sit in hiredis's output buffer never left this process. */
void store_classify_sent(struct store *s, const redisAsyncContext *ac)
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
 * forgotten or of `held` (a request's later call keeps the request's
 * deadline, so neither is in deadline order). */
static void arm_deadline(struct store *s)
{
    struct op *w = store_first(&s->waiting);
    uint64_t at = w ? w->deadline : UINT64_MAX;
    for (struct queue *q = s->sent.next; q != &s->sent; q = q->next) {
        struct op *op = queue_data(q, struct op, node);
        if (!op->forgotten && op->deadline < at)
            at = op->deadline;
    }
    for (struct queue *q = s->held.next; q != &s->held; q = q->next) {
        struct op *op = queue_data(q, struct op, node);
        if (op->deadline < at)
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

void store_arm_for(struct store *s, uint64_t at)
{
    if (!uv_is_active((uv_handle_t *)&s->deadline_timer) || at < s->armed_at) {
        uint64_t now = uv_now(s->loop);
        s->armed_at = at;
        uv_timer_start(&s->deadline_timer, on_deadline, at > now ? at - now : 0, 0);
    }
}

/* Ends an op that never reached hiredis. */
void store_end_unsent(struct store *s, struct op *op)
{
    queue_remove(&op->node);
    store_op_end(op, NULL, STORE_NOT_SENT);
    store_op_put(s, op);
}

/* Takes op's calls into s->late (from n on) for a deadline pass to answer,
 * and leaves op with none; returns the new count. */
static size_t take_late(struct store *s, struct op *op, size_t n)
{
    for (size_t i = 0; i < op->n_members; i++) {
        s->late = xgrow(s->late, &s->late_cap, n + 1, sizeof *s->late);
        s->late[n++] = (struct late){op->members[i].fn, op->members[i].data};
    }
    op->n_members = 0;
    if (op->fn != NULL) {
        s->late = xgrow(s->late, &s->late_cap, n + 1, sizeof *s->late);
        s->late[n++] = (struct late){op->fn, op->data};
        op->fn = NULL;
    }
    return n;
}

static void on_deadline(uv_timer_t *t)
{
    struct store *s = t->data;
    uint64_t now = uv_now(s->loop);
    struct op *op;
    while ((op = store_first(&s->waiting)) != NULL && op->deadline <= now)
        store_end_unsent(s, op);
    /* Sent and held ops past their deadline: marked (or taken off) first,
     * answered after, so that whatever an answer sets off (even the close
     * of the store) finds them forgotten already. */
    size_t n = 0;
    struct queue *q;
    for (q = s->sent.next; q != &s->sent; q = q->next) {
        op = queue_data(q, struct op, node);
        if (op->forgotten || op->deadline > now)
            continue;
        op->forgotten = true;
        n = take_late(s, op, n);
    }
    /* Held ops: Redis ran them, their WAIT has not answered in time. */
    for (q = s->held.next; q != &s->held;) {
        op = queue_data(q, struct op, node);
        q = q->next;
        if (op->deadline > now)
            continue;
        queue_remove(&op->node);
        n = take_late(s, op, n);
        replies_release(op->held);
        op->held = NULL;
        store_op_put(s, op);
    }
    for (size_t i = 0; i < n; i++)
        s->late[i].fn(s->late[i].data, NULL, STORE_UNKNOWN);
    if (!s->closing)
        arm_deadline(s);
}

/* Every redis_stuck_ms / 4: drops a connection on which Redis has answered
 * nothing for redis_stuck_ms while calls wait; PINGs an idle one. */
static void send_ping(struct store *s);
static void on_watch(uv_timer_t *t);

void store_watch_start(struct store *s)
{
    uint64_t every = (uint64_t)s->cfg->redis_stuck_ms / 4;
    uv_timer_start(&s->watch_timer, on_watch, every, every);
}

static void on_watch(uv_timer_t *t)
{
    struct store *s = t->data;
    if (s->ac == NULL || s->closing)
        return;
    uint64_t now = uv_now(s->loop), stuck = (uint64_t)s->cfg->redis_stuck_ms;
    struct op *head = store_first(&s->sent);
    if (head != NULL) {
        uint64_t since = head->sent_at > s->last_reply_at ? head->sent_at : s->last_reply_at;
        if (head->is_wait)
            since += (uint64_t)s->cfg->durability_timeout_ms; /* Redis rightly waits that long */
        if (now > since && now - since >= stuck) {
            store_classify_sent(s, s->ac);
            link_drop(s->link, "Redis answered nothing while calls waited (stuck or unreachable)");
        }
    } else if (now - s->last_reply_at >= stuck / 2) {
        send_ping(s);
    }
}

/* --- sending -------------------------------------------------------------- */

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

bool store_op_send(struct store *s, struct op *op)
{
    /* hiredis 0.14 reads the byte after a formatted command's first
     * argument to see whether another follows: for a one-word command
     * (PING) that is one past the end, so it must be a NUL. */
    if (s->ac == NULL ||
        redisAsyncFormattedCommand(s->ac, on_reply, op, buf_cstr(&op->cmd), op->cmd.len) !=
            REDIS_OK)
        return false;
    op->sent_at = uv_now(s->loop);
    op->seq = ++s->seq;
    if (op->writes) {
        s->write_seq = op->seq;
        store_flush_soon(s);
    }
    queue_insert_tail(&s->sent, &op->node);
    if (!op->forgotten)
        store_arm_for(s, op->deadline);
    return true;
}

static void load_script(struct store *s, int id)
{
    struct op *op = store_op_get(s);
    op->fn = NULL;
    op->deadline = uv_now(s->loop) + (uint64_t)s->cfg->request_timeout_ms;
    resp_header(&op->cmd, 3);
    resp_bulk(&op->cmd, "SCRIPT", 6);
    resp_bulk(&op->cmd, "LOAD", 4);
    resp_bulk(&op->cmd, scripts[id].body, scripts[id].len);
    if (!store_op_send(s, op))
        store_op_put(s, op);
}

static void send_ping(struct store *s)
{
    struct op *op = store_op_get(s);
    op->fn = NULL;
    op->deadline = uv_now(s->loop) + (uint64_t)s->cfg->redis_stuck_ms;
    op->forgotten = true; /* nobody waits for it: only the watch does */
    resp_header(&op->cmd, 1);
    resp_bulk(&op->cmd, "PING", 4);
    if (!store_op_send(s, op))
        store_op_put(s, op);
}

static bool is_error(const redisReply *r, const char *prefix)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, prefix, strlen(prefix)) == 0;
}

/* A reply that says the node is a replica: a write's READONLY, or WAIT's
 * refusal on a replica (after a call that wrote nothing). */
static bool replica_now(const struct op *op, const redisReply *r)
{
    return is_error(r, "READONLY") ||
           (op->is_wait && is_error(r, "ERR WAIT cannot be used with replica"));
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
        store_classify_sent(s, ac);
    }
    if (store_first(&s->sent) != op) {
        /* Redis answers in order; anything else is a bug worth a crash. */
        log_error("%s: reply out of order", s->name);
        abort();
    }
    queue_remove(&op->node);
    if (reply != NULL)
        s->last_reply_at = uv_now(s->loop);
    if (queue_empty(&s->sent) && queue_empty(&s->waiting) && queue_empty(&s->held))
        uv_timer_stop(&s->deadline_timer);

    if (reply != NULL && s->cfg->redis.mode == REDIS_SENTINEL && replica_now(op, reply)) {
        /* The master we know became a replica (a failover not yet heard
         * of): this call is answered as refused; what was sent after it
         * is sorted, and the link asks the sentinels again. */
        store_classify_sent(s, ac);
        link_drop(s->link, "the node answered READONLY: it is a replica now");
    }
    if (op->is_wait) {
        store_wait_answered(s, op, reply);
        store_op_put(s, op);
        return;
    }
    if (reply != NULL && op->script >= 0 && !op->retried && !op->forgotten &&
        is_error(reply, "NOSCRIPT")) {
        /* The script cache was flushed (SCRIPT FLUSH, a failover, a restart):
         * load the script and resend the same bytes, once. Redis runs the
         * load before the resend: one connection is answered in order. */
        op->retried = true;
        log_repeat(&s->log_noscript, LOG_WARN, "%s: NOSCRIPT for %s, reloading", s->name,
                   scripts[op->script].name);
        load_script(s, op->script);
        if (store_op_send(s, op))
            return;
        reply = NULL;
        op->fail = STORE_NOT_SENT; /* the first try did not run either */
    }
    if (reply != NULL && op->writes && !op->forgotten && store_wait_hold(s, op, reply))
        return;
    store_op_end(op, reply, reply == NULL ? op->fail : STORE_REPLY);
    store_op_put(s, op);
}

void store_resp_evalsha(struct buf *b, int script, int nkeys, int nargs)
{
    resp_header(b, (size_t)nargs + 3);
    resp_bulk(b, "EVALSHA", 7);
    resp_bulk(b, scripts[script].sha1, 40);
    char nk[12];
    int nkl = snprintf(nk, sizeof nk, "%d", nkeys);
    resp_bulk(b, nk, (size_t)nkl);
}

void store_op_park(struct store *s, struct op *op)
{
    queue_insert_tail(&s->waiting, &op->node);
    store_arm_for(s, op->deadline);
}

/* Gives a formatted op to hiredis, or to the waiting queue while the link
 * connects. Returns -1 when it can go neither way (the op is put back). */
static int dispatch(struct store *s, struct op *op, enum link_state st)
{
    if (st != LINK_UP) {
        store_op_park(s, op);
        return 0;
    }
    if (store_op_send(s, op))
        return 0;
    store_op_put(s, op);
    return -1;
}

int store_accepts(const struct store *s, uint64_t deadline, enum link_state *st)
{
    *st = s->closing ? LINK_CLOSING : link_state(s->link);
    if (*st == LINK_DOWN || *st == LINK_CLOSING)
        return -1;
    if (deadline <= uv_now(s->loop))
        return -1; /* too late to start: never sent */
    return 0;
}

/* The end of a loop iteration: the batch, then the WAIT after what was
 * sent (the batch included). The handles stop once nothing is left; a
 * call made by an end that a flush set off arms them again. */
static void flush(struct store *s)
{
    store_batch_flush(s);
    store_wait_flush(s);
    if (!store_batch_pending(s) && !store_wait_due(s)) {
        uv_check_stop(&s->flush_check);
        uv_prepare_stop(&s->flush_prepare);
    }
}

static void on_flush_check(uv_check_t *h)
{
    flush(h->data);
}

static void on_flush_prepare(uv_prepare_t *h)
{
    flush(h->data);
}

void store_flush_soon(struct store *s)
{
    if (s->closing)
        return;
    uv_check_start(&s->flush_check, on_flush_check);
    uv_prepare_start(&s->flush_prepare, on_flush_prepare);
}

/* Formats and queues one call: EVALSHA sha nkeys args... for a script, or
 * the args as they are for a plain command (script < 0). A batch gathered
 * so far goes first: calls reach Redis in the order they were made. */
static int submit(struct store *s, int script, int nkeys, const struct args *a, uint64_t deadline,
                  store_fn fn, void *data, bool asking)
{
    enum link_state st;
    if (store_accepts(s, deadline, &st) != 0)
        return -1;
    store_batch_flush(s);
    if (asking) {
        /* ASKING holds for the next command of the connection only: both
         * go to hiredis (or wait for the link) together, nothing between. */
        struct op *ask = store_op_get(s);
        ask->fn = NULL;
        ask->deadline = deadline;
        resp_header(&ask->cmd, 1);
        resp_bulk(&ask->cmd, "ASKING", 6);
        if (dispatch(s, ask, st) != 0)
            return -1;
    }
    struct op *op = store_op_get(s);
    op->fn = fn;
    op->data = data;
    op->script = script;
    op->deadline = deadline;
    op->writes =
        s->replicas > 0 && script >= 0 && script_writes((enum script_id)script);
    struct buf *b = &op->cmd;
    buf_reserve(b, a->bytes.len + (size_t)a->n * 16 + 80);
    if (script >= 0)
        store_resp_evalsha(b, script, nkeys, a->n);
    else
        resp_header(b, (size_t)a->n);
    args_resp(a, b, 0, a->n);
    return dispatch(s, op, st);
}

int store_eval(struct store *s, enum script_id id, int nkeys, const struct args *a,
               uint64_t deadline, store_fn fn, void *data)
{
    if (s->cluster != NULL)
        return cluster_call(s->cluster, (int)id, nkeys, -1, 0, a, deadline, fn, data);
    if (s->reads != NULL && !script_writes(id))
        s = s->reads;
    return submit(s, (int)id, nkeys, a, deadline, fn, data, false);
}

int store_command(struct store *s, const struct args *a, uint64_t deadline, store_fn fn,
                  void *data)
{
    if (s->cluster != NULL)
        return cluster_call(s->cluster, -1, 0, -1, 0, a, deadline, fn, data);
    return submit(s->reads != NULL ? s->reads : s, -1, 0, a, deadline, fn, data, false);
}

int store_eval_asking(struct store *s, int script, int nkeys, const struct args *a,
                      uint64_t deadline, store_fn fn, void *data)
{
    assert(s->cluster == NULL);
    if (s->reads != NULL && (script < 0 || !script_writes((enum script_id)script)))
        s = s->reads;
    return submit(s, script, nkeys, a, deadline, fn, data, true);
}

uint64_t store_now(const struct store *s)
{
    return uv_now(s->loop);
}

enum store_health store_health(const struct store *s)
{
    if (s->cluster != NULL)
        return cluster_health(s->cluster);
    switch (s->closing ? LINK_CLOSING : link_state(s->link)) {
    case LINK_UP:
        return STORE_UP;
    case LINK_CONNECTING:
        return STORE_CONNECTING;
    default:
        return STORE_DOWN;
    }
}
