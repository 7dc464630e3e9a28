/* The store's life (see store.h): its creation, the link's events (what
 * waited for a connection goes out when it is up; a router that watches
 * the store hears of each change), and its teardown. In REDIS_CLUSTER mode
 * store_new makes a front for the router (cluster.h) instead. */
#include "store_ops.h"

#include <stdlib.h>

#include "cluster.h"
#include "replies.h"

void store_watch(struct store *s, void (*fn)(void *data, struct store *s), void *data)
{
    s->on_health = fn;
    s->on_health_data = data;
}

static void tell_health(struct store *s)
{
    if (s->on_health != NULL && !s->closing)
        s->on_health(s->on_health_data, s);
}

/* --- the link's events ---------------------------------------------------- */

static void on_link_up(void *data, redisAsyncContext *ac)
{
    struct store *s = data;
    assert(s->ac == NULL && queue_empty(&s->sent) && queue_empty(&s->held));
    if (s->replicas > 0 && !replies_attached(&ac->c)) {
        /* Held replies are kept by the pool's free function; hiredis's own
         * would free them under the store. */
        log_error("%s: the connection's replies do not come from the reply pool", s->name);
        abort();
    }
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
        if (!store_op_send(s, op)) {
            store_op_end(op, NULL, STORE_NOT_SENT);
            store_op_put(s, op);
        }
    }
    tell_health(s);
}

static void on_link_lost(void *data)
{
    struct store *s = data;
    /* hiredis has ended every sent op before telling the link; the held
     * ops no WAIT answered for end now. */
    assert(queue_empty(&s->sent) && s->wait == NULL);
    s->ac = NULL;
    store_wait_lost(s);
    tell_health(s);
}

static void on_link_failed(void *data)
{
    struct store *s = data;
    struct op *op;
    while ((op = store_first(&s->waiting)) != NULL)
        store_end_unsent(s, op);
    tell_health(s);
}

static const struct link_events link_events = {on_link_up, on_link_lost, on_link_failed};

/* --- creation and teardown --------------------------------------------- */

static struct store *store_make(struct uv_loop_s *loop, const struct config *cfg, struct metrics *m,
                                const char *name, int replicas)
{
    struct store *s = xcalloc(1, sizeof *s);
    s->name = name;
    s->loop = loop;
    s->cfg = cfg;
    s->metrics = m;
    s->replicas = replicas;
    m->replication_required = replicas;
    queue_init(&s->sent);
    queue_init(&s->waiting);
    queue_init(&s->held);
    queue_init(&s->spare);
    uv_timer_init(loop, &s->deadline_timer);
    s->deadline_timer.data = s;
    uv_timer_init(loop, &s->watch_timer);
    s->watch_timer.data = s;
    uv_check_init(loop, &s->flush_check);
    s->flush_check.data = s;
    uv_prepare_init(loop, &s->flush_prepare);
    s->flush_prepare.data = s;
    store_batch_init(s);
    s->link = link_new(loop, cfg, m, name, &link_events, s);
    return s;
}

struct store *store_new(struct uv_loop_s *loop, const struct config *cfg, struct metrics *m,
                        const char *name)
{
    if (cfg->redis.mode == REDIS_CLUSTER) {
        /* A front for the router, which makes a store of its own (this
         * function, with a direct config) for each master. */
        struct store *front = xcalloc(1, sizeof *front);
        front->loop = loop;
        front->cfg = cfg;
        front->metrics = m;
        front->name = name;
        front->cluster = cluster_new(loop, cfg, m, name);
        m->replication_required = cfg->durability_replicas;
        return front;
    }
    struct store *s = store_make(loop, cfg, m, name, cfg->durability_replicas);
    if (s->replicas > 0) {
        /* Redis runs nothing else of a connection while a WAIT of it
         * waits: reads get a connection of their own, so that they are
         * never delayed by a WAIT (a whole --durability-timeout-ms when a
         * replica stops answering). */
        s->reads_metrics = xcalloc(1, sizeof *s->reads_metrics);
        metrics_init(s->reads_metrics);
        snprintf(s->reads_name, sizeof s->reads_name, "%s/reads", name);
        s->reads = store_make(loop, cfg, s->reads_metrics, s->reads_name, 0);
    }
    return s;
}

void store_start(struct store *s)
{
    if (s->cluster != NULL) {
        cluster_start(s->cluster);
        return;
    }
    store_watch_start(s);
    link_start(s->link);
    if (s->reads != NULL)
        store_start(s->reads);
}

static void store_free(void *data)
{
    struct store *s = data;
    struct queue *q;
    assert(queue_empty(&s->sent) && queue_empty(&s->waiting) && queue_empty(&s->held) &&
           s->wait == NULL);
    while ((q = queue_first(&s->spare)) != NULL) {
        struct op *op = queue_data(q, struct op, node);
        queue_remove(q);
        buf_free(&op->cmd);
        free(op->members);
        free(op);
    }
    store_batch_free(s);
    log_repeat_done(&s->log_noscript);
    log_repeat_done(&s->log_wait);
    free(s->late);
    free(s->reads_metrics);
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

static void on_reads_closed(void *data)
{
    struct store *s = data;
    s->reads = NULL;
    closer_release(&s->closer);
}

static void on_cluster_closed(void *data)
{
    struct store *front = data;
    void (*done)(void *) = front->on_closed;
    void *done_data = front->on_closed_data;
    free(front);
    done(done_data);
}

void store_close(struct store *s, void (*done)(void *), void *data)
{
    s->on_closed = done;
    s->on_closed_data = data;
    s->closing = true;
    if (s->cluster != NULL) {
        cluster_close(s->cluster, on_cluster_closed, s);
        return;
    }
    closer_begin(&s->closer, store_free, s);
    store_batch_flush(s); /* closing: its calls end never sent */
    struct op *op;
    while ((op = store_first(&s->waiting)) != NULL)
        store_end_unsent(s, op);
    if (s->ac != NULL)
        store_classify_sent(s, s->ac);
    s->ac = NULL;
    /* Held replies go back to the link's pool before the link frees it. */
    store_wait_lost(s);
    /* Closing the link frees the connection: hiredis ends every sent op. */
    closer_hold(&s->closer);
    link_close(s->link, on_link_closed, s);
    if (s->reads != NULL) {
        closer_hold(&s->closer);
        store_close(s->reads, on_reads_closed, s);
    }
    closer_close(&s->closer, (uv_handle_t *)&s->deadline_timer);
    closer_close(&s->closer, (uv_handle_t *)&s->watch_timer);
    closer_close(&s->closer, (uv_handle_t *)&s->flush_check);
    closer_close(&s->closer, (uv_handle_t *)&s->flush_prepare);
    closer_end(&s->closer);
}
