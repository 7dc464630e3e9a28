/* --durability replica:N (see store.h): `WAIT N timeout` on the connection
 * after the writes, and the replies of those writes held until a WAIT
 * after them answers.
 *
 *   write sent (seq k) ...... flush: no WAIT in flight --> WAIT, covers <= k
 *   write's reply --> held (its reply kept from the reply pool)
 *   WAIT's reply: >= N   --> each held op it covers ends with its reply
 *                 <  N   --> each ends STORE_NOT_REPLICATED
 *                 NULL or an error --> each ends STORE_UNKNOWN
 *                 writes sent meanwhile --> the next WAIT, at the next flush
 *
 * One WAIT at a time: Redis blocks the connection while a WAIT waits, so a
 * second one queued behind it would, when replicas lag, hold everything
 * after it for another whole timeout. With one in flight, a call waits at
 * most for the WAIT ahead of it, and a write for that one and its own.
 * Replies come in the order ops were sent, so `held` is in seq order and a
 * WAIT's ops are a prefix of it. A held op that reaches its deadline first
 * ends UNKNOWN (store.c). Error replies are never held: an error claims no
 * write (the scripts check everything before their first write), and the
 * request layer answers it as refused or as a bug whatever the replicas
 * say. */
#include "store_ops.h"

#include <stdio.h>

#include "replies.h"

bool store_wait_due(const struct store *s)
{
    return s->wait == NULL && s->write_seq > s->covered_seq;
}

void store_wait_flush(struct store *s)
{
    if (!store_wait_due(s))
        return;
    /* Whatever happens next, these writes get no other WAIT: either this
     * one covers them, or the connection is going (hiredis refuses) and
     * its loss ends them. */
    s->covered_seq = s->write_seq;
    if (s->ac == NULL)
        return;
    struct op *w = store_op_get(s);
    w->fn = NULL;
    w->is_wait = true;
    w->forgotten = true; /* no deadline of its own: the held ops carry theirs */
    w->deadline = UINT64_MAX;
    w->covers = s->write_seq;
    char n[16], t[24];
    int nl = snprintf(n, sizeof n, "%d", s->replicas);
    int tl = snprintf(t, sizeof t, "%lld", s->cfg->durability_timeout_ms);
    resp_header(&w->cmd, 3);
    resp_bulk(&w->cmd, "WAIT", 4);
    resp_bulk(&w->cmd, n, (size_t)nl);
    resp_bulk(&w->cmd, t, (size_t)tl);
    w->wait_ns = metrics_now_ns();
    if (store_op_send(s, w))
        s->wait = w;
    else
        store_op_put(s, w);
}

bool store_wait_hold(struct store *s, struct op *op, redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR)
        return false;
    replies_keep(r);
    op->held = r;
    queue_insert_tail(&s->held, &op->node);
    store_arm_for(s, op->deadline);
    return true;
}

/* Ends a held op whose write was not confirmed with outcome, except the
 * calls of a batch whose own element is an error reply: those end with it,
 * as they would have at once. */
static void end_unconfirmed(struct op *op, const redisReply *held, enum store_outcome outcome)
{
    if (op->n_members == 0) {
        store_op_end(op, NULL, outcome);
        return;
    }
    size_t n = op->n_members;
    op->n_members = 0;
    bool split = held->type == REDIS_REPLY_ARRAY && held->elements == n;
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = split ? held->element[i] : NULL;
        if (e != NULL && e->type == REDIS_REPLY_ERROR)
            op->members[i].fn(op->members[i].data, e, STORE_REPLY);
        else
            op->members[i].fn(op->members[i].data, NULL, outcome);
    }
}

/* Ends the held ops up to seq upto (all: UINT64_MAX). confirmed: with
 * their replies; else unconfirmed with outcome. They leave `held` first:
 * the ends may make new calls, whose writes wait for a WAIT of their own. */
static void end_held(struct store *s, uint64_t upto, bool confirmed, enum store_outcome outcome)
{
    struct queue done;
    queue_init(&done);
    struct queue *q;
    while ((q = queue_first(&s->held)) != NULL && queue_data(q, struct op, node)->seq <= upto) {
        queue_remove(q);
        queue_insert_tail(&done, q);
    }
    while ((q = queue_first(&done)) != NULL) {
        struct op *op = queue_data(q, struct op, node);
        queue_remove(q);
        redisReply *held = op->held;
        op->held = NULL;
        if (confirmed)
            store_op_end(op, held, STORE_REPLY);
        else
            end_unconfirmed(op, held, outcome);
        replies_release(held);
        store_op_put(s, op);
    }
}

void store_wait_answered(struct store *s, struct op *wait, const redisReply *r)
{
    assert(s->wait == wait);
    s->wait = NULL;
    struct metrics *m = s->metrics;
    int need = s->replicas;
    long long got = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r != NULL || !s->closing) {
        uint64_t now = metrics_now_ns();
        m->replication_waits++;
        m->replication_wait_seconds += (double)(now - wait->wait_ns) / 1e9;
        m->replication_last_at_ns = now;
        m->replication_last_acked = got;
        if (got < need)
            m->replication_failures++;
    }
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        log_repeat(&s->log_wait, LOG_WARN, "%s: WAIT refused: %s", s->name, r->str);
    else if (r != NULL && got < need)
        log_repeat(&s->log_wait, LOG_WARN,
                   "%s: WAIT: %lld of %d replicas confirmed the writes within %lld ms; they "
                   "are answered 2002 replication",
                   s->name, got, need, s->cfg->durability_timeout_ms);
    end_held(s, wait->covers, got >= need,
             r != NULL && r->type == REDIS_REPLY_INTEGER ? STORE_NOT_REPLICATED : STORE_UNKNOWN);
    if (store_wait_due(s))
        store_flush_soon(s);
}

void store_wait_lost(struct store *s)
{
    s->covered_seq = s->write_seq;
    /* Writes answered that no WAIT had covered yet: they ran, and nothing
     * on that connection will confirm them now. */
    end_held(s, UINT64_MAX, false, STORE_UNKNOWN);
}
