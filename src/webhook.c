/* Webhook delivery (see webhook.h): the deliverer's lifecycle and the state
 * machine of each entry it holds. Talking to Redis about one URL's consumer
 * group is webhook_group.c's; the structs both share are in webhook_group.h.
 * One group per URL; each entry this replica holds for it goes through
 *
 *   read (webhook_read: new, or claimed from a silent replica)
 *     |--malformed------------------------------------------------+
 *     |--prev held here: WAIT_LOCAL --prev finished--+            |
 *     |--prev elsewhere: WAIT_REMOTE --finished------+ (webhook_check)
 *     +--no prev-------------------------------------+            |
 *                                                    v            |
 *              READY --place in flight--> POSTING --2xx--> ACKING --webhook_ack--> gone
 *                ^      and a token          |                                    |
 *                +--retry_at-- BACKOFF <-----+ failed                             |
 *                                 |          +--failed and too old--+             |
 *                                 +--too old------------------------+--> DYING ---+
 *                                                        (webhook_dead: dead letters)
 *
 * Finishing an entry (acked or dead-lettered) wakes the entries waiting
 * for it. A lease call (webhook_lease) claims the held entries again well
 * within --webhook-lease-ms; an entry found lost to another replica is let
 * go (finished by its new owner). A POST starts only with a token of the
 * replica's --webhook-max-rate bucket; without one, the due timer is armed
 * for when there are tokens again (no polling). Every call to Redis goes over the work
 * connection, at most one of each kind per group in flight; the read
 * connection only carries a blocking XREAD that says when an idle group
 * has something new to read. A call that fails is tried again on the next
 * tick (at most a second later), never at once: Redis down is no busy
 * loop. */
#include "webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "keys.h"
#include "webhook_group.h"

/* The tick: retries of failed calls, leases, claims; at least four times
 * per lease, so that a replica claims its entries again (every third of
 * the lease) well before another may take them. */
#define TICK_MS 1000

_Static_assert(METRICS_WEBHOOKS == WEBHOOK_MAX_URLS, "one metrics slot per webhook URL");

static void pump_posts(struct webhook_group *g);

/* --- time and chance ------------------------------------------------------ */

static uint64_t now(const struct webhook *w)
{
    return webhook_now(w);
}

/* The age of an entry on Redis's clock (its id is Redis's time of the XADD). */
static int64_t age_ms(const struct webhook *w, const struct webhook_entry *e)
{
    return (int64_t)now(w) + w->clock_offset - (int64_t)e->id.ms;
}

static bool too_old(const struct webhook *w, const struct webhook_entry *e)
{
    return age_ms(w, e) >= w->cfg->webhook_max_age_s * 1000;
}

/* The loop time at which e becomes too old. */
static uint64_t old_at(const struct webhook *w, const struct webhook_entry *e)
{
    int64_t at = (int64_t)e->id.ms + w->cfg->webhook_max_age_s * 1000 - w->clock_offset;
    return at < 0 ? 0 : (uint64_t)at;
}

static uint64_t next_random(struct webhook *w)
{
    /* xorshift64*: plenty for jitter. */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 0x2545f4914f6cdd1dull;
}

static void on_due(uv_timer_t *t);

void webhook_want_due(struct webhook *w, uint64_t at)
{
    if (w->closing)
        return;
    if (!uv_is_active((uv_handle_t *)&w->due) || at < w->due_at) {
        uint64_t t = now(w);
        w->due_at = at;
        uv_timer_start(&w->due, on_due, at > t ? at - t : 0, 0);
    }
}

/* --- entries ---------------------------------------------------------------- */

struct webhook_entry *webhook_entry_new(struct webhook_group *g)
{
    struct webhook_entry *e = xcalloc(1, sizeof *e);
    e->group = g;
    args_init(&e->fields);
    buf_init(&e->body);
    queue_init(&e->node);
    return e;
}

static void entry_free(struct webhook_entry *e)
{
    args_free(&e->fields);
    buf_free(&e->body);
    free(e);
}

void webhook_entry_set_state(struct webhook_entry *e, enum webhook_state state, struct queue *list)
{
    if (queue_linked(&e->node))
        queue_remove(&e->node);
    e->state = state;
    if (list != NULL)
        queue_insert_tail(list, &e->node);
}

static void die(struct webhook_group *g, struct webhook_entry *e, const char *why)
{
    if (why != e->last_error)
        snprintf(e->last_error, sizeof e->last_error, "%s", why);
    webhook_entry_set_state(e, WH_DYING, &g->to_die);
    webhook_group_flush_dead(g);
}

void webhook_entry_ready(struct webhook_group *g, struct webhook_entry *e)
{
    if (too_old(g->w, e)) {
        die(g, e,
            e->attempts > 0 ? e->last_error
                            : "older than --webhook-max-age-s before its first attempt");
        return;
    }
    webhook_entry_set_state(e, WH_READY, &g->ready);
    pump_posts(g);
}

static void wait_remote(struct webhook_group *g, struct webhook_entry *e)
{
    e->checks = 0;
    e->check_at = now(g->w);
    webhook_entry_set_state(e, WH_WAIT_REMOTE, &g->remote);
}

void webhook_entry_route(struct webhook_group *g, struct webhook_entry *e)
{
    if (e->malformed != NULL) {
        log_warn("webhook %d (%s): entry %s of the stream is malformed (%s): moved to the dead "
                 "letters",
                 g->index, g->name, e->id_text, e->malformed);
        die(g, e, e->malformed);
        return;
    }
    switch (wq_resolve(&g->q, e)) {
    case WQ_FREE:
        webhook_entry_ready(g, e);
        break;
    case WQ_LOCAL:
        webhook_entry_set_state(e, WH_WAIT_LOCAL, NULL);
        break;
    case WQ_REMOTE:
        wait_remote(g, e);
        break;
    }
}

void webhook_entry_finish(struct webhook_group *g, struct webhook_entry *e)
{
    struct queue woken, *q;
    queue_init(&woken);
    if (queue_linked(&e->node))
        queue_remove(&e->node);
    wq_remove(&g->q, e, true, &woken);
    entry_free(e);
    while ((q = queue_first(&woken)) != NULL) {
        struct webhook_entry *x = queue_data(q, struct webhook_entry, wnode);
        queue_remove(q);
        webhook_entry_ready(g, x);
    }
    webhook_group_note(g);
}

/* Lost to another replica, or finished elsewhere: let go without finishing;
 * the entries that waited for it ask Redis. */
static void drop(struct webhook_group *g, struct webhook_entry *e)
{
    struct queue woken, *q;
    queue_init(&woken);
    if (queue_linked(&e->node))
        queue_remove(&e->node);
    wq_remove(&g->q, e, false, &woken);
    entry_free(e);
    while ((q = queue_first(&woken)) != NULL) {
        struct webhook_entry *x = queue_data(q, struct webhook_entry, wnode);
        queue_remove(q);
        wait_remote(g, x);
    }
    webhook_group_note(g);
    webhook_group_flush_checks(g);
    webhook_group_read(g);
}

void webhook_entry_lose(struct webhook_group *g, struct webhook_entry *e, long long why)
{
    log_info("webhook %d (%s): event %s is %s", g->index, g->name, e->id_text,
             why == WEBHOOK_LEASE_LOST ? "held by another replica now"
                                       : "finished elsewhere (or trimmed)");
    switch (e->state) {
    case WH_POSTING:
        e->lost = true; /* let go when its POST ends */
        break;
    case WH_ACKING:
    case WH_DYING:
        break; /* finishing anyway: an ack of it is harmless */
    default:
        drop(g, e);
    }
}

/* --- POSTs ---------------------------------------------------------------- */

static void on_posted(void *data, const struct webhook_http_result *res);

static void post(struct webhook_group *g, struct webhook_entry *e)
{
    struct webhook *w = g->w;
    if (e->body.len == 0) {
        webhook_body(&e->body, e->id, &e->ev);
        webhook_sign(w->cfg->webhook_secret, w->cfg->webhook_secret_len, e->body.data, e->body.len,
                     e->signature);
    }
    char h_id[32 + WEBHOOK_ID_TEXT], h_sig[32 + WEBHOOK_SIGNATURE_TEXT];
    snprintf(h_id, sizeof h_id, "X-Stockd-Event-Id: %s", e->id_text);
    snprintf(h_sig, sizeof h_sig, "X-Stockd-Signature: %s", e->signature);
    const char *headers[] = {"Content-Type: application/json", h_id, h_sig};
    e->attempts++;
    e->token_wait = false;
    webhook_entry_set_state(e, WH_POSTING, NULL);
    g->in_flight++;
    webhook_group_note(g);
    e->request = webhook_http_post(w->http, g->url, headers, sizeof headers / sizeof headers[0],
                                   e->body.data, e->body.len, (long)w->cfg->webhook_timeout_ms,
                                   on_posted, e);
    if (e->request == NULL) {
        struct webhook_http_result res = {0, -1, "the request could not be started", false};
        on_posted(e, &res);
    }
}

/* POSTs the ready entries while a place in flight and a token are free.
 * Out of tokens, the due timer comes back when there are some again; the
 * entry that found the bucket empty is counted once for its wait, however
 * many pumps and wake-ups pass before it gets a token. */
static void pump_posts(struct webhook_group *g)
{
    struct webhook *w = g->w;
    if (g->pumping || w->closing)
        return;
    g->pumping = true;
    struct queue *q;
    while (g->in_flight < w->cfg->webhook_max_inflight && (q = queue_first(&g->ready)) != NULL) {
        struct webhook_entry *e = queue_data(q, struct webhook_entry, node);
        if (!webhook_rate_take(&w->rate, now(w))) {
            if (!e->token_wait) {
                e->token_wait = true;
                w->metrics->webhook_rate_limited++;
            }
            webhook_want_due(w, webhook_rate_wake_ms(&w->rate, now(w)));
            break;
        }
        post(g, e);
    }
    g->pumping = false;
}

static void on_posted(void *data, const struct webhook_http_result *res)
{
    struct webhook_entry *e = data;
    struct webhook_group *g = e->group;
    struct webhook *w = g->w;
    e->request = NULL;
    g->in_flight--;
    if (res->error == 0 && res->status >= 200 && res->status <= 299) {
        g->m->delivered++;
        g->m->failing = 0;
        webhook_entry_set_state(e, WH_ACKING, &g->to_ack);
        webhook_group_note(g);
        webhook_group_flush_acks(g);
        pump_posts(g);
        return;
    }
    if (res->timed_out)
        snprintf(e->last_error, sizeof e->last_error, "no answer within %lld ms",
                 w->cfg->webhook_timeout_ms);
    else if (res->error != 0)
        snprintf(e->last_error, sizeof e->last_error, "%s", res->error_text);
    else
        snprintf(e->last_error, sizeof e->last_error, "HTTP %ld", res->status);
    g->m->failed_attempts++;
    g->m->failing++;
    snprintf(g->m->last_error, sizeof g->m->last_error, "%s", e->last_error);
    if (e->lost) {
        drop(g, e); /* its new owner delivers it */
    } else if (too_old(w, e)) {
        die(g, e, e->last_error);
    } else {
        g->m->retried++;
        uint64_t delay =
            webhook_backoff_ms(e->attempts, (uint64_t)w->cfg->webhook_backoff_ms,
                               (uint64_t)w->cfg->webhook_backoff_max_ms, next_random(w));
        e->retry_at = now(w) + delay;
        webhook_entry_set_state(e, WH_BACKOFF, &g->backoff);
        webhook_want_due(w, e->retry_at);
        webhook_want_due(w, old_at(w, e));
        log_repeat(&g->log_post, LOG_WARN,
                   "webhook %d (%s): event %s not delivered (%s, attempt %u); next attempt in "
                   "%llu ms",
                   g->index, g->name, e->id_text, e->last_error, e->attempts,
                   (unsigned long long)delay);
    }
    webhook_group_note(g);
    pump_posts(g);
}

/* Retries whose time has come, entries of the backoff grown too old,
 * questions due, and POSTs that waited for a token. The groups take turns
 * at the tokens: each firing starts with the next. */
static void on_due(uv_timer_t *t)
{
    struct webhook *w = t->data;
    int first = w->pump_from;
    w->pump_from = w->n_groups > 0 ? (first + 1) % w->n_groups : 0;
    for (int k = 0; k < w->n_groups; k++) {
        struct webhook_group *g = &w->groups[(first + k) % w->n_groups];
        uint64_t at = now(w), next = UINT64_MAX;
        struct queue *q = g->backoff.next;
        while (q != &g->backoff) {
            struct queue *after = q->next; /* q may leave the list; after stays in it */
            struct webhook_entry *e = queue_data(q, struct webhook_entry, node);
            if (too_old(w, e)) {
                die(g, e, e->last_error);
            } else if (e->retry_at <= at) {
                webhook_entry_ready(g, e);
            } else {
                next = e->retry_at < next ? e->retry_at : next;
                uint64_t o = old_at(w, e);
                next = o < next ? o : next;
            }
            q = after;
        }
        if (next != UINT64_MAX)
            webhook_want_due(w, next);
        webhook_group_flush_checks(g);
        pump_posts(g);
    }
}

/* --- the tick ----------------------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
    struct webhook *w = t->data;
    for (int i = 0; i < w->n_groups; i++)
        webhook_group_tick(&w->groups[i]);
    w->metrics->webhook_redis_up =
        store_health(w->work) == STORE_UP && store_health(w->read) == STORE_UP;
}

/* --- creation and teardown ------------------------------------------------------ */

struct webhook *webhook_new(struct uv_loop_s *loop, const struct config *cfg, struct metrics *m)
{
    struct webhook *w = xcalloc(1, sizeof *w);
    w->loop = loop;
    w->cfg = cfg;
    w->metrics = m;
    w->http = webhook_http_new(loop, "stockd/" STOCKD_VERSION);
    if (w->http == NULL) {
        log_error("webhook: libcurl could not start");
        free(w);
        return NULL;
    }
    metrics_init(&w->work_metrics);
    metrics_init(&w->read_metrics);
    w->work = store_new(loop, cfg, &w->work_metrics, "redis/webhooks");
    w->read = store_new(loop, cfg, &w->read_metrics, "redis/webhook-reads");
    char host[256] = "stockd";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "stockd");
    host[sizeof host - 1] = '\0';
    snprintf(w->consumer, sizeof w->consumer, "%s-%ld", host, (long)getpid());
    buf_init(&w->stream_key);
    buf_init(&w->dead_key);
    buf_init(&w->scratch);
    keys_build(&w->stream_key, &cfg->ns, KEY_STOCK_EVENTS, NULL);
    keys_build(&w->dead_key, &cfg->ns, KEY_STOCK_EVENTS_DEAD, NULL);
    args_init(&w->args);
    w->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)w;
    if (w->rng == 0)
        w->rng = 1;
    webhook_rate_init(&w->rate, (uint64_t)cfg->webhook_max_rate, uv_now(loop));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Until Redis tells its time (the first stats): this host's. */
    w->clock_offset = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - (int64_t)uv_now(loop);
    w->n_groups = cfg->n_webhook_urls;
    m->n_webhooks = w->n_groups;
    for (int i = 0; i < w->n_groups; i++)
        webhook_group_init(&w->groups[i], w, i);
    uv_timer_init(loop, &w->tick);
    uv_timer_init(loop, &w->due);
    w->tick.data = w->due.data = w;
    return w;
}

void webhook_start(struct webhook *w)
{
    store_start(w->work);
    store_start(w->read);
    for (int i = 0; i < w->n_groups; i++) {
        log_info("webhook %d: delivering to its URL as %s of group %s", i, w->consumer,
                 w->groups[i].name);
        webhook_group_read(&w->groups[i]); /* waits for the connection, within its deadline */
    }
    uint64_t every = (uint64_t)w->cfg->webhook_lease_ms / 4;
    if (every > TICK_MS)
        every = TICK_MS;
    uv_timer_start(&w->tick, on_tick, every, every);
}

static void webhook_free(void *data)
{
    struct webhook *w = data;
    for (int i = 0; i < w->n_groups; i++) {
        struct webhook_group *g = &w->groups[i];
        struct queue *q, woken;
        while ((q = queue_first(&g->q.all)) != NULL) {
            struct webhook_entry *e = queue_data(q, struct webhook_entry, all);
            queue_init(&woken);
            wq_remove(&g->q, e, false, &woken);
            while ((q = queue_first(&woken)) != NULL)
                queue_remove(q);
            entry_free(e);
        }
        webhook_group_free(g);
    }
    buf_free(&w->stream_key);
    buf_free(&w->dead_key);
    buf_free(&w->scratch);
    args_free(&w->args);
    log_repeat_done(&w->log_watch);
    void (*done)(void *) = w->on_closed;
    void *done_data = w->on_closed_data;
    free(w);
    done(done_data);
}

static void on_part_closed(void *data)
{
    closer_release(&((struct webhook *)data)->closer);
}

static void close_rest(struct webhook *w)
{
    closer_begin(&w->closer, webhook_free, w);
    closer_hold(&w->closer);
    store_close(w->work, on_part_closed, w);
    closer_hold(&w->closer);
    store_close(w->read, on_part_closed, w);
    closer_hold(&w->closer);
    webhook_http_close(w->http, on_part_closed, w);
    closer_close(&w->closer, (uv_handle_t *)&w->tick);
    closer_close(&w->closer, (uv_handle_t *)&w->due);
    closer_end(&w->closer);
}

static void on_handed_back(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct webhook_group *g = data;
    struct webhook *w = g->w;
    if (outcome != STORE_REPLY || r->type == REDIS_REPLY_ERROR)
        log_warn("webhook %d (%s): could not hand back its events; other replicas take them over "
                 "after --webhook-lease-ms",
                 g->index, g->name);
    if (--w->handing_back == 0)
        close_rest(w);
}

void webhook_close(struct webhook *w, void (*done)(void *), void *data)
{
    /* What is delivered or given up is told to Redis first (the calls
     * made now go before the hand-back on the one connection)... */
    for (int i = 0; i < w->n_groups; i++) {
        webhook_group_flush_acks(&w->groups[i]);
        webhook_group_flush_dead(&w->groups[i]);
    }
    w->closing = true;
    w->on_closed = done;
    w->on_closed_data = data;
    uv_timer_stop(&w->tick);
    uv_timer_stop(&w->due);
    /* ...then the POSTs in flight are abandoned, and every entry still held
     * is made claimable by the other replicas at once (idle = the lease)
     * instead of after the lease. One finished meanwhile is pending no
     * more, and the hand-back passes it by. */
    w->handing_back = 1;
    for (int i = 0; i < w->n_groups; i++) {
        struct webhook_group *g = &w->groups[i];
        struct queue *q;
        queue_foreach(q, &g->q.all)
        {
            struct webhook_entry *e = queue_data(q, struct webhook_entry, all);
            if (e->request != NULL) {
                webhook_http_cancel(w->http, e->request);
                e->request = NULL;
                g->in_flight--;
            }
        }
        webhook_group_note(g);
        if (webhook_group_hand_back(g, on_handed_back) == 0)
            w->handing_back++;
    }
    if (--w->handing_back == 0)
        close_rest(w);
}
