/* The sweeper (see sweeper.h). One sweep is a loop of batches:
 *
 *   expire_due        which held ids are past their deadline (Redis clock)
 *     -> reservation_plan   their order bindings and skus (keys to declare)
 *     -> expire             release those still held and due, exactly once
 *     -> again while a batch came back full, up to SWEEP_MAX_BATCHES
 *
 * Waiters that arrive while a sweep runs are served by the next one, so a
 * waiter always sees a sweep that started after it asked. */
#include "sweeper.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "result.h"
#include "rpc.h"

struct sweeper {
    uv_loop_t *loop;
    struct store *store;
    const struct config *cfg;
    struct metrics *metrics;
    uv_timer_t timer;
    bool running;
    int batches;
    struct args args;       /* the call being built */
    struct args ids;        /* the due ids of the batch in flight */
    struct str *skus;       /* scratch for de-duplicating skus */
    size_t skus_cap;
    struct sweep_waiter *current; /* served by the running sweep */
    struct sweep_waiter *next;    /* served by the one after it */
    unsigned long long released;
    void (*on_closed)(void *);
    void *on_closed_data;
};

static void step_due(struct sweeper *sw);

static uint64_t deadline(const struct sweeper *sw)
{
    return uv_now(sw->loop) + (uint64_t)sw->cfg->request_timeout_ms;
}

static void run(struct sweeper *sw)
{
    sw->running = true;
    sw->batches = 0;
    sw->current = sw->next;
    sw->next = NULL;
    step_due(sw);
}

static void end_run(struct sweeper *sw)
{
    struct sweep_waiter *w = sw->current;
    sw->current = NULL;
    sw->running = false;
    while (w != NULL) {
        struct sweep_waiter *next = w->next;
        w->fn(w);
        w = next;
    }
    if (sw->next != NULL && sw->on_closed == NULL)
        run(sw);
}

static void fail_run(struct sweeper *sw, const char *what, const redisReply *r, int err)
{
    if (err == 0)
        log_warn("sweeper: %s: %s", what,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    end_run(sw);
}

static bool is_array(const redisReply *r, int err)
{
    return err == 0 && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
           r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 0;
}

static int str_cmp(const void *a, const void *b)
{
    const struct str *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

static void on_expired(void *data, const redisReply *r, int err)
{
    struct sweeper *sw = data;
    if (!is_array(r, err) || r->elements != 2) {
        fail_run(sw, "expire failed", r, err);
        return;
    }
    long long n = r->element[1]->integer;
    sw->released += (unsigned long long)n;
    sw->metrics->sweeper_expired += (uint64_t)n;
    if (n > 0)
        log_debug("sweeper: expired %lld holds", n);
    if (sw->ids.n == SWEEP_BATCH && ++sw->batches < SWEEP_MAX_BATCHES)
        step_due(sw);
    else
        end_run(sw);
}

/* Builds the expire call from the plan: every key it will touch. */
static void on_plan(void *data, const redisReply *r, int err)
{
    struct sweeper *sw = data;
    const struct ident *ns = &sw->cfg->ns;
    if (!is_array(r, err)) {
        fail_run(sw, "reservation_plan failed", r, err);
        return;
    }
    int k = sw->ids.n;
    /* Walk the groups once to find each order_id and collect the skus. */
    const redisReply *order[SWEEP_BATCH];
    size_t n_skus = 0;
    size_t at = 1;
    for (int i = 0; i < k; i++) {
        if (at + 1 >= r->elements || r->element[at + 1]->type != REDIS_REPLY_INTEGER) {
            fail_run(sw, "reservation_plan reply is malformed", NULL, 0);
            return;
        }
        order[i] = r->element[at];
        long long n = r->element[at + 1]->integer;
        at += 2;
        for (long long j = 0; j < n && at < r->elements; j++, at++) {
            if (n_skus == sw->skus_cap) {
                sw->skus_cap = sw->skus_cap ? 2 * sw->skus_cap : 64;
                sw->skus = xrealloc(sw->skus, sw->skus_cap * sizeof *sw->skus);
            }
            sw->skus[n_skus].p = r->element[at]->str;
            sw->skus[n_skus].n = r->element[at]->len;
            n_skus++;
        }
    }
    if (n_skus > 1)
        qsort(sw->skus, n_skus, sizeof *sw->skus, str_cmp);
    size_t m = 0;
    for (size_t j = 0; j < n_skus; j++)
        if (m == 0 || str_cmp(&sw->skus[m - 1], &sw->skus[j]) != 0)
            sw->skus[m++] = sw->skus[j];

    struct args *a = &sw->args;
    args_reset(a);
    args_add_key(a, ns, KEY_EXPIRY, NULL);
    args_add_key(a, ns, KEY_EVENTS, NULL);
    struct ident id, ident;
    for (int i = 0; i < k; i++) {
        ident_check(sw->ids.bytes.data + sw->ids.v[i].off, sw->ids.v[i].len, &id);
        args_add_key(a, ns, KEY_RES, &id);
    }
    for (int i = 0; i < k; i++) {
        const redisReply *o = order[i];
        if (o->type == REDIS_REPLY_STRING && o->len > 0 && ident_check(o->str, o->len, &ident)) {
            args_add_key(a, ns, KEY_ORDER, &ident);
        } else {
            ident_check(sw->ids.bytes.data + sw->ids.v[i].off, sw->ids.v[i].len, &id);
            args_add_key(a, ns, KEY_RES, &id); /* placeholder: no binding */
        }
    }
    for (size_t j = 0; j < m; j++) {
        if (!ident_check(sw->skus[j].p, sw->skus[j].n, &ident)) {
            fail_run(sw, "a reservation holds an invalid sku", NULL, 0);
            return;
        }
        args_add_key(a, ns, KEY_STOCK, &ident);
    }
    int nkeys = a->n;
    args_add_int(a, sw->cfg->retention_s);
    args_add_int(a, sw->cfg->ledger_maxlen);
    args_add_int(a, k);
    for (int i = 0; i < k; i++)
        args_add(a, sw->ids.bytes.data + sw->ids.v[i].off, sw->ids.v[i].len);
    args_add_int(a, (long long)m);
    for (size_t j = 0; j < m; j++)
        args_add(a, sw->skus[j].p, sw->skus[j].n);
    if (store_eval(sw->store, SCRIPT_EXPIRE, nkeys, a, deadline(sw), on_expired, sw) != 0)
        end_run(sw);
}

static void on_due(void *data, const redisReply *r, int err)
{
    struct sweeper *sw = data;
    if (!is_array(r, err)) {
        fail_run(sw, "expire_due failed", r, err);
        return;
    }
    args_reset(&sw->ids);
    struct args *a = &sw->args;
    args_reset(a);
    for (size_t i = 1; i < r->elements && i <= SWEEP_BATCH; i++) {
        struct ident id;
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING || !ident_check(e->str, e->len, &id)) {
            fail_run(sw, "the expiry index holds an invalid id", NULL, 0);
            return;
        }
        args_add_ident(&sw->ids, &id);
        args_add_key(a, &sw->cfg->ns, KEY_RES, &id);
    }
    if (sw->ids.n == 0) {
        end_run(sw);
        return;
    }
    if (store_eval(sw->store, SCRIPT_RESERVATION_PLAN, a->n, a, deadline(sw), on_plan, sw) != 0)
        end_run(sw);
}

static void step_due(struct sweeper *sw)
{
    struct args *a = &sw->args;
    args_reset(a);
    args_add_key(a, &sw->cfg->ns, KEY_EXPIRY, NULL);
    args_add_int(a, SWEEP_BATCH);
    if (store_eval(sw->store, SCRIPT_EXPIRE_DUE, 1, a, deadline(sw), on_due, sw) != 0)
        end_run(sw);
}

static void on_tick(uv_timer_t *t)
{
    struct sweeper *sw = t->data;
    if (!sw->running && store_is_up(sw->store))
        run(sw);
}

struct sweeper *sweeper_new(uv_loop_t *loop, struct store *store, const struct config *cfg,
                            struct metrics *m)
{
    struct sweeper *sw = xcalloc(1, sizeof *sw);
    sw->loop = loop;
    sw->metrics = m;
    sw->store = store;
    sw->cfg = cfg;
    args_init(&sw->args);
    args_init(&sw->ids);
    uv_timer_init(loop, &sw->timer);
    sw->timer.data = sw;
    return sw;
}

void sweeper_start(struct sweeper *sw)
{
    uint64_t every = (uint64_t)sw->cfg->sweep_interval_ms;
    uv_timer_start(&sw->timer, on_tick, every, every);
}

void sweeper_kick(struct sweeper *sw, struct sweep_waiter *w)
{
    w->next = sw->next;
    sw->next = w;
    if (!sw->running)
        run(sw);
}

unsigned long long sweeper_released(const struct sweeper *sw)
{
    return sw->released;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct sweeper *sw = h->data;
    void (*done)(void *) = sw->on_closed;
    void *data = sw->on_closed_data;
    args_free(&sw->args);
    args_free(&sw->ids);
    free(sw->skus);
    free(sw);
    done(data);
}

void sweeper_close(struct sweeper *sw, void (*done)(void *), void *data)
{
    sw->on_closed = done;
    sw->on_closed_data = data;
    uv_close((uv_handle_t *)&sw->timer, on_timer_closed);
}
