/* The held entries of one webhook URL and their order (see webhook_queue.h). */
#include "webhook_queue.h"

#include <assert.h>
#include <stdlib.h>

static size_t slot(const struct wq *q, struct webhook_id id)
{
    /* Ids of one stream differ mostly in their low milliseconds and their
     * sequence: mix both (a 64-bit multiplicative hash). */
    uint64_t h = (id.ms * 0x9e3779b97f4a7c15ull) ^ (id.seq * 0xc2b2ae3d27d4eb4full);
    return (size_t)(h ^ (h >> 29)) & q->mask;
}

void wq_init(struct wq *q, size_t capacity)
{
    size_t size = 16;
    while (size < 2 * capacity)
        size *= 2;
    q->table = xcalloc(size, sizeof *q->table);
    q->mask = size - 1;
    queue_init(&q->all);
    q->n = 0;
}

void wq_free(struct wq *q)
{
    assert(q->n == 0);
    free(q->table);
    q->table = NULL;
}

struct webhook_entry *wq_find(const struct wq *q, struct webhook_id id)
{
    for (struct webhook_entry *e = q->table[slot(q, id)]; e != NULL; e = e->hnext)
        if (webhook_id_cmp(e->id, id) == 0)
            return e;
    return NULL;
}

bool wq_add(struct wq *q, struct webhook_entry *e)
{
    if (wq_find(q, e->id) != NULL)
        return false;
    size_t s = slot(q, e->id);
    e->hnext = q->table[s];
    q->table[s] = e;
    queue_init(&e->all);
    queue_insert_tail(&q->all, &e->all);
    e->after = NULL;
    queue_init(&e->waiters);
    queue_init(&e->wnode);
    q->n++;
    return true;
}

enum wq_wait wq_resolve(struct wq *q, struct webhook_entry *e)
{
    assert(e->after == NULL);
    if (!e->has_prev)
        return WQ_FREE;
    struct webhook_entry *p = wq_find(q, e->prev);
    if (p == NULL || p->lost)
        return WQ_REMOTE;
    e->after = p;
    queue_insert_tail(&p->waiters, &e->wnode);
    return WQ_LOCAL;
}

void wq_remove(struct wq *q, struct webhook_entry *e, bool finished, struct queue *woken)
{
    (void)finished; /* the caller's to act on; checked here in debug builds */
    assert(!finished || e->after == NULL);
    struct webhook_entry **pp = &q->table[slot(q, e->id)];
    while (*pp != e) {
        assert(*pp != NULL);
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    e->hnext = NULL;
    queue_remove(&e->all);
    if (e->after != NULL) {
        queue_remove(&e->wnode);
        e->after = NULL;
    }
    struct queue *w;
    while ((w = queue_first(&e->waiters)) != NULL) {
        struct webhook_entry *x = queue_data(w, struct webhook_entry, wnode);
        queue_remove(w);
        x->after = NULL;
        queue_insert_tail(woken, w);
    }
    q->n--;
}
