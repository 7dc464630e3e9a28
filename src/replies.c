/* Reply objects from free lists (see replies.h). Every object is a block:
 * a header (its pool and size class) and then the payload, a redisReply,
 * a string or an element array. Blocks of a class go back to its free list
 * (up to a bound, beyond which they go back to libc, so that one huge reply
 * does not pin its memory); payloads larger than the largest class are
 * plain allocations with the same header. The functions mirror hiredis's
 * own (read.c): each object is linked into its parent array as made, and
 * freeing an array frees what it holds. A kept root ignores the free that
 * hiredis makes after its callback; replies_release frees it for real. */
#include "replies.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Payload sizes of the classes; the last class is for larger payloads. */
static const size_t class_size[] = {32, 64, 128, 256, 512};
#define CLASSES (sizeof class_size / sizeof class_size[0])
#define BIG CLASSES
#define KEEP 4096 /* most free blocks kept per class */

struct block {
    union {
        struct block *next; /* while free */
        struct replies *pool;
    } u;
    unsigned cls;
    bool kept;             /* a reply tree's root: hiredis's free is a no-op (replies_keep) */
    max_align_t payload[]; /* aligned for a redisReply */
};

struct replies {
    struct block *free[CLASSES];
    size_t n_free[CLASSES];
    redisReplyObjectFunctions fn;
};

static void *get(struct replies *p, size_t size)
{
    size_t cls = 0;
    while (cls < CLASSES && class_size[cls] < size)
        cls++;
    struct block *b;
    if (cls < CLASSES && p->free[cls] != NULL) {
        b = p->free[cls];
        p->free[cls] = b->u.next;
        p->n_free[cls]--;
    } else {
        b = xmalloc(sizeof *b + (cls < CLASSES ? class_size[cls] : size));
    }
    b->u.pool = p;
    b->cls = (unsigned)cls;
    b->kept = false;
    return b->payload;
}

static struct block *block_of(const void *payload)
{
    return (struct block *)((char *)payload - offsetof(struct block, payload));
}

static void put(void *payload)
{
    struct block *b = block_of(payload);
    struct replies *p = b->u.pool;
    if (b->cls == BIG || p->n_free[b->cls] >= KEEP) {
        free(b);
        return;
    }
    b->u.next = p->free[b->cls];
    p->free[b->cls] = b;
    p->n_free[b->cls]++;
}

static redisReply *new_reply(const redisReadTask *task, int type)
{
    redisReply *r = get(task->privdata, sizeof *r);
    memset(r, 0, sizeof *r);
    r->type = type;
    if (task->parent != NULL) {
        redisReply *parent = task->parent->obj;
        assert(parent->type == REDIS_REPLY_ARRAY && (size_t)task->idx < parent->elements);
        parent->element[task->idx] = r;
    }
    return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply *r = new_reply(task, task->type);
    r->str = get(task->privdata, len + 1);
    memcpy(r->str, str, len);
    r->str[len] = '\0';
    r->len = len;
    return r;
}

static void *create_array(const redisReadTask *task, int elements)
{
    redisReply *r = new_reply(task, REDIS_REPLY_ARRAY);
    if (elements > 0) {
        r->element = get(task->privdata, (size_t)elements * sizeof *r->element);
        memset(r->element, 0, (size_t)elements * sizeof *r->element);
    }
    r->elements = elements > 0 ? (size_t)elements : 0;
    return r;
}

static void *create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = new_reply(task, REDIS_REPLY_INTEGER);
    r->integer = value;
    return r;
}

static void *create_nil(const redisReadTask *task)
{
    return new_reply(task, REDIS_REPLY_NIL);
}

static void free_tree(redisReply *r)
{
    if (r == NULL)
        return;
    if (r->type == REDIS_REPLY_ARRAY && r->element != NULL) {
        for (size_t i = 0; i < r->elements; i++)
            free_tree(r->element[i]);
        put(r->element);
    } else if (r->str != NULL) {
        put(r->str);
    }
    put(r);
}

/* hiredis frees only roots (after their callback, or a reply that has none). */
static void free_object(void *obj)
{
    if (obj != NULL && block_of(obj)->kept)
        return;
    free_tree(obj);
}

void replies_keep(redisReply *r)
{
    assert(!block_of(r)->kept);
    block_of(r)->kept = true;
}

void replies_release(redisReply *r)
{
    if (r == NULL)
        return;
    assert(block_of(r)->kept);
    block_of(r)->kept = false;
    free_tree(r);
}

bool replies_attached(const redisContext *c)
{
    return c->reader != NULL && c->reader->fn != NULL && c->reader->fn->freeObject == free_object;
}

struct replies *replies_new(void)
{
    struct replies *p = xcalloc(1, sizeof *p);
    p->fn = (redisReplyObjectFunctions){create_string, create_array, create_integer, create_nil,
                                        free_object};
    return p;
}

void replies_free(struct replies *p)
{
    if (p == NULL)
        return;
    for (size_t c = 0; c < CLASSES; c++) {
        while (p->free[c] != NULL) {
            struct block *b = p->free[c];
            p->free[c] = b->u.next;
            free(b);
        }
    }
    free(p);
}

void replies_attach(struct replies *p, redisContext *c)
{
    c->reader->fn = &p->fn;
    c->reader->privdata = p;
}
