/* Calls through the Cluster router (see cluster.h): each from cluster_call
 * to its one end.
 *
 *   cluster_call --> the store of owner[slot] --reply--> fn
 *        |                 |   MOVED: owner[slot] = the node named, a map
 *        |                 |          refresh soon, sent there at once
 *        |                 |   ASK:   ASKING + the call on the node named
 *        |                 |   TRYAGAIN, CLUSTERDOWN, a script's "non local
 *        |                 |   key" or "cluster is down": parked, sent again
 *        |                 |          after a backoff
 *        |                 |   NOT_SENT while a new map is on its way: parked
 *        |                 +-- UNKNOWN, any other reply: fn, as it is
 *        +-- no master known, or its store refuses while a map is on its
 *            way: parked until the map comes --> sent again
 *
 * A parked call past its deadline ends NOT_SENT (none of these replies
 * means that anything ran). Calls are pooled: once warm, a call allocates
 * nothing (its arguments' copy reuses the pooled call's buffers). */
#include "cluster_ops.h"

#include <stdlib.h>
#include <string.h>

#include "store_ops.h"

#define REDIRECTS_MAX 16 /* per call; past it, redirects wait for a backoff */
#define RETRY_MIN_MS 20
#define RETRY_MAX_MS 160

enum sent { SENT, NO_NODE, REFUSED };

enum cluster_error { CE_OTHER, CE_MOVED, CE_ASK, CE_TRYAGAIN, CE_DOWN, CE_NONLOCAL };

static void on_reply(void *data, const redisReply *r, enum store_outcome outcome);

static struct ccall *call_get(struct cluster *c)
{
    struct queue *q = queue_first(&c->spare);
    if (q != NULL) {
        queue_remove(q);
        return queue_data(q, struct ccall, entry);
    }
    struct ccall *k = xcalloc(1, sizeof *k);
    queue_init(&k->entry);
    k->c = c;
    args_init(&k->args);
    return k;
}

static void call_put(struct cluster *c, struct ccall *k)
{
    assert(!queue_linked(&k->entry) && k->node == NULL);
    if (k->args.bytes.cap > 65536)
        args_free(&k->args);
    queue_insert_head(&c->spare, &k->entry);
}

/* Ends k: back to the pool first, so that fn may make calls. */
static void call_end(struct ccall *k, const redisReply *r, enum store_outcome outcome)
{
    store_fn fn = k->fn;
    void *data = k->data;
    call_put(k->c, k);
    fn(data, r, outcome);
}

static enum sent send_to(struct ccall *k, struct cnode *ask)
{
    struct cluster *c = k->c;
    struct cnode *n = ask ? ask : k->slot >= 0 ? c->owner[k->slot] : cluster_any_master(c);
    if (n == NULL)
        return NO_NODE;
    int rc;
    if (ask != NULL)
        rc = store_eval_asking(n->store, k->script, k->nkeys, &k->args, k->deadline, on_reply, k);
    else if (k->script < 0)
        rc = store_command(n->store, &k->args, k->deadline, on_reply, k);
    else if (k->head_keys >= 0)
        rc = store_eval_batched(n->store, (enum script_id)k->script, k->nkeys, k->head_keys,
                                k->head_argv, &k->args, k->deadline, on_reply, k);
    else
        rc = store_eval(n->store, (enum script_id)k->script, k->nkeys, &k->args, k->deadline,
                        on_reply, k);
    if (rc != 0)
        return REFUSED;
    k->asked_batch = ask != NULL && k->script >= 0 && k->head_keys >= 0;
    k->node = n;
    n->inflight++;
    return SENT;
}

/* --- parked calls ---------------------------------------------------------- */

static void on_park(uv_timer_t *t);

static void arm(struct cluster *c)
{
    uint64_t at = UINT64_MAX;
    struct queue *q;
    for (q = c->parked.next; q != &c->parked; q = q->next) {
        const struct ccall *k = queue_data(q, struct ccall, entry);
        uint64_t t = k->due < k->deadline ? k->due : k->deadline;
        if (t < at)
            at = t;
    }
    if (at == UINT64_MAX) {
        uv_timer_stop(&c->park_timer);
        return;
    }
    uint64_t now = uv_now(c->loop);
    c->park_at = at;
    uv_timer_start(&c->park_timer, on_park, at > now ? at - now : 0, 0);
}

static void park(struct ccall *k, uint64_t due)
{
    struct cluster *c = k->c;
    k->due = due;
    queue_insert_tail(&c->parked, &k->entry);
    /* The timer only moves earlier here: no walk of the parked calls per
     * call parked (a failover parks many). */
    uint64_t at = due < k->deadline ? due : k->deadline, now = uv_now(c->loop);
    if (!uv_is_active((uv_handle_t *)&c->park_timer) || at < c->park_at) {
        c->park_at = at;
        uv_timer_start(&c->park_timer, on_park, at > now ? at - now : 0, 0);
    }
}

/* Sends k, or parks it for the map on its way. Returns -1 when it can do
 * neither (nothing ran; k is the caller's still). */
static int route(struct ccall *k, struct cnode *ask)
{
    struct cluster *c = k->c;
    if (c->closing || k->deadline <= uv_now(c->loop))
        return -1;
    bool pending = cluster_map_pending(c);
    switch (send_to(k, ask)) {
    case SENT:
        return 0;
    case NO_NODE:
        /* No map yet, or a slot without a master: wait for a map, unless
         * the last ask reached no node at all. */
        cluster_refresh_soon(c);
        if (c->have_map || !c->failed) {
            park(k, UINT64_MAX);
            return 0;
        }
        return -1;
    case REFUSED:
        /* Its master's store is down. A failover may be under way: wait
         * for the map already asked for; else refuse now, and ask. */
        cluster_refresh_soon(c);
        if (pending) {
            park(k, UINT64_MAX);
            return 0;
        }
        return -1;
    }
    return -1;
}

/* Sends a call that has been sent before (or parked) again. */
static void again(struct ccall *k, struct cnode *ask)
{
    if (route(k, ask) != 0)
        call_end(k, NULL, STORE_NOT_SENT);
}

static void retry_later(struct ccall *k)
{
    unsigned shift = k->retries < 3 ? k->retries : 3;
    uint64_t wait = (uint64_t)RETRY_MIN_MS << shift;
    if (wait > RETRY_MAX_MS)
        wait = RETRY_MAX_MS;
    k->retries++;
    uint64_t due = uv_now(k->c->loop) + wait;
    if (due >= k->deadline) {
        call_end(k, NULL, STORE_NOT_SENT);
        return;
    }
    park(k, due);
}

/* Takes the parked calls for which pick says so into out. */
static void take_parked(struct cluster *c, struct queue *out, uint64_t now, bool map)
{
    struct queue *q = c->parked.next;
    queue_init(out);
    while (q != &c->parked) {
        struct ccall *k = queue_data(q, struct ccall, entry);
        q = q->next;
        if (k->deadline <= now || (map ? k->due == UINT64_MAX : k->due <= now)) {
            queue_remove(&k->entry);
            queue_insert_tail(out, &k->entry);
        }
    }
}

static void run_taken(struct queue *taken, uint64_t now)
{
    struct queue *q;
    while ((q = queue_first(taken)) != NULL) {
        struct ccall *k = queue_data(q, struct ccall, entry);
        queue_remove(q);
        if (k->deadline <= now)
            call_end(k, NULL, STORE_NOT_SENT);
        else
            again(k, NULL);
    }
}

static void on_park(uv_timer_t *t)
{
    struct cluster *c = t->data;
    uint64_t now = uv_now(c->loop);
    struct queue taken;
    take_parked(c, &taken, now, false);
    run_taken(&taken, now);
    arm(c);
}

void cluster_route_map_done(struct cluster *c)
{
    uint64_t now = uv_now(c->loop);
    struct queue taken;
    take_parked(c, &taken, now, true);
    run_taken(&taken, now);
    arm(c);
}

/* --- replies ---------------------------------------------------------------- */

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum cluster_error classify(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ERROR)
        return CE_OTHER;
    if (starts(r->str, "MOVED "))
        return CE_MOVED;
    if (starts(r->str, "ASK "))
        return CE_ASK;
    if (starts(r->str, "TRYAGAIN"))
        return CE_TRYAGAIN;
    if (starts(r->str, "CLUSTERDOWN") || strstr(r->str, "while the cluster is down") != NULL)
        return CE_DOWN;
    /* A script that reached a key of a slot this node no longer serves
     * (the scripts do so only before their first write: nothing ran). */
    if (strstr(r->str, "attempted to access a non local key") != NULL)
        return CE_NONLOCAL;
    return CE_OTHER;
}

/* "MOVED <slot> <host:port>" or "ASK ...": the slot and the node. */
static int parse_redirect(const char *s, int *slot, struct cluster_addr *to)
{
    const char *p = strchr(s, ' ');
    if (p == NULL)
        return -1;
    char *end;
    long v = strtol(p + 1, &end, 10);
    if (end == p + 1 || *end != ' ' || v < 0 || v >= SLOT_COUNT)
        return -1;
    *slot = (int)v;
    return cluster_addr_parse(to, end + 1, strlen(end + 1));
}

static void redirect(struct ccall *k, struct cnode *ask)
{
    if (++k->redirects > REDIRECTS_MAX)
        retry_later(k); /* a ping-pong between nodes that disagree: give them time */
    else
        again(k, ask);
}

static void on_reply(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct ccall *k = data;
    struct cluster *c = k->c;
    struct cnode *n = k->node;
    k->node = NULL;
    n->inflight--;
    /* As store_op_end splits a batch's reply: this call's own element, or
     * the whole reply when it is not one element (an error of the batch). */
    if (k->asked_batch && r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
        r = r->element[0];
    cluster_node_done(n);
    if (c->closing) {
        call_end(k, r, outcome);
        return;
    }
    if (outcome == STORE_NOT_SENT && cluster_map_pending(c) && k->deadline > uv_now(c->loop)) {
        park(k, UINT64_MAX); /* its master went: the new map may name another */
        return;
    }
    enum cluster_error e = outcome == STORE_REPLY ? classify(r) : CE_OTHER;
    int slot;
    struct cluster_addr to;
    switch (e) {
    case CE_MOVED:
    case CE_ASK:
        if (parse_redirect(r->str, &slot, &to) != 0)
            break;
        if (e == CE_MOVED) {
            c->m->cluster_redirects[0]++;
            log_repeat(&c->log_route, LOG_INFO, "%s: slot %d moved to %s:%d", c->name, slot,
                       to.host, to.port);
            c->owner[slot] = cluster_node_at(c, &to, true);
            cluster_refresh_soon(c);
            redirect(k, NULL);
        } else {
            c->m->cluster_redirects[1]++;
            struct cnode *at = cluster_node_at(c, &to, false);
            at->asked_at = uv_now(c->loop);
            redirect(k, at);
        }
        return;
    case CE_TRYAGAIN:
        c->m->cluster_retries[0]++;
        retry_later(k);
        return;
    case CE_NONLOCAL:
    case CE_DOWN:
        /* A non local key: the slot is moving or moved; a new map may say. */
        if (e == CE_NONLOCAL)
            cluster_refresh_soon(c);
        c->m->cluster_retries[1]++;
        retry_later(k);
        return;
    case CE_OTHER:
        break;
    }
    call_end(k, r, outcome);
}

/* --- the API ------------------------------------------------------------------ */

int cluster_call(struct cluster *c, int script, int nkeys, int head_keys, int head_argv,
                 const struct args *a, uint64_t deadline, store_fn fn, void *data)
{
    if (c->closing || deadline <= uv_now(c->loop))
        return -1;
    struct ccall *k = call_get(c);
    k->script = script;
    k->nkeys = nkeys;
    k->head_keys = head_keys;
    k->head_argv = head_argv;
    k->deadline = deadline;
    k->fn = fn;
    k->data = data;
    k->redirects = k->retries = 0;
    args_copy(&k->args, a);
    k->slot = a->slot;
    if (k->slot < 0 && script >= 0 && nkeys > 0) {
        struct str key = args_get(a, 0);
        k->slot = (int)slot_of_key(key.p, key.n);
    }
    if (route(k, NULL) != 0) {
        call_put(c, k);
        return -1;
    }
    return 0;
}

void cluster_route_init(struct cluster *c)
{
    queue_init(&c->parked);
    queue_init(&c->spare);
}

void cluster_route_close(struct cluster *c)
{
    struct queue *q;
    while ((q = queue_first(&c->parked)) != NULL) {
        queue_remove(q);
        call_end(queue_data(q, struct ccall, entry), NULL, STORE_NOT_SENT);
    }
    /* Calls on node stores end as those close; the pool is freed with
     * the cluster (cluster_route_free). */
}

void cluster_route_free(struct cluster *c)
{
    struct queue *q;
    while ((q = queue_first(&c->spare)) != NULL) {
        struct ccall *k = queue_data(q, struct ccall, entry);
        queue_remove(q);
        args_free(&k->args);
        free(k);
    }
}
