/* The Cluster router's nodes and slot map (see cluster.h).
 *
 *   ask (thread pool): the node that answered last, the masters that are
 *     up, the seeds, the other nodes of the map, in turn: connect
 *     (timeout), AUTH, CLUSTER SLOTS, parse
 *   loop: a map -> apply: a store per master (made when new), owner[] of
 *     each slot, masters that left closed once idle; then the calls that
 *     waited for the map go on. No node answered -> backoff, the calls
 *     that waited end NOT_SENT.
 *
 * Asks happen every REFRESH_EVERY_MS, and soon (at most one per
 * REFRESH_MIN_MS) after a MOVED, a node's link lost or failed, a slot
 * without a master, or a node store that refused a call. The ask uses
 * hiredis's blocking client on libuv's thread pool, as sentinel.c does: a
 * seed's name may need DNS, and a silent node must not stall the loop. */
#include "cluster_ops.h"

#include <stdlib.h>
#include <string.h>

#include "store_ops.h"

#define REFRESH_EVERY_MS 5000
#define REFRESH_MIN_MS 200
#define ASK_BACKOFF_MAX_MS 2000
#define ASK_TIMEOUT_MAX_MS 1000
#define ASK_CANDIDATES 48
/* A node that ASK named but no map lists (a new master that slots are
 * moving to) is kept this long after its last call: else a busy move
 * would connect to it, and load every script, again and again. */
#define ASKED_KEEP_MS 10000

struct cluster_ask {
    uv_work_t work;
    struct cluster *c;
    const struct redis_url *url;
    long long timeout_ms;
    struct cluster_addr cand[ASK_CANDIDATES];
    int n_cand;
    /* Filled by the work thread: */
    int answered;            /* index in cand of the node that answered; -1: none */
    struct cluster_map *map; /* owned: the answer */
    char why[1024];          /* each failed node's reason, for the log */
};

/* --- asking (the work thread) -------------------------------------------- */

static int ask_one(struct cluster_ask *a, const struct cluster_addr *at, char *why, size_t whylen)
{
    const struct redis_url *u = a->url;
    struct timeval tv = {(time_t)(a->timeout_ms / 1000),
                         (suseconds_t)(a->timeout_ms % 1000) * 1000};
    redisContext *rc = redisConnectWithTimeout(at->host, at->port, tv);
    if (rc == NULL || rc->err) {
        snprintf(why, whylen, "%s", rc ? rc->errstr : "out of memory");
        if (rc)
            redisFree(rc);
        return -1;
    }
    redisSetTimeout(rc, tv);
    int ok = -1;
    redisReply *r = NULL;
    if (u->password[0] != '\0') {
        r = u->user[0] != '\0'
                ? redisCommandArgv(rc, 3, (const char *[]){"AUTH", u->user, u->password}, NULL)
                : redisCommandArgv(rc, 2, (const char *[]){"AUTH", u->password}, NULL);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(why, whylen, "AUTH: %s", r ? r->str : rc->errstr);
            goto done;
        }
        freeReplyObject(r);
    }
    r = redisCommandArgv(rc, 2, (const char *[]){"CLUSTER", "SLOTS"}, NULL);
    if (r == NULL)
        snprintf(why, whylen, "%s", rc->errstr);
    else if (cluster_map_parse(a->map, r, at->host, why, whylen) == 0 && a->map->n_masters > 0)
        ok = 0;
    else if (why[0] == '\0')
        snprintf(why, whylen, "it serves no slot (not part of a cluster yet?)");
done:
    if (r)
        freeReplyObject(r);
    redisFree(rc);
    return ok;
}

static void ask_work(uv_work_t *w)
{
    struct cluster_ask *a = w->data;
    size_t used = 0;
    a->answered = -1;
    a->why[0] = '\0';
    for (int i = 0; i < a->n_cand; i++) {
        char why[300] = "";
        if (ask_one(a, &a->cand[i], why, sizeof why) == 0) {
            a->answered = i;
            return;
        }
        int n = snprintf(a->why + used, sizeof a->why - used, "%s%s:%d: %s", used ? "; " : "",
                         a->cand[i].host, a->cand[i].port, why);
        if (n > 0 && (size_t)n < sizeof a->why - used)
            used += (size_t)n;
    }
}

/* --- the nodes ------------------------------------------------------------- */

static void on_node_health(void *data, struct store *s);

struct cnode *cluster_node_at(struct cluster *c, const struct cluster_addr *a, bool in_map)
{
    struct queue *q;
    for (q = c->nodes.next; q != &c->nodes; q = q->next) {
        struct cnode *n = queue_data(q, struct cnode, link);
        if (n->addr.port == a->port && strcmp(n->addr.host, a->host) == 0) {
            n->in_map |= in_map;
            return n;
        }
    }
    struct cnode *n = xcalloc(1, sizeof *n);
    n->c = c;
    n->addr = *a;
    n->in_map = in_map;
    snprintf(n->name, sizeof n->name, strchr(a->host, ':') ? "%s [%s]:%d" : "%s %s:%d", c->name,
             a->host, a->port);
    n->cfg = *c->cfg;
    struct redis_url *u = &n->cfg.redis;
    u->mode = REDIS_DIRECT;
    u->cluster_node = true;
    snprintf(u->host, sizeof u->host, "%s", a->host);
    u->port = a->port;
    u->db = 0;
    queue_insert_tail(&c->nodes, &n->link);
    n->store = store_new(c->loop, &n->cfg, c->m, n->name);
    store_watch(n->store, on_node_health, n);
    store_start(n->store);
    return n;
}

struct cnode *cluster_any_master(struct cluster *c)
{
    struct cnode *any = NULL;
    struct queue *q;
    for (q = c->nodes.next; q != &c->nodes; q = q->next) {
        struct cnode *n = queue_data(q, struct cnode, link);
        if (!n->in_map)
            continue;
        if (store_health(n->store) == STORE_UP)
            return n;
        if (any == NULL)
            any = n;
    }
    return any;
}

static void on_node_closed(void *data)
{
    struct cnode *n = data;
    struct cluster *c = n->c;
    free(n);
    closer_release(&c->closer);
}

static void node_close(struct cnode *n)
{
    queue_remove(&n->link);
    closer_hold(&n->c->closer);
    store_close(n->store, on_node_closed, n);
}

static void on_reap(uv_timer_t *t)
{
    struct cluster *c = t->data;
    uint64_t now = uv_now(c->loop), next = UINT64_MAX;
    struct queue *q = c->nodes.next;
    while (q != &c->nodes) {
        struct cnode *n = queue_data(q, struct cnode, link);
        q = q->next;
        if (n->in_map || n->inflight > 0)
            continue;
        uint64_t keep = n->asked_at != 0 ? n->asked_at + ASKED_KEEP_MS : 0;
        if (keep > now) {
            next = keep - now < next ? keep - now : next;
            continue;
        }
        log_info("%s: %s:%d serves no slot now: its connection is closed", c->name, n->addr.host,
                 n->addr.port);
        node_close(n);
    }
    if (next != UINT64_MAX)
        uv_timer_start(&c->reap_timer, on_reap, next, 0);
}

void cluster_node_done(struct cnode *n)
{
    /* Never closed from inside its store's own callback: a timer does it. */
    if (!n->in_map && n->inflight == 0 && !n->c->closing)
        uv_timer_start(&n->c->reap_timer, on_reap, 0, 0);
}

/* --- health and gauges ------------------------------------------------------ */

enum store_health cluster_health(const struct cluster *c)
{
    if (!c->have_map)
        return c->failed ? STORE_DOWN : STORE_CONNECTING;
    bool all_up = c->map->covered == SLOT_COUNT, any = false, any_up = false;
    struct queue *q;
    for (q = c->nodes.next; q != &c->nodes; q = q->next) {
        const struct cnode *n = queue_data(q, struct cnode, link);
        if (!n->in_map)
            continue;
        enum store_health h = store_health(n->store);
        all_up &= h == STORE_UP;
        any_up |= h == STORE_UP;
        any |= h != STORE_DOWN;
    }
    /* One master down is one shard's tenants, not everyone's: the others
     * are served (PARTIAL), and readiness stays, since every replica of
     * stockd sees the same cluster and taking them all out helps no one. */
    if (all_up)
        return STORE_UP;
    if (any_up)
        return STORE_PARTIAL;
    return any ? STORE_CONNECTING : STORE_DOWN;
}

static void update_gauges(struct cluster *c)
{
    int masters = 0, up = 0;
    struct queue *q;
    for (q = c->nodes.next; q != &c->nodes; q = q->next) {
        const struct cnode *n = queue_data(q, struct cnode, link);
        masters += n->in_map;
        up += n->in_map && store_health(n->store) == STORE_UP;
    }
    c->m->cluster_masters = masters;
    c->m->cluster_masters_up = up;
    c->m->cluster_slots = c->have_map ? c->map->covered : 0;
    c->m->redis_up = cluster_health(c) == STORE_UP;
}

static void on_node_health(void *data, struct store *s)
{
    struct cnode *n = data;
    struct cluster *c = n->c;
    if (c->closing)
        return;
    update_gauges(c);
    if (store_health(s) != STORE_UP && n->in_map)
        cluster_refresh_soon(c); /* a failover may have moved its slots */
}

/* --- asking (the loop) -------------------------------------------------------- */

static void start_ask(struct cluster *c);

static void on_refresh(uv_timer_t *t)
{
    struct cluster *c = t->data;
    c->soon = false;
    start_ask(c);
}

bool cluster_map_pending(const struct cluster *c)
{
    return c->asking || c->wanted || c->soon;
}

void cluster_refresh_soon(struct cluster *c)
{
    if (c->closing || c->soon)
        return;
    if (c->asking) {
        c->wanted = true;
        return;
    }
    uint64_t now = uv_now(c->loop), at = c->asked_at + REFRESH_MIN_MS;
    c->soon = true;
    uv_timer_start(&c->refresh_timer, on_refresh, at > now ? at - now : 0, 0);
}

/* Adds a candidate (each once). */
static void add_cand(struct cluster_ask *a, const char *host, int port)
{
    for (int i = 0; i < a->n_cand; i++)
        if (a->cand[i].port == port && strcmp(a->cand[i].host, host) == 0)
            return;
    if (a->n_cand == ASK_CANDIDATES || host[0] == '\0')
        return;
    snprintf(a->cand[a->n_cand].host, sizeof a->cand[0].host, "%s", host);
    a->cand[a->n_cand++].port = port;
}

static void ask_done(uv_work_t *w, int status);

static void start_ask(struct cluster *c)
{
    assert(!c->asking);
    /* The candidates: the node that answered last, the masters whose
     * store is up, the seeds, then every other node of the map. */
    struct cluster_ask *a = c->ask;
    const struct cluster_map *m = c->map;
    a->n_cand = 0;
    add_cand(a, c->answered.host, c->answered.port);
    struct queue *q;
    for (q = c->nodes.next; q != &c->nodes; q = q->next) {
        const struct cnode *n = queue_data(q, struct cnode, link);
        if (n->in_map && store_health(n->store) == STORE_UP)
            add_cand(a, n->addr.host, n->addr.port);
    }
    for (int i = 0; i < c->cfg->redis.n_seeds; i++)
        add_cand(a, c->cfg->redis.seeds[i].host, c->cfg->redis.seeds[i].port);
    for (int i = 0; c->have_map && i < m->n_nodes; i++)
        add_cand(a, m->node[i].host, m->node[i].port);
    c->asking = true;
    c->wanted = false;
    c->asked_at = uv_now(c->loop);
    uv_timer_stop(&c->refresh_timer);
    c->soon = false;
    /* uv_queue_work fails only for a NULL work function. */
    if (uv_queue_work(c->loop, &a->work, ask_work, ask_done) != 0)
        abort();
    closer_hold(&c->closer);
}

/* Makes the map the ask brought the cluster's. Returns true when a slot's
 * master changed. */
static bool apply_map(struct cluster *c)
{
    struct cluster_map *m = c->ask->map;
    c->ask->map = c->map; /* the old one is the next ask's room */
    c->map = m;
    c->have_map = true;
    struct cnode *by_index[CLUSTER_MAP_NODES];
    struct queue *q;
    for (q = c->nodes.next; q != &c->nodes; q = q->next)
        queue_data(q, struct cnode, link)->in_map = false;
    for (int i = 0; i < m->n_masters; i++)
        by_index[i] = cluster_node_at(c, &m->node[i], true);
    bool changed = false;
    for (unsigned s = 0; s < SLOT_COUNT; s++) {
        struct cnode *n = m->owner[s] == CLUSTER_MAP_NONE ? NULL : by_index[m->owner[s]];
        changed |= n != c->owner[s];
        c->owner[s] = n;
    }
    for (q = c->nodes.next; q != &c->nodes; q = q->next) {
        struct cnode *n = queue_data(q, struct cnode, link);
        if (!n->in_map && n->inflight == 0)
            uv_timer_start(&c->reap_timer, on_reap, 0, 0);
    }
    return changed;
}

static void ask_done(uv_work_t *w, int status)
{
    struct cluster_ask *a = w->data;
    struct cluster *c = a->c;
    c->asking = false;
    if (c->closing || status != 0) {
        closer_release(&c->closer);
        return;
    }
    uint64_t next = REFRESH_EVERY_MS;
    if (a->answered >= 0) {
        c->answered = a->cand[a->answered];
        c->failed = false;
        c->fails = 0;
        c->m->cluster_map_refreshes++;
        bool first = !c->have_map;
        if (apply_map(c) || first)
            log_info("%s: slot map from %s:%d: %d masters, %u/%d slots served", c->name,
                     a->cand[a->answered].host, a->cand[a->answered].port, c->map->n_masters,
                     c->map->covered, SLOT_COUNT);
        if (c->map->covered < SLOT_COUNT)
            log_repeat(&c->log_ask, LOG_WARN, "%s: %d of %d slots have no master", c->name,
                       SLOT_COUNT - (int)c->map->covered, SLOT_COUNT);
    } else {
        c->failed = true;
        log_repeat(&c->log_ask, LOG_WARN, "%s: no node answered CLUSTER SLOTS (%s)", c->name,
                   a->why);
        unsigned shift = c->fails < 5 ? c->fails : 5;
        next = (uint64_t)REFRESH_MIN_MS << shift;
        if (next > ASK_BACKOFF_MAX_MS)
            next = ASK_BACKOFF_MAX_MS;
        c->fails++;
    }
    update_gauges(c);
    if (c->wanted)
        cluster_refresh_soon(c);
    else
        uv_timer_start(&c->refresh_timer, on_refresh, next, 0);
    cluster_route_map_done(c);
    closer_release(&c->closer); /* never the last: the begin's count stays until close */
}

/* --- life ---------------------------------------------------------------------- */

static void cluster_free(void *data)
{
    struct cluster *c = data;
    void (*done)(void *) = c->on_closed;
    void *done_data = c->on_closed_data;
    log_repeat_done(&c->log_ask);
    log_repeat_done(&c->log_route);
    cluster_route_free(c);
    free(c->ask->map);
    free(c->ask);
    free(c->map);
    free(c);
    done(done_data);
}

struct cluster *cluster_new(uv_loop_t *loop, const struct config *cfg, struct metrics *m,
                            const char *name)
{
    assert(cfg->redis.mode == REDIS_CLUSTER && cfg->redis.n_seeds > 0);
    struct cluster *c = xcalloc(1, sizeof *c);
    c->loop = loop;
    c->cfg = cfg;
    c->m = m;
    c->name = name;
    m->redis_cluster = true;
    queue_init(&c->nodes);
    c->map = xcalloc(1, sizeof *c->map);
    c->ask = xcalloc(1, sizeof *c->ask);
    c->ask->map = xcalloc(1, sizeof *c->ask->map);
    c->ask->c = c;
    c->ask->url = &cfg->redis;
    c->ask->timeout_ms =
        cfg->request_timeout_ms < ASK_TIMEOUT_MAX_MS ? cfg->request_timeout_ms : ASK_TIMEOUT_MAX_MS;
    c->ask->work.data = c->ask;
    uv_timer_init(loop, &c->refresh_timer);
    c->refresh_timer.data = c;
    uv_timer_init(loop, &c->park_timer);
    c->park_timer.data = c;
    uv_timer_init(loop, &c->reap_timer);
    c->reap_timer.data = c;
    cluster_route_init(c);
    /* The closer counts the asks in flight from the start: begun here,
     * ended by cluster_close. */
    closer_begin(&c->closer, cluster_free, c);
    return c;
}

void cluster_start(struct cluster *c)
{
    start_ask(c);
}

void cluster_close(struct cluster *c, void (*done)(void *), void *data)
{
    c->on_closed = done;
    c->on_closed_data = data;
    c->closing = true;
    cluster_route_close(c);
    struct queue *q;
    while ((q = queue_first(&c->nodes)) != NULL)
        node_close(queue_data(q, struct cnode, link));
    if (c->asking)
        uv_cancel((uv_req_t *)&c->ask->work); /* ask_done releases the closer */
    closer_close(&c->closer, (uv_handle_t *)&c->refresh_timer);
    closer_close(&c->closer, (uv_handle_t *)&c->park_timer);
    closer_close(&c->closer, (uv_handle_t *)&c->reap_timer);
    closer_end(&c->closer);
}
