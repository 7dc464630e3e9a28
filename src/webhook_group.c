/* One webhook URL's consumer group in Redis (see webhook_group.h): reading
 * and claiming its entries, the blocking watch for new ones, the questions
 * about prevs held elsewhere, acks, dead letters, lease renewals, the
 * backlog for the metrics, and the hand-back on close. Each call builds its
 * KEYS/ARGV from the script's contract in webhook.h and decodes its reply;
 * what becomes of an entry is decided in webhook.c. */
#include "webhook_group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "keys.h"
#include "reply.h"

/* The backlog is read once a second. */
#define STATS_MS 1000
/* The longest a blocking XREAD waits (each time it ends, idle groups read
 * once: a floor under anything a watch could miss). */
#define WATCH_BLOCK_MAX_MS 2000
/* Questions about a prev held elsewhere: the first soon, then doubling. */
#define CHECK_FIRST_MS 5
#define CHECK_MAX_MS 200
/* A consumer (a replica long gone) with nothing pending is removed after
 * this much silence. */
#define REAP_IDLE_MS (24ll * 3600 * 1000)
/* Most ids handed back in one call when stopping; the rest are taken over
 * after the lease. */
#define HAND_BACK_MAX 2000
/* Most fields of one stream entry. */
#define MAX_FIELDS 32

static void arm_watcher(struct webhook *w);

/* w's arguments for a script call, reset, with the stream key at its
 * position (KEYS[1] of each webhook script); on a cluster the call goes to
 * that key's slot. */
static struct args *stream_args(struct webhook *w, int at)
{
    struct args *a = &w->args;
    args_reset(a);
    ARG_BYTES(a, at, w->stream_key.data, w->stream_key.len);
    args_note_key(a, w->stream_key.data, w->stream_key.len);
    return a;
}

static uint64_t now(const struct webhook *w)
{
    return webhook_now(w);
}

static uint64_t deadline(const struct webhook *w)
{
    return webhook_deadline(w);
}

void webhook_group_note(struct webhook_group *g)
{
    g->m->held = (int64_t)g->q.n;
    g->m->in_flight = g->in_flight;
}

/* "<sku>\t<location>": the chain of an entry, the cursor's field. */
static void add_chain(struct webhook *w, struct args *a, const struct webhook_entry *e)
{
    if (e->malformed != NULL) {
        args_add(a, "", 0);
        return;
    }
    buf_reset(&w->scratch);
    buf_append(&w->scratch, e->ev.sku.p, e->ev.sku.n);
    buf_appendc(&w->scratch, '\t');
    buf_append(&w->scratch, e->ev.location.p, e->ev.location.n);
    args_add(a, w->scratch.data, w->scratch.len);
}

/* Sends g's call of script id, laid out in w->args with nkeys KEYS; fn
 * then runs once, with g. Returns false when Redis is down: nothing was
 * sent, and the tick makes the call again. */
static bool call_send(struct webhook_group *g, enum script_id id, int nkeys, store_fn fn)
{
    struct webhook *w = g->w;
    return store_eval(w->work, id, nkeys, &w->args, deadline(w), fn, g) == 0;
}

/* Logs that g's call `what` failed, and why; repeats are rate-limited
 * (log_redis). */
static void call_failed(struct webhook_group *g, const char *what, const redisReply *r,
                        enum store_outcome outcome)
{
    log_repeat(&g->log_redis, LOG_WARN, "webhook %d (%s): %s failed: %s", g->index, g->name, what,
               outcome != STORE_REPLY              ? "Redis did not answer"
               : r && r->type == REDIS_REPLY_ERROR ? r->str
                                                   : "unexpected reply");
}

/* The end of a script call about g (what: the call, for the log), which
 * first clears the call's in-flight flag (busy; NULL for none). True when
 * Redis answered a reply that keeps the script's contract (a status below
 * n_status, and exactly count elements when count is not 0), then wrapped
 * in rd for reading. False when the deliverer is closing (the reply no
 * longer matters), or when Redis did not answer, answered an error or
 * broke the contract: then the failure is logged (call_failed) and the
 * caller leaves its work where the next tick or flush makes the call
 * again. */
static bool call_reply(struct webhook_group *g, bool *busy, const char *what, const redisReply *r,
                       enum store_outcome outcome, int n_status, size_t count, struct reply *rd)
{
    if (busy != NULL)
        *busy = false;
    if (g->w->closing)
        return false;
    reply_script(rd, r, n_status);
    if (outcome == STORE_REPLY && !rd->bad && (count == 0 || reply_count(rd) == count))
        return true;
    call_failed(g, what, r, outcome);
    return false;
}

/* The entry still held for id i of a call's ids (check_ids, lease_ids);
 * NULL when it was let go meanwhile. */
static struct webhook_entry *held_entry(struct webhook_group *g, const struct args *ids, int i)
{
    struct webhook_id id;
    if (!webhook_id_parse(args_get(ids, i), &id))
        return NULL;
    return wq_find(&g->q, id);
}

/* --- reading ------------------------------------------------------------------ */

static void on_read(void *data, const redisReply *r, enum store_outcome outcome);

void webhook_group_read(struct webhook_group *g)
{
    struct webhook *w = g->w;
    if (g->reading || w->closing)
        return;
    long long room = w->cfg->webhook_queue - (long long)g->q.n;
    if (room <= 0)
        return; /* again when an entry finishes */
    struct args *a = stream_args(w, WEBHOOK_READ_K_STREAM);
    ARG_BYTES(a, WEBHOOK_READ_K_FIXED + WEBHOOK_READ_A_GROUP, g->name, strlen(g->name));
    ARG_BYTES(a, WEBHOOK_READ_K_FIXED + WEBHOOK_READ_A_CONSUMER, w->consumer, strlen(w->consumer));
    ARG_INT(a, WEBHOOK_READ_K_FIXED + WEBHOOK_READ_A_COUNT,
            room < WEBHOOK_BATCH ? room : WEBHOOK_BATCH);
    ARG_INT(a, WEBHOOK_READ_K_FIXED + WEBHOOK_READ_A_CLAIM_IDLE, w->cfg->webhook_lease_ms);
    ARG_BYTES(a, WEBHOOK_READ_K_FIXED + WEBHOOK_READ_A_CLAIM_FROM, g->claim_from,
              strlen(g->claim_from));
    g->idle = false;
    g->reading = call_send(g, SCRIPT_WEBHOOK_READ, WEBHOOK_READ_K_FIXED, on_read);
}

/* Takes one entry of a read reply (from element i on: id, n, fields) into
 * the queue. Returns the element after it, or 0 when the reply is bad. */
static size_t take_entry(struct webhook_group *g, struct reply *rd, size_t i)
{
    struct webhook *w = g->w;
    struct str id_s = reply_str(rd, i);
    long long nf = reply_int(rd, i + 1);
    struct webhook_id id;
    if (rd->bad || nf < 0 || nf % 2 != 0 || i + 2 + (size_t)nf > reply_count(rd) ||
        !webhook_id_parse(id_s, &id)) {
        rd->bad = true;
        return 0;
    }
    struct webhook_entry *held = wq_find(&g->q, id);
    if (held != NULL) {
        held->renewed_at = now(w); /* claimed back: a read resets its idle time */
        return i + 2 + (size_t)nf;
    }
    struct webhook_entry *e = webhook_entry_new(g);
    e->id = id;
    webhook_id_format(id, e->id_text);
    long long kept = nf < 2 * MAX_FIELDS ? nf : 2 * MAX_FIELDS;
    for (long long k = 0; k < kept; k++)
        args_add_str(&e->fields, reply_str(rd, i + 2 + (size_t)k));
    struct str fv[2 * MAX_FIELDS];
    for (long long k = 0; k < kept; k++)
        fv[k] = args_get(&e->fields, (int)k);
    e->malformed = kept < nf ? "more fields than an event has"
                             : webhook_event_parse(fv, (size_t)kept / 2, &e->ev);
    if (e->malformed == NULL) {
        e->has_prev = e->ev.has_prev;
        e->prev = e->ev.prev;
    }
    e->renewed_at = now(w);
    wq_add(&g->q, e);
    webhook_entry_route(g, e);
    return i + 2 + (size_t)nf;
}

/* {status, last, claim_next, claimed, read, entries...} */
static void on_read(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct webhook_group *g = data;
    struct reply rd;
    if (!call_reply(g, &g->reading, "reading the stream", r, outcome, WEBHOOK_READ_STATUSES, 0,
                    &rd))
        return;
    struct webhook *w = g->w;
    struct str last_s = reply_str(&rd, 1);
    struct str claim_next = reply_str(&rd, 2);
    long long claimed = reply_int(&rd, 3), fresh = reply_int(&rd, 4);
    struct webhook_id last = {0, 0};
    if (!rd.bad && !webhook_id_parse(last_s, &last))
        rd.bad = true;
    if (reply_status(&rd) == WEBHOOK_READ_ST_CREATED)
        log_info("webhook %d: created the consumer group %s on %.*s: this URL gets the events "
                 "appended from now on",
                 g->index, g->name, (int)w->stream_key.len, w->stream_key.data);
    size_t i = 5;
    for (long long k = 0; k < claimed + fresh && !rd.bad; k++)
        i = take_entry(g, &rd, i);
    if (rd.bad) {
        log_error("webhook %d (%s): a read's reply broke its contract", g->index, g->name);
        webhook_group_note(g);
        return;
    }
    if (claimed > 0)
        log_info("webhook %d (%s): took over %lld events a silent replica held", g->index, g->name,
                 claimed);
    if (g->claim_from[0] != '\0') {
        if (claim_next.n == 0 || claim_next.n >= WEBHOOK_ID_TEXT ||
            (claim_next.n == 3 && memcmp(claim_next.p, "0-0", 3) == 0)) {
            g->claim_from[0] = '\0'; /* the pass is over */
            g->claim_at = now(w) + (uint64_t)w->cfg->webhook_lease_ms / 2;
        } else {
            memcpy(g->claim_from, claim_next.p, claim_next.n);
            g->claim_from[claim_next.n] = '\0';
        }
    }
    webhook_group_note(g);
    webhook_group_flush_checks(g);
    if (fresh == 0 && g->claim_from[0] == '\0') {
        g->idle = true;
        g->idle_last = last;
        arm_watcher(w);
    } else {
        webhook_group_read(g);
    }
}

/* --- the watch: a blocking XREAD on the read connection ---------------------- */

static void on_watch(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct webhook *w = data;
    w->watching = false;
    if (w->closing)
        return;
    if (outcome != STORE_REPLY || r->type == REDIS_REPLY_ERROR) {
        log_repeat(&w->log_watch, LOG_WARN, "webhook: waiting for new events failed: %s",
                   outcome != STORE_REPLY ? "Redis did not answer" : r->str);
        return; /* the tick reads the idle groups */
    }
    for (int i = 0; i < w->n_groups; i++)
        if (w->groups[i].idle)
            webhook_group_read(&w->groups[i]);
}

/* One watch for every idle group: from the earliest last id they saw. */
static void arm_watcher(struct webhook *w)
{
    if (w->watching || w->closing)
        return;
    bool any = false;
    struct webhook_id from = {UINT64_MAX, UINT64_MAX};
    for (int i = 0; i < w->n_groups; i++) {
        const struct webhook_group *g = &w->groups[i];
        if (g->idle && webhook_id_cmp(g->idle_last, from) < 0) {
            from = g->idle_last;
            any = true;
        }
    }
    if (!any)
        return;
    long long block = w->cfg->redis_stuck_ms / 2;
    if (block > WATCH_BLOCK_MAX_MS)
        block = WATCH_BLOCK_MAX_MS;
    char from_text[WEBHOOK_ID_TEXT];
    size_t n = webhook_id_format(from, from_text);
    struct args *a = &w->args;
    args_reset(a);
    args_add(a, "XREAD", 5);
    args_add(a, "BLOCK", 5);
    args_add_int(a, block);
    args_add(a, "COUNT", 5);
    args_add(a, "1", 1);
    args_add(a, "STREAMS", 7);
    args_add(a, w->stream_key.data, w->stream_key.len);
    args_note_key(a, w->stream_key.data, w->stream_key.len); /* its slot: Cluster */
    args_add(a, from_text, n);
    if (store_command(w->read, a, deadline(w) + (uint64_t)block, on_watch, w) == 0)
        w->watching = true;
}

/* --- checks: is a prev held elsewhere finished? ------------------------------ */

static void on_checked(void *data, const redisReply *r, enum store_outcome outcome);

void webhook_group_flush_checks(struct webhook_group *g)
{
    struct webhook *w = g->w;
    if (g->checking || w->closing || queue_empty(&g->remote))
        return;
    uint64_t t = now(w), next = UINT64_MAX;
    struct args *a = stream_args(w, WEBHOOK_CHECK_K_STREAM);
    ARG_BYTES(a, WEBHOOK_CHECK_K_CURSOR, g->cursor_key.data, g->cursor_key.len);
    ARG_BYTES(a, WEBHOOK_CHECK_K_FIXED + WEBHOOK_CHECK_A_GROUP, g->name, strlen(g->name));
    args_reset(&g->check_ids);
    struct queue *q;
    queue_foreach(q, &g->remote)
    {
        struct webhook_entry *e = queue_data(q, struct webhook_entry, node);
        if (e->check_at <= t && g->check_ids.n < WEBHOOK_BATCH) {
            char prev[WEBHOOK_ID_TEXT];
            size_t n = webhook_id_format(e->prev, prev);
            add_chain(w, a, e);
            args_add(a, prev, n);
            args_add(&g->check_ids, e->id_text, strlen(e->id_text));
        } else if (e->check_at > t && e->check_at < next) {
            next = e->check_at;
        }
    }
    if (next != UINT64_MAX)
        webhook_want_due(w, next);
    if (g->check_ids.n > 0)
        g->checking = call_send(g, SCRIPT_WEBHOOK_CHECK, WEBHOOK_CHECK_K_FIXED, on_checked);
}

/* {OK, done per id} */
static void on_checked(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct webhook_group *g = data;
    struct reply rd;
    if (!call_reply(g, &g->checking, "asking whether earlier events are finished", r, outcome,
                    WEBHOOK_CHECK_STATUSES, (size_t)g->check_ids.n + 1, &rd))
        return;
    uint64_t t = now(g->w);
    for (int i = 0; i < g->check_ids.n; i++) {
        long long done = reply_int(&rd, (size_t)i + 1);
        struct webhook_entry *e = held_entry(g, &g->check_ids, i);
        if (e == NULL || e->state != WH_WAIT_REMOTE)
            continue; /* let go meanwhile */
        if (done == 1) {
            webhook_entry_ready(g, e);
        } else if (wq_resolve(&g->q, e) == WQ_LOCAL) {
            webhook_entry_set_state(e, WH_WAIT_LOCAL, NULL); /* its prev came here meanwhile */
        } else {
            unsigned shift = e->checks < 10 ? e->checks : 10;
            uint64_t wait = (uint64_t)CHECK_FIRST_MS << shift;
            e->check_at = t + (wait < CHECK_MAX_MS ? wait : CHECK_MAX_MS);
            e->checks++;
        }
    }
    webhook_group_flush_checks(g);
}

/* --- acks and dead letters ----------------------------------------------------- */

static void on_acked(void *data, const redisReply *r, enum store_outcome outcome);

/* The acks of a call not sent, or failed: back to the front of to_ack, in
 * order, for the tick to send again. */
static void acks_unsent(struct webhook_group *g)
{
    queue_move_all(&g->to_ack, &g->acks_sent);
    queue_move_all(&g->acks_sent, &g->to_ack);
}

void webhook_group_flush_acks(struct webhook_group *g)
{
    struct webhook *w = g->w;
    if (g->acking || w->closing || queue_empty(&g->to_ack))
        return;
    struct args *a = stream_args(w, WEBHOOK_ACK_K_STREAM);
    ARG_BYTES(a, WEBHOOK_ACK_K_CURSOR, g->cursor_key.data, g->cursor_key.len);
    ARG_BYTES(a, WEBHOOK_ACK_K_FIXED + WEBHOOK_ACK_A_GROUP, g->name, strlen(g->name));
    struct queue *q;
    for (int n = 0; n < WEBHOOK_BATCH && (q = queue_first(&g->to_ack)) != NULL; n++) {
        struct webhook_entry *e = queue_data(q, struct webhook_entry, node);
        args_add(a, e->id_text, strlen(e->id_text));
        add_chain(w, a, e);
        queue_remove(q);
        queue_insert_tail(&g->acks_sent, q);
    }
    g->acking = call_send(g, SCRIPT_WEBHOOK_ACK, WEBHOOK_ACK_K_FIXED, on_acked);
    if (!g->acking)
        acks_unsent(g);
}

/* {OK, acked} */
static void on_acked(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct webhook_group *g = data;
    struct reply rd;
    if (!call_reply(g, &g->acking, "acknowledging delivered events", r, outcome,
                    WEBHOOK_ACK_STATUSES, 0, &rd)) {
        acks_unsent(g); /* it may have run: an ack is safe to repeat */
        return;
    }
    struct queue *q;
    while ((q = queue_first(&g->acks_sent)) != NULL)
        webhook_entry_finish(g, queue_data(q, struct webhook_entry, node));
    webhook_group_flush_acks(g);
    webhook_group_read(g);
}

static void on_dead(void *data, const redisReply *r, enum store_outcome outcome);

void webhook_group_flush_dead(struct webhook_group *g)
{
    struct webhook *w = g->w;
    struct queue *q = queue_first(&g->to_die);
    if (g->dying != NULL || w->closing || q == NULL)
        return;
    struct webhook_entry *e = queue_data(q, struct webhook_entry, node);
    struct args *a = stream_args(w, WEBHOOK_DEAD_K_STREAM);
    ARG_BYTES(a, WEBHOOK_DEAD_K_DEAD, w->dead_key.data, w->dead_key.len);
    ARG_BYTES(a, WEBHOOK_DEAD_K_CURSOR, g->cursor_key.data, g->cursor_key.len);
    enum { A = WEBHOOK_DEAD_K_FIXED };
    ARG_BYTES(a, A + WEBHOOK_DEAD_A_GROUP, g->name, strlen(g->name));
    ARG_INT(a, A + WEBHOOK_DEAD_A_MAXLEN, w->cfg->ledger_maxlen);
    ARG_BYTES(a, A + WEBHOOK_DEAD_A_ID, e->id_text, strlen(e->id_text));
    ARGS_AT(a, A + WEBHOOK_DEAD_A_CHAIN);
    add_chain(w, a, e);
    ARG_BYTES(a, A + WEBHOOK_DEAD_A_URL, g->url, strlen(g->url));
    ARG_INT(a, A + WEBHOOK_DEAD_A_ATTEMPTS, e->attempts);
    ARG_BYTES(a, A + WEBHOOK_DEAD_A_ERROR, e->last_error, strlen(e->last_error));
    for (int k = 0; k < e->fields.n; k++)
        args_add_str(a, args_get(&e->fields, k));
    if (call_send(g, SCRIPT_WEBHOOK_DEAD, WEBHOOK_DEAD_K_FIXED, on_dead))
        g->dying = e; /* else the tick tries again */
}

/* {OK, dead id} or {GONE} */
static void on_dead(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct webhook_group *g = data;
    struct webhook *w = g->w;
    struct webhook_entry *e = g->dying;
    g->dying = NULL;
    struct reply rd;
    /* It may have run: a second try finds it pending no more (GONE). */
    if (!call_reply(g, NULL, "moving an event to the dead letters", r, outcome,
                    WEBHOOK_DEAD_STATUSES, 0, &rd))
        return;
    if (reply_status(&rd) == WEBHOOK_DEAD_ST_OK) {
        g->m->dead_lettered++;
        log_warn("webhook %d (%s): gave up event %s after %u attempts (%s): moved to %.*s",
                 g->index, g->name, e->id_text, e->attempts, e->last_error, (int)w->dead_key.len,
                 w->dead_key.data);
    }
    webhook_entry_finish(g, e);
    webhook_group_flush_dead(g);
    webhook_group_read(g);
}

/* --- leases ------------------------------------------------------------------- */

static void on_leased(void *data, const redisReply *r, enum store_outcome outcome);

/* Starts a lease call in w->args: the ids added after it are given idle
 * time idle (ms) when still this replica's. */
static struct args *lease_args(struct webhook_group *g, long long idle)
{
    struct webhook *w = g->w;
    struct args *a = stream_args(w, WEBHOOK_LEASE_K_STREAM);
    ARG_BYTES(a, WEBHOOK_LEASE_K_FIXED + WEBHOOK_LEASE_A_GROUP, g->name, strlen(g->name));
    ARG_BYTES(a, WEBHOOK_LEASE_K_FIXED + WEBHOOK_LEASE_A_CONSUMER, w->consumer,
              strlen(w->consumer));
    ARG_INT(a, WEBHOOK_LEASE_K_FIXED + WEBHOOK_LEASE_A_IDLE, idle);
    return a;
}

/* Claims again the entries not claimed for a third of the lease. */
static void renew(struct webhook_group *g)
{
    struct webhook *w = g->w;
    if (g->leasing || w->closing)
        return;
    uint64_t t = now(w), every = (uint64_t)w->cfg->webhook_lease_ms / 3;
    struct args *a = lease_args(g, 0);
    args_reset(&g->lease_ids);
    struct queue *q;
    queue_foreach(q, &g->q.all)
    {
        struct webhook_entry *e = queue_data(q, struct webhook_entry, all);
        if (t - e->renewed_at >= every && g->lease_ids.n < WEBHOOK_BATCH) {
            args_add(a, e->id_text, strlen(e->id_text));
            args_add(&g->lease_ids, e->id_text, strlen(e->id_text));
        }
    }
    if (g->lease_ids.n == 0)
        return;
    g->lease_sent_at = t;
    g->leasing = call_send(g, SCRIPT_WEBHOOK_LEASE, WEBHOOK_LEASE_K_FIXED, on_leased);
}

/* {OK, kept/lost/gone per id} */
static void on_leased(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct webhook_group *g = data;
    struct reply rd;
    if (!call_reply(g, &g->leasing, "renewing the claim on held events", r, outcome,
                    WEBHOOK_LEASE_STATUSES, (size_t)g->lease_ids.n + 1, &rd))
        return;
    for (int i = 0; i < g->lease_ids.n; i++) {
        long long code = reply_int(&rd, (size_t)i + 1);
        struct webhook_entry *e = held_entry(g, &g->lease_ids, i);
        if (e == NULL)
            continue;
        if (code == WEBHOOK_LEASE_KEPT)
            e->renewed_at = g->lease_sent_at;
        else
            webhook_entry_lose(g, e, code);
    }
    renew(g); /* more may be due */
}

int webhook_group_hand_back(struct webhook_group *g, store_fn fn)
{
    struct args *a = lease_args(g, g->w->cfg->webhook_lease_ms);
    int n = 0;
    struct queue *q;
    queue_foreach(q, &g->q.all)
    {
        const struct webhook_entry *e = queue_data(q, struct webhook_entry, all);
        if (n == HAND_BACK_MAX)
            break;
        args_add(a, e->id_text, strlen(e->id_text));
        n++;
    }
    return n > 0 && call_send(g, SCRIPT_WEBHOOK_LEASE, WEBHOOK_LEASE_K_FIXED, fn) ? 0 : -1;
}

/* --- the backlog, for metrics and /readyz ------------------------------------- */

static void on_stats(void *data, const redisReply *r, enum store_outcome outcome);

static void stats(struct webhook_group *g)
{
    struct webhook *w = g->w;
    if (g->stating || w->closing || now(w) - g->stats_at < STATS_MS)
        return;
    g->stats_at = now(w);
    struct args *a = stream_args(w, WEBHOOK_STATS_K_STREAM);
    ARG_BYTES(a, WEBHOOK_STATS_K_FIXED + WEBHOOK_STATS_A_GROUP, g->name, strlen(g->name));
    ARG_BYTES(a, WEBHOOK_STATS_K_FIXED + WEBHOOK_STATS_A_CONSUMER, w->consumer,
              strlen(w->consumer));
    ARG_INT(a, WEBHOOK_STATS_K_FIXED + WEBHOOK_STATS_A_REAP_IDLE, REAP_IDLE_MS);
    g->stating = call_send(g, SCRIPT_WEBHOOK_STATS, WEBHOOK_STATS_K_FIXED, on_stats);
}

/* {OK, now, pending, unread, oldest pending, first unread, removed} */
static void on_stats(void *data, const redisReply *r, enum store_outcome outcome)
{
    static const char what[] = "reading the group's backlog";
    struct webhook_group *g = data;
    struct reply rd;
    if (!call_reply(g, &g->stating, what, r, outcome, WEBHOOK_STATS_STATUSES, 0, &rd))
        return;
    struct webhook *w = g->w;
    long long redis_now = reply_int(&rd, 1), pending = reply_int(&rd, 2),
              unread = reply_int(&rd, 3);
    struct str oldest_s = reply_str(&rd, 4), first_s = reply_str(&rd, 5);
    long long removed = reply_int(&rd, 6);
    if (rd.bad) {
        call_failed(g, what, r, outcome); /* an element of the wrong type, or missing */
        return;
    }
    w->clock_offset = redis_now - (int64_t)now(w);
    g->m->undelivered = pending + (unread > 0 ? unread : 0);
    struct webhook_id oldest = {UINT64_MAX, 0}, id;
    if (webhook_id_parse(oldest_s, &id) && webhook_id_cmp(id, oldest) < 0)
        oldest = id;
    if (webhook_id_parse(first_s, &id) && webhook_id_cmp(id, oldest) < 0)
        oldest = id;
    g->m->oldest_age_s = oldest.ms == UINT64_MAX || (long long)oldest.ms >= redis_now
                             ? 0
                             : (double)(redis_now - (long long)oldest.ms) / 1000.0;
    if (removed > 0)
        log_info("webhook %d (%s): removed %lld consumers silent for a day with nothing pending",
                 g->index, g->name, removed);
}

/* --- the tick, set-up and teardown -------------------------------------------- */

void webhook_group_tick(struct webhook_group *g)
{
    struct webhook *w = g->w;
    if (g->claim_from[0] == '\0' && now(w) >= g->claim_at) {
        memcpy(g->claim_from, "0-0", 4); /* a claim pass begins */
        g->idle = false;
    }
    if (!g->idle) {
        webhook_group_read(g); /* after a failure, or once the queue has room */
    } else if (!w->watching) {
        arm_watcher(w);
        if (!w->watching)
            webhook_group_read(g); /* no watch: read once a tick */
    }
    webhook_group_flush_acks(g);
    webhook_group_flush_dead(g);
    webhook_group_flush_checks(g);
    renew(g);
    stats(g);
    webhook_group_note(g);
}

void webhook_group_init(struct webhook_group *g, struct webhook *w, int index)
{
    const struct config *cfg = w->cfg;
    g->w = w;
    g->index = index;
    g->url = cfg->webhook_urls[index];
    g->m = &w->metrics->webhooks[index];
    webhook_group_name(g->url, g->name);
    snprintf(g->m->group, sizeof g->m->group, "%s", g->name);
    struct ident hex;
    ident_check(g->name + 8, strlen(g->name + 8), &hex); /* 16 hex digits */
    buf_init(&g->cursor_key);
    keys_build(&g->cursor_key, &cfg->ns, KEY_STOCK_EVENTS_CURSOR, &hex);
    wq_init(&g->q, (size_t)cfg->webhook_queue);
    queue_init(&g->ready);
    queue_init(&g->backoff);
    queue_init(&g->remote);
    queue_init(&g->to_ack);
    queue_init(&g->acks_sent);
    queue_init(&g->to_die);
    args_init(&g->check_ids);
    args_init(&g->lease_ids);
}

void webhook_group_free(struct webhook_group *g)
{
    wq_free(&g->q);
    buf_free(&g->cursor_key);
    args_free(&g->check_ids);
    args_free(&g->lease_ids);
    log_repeat_done(&g->log_post);
    log_repeat_done(&g->log_redis);
}
