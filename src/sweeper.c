/* The sweeper (see sweeper.h). One sweep is a loop of calls:
 *
 *   expire_due        which held ids are past their deadline (Redis clock):
 *                     the due members of the skus due in {ns}:due (and ids
 *                     of older holds in {ns}:expiry); it moves on the skus
 *                     with nothing due left, and moves aside the ids whose
 *                     record is gone
 *     -> a transition of them (transition.c): plan, then expire, which
 *        releases those still held and due, exactly once, at most
 *        SWEEP_BUDGET allocations per call (a larger hold is spread over
 *        several calls), and moves unreadable records aside
 *     -> again while a batch came back full or the budget ran out, up to
 *        SWEEP_MAX_CALLS
 *
 * One call at a time, each bounded: requests of every client go to Redis
 * between them.
 *
 * With tenants (sweeper_tenants), each tenant has a time to be swept next,
 * kept in a min-heap, and one tenant is swept at a time, when its time
 * comes:
 *
 *   timer (the heap's first time) -> sweep that tenant: expire_due with
 *   `next`, transitions, ... until expire_due finds nothing due (at most
 *   SWEEP_TENANT_BATCHES transitions, then the others get their turn)
 *   -> its next time: when expire_due says its earliest deadline is, and
 *   never later than the idle poll (a tenant with nothing is looked at
 *   again after sw->idle_ms); a hold this process makes moves its
 *   tenant's time earlier (sweeper_note_hold)
 *
 * So an idle tenant costs one small call per idle period, and the idle
 * period grows with the number of tenants (SWEEP_IDLE_RATE): adding idle
 * tenants does not add Redis work. */
#include "sweeper.h"

#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "args.h"
#include "closer.h"
#include "keys.h"
#include "log.h"
#include "reply.h"
#include "store.h"
#include "tenants.h"
#include "transition.h"

struct sweeper {
    uv_loop_t *loop;
    struct store *store;
    const struct config *cfg;
    struct metrics *metrics;
    uv_timer_t timer;
    bool running;
    bool closing;
    bool stalled; /* a call of the transition could not be sent */
    int calls;
    struct args args;     /* the call being built */
    struct args id_bytes; /* the due ids of the batch in flight */
    struct ident ids[SWEEP_BATCH];
    struct transition t;
    int n_status;       /* of the call in flight */
    struct ident *skus; /* the transition's scratch */
    size_t skus_cap;
    struct reservation_scratch res; /* the transition's scratch */
    struct closer closer;
    void (*on_closed)(void *);
    void *on_closed_data;
    struct log_repeat log_failed;
    struct buf quarantine; /* owned: the quarantine hash's key, for the log */
    const struct ident *ns; /* of the sweep: cfg->ns, or the tenant's */
    /* With tenants (NULL without): the schedule, by tenant index. */
    struct tenants *tenants; /* borrowed */
    struct tenant *current;  /* the tenant being swept; NULL between sweeps */
    uint64_t *due;           /* owned: when to sweep each tenant, in now_ms() */
    size_t *heap;            /* owned: tenant indexes, the earliest due first */
    size_t *at;              /* owned: each tenant's place in heap */
    uint64_t idle_ms;        /* the idle poll: the longest time between two sweeps */
    uint64_t noted;          /* the earliest hold noted for current while it is swept */
    uint64_t sent_ms;        /* when the latest expire_due was sent */
    long long next_ms;       /* its `next`: -1 nothing held, 0 something due */
    long long run_expired;   /* holds this sweep released */
    bool ran_out;            /* this sweep used its transitions */
    bool run_failed;
};

static void step_due(struct sweeper *sw);
static void end_tenant(struct sweeper *sw);

/* "tenant=<t>: " for a log line about a tenant's sweep, else "": printed
 * with "%s%s%s". */
#define SWEEP_TAG(sw)                                                                              \
    (sw)->current ? "tenant=" : "", (sw)->current ? (sw)->current->name : "",                      \
        (sw)->current ? ": " : ""

static uint64_t now_ms(void)
{
    return metrics_now_ns() / 1000000u;
}

/* Calls can go out: all of Redis up, or on a cluster some masters (the
 * calls for a down one's slots are refused, and tried at the next sweep). */
static bool serving(const struct store *s)
{
    enum store_health h = store_health(s);
    return h == STORE_UP || h == STORE_PARTIAL;
}

static uint64_t deadline(const struct sweeper *sw)
{
    return uv_now(sw->loop) + (uint64_t)sw->cfg->request_timeout_ms;
}

static void run(struct sweeper *sw)
{
    assert(!sw->running && !sw->closing);
    sw->running = true;
    sw->calls = 0;
    sw->run_failed = false;
    sw->ran_out = false;
    step_due(sw);
}

static void end_run(struct sweeper *sw)
{
    sw->running = false;
    enum sweep_result r = sw->run_failed ? SWEEP_FAILED : sw->ran_out ? SWEEP_CUT : SWEEP_DONE;
    metrics_sweep(sw->metrics, r);
    if (sw->current != NULL)
        end_tenant(sw);
}

static void fail_run(struct sweeper *sw, const char *what, const redisReply *r,
                     enum store_outcome outcome)
{
    if (outcome == STORE_REPLY)
        log_repeat(&sw->log_failed, LOG_WARN, "sweeper: %s%s%s%s: %s", SWEEP_TAG(sw), what,
                   r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    sw->run_failed = true;
    end_run(sw);
}

/* --- releasing a batch: a transition ------------------------------------ */

static void on_transition_reply(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct sweeper *sw = data;
    if (outcome != STORE_REPLY || r->type == REDIS_REPLY_ERROR) {
        fail_run(sw, "a transition failed", r, outcome);
        return;
    }
    struct reply rd;
    reply_script(&rd, r, sw->n_status);
    sw->stalled = false;
    if (transition_reply(&sw->t, &rd) != 0)
        fail_run(sw, "a transition's reply broke its contract", NULL, STORE_REPLY);
    else if (sw->stalled)
        end_run(sw);
}

static void transition_send(struct transition *t, enum script_id script, int nkeys, int n_status)
{
    struct sweeper *sw = t->data;
    sw->n_status = n_status;
    if (store_eval(sw->store, script, nkeys, t->args, deadline(sw), on_transition_reply, sw) != 0)
        sw->stalled = true; /* ended by whoever called the transition */
}

static void expired(struct transition *t, const struct transition_result *res)
{
    struct sweeper *sw = t->data;
    if (res->status != EXPIRE_ST_OK) {
        fail_run(sw, "expire gave up: the records kept changing", NULL, STORE_REPLY);
        return;
    }
    sw->metrics->sweeper_expired += (uint64_t)res->expired;
    sw->run_expired += res->expired;
    if (res->expired > 0)
        log_debug("sweeper: %s%s%sexpired %lld holds", SWEEP_TAG(sw), res->expired);
    for (long long i = 0; i < res->quarantined; i++) {
        struct reply *rd = res->rd;
        struct str id = reply_str(rd, EXPIRE_QUARANTINED_AT + 2 * (size_t)i);
        struct str why = reply_str(rd, EXPIRE_QUARANTINED_AT + 2 * (size_t)i + 1);
        sw->metrics->sweeper_quarantined++;
        log_error("sweeper: %s%s%sreservation %.*s moved to %.*s, its record cannot be read "
                  "(%.*s); its units stay reserved until an operator repairs it",
                  SWEEP_TAG(sw), (int)id.n, id.p, (int)sw->quarantine.len, sw->quarantine.data, (int)why.n,
                  why.p);
    }
    if (sw->tenants != NULL) {
        /* On until expire_due finds nothing: its last answer is the
         * tenant's next time. */
        if (++sw->calls < SWEEP_TENANT_BATCHES) {
            step_due(sw);
        } else {
            sw->ran_out = true;
            end_run(sw);
        }
    } else if (t->k == SWEEP_BATCH || t->k_act < t->k || res->more) {
        if (++sw->calls < SWEEP_MAX_CALLS) {
            step_due(sw);
        } else {
            sw->ran_out = true; /* more is due than a sweep may release */
            end_run(sw);
        }
    } else {
        end_run(sw);
    }
}

/* --- the due ids: lua/expire_due.lua -------------------------------------- */

/* {OK, gone, id, ...}, and `next` at the end with tenants */
static void on_due(void *data, const redisReply *r, enum store_outcome outcome)
{
    struct sweeper *sw = data;
    if (outcome != STORE_REPLY || r->type == REDIS_REPLY_ERROR) {
        fail_run(sw, "expire_due failed", r, outcome);
        return;
    }
    struct reply rd;
    reply_script(&rd, r, EXPIRE_DUE_STATUSES);
    long long gone = reply_int(&rd, 1);
    size_t tail = sw->tenants != NULL ? 1 : 0;
    size_t n = reply_count(&rd) > 1 + tail ? reply_count(&rd) - 2 - tail : 0;
    if (tail > 0) {
        sw->next_ms = reply_int(&rd, reply_count(&rd) - 1);
        if (sw->next_ms < -1)
            rd.bad = true;
    }
    if (n > SWEEP_BATCH || gone < 0)
        rd.bad = true;
    args_reset(&sw->id_bytes);
    for (size_t i = 0; i < n && !rd.bad; i++) {
        struct ident id = reply_ident(&rd, 2 + i);
        args_add_ident(&sw->id_bytes, &id);
    }
    if (rd.bad) {
        fail_run(sw, "expire_due's reply broke its contract", NULL, STORE_REPLY);
        return;
    }
    if (gone > 0) {
        sw->metrics->sweeper_quarantined += (uint64_t)gone;
        log_error("sweeper: %s%s%s%lld due hold(s) whose record is gone moved to %.*s; their "
                  "units stay reserved until an operator repairs them",
                  SWEEP_TAG(sw), gone, (int)sw->quarantine.len, sw->quarantine.data);
    }
    if (n == 0) {
        end_run(sw);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct str s = args_get(&sw->id_bytes, (int)i);
        ident_check(s.p, s.n, &sw->ids[i]); /* checked above; now in our own copy */
    }
    sw->t = (struct transition){
        .kind = TRANSITION_EXPIRE,
        .ns = sw->ns,
        .ids = sw->ids,
        .k = (int)n,
        .reason = {"", 0},
        .retention_s = sw->cfg->retention_s,
        .budget = SWEEP_BUDGET,
        .ledger_maxlen = sw->cfg->ledger_maxlen,
        .args = &sw->args,
        .skus = &sw->skus,
        .skus_cap = &sw->skus_cap,
        .res_scratch = &sw->res,
        .send = transition_send,
        .done = expired,
        .data = sw,
    };
    sw->stalled = false;
    transition_start(&sw->t);
    if (sw->stalled)
        end_run(sw);
}

static void step_due(struct sweeper *sw)
{
    struct args *a = &sw->args;
    args_reset(a);
    const struct ident *ns = sw->ns;
    ARG_KEY(a, EXPIRE_DUE_K_EXPIRY, ns, KEY_EXPIRY, NULL);
    ARG_KEY(a, EXPIRE_DUE_K_DUE, ns, KEY_DUE, NULL);
    ARG_KEY(a, EXPIRE_DUE_K_QUARANTINE, ns, KEY_QUARANTINE, NULL);
    ARG_INT(a, EXPIRE_DUE_K_FIXED + EXPIRE_DUE_A_LIMIT, SWEEP_BATCH);
    ARGS_AT(a, EXPIRE_DUE_K_FIXED + EXPIRE_DUE_A_HOLDS);
    args_add_prefix(a, ns, KEY_HOLDS);
    ARGS_AT(a, EXPIRE_DUE_K_FIXED + EXPIRE_DUE_A_RES);
    args_add_prefix(a, ns, KEY_RES);
    if (sw->tenants != NULL)
        args_add(a, "1", 1); /* and `next` */
    sw->sent_ms = now_ms();
    if (store_eval(sw->store, SCRIPT_EXPIRE_DUE, EXPIRE_DUE_K_FIXED, a, deadline(sw), on_due, sw) !=
        0)
        end_run(sw);
}

static void on_tick(uv_timer_t *t)
{
    struct sweeper *sw = t->data;
    if (!sw->running && serving(sw->store))
        run(sw);
}

/* --- with tenants: the schedule --------------------------------------------- */

static void heap_swap(struct sweeper *sw, size_t i, size_t j)
{
    size_t x = sw->heap[i];
    sw->heap[i] = sw->heap[j];
    sw->heap[j] = x;
    sw->at[sw->heap[i]] = i;
    sw->at[sw->heap[j]] = j;
}

static bool earlier(const struct sweeper *sw, size_t i, size_t j)
{
    return sw->due[sw->heap[i]] < sw->due[sw->heap[j]];
}

/* Tenant idx is to be swept at due (its place in the heap follows). */
static void set_due(struct sweeper *sw, size_t idx, uint64_t due)
{
    uint64_t old = sw->due[idx];
    size_t i = sw->at[idx], n = sw->tenants->n;
    sw->due[idx] = due;
    if (due < old) {
        for (; i > 0 && earlier(sw, i, (i - 1) / 2); i = (i - 1) / 2)
            heap_swap(sw, i, (i - 1) / 2);
        return;
    }
    for (;;) {
        size_t first = i, l = 2 * i + 1, r = l + 1;
        if (l < n && earlier(sw, l, first))
            first = l;
        if (r < n && earlier(sw, r, first))
            first = r;
        if (first == i)
            return;
        heap_swap(sw, i, first);
        i = first;
    }
}

static void on_tenant_tick(uv_timer_t *t);

/* Sets the timer for the earliest tenant (0: the next loop iteration):
 * never a sweep from here, so a refusal cannot recurse through them all. */
static void schedule(struct sweeper *sw)
{
    if (sw->closing || sw->running)
        return;
    uint64_t due = sw->due[sw->heap[0]], now = now_ms();
    uv_timer_start(&sw->timer, on_tenant_tick, due > now ? due - now : 0, 0);
}

static void on_tenant_tick(uv_timer_t *t)
{
    struct sweeper *sw = t->data;
    if (sw->running || sw->closing)
        return; /* end_tenant schedules */
    size_t idx = sw->heap[0];
    if (sw->due[idx] > now_ms()) {
        schedule(sw);
        return;
    }
    if (!serving(sw->store)) {
        uv_timer_start(&sw->timer, on_tenant_tick, (uint64_t)sw->cfg->sweep_interval_ms, 0);
        return;
    }
    struct tenant *tn = &sw->tenants->all[idx];
    sw->current = tn;
    sw->ns = &tn->ident;
    buf_reset(&sw->quarantine);
    keys_build(&sw->quarantine, sw->ns, KEY_QUARANTINE, NULL);
    sw->noted = UINT64_MAX;
    sw->next_ms = 0;
    sw->run_expired = 0;
    sw->ran_out = false;
    sw->run_failed = false;
    run(sw);
}

/* The tenant's sweep has ended: its next time, then the next tenant's. */
static void end_tenant(struct sweeper *sw)
{
    struct tenant *tn = sw->current;
    uint64_t now = now_ms(), interval = (uint64_t)sw->cfg->sweep_interval_ms, due;
    sw->current = NULL;
    if (sw->run_failed || (sw->run_expired == 0 && (sw->ran_out || sw->next_ms == 0)))
        due = now + interval; /* Redis refused, or what is due does not go: not at once */
    else if (sw->ran_out)
        due = now; /* more to do: after the tenants due before it */
    else if (sw->next_ms < 0)
        due = now + sw->idle_ms;
    else
        due = sw->sent_ms + (uint64_t)sw->next_ms;
    if (due > now + sw->idle_ms)
        due = now + sw->idle_ms;
    if (due > sw->noted)
        due = sw->noted; /* a hold made while it was swept */
    set_due(sw, tn->index, due);
    schedule(sw);
}

void sweeper_note_hold(void *data, struct tenant *t, uint64_t due_ms)
{
    struct sweeper *sw = data;
    if (sw->tenants == NULL || sw->due == NULL)
        return;
    if (t == sw->current) {
        if (due_ms < sw->noted)
            sw->noted = due_ms;
        return;
    }
    if (due_ms >= sw->due[t->index])
        return; /* it is swept by then already */
    set_due(sw, t->index, due_ms);
    if (sw->heap[0] == t->index)
        schedule(sw);
}

void sweeper_tenants(struct sweeper *sw, struct tenants *ts)
{
    sw->tenants = ts;
}

/* --- the sweeper ------------------------------------------------------------ */

struct sweeper *sweeper_new(struct uv_loop_s *loop, struct store *store, const struct config *cfg,
                            struct metrics *m)
{
    struct sweeper *sw = xcalloc(1, sizeof *sw);
    sw->loop = loop;
    sw->metrics = m;
    sw->store = store;
    sw->cfg = cfg;
    sw->ns = &cfg->ns;
    args_init(&sw->args);
    args_init(&sw->id_bytes);
    buf_init(&sw->quarantine);
    keys_build(&sw->quarantine, &cfg->ns, KEY_QUARANTINE, NULL);
    uv_timer_init(loop, &sw->timer);
    sw->timer.data = sw;
    return sw;
}

void sweeper_start(struct sweeper *sw)
{
    uint64_t every = (uint64_t)sw->cfg->sweep_interval_ms;
    if (sw->tenants == NULL) {
        uv_timer_start(&sw->timer, on_tick, every, every);
        return;
    }
    /* Each tenant's first look is spread over one idle period, so that a
     * start costs no more than the polls after it; holds this process
     * makes meanwhile bring their tenant forward. */
    size_t n = sw->tenants->n;
    sw->idle_ms = sweeper_idle_ms(n, sw->cfg->sweep_interval_ms);
    sw->due = xcalloc(n, sizeof *sw->due);
    sw->heap = xcalloc(n, sizeof *sw->heap);
    sw->at = xcalloc(n, sizeof *sw->at);
    uint64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        sw->due[i] = now + every + sw->idle_ms * i / n; /* ascending: a heap already */
        sw->heap[i] = sw->at[i] = i;
    }
    schedule(sw);
}

static void sweeper_free(void *data)
{
    struct sweeper *sw = data;
    void (*done)(void *) = sw->on_closed;
    void *done_data = sw->on_closed_data;
    args_free(&sw->args);
    args_free(&sw->id_bytes);
    buf_free(&sw->quarantine);
    free(sw->due);
    free(sw->heap);
    free(sw->at);
    free(sw->skus);
    free(sw->res.allocs);
    free(sw->res.shortages);
    log_repeat_done(&sw->log_failed);
    free(sw);
    done(done_data);
}

void sweeper_close(struct sweeper *sw, void (*done)(void *), void *data)
{
    sw->on_closed = done;
    sw->on_closed_data = data;
    sw->closing = true;
    closer_begin(&sw->closer, sweeper_free, sw);
    closer_close(&sw->closer, (uv_handle_t *)&sw->timer);
    closer_end(&sw->closer);
}
