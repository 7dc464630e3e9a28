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
 * between them. */
#include "sweeper.h"

#include <stdlib.h>

#include <uv.h>

#include "args.h"
#include "closer.h"
#include "keys.h"
#include "log.h"
#include "reply.h"
#include "store.h"
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
};

static void step_due(struct sweeper *sw);

static uint64_t deadline(const struct sweeper *sw)
{
    return uv_now(sw->loop) + (uint64_t)sw->cfg->request_timeout_ms;
}

static void run(struct sweeper *sw)
{
    assert(!sw->running && !sw->closing);
    sw->running = true;
    sw->calls = 0;
    step_due(sw);
}

static void end_run(struct sweeper *sw)
{
    sw->running = false;
}

static void fail_run(struct sweeper *sw, const char *what, const redisReply *r,
                     enum store_outcome outcome)
{
    if (outcome == STORE_REPLY)
        log_repeat(&sw->log_failed, LOG_WARN, "sweeper: %s: %s", what,
                   r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
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
    if (res->expired > 0)
        log_debug("sweeper: expired %lld holds", res->expired);
    for (long long i = 0; i < res->quarantined; i++) {
        struct reply *rd = res->rd;
        struct str id = reply_str(rd, EXPIRE_QUARANTINED_AT + 2 * (size_t)i);
        struct str why = reply_str(rd, EXPIRE_QUARANTINED_AT + 2 * (size_t)i + 1);
        sw->metrics->sweeper_quarantined++;
        log_error("sweeper: reservation %.*s moved to %.*s, its record cannot be read (%.*s); "
                  "its units stay reserved until an operator repairs it",
                  (int)id.n, id.p, (int)sw->quarantine.len, sw->quarantine.data, (int)why.n,
                  why.p);
    }
    if ((t->k == SWEEP_BATCH || t->k_act < t->k || res->more) && ++sw->calls < SWEEP_MAX_CALLS)
        step_due(sw);
    else
        end_run(sw);
}

/* --- the due ids: lua/expire_due.lua -------------------------------------- */

/* {OK, gone, id, ...} */
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
    size_t n = reply_count(&rd) > 1 ? reply_count(&rd) - 2 : 0;
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
        log_error("sweeper: %lld due hold(s) whose record is gone moved to %.*s; their units "
                  "stay reserved until an operator repairs them",
                  gone, (int)sw->quarantine.len, sw->quarantine.data);
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
        .ns = &sw->cfg->ns,
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
    const struct ident *ns = &sw->cfg->ns;
    ARG_KEY(a, EXPIRE_DUE_K_EXPIRY, ns, KEY_EXPIRY, NULL);
    ARG_KEY(a, EXPIRE_DUE_K_DUE, ns, KEY_DUE, NULL);
    ARG_KEY(a, EXPIRE_DUE_K_QUARANTINE, ns, KEY_QUARANTINE, NULL);
    ARG_INT(a, EXPIRE_DUE_K_FIXED + EXPIRE_DUE_A_LIMIT, SWEEP_BATCH);
    ARGS_AT(a, EXPIRE_DUE_K_FIXED + EXPIRE_DUE_A_HOLDS);
    args_add_prefix(a, ns, KEY_HOLDS);
    ARGS_AT(a, EXPIRE_DUE_K_FIXED + EXPIRE_DUE_A_RES);
    args_add_prefix(a, ns, KEY_RES);
    if (store_eval(sw->store, SCRIPT_EXPIRE_DUE, EXPIRE_DUE_K_FIXED, a, deadline(sw), on_due, sw) !=
        0)
        end_run(sw);
}

static void on_tick(uv_timer_t *t)
{
    struct sweeper *sw = t->data;
    if (!sw->running && store_health(sw->store) == STORE_UP)
        run(sw);
}

struct sweeper *sweeper_new(struct uv_loop_s *loop, struct store *store, const struct config *cfg,
                            struct metrics *m)
{
    struct sweeper *sw = xcalloc(1, sizeof *sw);
    sw->loop = loop;
    sw->metrics = m;
    sw->store = store;
    sw->cfg = cfg;
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
    uv_timer_start(&sw->timer, on_tick, every, every);
}

static void sweeper_free(void *data)
{
    struct sweeper *sw = data;
    void (*done)(void *) = sw->on_closed;
    void *done_data = sw->on_closed_data;
    args_free(&sw->args);
    args_free(&sw->id_bytes);
    buf_free(&sw->quarantine);
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
