/* The entries one replica holds for one webhook URL, and the order they
 * must keep: an entry is POSTed only after the previous entry of its (sku,
 * location) (its `prev`) is finished, delivered or dead-lettered. When that
 * previous entry is held here too, the entry waits for it locally and is
 * woken when it finishes; otherwise only Redis knows (another replica holds
 * it, or it is finished or gone), and the deliverer asks (webhook_group.c).
 *
 *   add --no prev------------------------------> free
 *     \--prev held here--> waits (after = prev) --prev finished--> free
 *      \--prev not held---------------------------------------> remote
 *
 * A table by id finds a prev in O(1). Pure: no event loop, no Redis, so the
 * unit tests drive the order with plain entries. The queue owns no entry:
 * the deliverer allocates them and frees them after wq_remove. */
#ifndef STOCKD_WEBHOOK_QUEUE_H
#define STOCKD_WEBHOOK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "buf.h"
#include "queue.h"
#include "webhook_event.h"

/* Where an entry stands in the deliverer (the drawing in webhook.c). */
enum webhook_state {
    WH_WAIT_LOCAL,  /* its prev is held here, unfinished */
    WH_WAIT_REMOTE, /* its prev is not held here: Redis is asked when it is finished */
    WH_READY,       /* may be POSTed, waiting for a place in flight */
    WH_POSTING,     /* a POST is in flight */
    WH_BACKOFF,     /* the last attempt failed; the next waits for retry_at */
    WH_ACKING,      /* delivered; its XACK is queued or in flight */
    WH_DYING,       /* given up; its move to the dead-letter stream is queued or in flight */
};

struct webhook_entry {
    /* The queue's part. */
    struct webhook_id id;
    bool has_prev;
    struct webhook_id prev;
    struct webhook_entry *hnext; /* the id table's chain */
    struct queue all;            /* in the queue's list of held entries, by arrival */
    struct webhook_entry *after; /* the held entry this one waits for, or NULL */
    struct queue waiters;        /* the entries whose `after` is this one (their wnode) */
    struct queue wnode;

    /* The deliverer's part. */
    void *group; /* the URL's struct webhook_group it belongs to (webhook_group.h) */
    enum webhook_state state;
    struct queue node;       /* in the deliverer's list for its state, if any */
    struct args fields;      /* owned: the entry's field/value pairs as read */
    struct webhook_event ev; /* borrowed from fields; valid when malformed is NULL */
    const char *malformed;   /* why the entry cannot be delivered (static text), or NULL */
    char id_text[WEBHOOK_ID_TEXT];
    struct buf body; /* owned: the JSON body, built for the first attempt */
    char signature[WEBHOOK_SIGNATURE_TEXT];
    unsigned attempts;   /* POSTs this replica made */
    uint64_t retry_at;   /* WH_BACKOFF: loop ms of the next attempt */
    uint64_t check_at;   /* WH_WAIT_REMOTE: loop ms of the next question to Redis */
    unsigned checks;     /* questions asked so far, for their backoff */
    uint64_t renewed_at; /* loop ms when this replica last claimed it */
    bool lost;           /* another replica took it over, or it is finished elsewhere */
    bool checking;       /* WH_WAIT_REMOTE: in the check call in flight */
    bool token_wait;     /* WH_READY: found the rate's bucket empty (counted once a wait) */
    void *request;       /* WH_POSTING: the HTTP request (webhook_http.h) */
    char last_error[96];
};

struct wq {
    struct webhook_entry **table; /* owned: chains by id */
    size_t mask;                  /* table size - 1 */
    struct queue all;             /* held entries, by arrival */
    size_t n;
};

/* How an added entry may go on. */
enum wq_wait {
    WQ_FREE,   /* no prev: it may go */
    WQ_LOCAL,  /* linked after its prev, held here */
    WQ_REMOTE, /* its prev is not held here: ask Redis */
};

/* An empty queue sized for about `capacity` entries. Free with wq_free. */
void wq_init(struct wq *q, size_t capacity);
/* Frees the table; the entries are the caller's (it must have removed them). */
void wq_free(struct wq *q);
/* The held entry with this id, or NULL. */
struct webhook_entry *wq_find(const struct wq *q, struct webhook_id id);
/* Holds e (its id, has_prev and prev set; its links are initialised here).
 * Returns false, holding nothing, when an entry with its id is held. */
bool wq_add(struct wq *q, struct webhook_entry *e);
/* Where e (held, after == NULL) stands with its prev: free, linked after
 * its held prev, or to be asked. Called on add, and again for an entry
 * whose prev Redis said is pending (it may be held here by now). */
enum wq_wait wq_resolve(struct wq *q, struct webhook_entry *e);
/* Lets go of e: out of the table and the list. Each entry that waited for
 * it is unlinked (after = NULL) and moved to woken (by their wnode, in the
 * order they came): when e is finished they may go; when it was lost they
 * must ask Redis again. e must not be waiting itself when finished. */
void wq_remove(struct wq *q, struct webhook_entry *e, bool finished, struct queue *woken);

#endif
