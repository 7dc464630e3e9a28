/* Coalescing (store_eval_batched, see store.h): calls of a batch script
 * gather in one op until the end of the loop iteration (the store's
 * flush), --batch-max calls, or any other call, which sends the gathered op
 * first so that calls still reach Redis in the order they were made. A lone
 * call is sent in the iteration it was made in, as at once as any other.
 * The op ends each of its calls with its own element of the reply
 * (store_op_end). */
#include "store_ops.h"

#include <string.h>

#include "cluster.h"

/* A batch is sent once its calls' own arguments pass this many bytes, so
 * that one script call never keeps Redis long from other clients. */
#define BATCH_BYTES 65536

void store_batch_init(struct store *s)
{
    buf_init(&s->batch.head_keys);
    buf_init(&s->batch.head_argv);
    buf_init(&s->batch.keys);
    buf_init(&s->batch.argv);
    buf_init(&s->batch.probe);
}

void store_batch_free(struct store *s)
{
    buf_free(&s->batch.head_keys);
    buf_free(&s->batch.head_argv);
    buf_free(&s->batch.keys);
    buf_free(&s->batch.argv);
    buf_free(&s->batch.probe);
}

bool store_batch_pending(const struct store *s)
{
    return s->batch.op != NULL;
}

void store_batch_flush(struct store *s)
{
    struct batch *b = &s->batch;
    struct op *op = b->op;
    if (op == NULL)
        return;
    b->op = NULL;
    struct buf *c = &op->cmd;
    buf_reserve(c, b->head_keys.len + b->keys.len + b->head_argv.len + b->argv.len + 100);
    store_resp_evalsha(c, op->script, b->n_head_keys + b->n_keys,
                       b->n_head_keys + b->n_keys + b->n_head_argv + b->n_argv);
    buf_append(c, b->head_keys.data, b->head_keys.len);
    buf_append(c, b->keys.data, b->keys.len);
    buf_append(c, b->head_argv.data, b->head_argv.len);
    buf_append(c, b->argv.data, b->argv.len);
    s->metrics->redis_batches++;
    s->metrics->redis_batched_calls += op->n_members;
    enum link_state st = s->closing ? LINK_CLOSING : link_state(s->link);
    if (st == LINK_UP && store_op_send(s, op))
        return;
    if (st == LINK_UP || st == LINK_CONNECTING) {
        /* Connecting, or refused by hiredis (its context is going: the link
         * reports the loss next): its calls were taken, so the op waits for
         * the next connection. */
        store_op_park(s, op);
        return;
    }
    /* The link went down since the calls were made (only the loop's own
     * callbacks and store_close get here): never sent. */
    store_op_end(op, NULL, STORE_NOT_SENT);
    store_op_put(s, op);
}

int store_eval_batched(struct store *s, enum script_id id, int nkeys, int head_keys, int head_argv,
                       const struct args *a, uint64_t deadline, store_fn fn, void *data)
{
    assert(head_keys <= nkeys && nkeys + head_argv <= a->n);
    if (s->cluster != NULL)
        return cluster_call(s->cluster, (int)id, nkeys, head_keys, head_argv, a, deadline, fn,
                            data);
    if (s->reads != NULL && !script_writes(id))
        return store_eval_batched(s->reads, id, nkeys, head_keys, head_argv, a, deadline, fn,
                                  data);
    enum link_state st;
    if (store_accepts(s, deadline, &st) != 0)
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
        store_batch_flush(s); /* another script or head: a batch of its own */
    if (b->op == NULL) {
        b->op = store_op_get(s);
        b->op->script = (int)id;
        b->op->fn = NULL;
        b->op->deadline = deadline;
        b->op->writes = s->replicas > 0 && script_writes(id);
        buf_reset(&b->head_keys);
        buf_reset(&b->head_argv);
        buf_reset(&b->keys);
        buf_reset(&b->argv);
        buf_append(&b->head_keys, b->probe.data, split);
        buf_append(&b->head_argv, b->probe.data + split, b->probe.len - split);
        b->n_head_keys = head_keys;
        b->n_head_argv = head_argv;
        b->n_keys = b->n_argv = 0;
        store_flush_soon(s);
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
        store_batch_flush(s);
    return 0;
}
