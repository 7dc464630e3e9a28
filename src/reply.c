/* Reading script replies (see reply.h). */
#include "reply.h"

#include <string.h>

#include "buf.h"

void reply_plain(struct reply *rd, const redisReply *r)
{
    rd->r = r;
    rd->bad = r == NULL;
}

void reply_script(struct reply *rd, const redisReply *r, int n_status)
{
    reply_plain(rd, r);
    if (rd->bad || r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[0]->integer < 0 ||
        r->element[0]->integer >= n_status)
        rd->bad = true;
}

int reply_status(const struct reply *rd)
{
    return rd->bad ? -1 : (int)rd->r->element[0]->integer;
}

size_t reply_count(const struct reply *rd)
{
    return rd->r != NULL && rd->r->type == REDIS_REPLY_ARRAY ? rd->r->elements : 0;
}

long long reply_int(struct reply *rd, size_t i)
{
    if (i >= reply_count(rd) || rd->r->element[i]->type != REDIS_REPLY_INTEGER) {
        rd->bad = true;
        return 0;
    }
    return rd->r->element[i]->integer;
}

struct str reply_str(struct reply *rd, size_t i)
{
    if (i >= reply_count(rd) || rd->r->element[i]->type != REDIS_REPLY_STRING) {
        rd->bad = true;
        return (struct str){"", 0};
    }
    return (struct str){rd->r->element[i]->str, rd->r->element[i]->len};
}

struct ident reply_ident(struct reply *rd, size_t i)
{
    struct str s = reply_str(rd, i);
    struct ident id;
    memset(&id, 0, sizeof id); /* read only when rd is not bad */
    if (!rd->bad && !ident_check(s.p, s.n, &id))
        rd->bad = true;
    return id;
}

void reply_expect(struct reply *rd, size_t n)
{
    if (reply_count(rd) != n)
        rd->bad = true;
}

#define BODY_FIELDS 6 /* id, status, order_id, created_at, expires_at, reason */

void reply_reservation(struct reply *rd, size_t at, struct reservation *out,
                       struct allocation **scratch, size_t *scratch_cap)
{
    size_t count = reply_count(rd);
    out->id = reply_str(rd, at);
    out->status = reply_str(rd, at + 1);
    out->order_id = reply_str(rd, at + 2);
    out->created_at = reply_int(rd, at + 3);
    out->expires_at = reply_int(rd, at + 4);
    out->reason = reply_str(rd, at + 5);
    out->has_replayed = false;
    out->replayed = false;
    at += BODY_FIELDS;
    size_t n = count > at ? (count - at) / 3 : 0;
    if (count > at && (count - at) % 3 != 0)
        rd->bad = true;
    *scratch = xgrow(*scratch, scratch_cap, n, sizeof **scratch);
    for (size_t i = 0; i < n; i++) {
        (*scratch)[i].sku = reply_str(rd, at + 3 * i);
        (*scratch)[i].location = reply_str(rd, at + 3 * i + 1);
        (*scratch)[i].quantity = reply_int(rd, at + 3 * i + 2);
    }
    out->allocations = *scratch;
    out->n_allocations = n;
}
