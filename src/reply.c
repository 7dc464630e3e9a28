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

long long reply_int_text(struct reply *rd, size_t i, long long min, long long max)
{
    struct str s = reply_str(rd, i);
    size_t k = s.n > 0 && s.p[0] == '-' ? 1 : 0;
    long long v = 0;
    if (k == s.n || s.n - k > 18)
        rd->bad = true;
    for (; k < s.n && !rd->bad; k++) {
        if (s.p[k] < '0' || s.p[k] > '9')
            rd->bad = true;
        v = v * 10 + (s.p[k] - '0');
    }
    if (s.n > 0 && s.p[0] == '-')
        v = -v;
    if (rd->bad || v < min || v > max) {
        rd->bad = true;
        return 0;
    }
    return v;
}

static size_t digits(const char *p, size_t n, size_t k)
{
    while (k < n && p[k] >= '0' && p[k] <= '9')
        k++;
    return k;
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(struct str s)
{
    size_t k = s.n > 0 && s.p[0] == '-' ? 1 : 0, d;
    if (k < s.n && s.p[k] == '0')
        d = k + 1;
    else if ((d = digits(s.p, s.n, k)) == k || s.p[k] == '0')
        return false;
    k = d;
    if (k < s.n && s.p[k] == '.') {
        if ((d = digits(s.p, s.n, k + 1)) == k + 1)
            return false;
        k = d;
    }
    if (k < s.n && (s.p[k] == 'e' || s.p[k] == 'E')) {
        k++;
        if (k < s.n && (s.p[k] == '+' || s.p[k] == '-'))
            k++;
        if ((d = digits(s.p, s.n, k)) == k)
            return false;
        k = d;
    }
    return k == s.n;
}

struct str reply_number(struct reply *rd, size_t i)
{
    struct str s = reply_str(rd, i);
    if (s.n > 0 && !json_number(s))
        rd->bad = true;
    return s;
}

struct str reply_opt_ident(struct reply *rd, size_t i)
{
    struct str s = reply_str(rd, i);
    struct ident id;
    if (s.n > 0 && !ident_check(s.p, s.n, &id))
        rd->bad = true;
    return s;
}

void reply_location(struct reply *rd, size_t at, struct location_rec *out)
{
    out->lat = reply_number(rd, at);
    out->lng = reply_number(rd, at + 1);
    if ((out->lat.n == 0) != (out->lng.n == 0))
        rd->bad = true;
    out->zone = reply_opt_ident(rd, at + 2);
    out->priority = reply_int_text(rd, at + 3, -PRIORITY_MAX, PRIORITY_MAX);
    out->tags = reply_str(rd, at + 4);
    /* comma-joined identifiers */
    size_t next = 0;
    struct str tag;
    struct ident id;
    while (str_split(out->tags, ',', &next, &tag))
        if (!ident_check(tag.p, tag.n, &id))
            rd->bad = true;
}

void reply_expect(struct reply *rd, size_t n)
{
    if (reply_count(rd) != n)
        rd->bad = true;
}

#define BODY_FIELDS 8 /* id, status, order_id, created_at, expires_at, reason, flags, s */

void reply_reservation(struct reply *rd, size_t at, struct reservation *out,
                       struct reservation_scratch *scratch)
{
    size_t count = reply_count(rd);
    out->id = reply_str(rd, at);
    out->status = reply_str(rd, at + 1);
    out->order_id = reply_str(rd, at + 2);
    out->created_at = reply_int(rd, at + 3);
    out->expires_at = reply_int(rd, at + 4);
    out->reason = reply_str(rd, at + 5);
    long long flags = reply_int(rd, at + 6);
    long long s = reply_int(rd, at + 7);
    out->has_replayed = false;
    out->replayed = false;
    out->has_changed = false;
    out->changed = false;
    out->explain = (struct str){NULL, 0};
    at += BODY_FIELDS;
    if (flags < 0 || flags > (HOLD_BACKORDER | HOLD_PARTIAL) || s < 0 || count < at ||
        (size_t)s > (count - at) / 3) {
        rd->bad = true;
        flags = s = 0;
    }
    out->flags = (unsigned)flags;
    scratch->shortages =
        xgrow(scratch->shortages, &scratch->shortages_cap, (size_t)s, sizeof *scratch->shortages);
    for (size_t i = 0; i < (size_t)s; i++) {
        scratch->shortages[i].sku = reply_str(rd, at + 3 * i);
        scratch->shortages[i].requested = reply_int(rd, at + 3 * i + 1);
        scratch->shortages[i].allocated = reply_int(rd, at + 3 * i + 2);
    }
    out->shortages = scratch->shortages;
    out->n_shortages = (size_t)s;
    at += 3 * (size_t)s;
    size_t n = count > at ? (count - at) / 4 : 0;
    if (count > at && (count - at) % 4 != 0)
        rd->bad = true;
    scratch->allocs = xgrow(scratch->allocs, &scratch->allocs_cap, n, sizeof *scratch->allocs);
    for (size_t i = 0; i < n; i++) {
        scratch->allocs[i].sku = reply_str(rd, at + 4 * i);
        scratch->allocs[i].location = reply_str(rd, at + 4 * i + 1);
        scratch->allocs[i].quantity = reply_int(rd, at + 4 * i + 2);
        scratch->allocs[i].backordered = reply_int(rd, at + 4 * i + 3);
    }
    out->allocations = scratch->allocs;
    out->n_allocations = n;
}
