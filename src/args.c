/* Redis command arguments (see args.h). */
#include "args.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "slot.h"

void args_init(struct args *a)
{
    buf_init(&a->bytes);
    a->v = NULL;
    a->n = a->cap = 0;
    a->slot = -1;
}

void args_free(struct args *a)
{
    buf_free(&a->bytes);
    free(a->v);
    args_init(a);
}

void args_reset(struct args *a)
{
    buf_reset(&a->bytes);
    a->n = 0;
    a->slot = -1;
}

void args_copy(struct args *dst, const struct args *src)
{
    buf_reset(&dst->bytes);
    buf_append(&dst->bytes, src->bytes.data, src->bytes.len);
    if (dst->cap < src->n) {
        int cap = dst->cap ? dst->cap : 32;
        while (cap < src->n)
            cap *= 2;
        free(dst->v);
        dst->v = xmalloc((size_t)cap * sizeof *dst->v);
        dst->cap = cap;
    }
    if (src->n > 0)
        memcpy(dst->v, src->v, (size_t)src->n * sizeof *dst->v);
    dst->n = src->n;
    dst->slot = src->slot;
}

void args_note_key(struct args *a, const char *key, size_t n)
{
    if (a->slot < 0)
        a->slot = (int)slot_of_key(key, n);
}

/* The slot of a namespace's keys: every key carries {ns}. */
static void note_ns(struct args *a, const struct ident *ns)
{
    if (a->slot < 0)
        a->slot = (int)slot_of_tag(ns->s.p, ns->s.n);
}

static void push(struct args *a, size_t off)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = xrealloc(a->v, (size_t)a->cap * sizeof *a->v);
    }
    a->v[a->n].off = off;
    a->v[a->n].len = a->bytes.len - off;
    a->n++;
}

void args_add(struct args *a, const char *p, size_t n)
{
    size_t off = a->bytes.len;
    buf_append(&a->bytes, p, n);
    push(a, off);
}

void args_add_str(struct args *a, struct str s)
{
    args_add(a, s.p, s.n);
}

void args_add_int(struct args *a, long long v)
{
    size_t off = a->bytes.len;
    buf_append_int(&a->bytes, v);
    push(a, off);
}

void args_add_ident(struct args *a, const struct ident *id)
{
    args_add(a, id->s.p, id->s.n);
}

void args_add_key(struct args *a, const struct ident *ns, enum key_kind kind,
                  const struct ident *id)
{
    size_t off = a->bytes.len;
    keys_build(&a->bytes, ns, kind, id);
    push(a, off);
    note_ns(a, ns);
}

void args_add_prefix(struct args *a, const struct ident *ns, enum key_kind kind)
{
    size_t off = a->bytes.len;
    keys_prefix(&a->bytes, ns, kind);
    push(a, off);
    note_ns(a, ns);
}

void args_add_pattern(struct args *a, const struct ident *ns, enum key_kind kind)
{
    size_t off = a->bytes.len;
    keys_pattern(&a->bytes, ns, kind);
    push(a, off);
    note_ns(a, ns);
}

struct str args_get(const struct args *a, int i)
{
    assert(i >= 0 && i < a->n);
    return (struct str){a->bytes.data + a->v[i].off, a->v[i].len};
}

static void resp_line(struct buf *b, char kind, size_t n)
{
    buf_appendc(b, kind);
    buf_append_int(b, (long long)n);
    buf_append(b, "\r\n", 2);
}

void resp_header(struct buf *b, size_t n)
{
    resp_line(b, '*', n);
}

void resp_bulk(struct buf *b, const char *p, size_t n)
{
    resp_line(b, '$', n);
    buf_append(b, p, n);
    buf_append(b, "\r\n", 2);
}

void args_resp(const struct args *a, struct buf *b, int from, int to)
{
    assert(0 <= from && from <= to && to <= a->n);
    for (int i = from; i < to; i++)
        resp_bulk(b, a->bytes.data + a->v[i].off, a->v[i].len);
}
