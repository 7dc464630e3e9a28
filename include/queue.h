/* The one list of stockd: a circular, doubly linked, intrusive queue in the
 * manner of libuv's QUEUE. A struct that can be on a list embeds a struct
 * queue; the list itself is a struct queue that points to itself when empty.
 * Nothing here allocates, so a list costs no memory beyond its nodes, and
 * an element can leave its list in O(1) without knowing which list it is on.
 *
 *   head <-> first <-> ... <-> last <-> head
 */
#ifndef STOCKD_QUEUE_H
#define STOCKD_QUEUE_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

struct queue {
    struct queue *next;
    struct queue *prev;
};

/* The struct of type `type` whose member `field` is at p. */
#define container_of(p, type, field) ((type *)(void *)((char *)(p)-offsetof(type, field)))
/* The struct of type `type` whose member `field` is the node q. */
#define queue_data(q, type, field) container_of(q, type, field)

/* Walks a list; the body must not remove q (use queue_first in a loop for
 * that). */
#define queue_foreach(q, h) for ((q) = (h)->next; (q) != (h); (q) = (q)->next)

static inline void queue_init(struct queue *q)
{
    q->next = q;
    q->prev = q;
}

static inline bool queue_empty(const struct queue *h)
{
    return h->next == h;
}

/* The first node of h, or NULL when h is empty. */
static inline struct queue *queue_first(const struct queue *h)
{
    return h->next == h ? NULL : h->next;
}

static inline void queue_insert_tail(struct queue *h, struct queue *q)
{
    q->next = h;
    q->prev = h->prev;
    q->prev->next = q;
    h->prev = q;
}

static inline void queue_insert_head(struct queue *h, struct queue *q)
{
    q->next = h->next;
    q->prev = h;
    q->next->prev = q;
    h->next = q;
}

/* Takes q off its list; q is then a list of its own (empty). */
static inline void queue_remove(struct queue *q)
{
    assert(q->next != NULL && q->prev != NULL);
    q->prev->next = q->next;
    q->next->prev = q->prev;
    queue_init(q);
}

/* True when q is on some list (not alone). */
static inline bool queue_linked(const struct queue *q)
{
    return q->next != q;
}

/* Moves every node of from to the tail of to, in order; from is empty
 * afterwards. */
static inline void queue_move_all(struct queue *from, struct queue *to)
{
    if (queue_empty(from))
        return;
    struct queue *first = from->next, *last = from->prev;
    first->prev = to->prev;
    to->prev->next = first;
    last->next = to;
    to->prev = last;
    queue_init(from);
}

#endif
